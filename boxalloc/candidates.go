package boxalloc

import "context"

// candidates keeps, per subscriber, the few feasible products worth
// considering: the best limit+1 of every category plus the best others, up
// to stride, sorted by score (ties: lower product index first). cutoff is
// the highest score among the feasible products left out (or -1), so a pass
// over candidates still gives a valid upper bound: a product left out can
// add at most cutoff to a box, since prices are never negative.
type candidates struct {
	stride int
	prod   []uint16
	score  []int32
	n      []uint8
	cutoff []int32
}

// defaultCandidates is the default stride (Options keeps it within 8 to 64).
const defaultCandidates = 48

func (c *candidates) of(s int) ([]uint16, []int32) {
	lo := s * c.stride
	hi := lo + int(c.n[s])
	return c.prod[lo:hi], c.score[lo:hi]
}

// candidateScratch is one goroutine's working memory.
type candidateScratch struct {
	scores []int32
	mark   []uint32
	stamp  uint32
	catTop []int32 // nCat × perCat product indices, -1 when empty
	list   []int32
	heap   []int32
}

func (m *model) buildCandidates(ctx context.Context, workers, stride int) (*candidates, error) {
	n := len(m.in.Subscribers)
	c := &candidates{stride: stride, prod: make([]uint16, n*stride), score: make([]int32, n*stride),
		n: make([]uint8, n), cutoff: make([]int32, n)}
	scratch := make([]*candidateScratch, workers)
	for i := range scratch {
		scratch[i] = m.newCandidateScratch()
	}
	err := forChunks(ctx, n, workers, func(worker, lo, hi int) {
		sc := scratch[worker]
		for s := lo; s < hi; s++ {
			sub := &m.in.Subscribers[s]
			m.scorer.score(&sub.Profile, sub.Recent, sc.scores)
			c.n[s], c.cutoff[s] = m.selectCandidates(sc, c.prod[s*stride:(s+1)*stride], c.score[s*stride:(s+1)*stride])
		}
	})
	return c, err
}

// perCategory is how many of each category a candidate list keeps at least.
func (m *model) perCategory() int {
	most := int32(0)
	for _, l := range m.catLimit {
		most = max(most, l)
	}
	return int(most) + 1
}

func (m *model) newCandidateScratch() *candidateScratch {
	return &candidateScratch{scores: make([]int32, m.nP), mark: make([]uint32, m.nP),
		catTop: make([]int32, m.nCat*m.perCategory())}
}

// better orders products by score, then by lower index.
func better(scores []int32, p, q int32) bool {
	return scores[p] > scores[q] || scores[p] == scores[q] && p < q
}

// selectCandidates picks the candidates from sc.scores into prod and score
// and returns their number and the cutoff.
func (m *model) selectCandidates(sc *candidateScratch, prod []uint16, score []int32) (uint8, int32) {
	scores, per := sc.scores, m.perCategory()
	for i := range sc.catTop {
		sc.catTop[i] = -1
	}
	for p := range int32(m.nP) {
		if scores[p] < 0 {
			continue
		}
		c := int(m.category[p])
		top := sc.catTop[c*per : c*per+min(per, int(m.catLimit[c])+1)]
		for i := range top { // insert p, shifting worse ones down
			if top[i] < 0 || better(scores, p, top[i]) {
				copy(top[i+1:], top[i:len(top)-1])
				top[i] = p
				break
			}
		}
	}
	list := sc.list[:0]
	for _, p := range sc.catTop {
		if p >= 0 {
			list = append(list, p)
		}
	}
	sortBetter(scores, list)
	list = list[:min(len(list), len(prod))]
	sc.stamp++
	for _, p := range list {
		sc.mark[p] = sc.stamp
	}
	// Fill the rest with the best products not yet listed (a min-heap of the best seen).
	h := sc.heap[:0]
	room := len(prod) - len(list)
	for p := range int32(m.nP) {
		if scores[p] < 0 || sc.mark[p] == sc.stamp || room == 0 {
			continue
		}
		if len(h) < room {
			h = heapPush(scores, h, p)
		} else if better(scores, p, h[0]) {
			h[0] = p
			heapDown(scores, h, 0)
		}
	}
	for _, p := range h {
		sc.mark[p] = sc.stamp
	}
	list = append(list, h...)
	sortBetter(scores, list)
	cutoff := int32(-1)
	for p := range int32(m.nP) {
		if scores[p] >= 0 && sc.mark[p] != sc.stamp {
			cutoff = max(cutoff, scores[p])
		}
	}
	for i, p := range list {
		prod[i], score[i] = uint16(p), scores[p]
	}
	sc.list, sc.heap = list, h
	return uint8(len(list)), cutoff
}

// sortBetter is an insertion sort: lists are short.
func sortBetter(scores []int32, l []int32) {
	for i := 1; i < len(l); i++ {
		for j := i; j > 0 && better(scores, l[j], l[j-1]); j-- {
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
}

// heapPush adds p to a heap whose root is the worst product.
func heapPush(scores []int32, h []int32, p int32) []int32 {
	h = append(h, p)
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !better(scores, h[parent], h[i]) {
			break
		}
		h[parent], h[i] = h[i], h[parent]
		i = parent
	}
	return h
}

func heapDown(scores []int32, h []int32, i int) {
	for {
		worst, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && better(scores, h[worst], h[l]) {
			worst = l
		}
		if r < len(h) && better(scores, h[worst], h[r]) {
			worst = r
		}
		if worst == i {
			return
		}
		h[i], h[worst] = h[worst], h[i]
		i = worst
	}
}
