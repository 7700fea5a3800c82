package boxalloc

import "context"

// improve lets every full box, in seeded order, trade up to the best box
// by score that its own products and the stock still free at its
// warehouse allow (candidates only). A box only changes when its score
// rises, so the objective never falls and no box empties.
func (a *allocator) improve(ctx context.Context, as *assignment) error {
	m, pk := a.m, a.pickers[0]
	pk.jitterMax = 0
	zero := make([]int64, m.nP)
	oldItems, oldScores := make([]uint16, m.k), make([]int32, m.k)
	for i, s := range a.order {
		if i%chunkSize == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if int(as.n[s]) != m.k {
			continue
		}
		w := int(as.w[s])
		old := int64(0)
		copy(oldItems, as.box(s))
		copy(oldScores, as.scores[s*m.k:(s+1)*m.k])
		for _, v := range oldScores {
			old += int64(v)
		}
		for as.n[s] > 0 {
			as.remove(m, s, int(as.n[s])-1)
		}
		prod, score := a.cand.of(s)
		free := as.free[w*m.nP : (w+1)*m.nP]
		if pk.greedy(prod, score, zero, free, nil, m.k) == m.k && pk.meetFloor(prod, score, zero, free, nil, m.k) && pk.value() > old {
			for _, e := range pk.picks {
				as.add(m, s, int(prod[e]), score[e])
			}
			continue
		}
		for j, p := range oldItems {
			as.add(m, s, int(p), oldScores[j])
		}
	}
	return nil
}
