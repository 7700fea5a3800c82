package boxalloc

import "context"

// dual holds the Lagrangian prices (one per product × warehouse, never
// negative) and the state of the steps that move them (see update).
type dual struct {
	prices   []int64
	step     []float64
	lastSign []int8
	demand   [][]int32 // per goroutine, per pw
	value    []int64   // per goroutine: sum of the subscribers' best box values

	passes, stall int
	theta         float64
	bestEstimate  int64
	bestPrices    []int64 // prices of the best certified bound
}

// warm starts from prices found on a sample: no sign steps, short Polyak steps.
func (d *dual) warm(prices []int64) {
	copy(d.prices, prices)
	d.passes, d.theta = signPasses, warmTheta
}

const warmTheta = 0.25

const (
	stepGrow   = 1.2
	stepShrink = 0.5
)

func newDual(m *model, workers int, initialStep float64) *dual {
	d := &dual{prices: make([]int64, m.nP*m.nW), step: make([]float64, m.nP*m.nW),
		lastSign: make([]int8, m.nP*m.nW), theta: 1, demand: make([][]int32, workers), value: make([]int64, workers)}
	for i := range d.step {
		d.step[i] = initialStep
	}
	for i := range d.demand {
		d.demand[i] = make([]int32, m.nP*m.nW)
	}
	return d
}

// bestResponse is each subscriber's best box under the current prices:
// warehouse (-1 for none), the products picked and their scores.
type bestResponse struct {
	w      []int8
	items  []uint16 // s*k + j
	scores []int32
}

// pass lets every subscriber choose its best box over its candidates
// under the prices (scores jittered to break ties, see picker.jitter),
// records the choices and their demand, and returns the dual value over
// the candidates: an estimate that steers the prices, not a bound.
func (a *allocator) pass(ctx context.Context) (int64, error) {
	m, d, k := a.m, a.dual, a.m.k
	for w := range d.demand {
		clear(d.demand[w])
		d.value[w] = 0
	}
	err := forChunks(ctx, len(m.in.Subscribers), a.workers, func(worker, lo, hi int) {
		pk, demand := a.pickers[worker], d.demand[worker]
		for s := lo; s < hi; s++ {
			prod, score := a.cand.of(s)
			pk.jitterFor(s)
			bestVal, bestW := int64(unusable), -1
			items, scores := a.resp.items[s*k:(s+1)*k], a.resp.scores[s*k:(s+1)*k]
			for _, w := range m.warehouses(s) {
				prices, avail := d.prices[int(w)*m.nP:int(w+1)*m.nP], m.stock[int(w)*m.nP:int(w+1)*m.nP]
				pk.at(int(w))
				if pk.greedy(prod, score, prices, avail, nil, k) == k && pk.meetFloor(prod, score, prices, avail, nil, k) {
					if v := pk.value(); v > bestVal {
						bestVal, bestW = v, int(w)
						for j, i := range pk.picks {
							items[j], scores[j] = prod[i], score[i]
						}
					}
				}
			}
			a.resp.w[s] = int8(bestW)
			if bestW >= 0 && bestVal >= 0 {
				d.value[worker] += bestVal
				for _, p := range items {
					demand[m.pw(int(p), bestW)]++
				}
			}
		}
	})
	return a.dualValue(), err
}

