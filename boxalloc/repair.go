package boxalloc

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
)

// repair turns the subscribers' best responses into an allocation that
// respects stock exactly: where a product × warehouse is over-demanded, the
// holders who lose least by taking their best other product (by reduced
// value) give it up; short boxes are then refilled from the stock still
// free, and subscribers without a box get the best box that stock allows.
func (a *allocator) repair(ctx context.Context) (*assignment, error) {
	m := a.m
	as := newAssignment(m, a.dual.prices)
	for s, w := range a.resp.w {
		if w < 0 {
			continue
		}
		as.w[s] = w
		for j, p := range a.resp.items[s*m.k : (s+1)*m.k] {
			as.add(m, s, int(p), a.resp.scores[s*m.k+j])
		}
	}
	if err := a.evictOverUse(ctx, as); err != nil {
		return nil, err
	}
	pk := a.pickers[0]
	for _, s := range a.order {
		if as.w[s] >= 0 && int(as.n[s]) < m.k && !a.extend(pk, as, s, int(as.w[s])) {
			as.release(m, s)
		}
	}
	for _, s := range a.order {
		if as.w[s] < 0 {
			a.boxFromFree(pk, as, s)
		}
	}
	return as, ctx.Err()
}

// evictOverUse removes over-used products from the boxes that value them
// least. Regrets are computed in parallel, all against the allocation as
// it stands before any eviction.
func (a *allocator) evictOverUse(ctx context.Context, as *assignment) error {
	m := a.m
	type holder struct {
		pw, s  int
		regret int64
		tie    uint64
	}
	var hs []holder
	for s, w := range as.w {
		for _, p := range as.box(s) {
			if pw := m.pw(int(p), int(w)); as.free[pw] < 0 {
				hs = append(hs, holder{pw: pw, s: s, tie: splitmix(a.seed, s)})
			}
		}
	}
	if err := forChunks(ctx, len(hs), a.workers, func(worker, lo, hi int) {
		for i := lo; i < hi; i++ {
			hs[i].regret = a.regret(a.pickers[worker], as, hs[i].s, hs[i].pw%m.nP)
		}
	}); err != nil {
		return err
	}
	slices.SortFunc(hs, func(x, y holder) int {
		return cmp.Or(cmp.Compare(x.pw, y.pw), cmp.Compare(x.regret, y.regret), cmp.Compare(x.tie, y.tie))
	})
	for i := 0; i < len(hs); {
		pw, excess := hs[i].pw, -int(as.free[hs[i].pw])
		for j := 0; i < len(hs) && hs[i].pw == pw; i, j = i+1, j+1 {
			if j < excess {
				p := pw % m.nP
				as.remove(m, hs[i].s, slices.Index(as.box(hs[i].s), uint16(p)))
			}
		}
	}
	return nil
}

// regret is what s loses, in reduced value, by giving up product p for its
// best other candidate at the same warehouse (large when it has none).
func (a *allocator) regret(pk *picker, as *assignment, s, p int) int64 {
	m := a.m
	w := int(as.w[s])
	prod, score := a.cand.of(s)
	pk.jitterMax = 0
	have := pk.have[:0]
	for _, q := range as.box(s) {
		if int(q) != p {
			have = append(have, q)
		}
	}
	pk.have = have
	i := slices.Index(prod, uint16(p))
	prices := as.prices[w*m.nP : (w+1)*m.nP]
	if i < 0 || pk.greedy(prod, score, prices, as.free[w*m.nP:(w+1)*m.nP], have, len(have)+1) == 0 {
		return 1 << 62
	}
	return int64(score[i]) - prices[p] - pk.vals[0]
}

// extend completes s's box at warehouse w from free stock, best reduced
// value first, using the candidates and, when they fall short or a product
// left out of them might do better, every product. It reports success.
func (a *allocator) extend(pk *picker, as *assignment, s, w int) bool {
	prods, scores, _, ok := a.completion(pk, as, s, w, as.box(s))
	if !ok {
		return false
	}
	for i, p := range prods {
		as.add(a.m, s, int(p), scores[i])
	}
	return true
}

// completion finds the products that complete have at w (see extend)
// without changing the allocation, and their reduced value.
func (a *allocator) completion(pk *picker, as *assignment, s, w int, have []uint16) ([]uint16, []int32, int64, bool) {
	m := a.m
	prices, avail := as.prices[w*m.nP:(w+1)*m.nP], as.free[w*m.nP:(w+1)*m.nP]
	prod, score := a.cand.of(s)
	cutoff := a.cand.cutoff[s]
	pk.jitterMax = 0
	n := pk.greedy(prod, score, prices, avail, have, m.k)
	ok := len(have)+n == m.k && pk.meetFloor(prod, score, prices, avail, have, m.k)
	if cutoff >= 0 && (!ok || pk.vals[len(pk.vals)-1] < int64(cutoff)) {
		prod, score = pk.everyProduct(s)
		n = pk.greedy(prod, score, prices, avail, have, m.k)
		ok = len(have)+n == m.k && pk.meetFloor(prod, score, prices, avail, have, m.k)
	}
	if !ok {
		return nil, nil, 0, false
	}
	pk.outProd, pk.outScore = pk.outProd[:0], pk.outScore[:0]
	for _, i := range pk.picks {
		pk.outProd, pk.outScore = append(pk.outProd, prod[i]), append(pk.outScore, score[i])
	}
	return pk.outProd, pk.outScore, pk.value(), true
}

// boxFromFree gives s the best full box that free stock allows at one of
// its warehouses, if any.
func (a *allocator) boxFromFree(pk *picker, as *assignment, s int) {
	bestW, bestVal := -1, int64(unusable)
	var prods []uint16
	var scores []int32
	for _, w := range a.m.warehouses(s) {
		if p, sc, v, ok := a.completion(pk, as, s, int(w), nil); ok && v > bestVal {
			bestW, bestVal = int(w), v
			prods, scores = append(prods[:0], p...), append(scores[:0], sc...)
		}
	}
	if bestW < 0 {
		return
	}
	as.w[s] = int8(bestW)
	for i, p := range prods {
		as.add(a.m, s, int(p), scores[i])
	}
}

// everyProduct lists every product feasible for s with its score, in
// product order (the fallback when the candidates are not enough).
func (pk *picker) everyProduct(s int) ([]uint16, []int32) {
	m := pk.m
	if pk.all == nil {
		pk.all = make([]int32, m.nP)
	}
	sub := &m.in.Subscribers[s]
	m.scorer.score(&sub.Profile, sub.Recent, pk.all)
	pk.allProd, pk.allScore = pk.allProd[:0], pk.allScore[:0]
	for p, v := range pk.all {
		if v >= 0 {
			pk.allProd, pk.allScore = append(pk.allProd, uint16(p)), append(pk.allScore, v)
		}
	}
	return pk.allProd, pk.allScore
}

// seededOrder is a permutation of the subscribers fixed by the seed.
func seededOrder(n int, seed int64) []int {
	return rand.New(rand.NewPCG(uint64(seed), 0x5eed)).Perm(n)
}
