package boxalloc

import "context"

// dual holds the Lagrangian prices (one per product × warehouse, never
// negative) and the sign-based step sizes that move them (Rprop: a price
// whose excess demand keeps its sign takes longer steps, one whose excess
// flips sign takes shorter ones).
type dual struct {
	prices   []int64
	step     []float64
	lastSign []int8
	demand   [][]int32 // per goroutine, per pw
	value    []int64   // per goroutine: sum of the subscribers' best box values
}

const (
	stepGrow   = 1.2
	stepShrink = 0.5
)

func newDual(m *model, workers int, initialStep float64) *dual {
	d := &dual{prices: make([]int64, m.nP*m.nW), step: make([]float64, m.nP*m.nW),
		lastSign: make([]int8, m.nP*m.nW), demand: make([][]int32, workers), value: make([]int64, workers)}
	for i := range d.step {
		d.step[i] = initialStep
	}
	for i := range d.demand {
		d.demand[i] = make([]int32, m.nP*m.nW)
	}
	return d
}

// bestResponse is each subscriber's best box under the current prices:
// warehouse (-1 for none) and the candidate entries picked.
type bestResponse struct {
	k       int
	w       []int8
	entries []uint8
}

// pass lets every subscriber choose its best box under the prices, records
// the choices, and returns the dual value: an upper bound on the objective
// of any allocation (boxes may stay empty, which is worth 0).
func (a *allocator) pass(ctx context.Context) (int64, error) {
	m, d := a.m, a.dual
	for w := range d.demand {
		clear(d.demand[w])
		d.value[w] = 0
	}
	k := m.k
	err := forChunks(ctx, len(m.in.Subscribers), a.workers, func(worker, lo, hi int) {
		pk, demand := a.pickers[worker], d.demand[worker]
		sum := int64(0)
		for s := lo; s < hi; s++ {
			prod, score := a.cand.of(s)
			cutoff := a.cand.cutoff[s]
			ub, bestVal, bestW := int64(0), int64(unusable), -1
			entries := a.resp.entries[s*k : (s+1)*k]
			for _, w := range m.warehouses(s) {
				prices, avail := d.prices[int(w)*m.nP:int(w+1)*m.nP], m.stock[int(w)*m.nP:int(w+1)*m.nP]
				pk.greedy(prod, score, prices, avail, nil, k)
				if u, ok := pk.upperBound(k, cutoff); ok {
					ub = max(ub, u)
				}
				if len(pk.picks) == k && pk.meetFloor(prod, score, prices, avail, nil, k) {
					if v := pk.value(); v > bestVal {
						bestVal, bestW = v, int(w)
						for j, i := range pk.picks {
							entries[j] = uint8(i)
						}
					}
				}
			}
			sum += ub
			a.resp.w[s] = int8(bestW)
			if bestW >= 0 && bestVal >= 0 {
				for _, i := range entries {
					demand[m.pw(int(prod[i]), bestW)]++
				}
			}
		}
		d.value[worker] += sum
	})
	if err != nil {
		return 0, err
	}
	total := int64(0)
	for w := range d.value {
		total += d.value[w]
	}
	for pw, price := range d.prices {
		total += price * int64(m.stock[pw])
	}
	return total, nil
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

// step moves every price against its excess demand: up when over-demanded,
// down (not below zero) when stock is left over.
func (d *dual) update(excess []int64, stock []int32) {
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
