package boxalloc

import "context"

// dual holds the Lagrangian prices (one per product × warehouse, never
// negative), what update learns about each price, and the goroutines'
// accumulators of a pass.
type dual struct {
	prices     []int64
	slope      []float64 // d excess / d price, per micro-point, < 0
	lastPrice  []int64
	lastExcess []int64
	moved      []bool
	demand     [][]int32 // per goroutine, per pw
	value      []int64   // per goroutine: sum of the subscribers' values
}

func newDual(m *model, workers int) *dual {
	n := m.nP * m.nW
	d := &dual{prices: make([]int64, n), slope: make([]float64, n), lastPrice: make([]int64, n),
		lastExcess: make([]int64, n), moved: make([]bool, n), demand: make([][]int32, workers), value: make([]int64, workers)}
	for pw := range d.slope {
		d.slope[pw] = initialSlope * float64(max(m.stock[pw], 1))
	}
	for i := range d.demand {
		d.demand[i] = make([]int32, n)
	}
	return d
}

// warm starts from the prices and slopes learned on a sample holding
// share of the subscribers (demand, hence slopes, scale with it).
func (d *dual) warm(from *dual, share float64) {
	copy(d.prices, from.prices)
	for pw, s := range from.slope {
		d.slope[pw] = s / share
	}
}

// bestResponse is each subscriber's best box under the current prices:
// warehouse (-1 for none), the products picked and their scores.
type bestResponse struct {
	w      []int8
	items  []uint16 // s*k + j
	scores []int32
}

// pass lets every subscriber choose its best box under the prices (scores
// jittered to break ties, see picker.jitter), records the choices and
// their demand, and returns the jittered dual value: an estimate that
// steers the prices, not a bound.
func (a *allocator) pass(ctx context.Context) (int64, error) {
	return a.sweep(ctx, true, true)
}

// bound returns the dual value at the current prices with the true scores:
// an upper bound on the objective of any allocation. Each subscriber takes
// its best box without the value floor (a relaxation) or no box (worth 0).
func (a *allocator) bound(ctx context.Context) (int64, error) {
	return a.sweep(ctx, false, false)
}

// sweep runs respond for every subscriber: over its candidates, or over
// every product when one left out of them (worth at most the cutoff) could
// beat a pick.
func (a *allocator) sweep(ctx context.Context, jitter, record bool) (int64, error) {
	d := a.dual
	for w := range d.demand {
		clear(d.demand[w])
		d.value[w] = 0
	}
	err := forChunks(ctx, len(a.m.in.Subscribers), a.workers, func(worker, lo, hi int) {
		pk := a.pickers[worker]
		for s := lo; s < hi; s++ {
			pk.jitterFor(s, jitter)
			prod, score := a.cand.of(s)
			v, loose := a.respond(pk, s, prod, score, a.cand.cutoff[s], record)
			if loose {
				prod, score = pk.everyProduct(s)
				v, _ = a.respond(pk, s, prod, score, -1, record)
			}
			d.value[worker] += v
		}
	})
	return a.dualValue(), err
}

// respond finds s's best box over the listed products. With record it
// stores the best box that meets the value floor and counts its demand,
// and returns its value; without, it returns the best value without the
// floor (a relaxation, for the bound). Both are 0 when no box is worth
// taking. loose reports that a product left out of the list might have
// done better; nothing is recorded then.
func (a *allocator) respond(pk *picker, s int, prod []uint16, score []int32, cutoff int32, record bool) (int64, bool) {
	m, d, k := a.m, a.dual, a.m.k
	bestVal, bestW, relaxed := int64(unusable), -1, int64(0)
	items, scores := a.resp.items[s*k:(s+1)*k], a.resp.scores[s*k:(s+1)*k]
	for _, w := range m.warehouses(s) {
		prices, avail := d.prices[int(w)*m.nP:int(w+1)*m.nP], m.stock[int(w)*m.nP:int(w+1)*m.nP]
		pk.at(int(w))
		n := pk.greedy(prod, score, prices, avail, nil, k)
		if cutoff >= 0 && (n < k || pk.vals[k-1] < int64(cutoff)) {
			return 0, true
		}
		if n < k {
			continue
		}
		relaxed = max(relaxed, pk.value())
		if record && pk.meetFloor(prod, score, prices, avail, nil, k) {
			if v := pk.value(); v > bestVal {
				bestVal, bestW = v, int(w)
				for j, i := range pk.picks {
					items[j], scores[j] = prod[i], score[i]
				}
			}
		}
	}
	if !record {
		return relaxed, false
	}
	a.resp.w[s] = int8(bestW)
	if bestW < 0 || bestVal < 0 {
		return 0, false
	}
	demand := d.demand[pk.worker]
	for _, p := range items {
		demand[m.pw(int(p), bestW)]++
	}
	return bestVal, false
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

// update moves every price toward the price at which its demand meets its
// stock (tâtonnement with a secant step): the price changes by
// −excess/slope, where slope, the change of excess demand per point of
// price, is learned from the price's own past moves (a moving average,
// kept negative). Steps are capped at maxStep; prices stay >= 0, and a
// free price with stock left over stays at 0.
func (d *dual) update(excess []int64, stock []int32) {
	for pw, e := range excess {
		if stock[pw] == 0 {
			continue
		}
		p := d.prices[pw]
		if d.moved[pw] && p != d.lastPrice[pw] {
			if s := float64(e-d.lastExcess[pw]) / float64(p-d.lastPrice[pw]); s < 0 {
				d.slope[pw] = slopeKeep*d.slope[pw] + (1-slopeKeep)*s
			}
		}
		d.lastPrice[pw], d.lastExcess[pw], d.moved[pw] = p, e, true
		if e < 0 && p == 0 {
			continue
		}
		step := max(-maxStep, min(maxStep, -float64(e)/d.slope[pw]))
		d.prices[pw] = max(0, p+int64(step))
	}
}

const (
	slopeKeep = 0.7
	maxStep   = 2 * PointScale
	// initialSlope guesses that half a product's stock worth of demand
	// moves per point of price; the secant corrects it within a few passes.
	initialSlope = -0.5 / PointScale
)