// bound returns the dual value at the current prices with the true scores:
// an upper bound on the objective of any allocation. Each subscriber takes
// its best box without the value floor (a relaxation) or no box (worth 0);
// one for whom a product left out of its candidates could matter is priced
// over every product.
func (a *allocator) bound(ctx context.Context) (int64, error) {
	m, d, k := a.m, a.dual, a.m.k
	for w := range d.value {
		d.value[w] = 0
	}
	err := forChunks(ctx, len(m.in.Subscribers), a.workers, func(worker, lo, hi int) {
		pk := a.pickers[worker]
		pk.jitterMax = 0
		for s := lo; s < hi; s++ {
			prod, score := a.cand.of(s)
			cutoff := a.cand.cutoff[s]
			best, loose := int64(0), false
			for _, w := range m.warehouses(s) {
				prices, avail := d.prices[int(w)*m.nP:int(w+1)*m.nP], m.stock[int(w)*m.nP:int(w+1)*m.nP]
				n := pk.greedy(prod, score, prices, avail, nil, k)
				if cutoff >= 0 && (n < k || pk.vals[k-1] < int64(cutoff)) {
					loose = true
					break
				}
				if n == k {
					best = max(best, pk.value())
				}
			}
			if loose {
				best = 0
				prod, score = pk.everyProduct(s)
				for _, w := range m.warehouses(s) {
					prices, avail := d.prices[int(w)*m.nP:int(w+1)*m.nP], m.stock[int(w)*m.nP:int(w+1)*m.nP]
					if pk.greedy(prod, score, prices, avail, nil, k) == k {
						best = max(best, pk.value())
					}
				}
			}
			d.value[worker] += best
		}
	})
	return a.dualValue(), err
}

// dualValue adds the subscribers' values and the priced stock.
func (a *allocator) dualValue() int64 {
	total := int64(0)
	for _, v := range a.dual.value {
		total += v
	}
	for pw, price := range a.dual.prices {
		total += price * int64(a.m.stock[pw])
	}
	return total
}

// excess sums the goroutines' demand and returns demand − stock per pw.
func (a *allocator) excess() []int64 {
	ex := make([]int64, len(a.dual.prices))
	for pw := range ex {
		ex[pw] = -int64(a.m.stock[pw])
		for _, d := range a.dual.demand {
			ex[pw] += int64(d[pw])
		}
	}
	return ex
}

// update moves the prices against the excess demand. The first passes
// use sign steps (Rprop), which find the scale of the prices without
// knowing it; later ones a Polyak subgradient step toward target (the best
// objective found), t = θ (estimate − target) / |g|², with θ halved after
// stallLimit passes that did not improve the estimate.
func (d *dual) update(excess []int64, stock []int32, estimate, target int64) {
	d.passes++
	if d.passes <= signPasses || target <= 0 || estimate <= target {
		d.signStep(excess, stock)
		return
	}
	if estimate < d.bestEstimate || d.bestEstimate == 0 {
		d.bestEstimate, d.stall = estimate, 0
	} else if d.stall++; d.stall >= stallLimit {
		d.theta, d.stall = d.theta/2, 0
	}
	norm := 0.0
	for pw, e := range excess {
		if stock[pw] == 0 || d.prices[pw] == 0 && e < 0 {
			excess[pw] = 0
		}
		norm += float64(excess[pw]) * float64(excess[pw])
	}
	if norm == 0 {
		return
	}
	t := d.theta * float64(estimate-target) / norm
	for pw, e := range excess {
		d.prices[pw] = max(0, d.prices[pw]+int64(t*float64(e)))
	}
}

const (
	signPasses = 10
	stallLimit = 5
)

// signStep moves each price by its own step: up when over-demanded, down
// (not below zero) when stock is left; a step grows while the sign holds
// and shrinks when it flips.
func (d *dual) signStep(excess []int64, stock []int32) {
	for pw, e := range excess {
		if stock[pw] == 0 {
			continue
		}
		sign := int8(0)
		switch {
		case e > 0:
			sign = 1
		case e < 0 && d.prices[pw] > 0:
			sign = -1
		}
		if sign == 0 {
			d.lastSign[pw] = 0
			continue
		}
		switch {
		case sign == d.lastSign[pw]:
			d.step[pw] *= stepGrow
		case d.lastSign[pw] != 0:
			d.step[pw] *= stepShrink
		}
		d.step[pw] = max(d.step[pw], 1)
		d.lastSign[pw] = sign
		d.prices[pw] = max(0, d.prices[pw]+int64(sign)*int64(d.step[pw]))
	}
}
