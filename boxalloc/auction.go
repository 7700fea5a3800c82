package boxalloc

import (
	"container/heap"
	"context"
)

// auction improves a repaired allocation by a sequential auction (in the
// spirit of Bertsekas's) that starts from the dual prices: each subscriber
// keeps its warehouse and bids with its true scores. A subscriber whose box
// is short, or can gain more than auctionEpsilon in reduced value by
// exchanging one product, goes for the product that gains most. Free stock
// goes to it at once. A sold-out product goes to it from the holder willing
// to pay least (the heap's top), whom it outbids by its margin over its
// next best move plus auctionEpsilon; that holder then looks for a
// replacement. A product's posted price is the least a holder would pay
// (the dual price while stock is free) and never falls, so the auction
// ends; it leaves each box within auctionEpsilon of its best single
// exchange at the posted prices. This wins back most of what the repair
// loses (subscribers pushed off over-demanded products to whatever stock
// was left) at a fraction of the cost of more dual passes. The posted
// prices are the auction's own: the dual prices, hence the bound and the
// prices reported, do not change.
//
// It is skipped with a value floor (a floor makes single exchanges
// interact), stops after auctionBudget moves per subscriber, and keeps the
// allocation it started from if it ends lower. Boxes it leaves short (no
// candidate left) are completed by complete.
func (a *allocator) auction(ctx context.Context, as *assignment) error {
	m := a.m
	if m.valueFloor > 0 {
		return nil
	}
	before, saved := as.objective(), as.clone()
	if _, _, err := a.runAuction(ctx, as); err != nil {
		return err
	}
	if as.objective() < before {
		*as = *saved
	}
	return nil
}

// runAuction runs the auction and returns the moves it looked at and
// whether it ran out of budget.
func (a *allocator) runAuction(ctx context.Context, as *assignment) (int, bool, error) {
	m := a.m
	n := len(as.n)
	au := &auctioneer{a: a, as: as, price: append([]int64(nil), as.prices...),
		heaps: make([]*holderHeap, len(m.stock)), clean: make([]bool, len(m.stock)), queued: make([]bool, n),
		catCount: make([]int32, m.nCat), regCount: make([]int32, m.nCat), minIn: make([]int64, m.nCat), minInJ: make([]int, m.nCat)}
	// Holders per pw at the start (later ones join extra until pw's heap exists).
	au.start = make([]int32, len(m.stock)+1)
	for s, w := range as.w {
		for _, p := range as.box(s) {
			au.start[m.pw(int(p), int(w))+1]++
		}
	}
	for pw := range m.stock {
		au.start[pw+1] += au.start[pw]
	}
	au.list = make([]int32, au.start[len(m.stock)])
	fill := append([]int32(nil), au.start[:len(m.stock)]...)
	for s, w := range as.w {
		for _, p := range as.box(s) {
			pw := m.pw(int(p), int(w))
			au.list[fill[pw]] = int32(s)
			fill[pw]++
		}
	}
	au.extra = make([][]int32, len(m.stock))
	for _, s := range a.order {
		if as.w[s] >= 0 {
			au.push(s)
		}
	}
	budget, steps := auctionBudget*n, 0
	for ; au.head < len(au.queue); steps++ {
		if steps%chunkSize == 0 && ctx.Err() != nil {
			return steps, false, ctx.Err()
		}
		if steps == budget {
			return steps, true, nil
		}
		s := int(au.queue[au.head])
		if au.head++; au.head > len(au.queue)/2 && au.head > chunkSize {
			au.queue, au.head = au.queue[:copy(au.queue, au.queue[au.head:])], 0
		}
		au.queued[s] = false
		au.bid(s)
	}
	return steps, false, nil
}

const (
	auctionEpsilon = PointScale / 10 // 0.1 points
	auctionBudget  = 40              // moves per subscriber at most
)

type auctioneer struct {
	a      *allocator
	as     *assignment
	price  []int64       // per pw: posted price, see posted
	heaps  []*holderHeap // per pw, built at the first bid on a sold-out pw
	clean  []bool        // per pw: price already covers the heap's valid top
	queue  []int32       // subscribers to look at, from head on
	head   int
	queued []bool
	start  []int32 // holders of pw at the start: list[start[pw]:start[pw+1]]
	list   []int32
	extra  [][]int32 // per pw: holders that joined before its heap was built

	catCount, regCount []int32
	minIn              []int64 // per category: lowest reduced value held (swap mode)
	minInJ             []int   // and its position in the box
}

func (au *auctioneer) push(s int) {
	if !au.queued[s] {
		au.queued[s] = true
		au.queue = append(au.queue, int32(s))
	}
}

// move is a subscriber's best change: add product p, dropping the box's
// j-th product first (-1: none, the box is short), worth gain in reduced
// value, and margin more than its next best change (or than no change).
type move struct {
	p, j         int
	score        int32
	gain, margin int64
}

// best finds s's best move at its warehouse over its candidates.
func (au *auctioneer) best(s int) (move, bool) {
	m, as := au.a.m, au.as
	base := int(as.w[s]) * m.nP
	box := as.box(s)
	short := len(box) < m.k
	minAll, minAllJ := int64(0), -1
	for j, p := range box {
		c := m.category[p]
		au.catCount[c]++
		r := int64(as.scores[s*m.k+j]) - au.posted(base+int(p))
		if au.catCount[c] == 1 || r < au.minIn[c] {
			au.minIn[c], au.minInJ[c] = r, j
		}
		if minAllJ < 0 || r < minAll {
			minAll, minAllJ = r, j
		}
	}
	prod, score := au.a.cand.of(s)
	first, second := au.scan(s, prod, score, short, minAll, minAllJ)
	if cutoff := au.a.cand.cutoff[s]; short && cutoff >= 0 && first.gain < int64(cutoff) &&
		(first.p < 0 || as.free[base+first.p] <= 0) {
		// A product left out of the candidates may do better: a short box
		// that would outbid another must see them all, or boxes whose
		// candidates are sold out would only ever outbid each other.
		prod, score = au.a.pickers[0].everyProduct(s)
		first, second = au.scan(s, prod, score, short, minAll, minAllJ)
	}
	for _, p := range box {
		au.catCount[m.category[p]] = 0
	}
	if first.p < 0 || !short && first.gain <= auctionEpsilon {
		return move{}, false
	}
	if !short {
		second = max(second, 0) // keeping the box is the alternative
	}
	first.margin = 1 << 40 // nothing else: it would pay any price
	if second > unusable {
		first.margin = first.gain - second
	}
	return first, true
}

// scan finds the best and second best moves of s over a product list
// (catCount, minIn and minInJ describe its box).
func (au *auctioneer) scan(s int, prod []uint16, score []int32, short bool, minAll int64, minAllJ int) (move, int64) {
	m, as := au.a.m, au.as
	base := int(as.w[s]) * m.nP
	stock := m.stock[base : base+m.nP]
	box := as.box(s)
	first, second := move{p: -1, gain: unusable}, int64(unusable)
	for i, q := range prod {
		c := m.category[q]
		if stock[q] == 0 || containsProduct(box, q) || m.catLimit[c] == 0 {
			continue
		}
		r := int64(score[i]) - au.posted(base+int(q))
		j := -1
		switch {
		case short && au.catCount[c] < m.catLimit[c]:
		case short:
			continue
		case au.catCount[c] < m.catLimit[c]:
			j, r = minAllJ, r-minAll
		default:
			j, r = au.minInJ[c], r-au.minIn[c]
		}
		// Ties go to free stock: outbidding an equal holder only starts a price war.
		if r > first.gain || r == first.gain && as.free[base+int(q)] > 0 && as.free[base+first.p] <= 0 {
			second = first.gain
			first = move{p: int(q), j: j, score: score[i], gain: r}
		} else if r > second {
			second = r
		}
	}
	return first, second
}

// bid lets s make its best move, outbidding the holder willing to pay
// least when the product is sold out: s then pays that holder's amount plus
// its margin plus auctionEpsilon, so the amounts only rise.
func (au *auctioneer) bid(s int) {
	m, as := au.a.m, au.as
	mv, ok := au.best(s)
	if !ok {
		return
	}
	w := int(as.w[s])
	pw := m.pw(mv.p, w)
	pay := au.posted(pw) + mv.margin // what s would pay at most
	if as.free[pw] <= 0 {
		h := au.heapOf(pw)
		t, _ := au.top(h, pw)
		if t < 0 {
			return
		}
		heap.Pop(h)
		au.clean[pw] = false
		as.remove(m, t, indexOf(as.box(t), uint16(mv.p)))
		au.push(t)
		pay += auctionEpsilon
	}
	if mv.j >= 0 {
		au.clean[m.pw(int(as.box(s)[mv.j]), w)] = false
		as.remove(m, s, mv.j)
	}
	as.add(m, s, mv.p, mv.score)
	if h := au.heaps[pw]; h != nil {
		heap.Push(h, holder{key: pay, s: int32(s)})
	} else {
		au.extra[pw] = append(au.extra[pw], int32(s))
	}
	if int(as.n[s]) < m.k || mv.j >= 0 {
		au.push(s) // short still, or another exchange may pay
	}
}

// posted is the price of a unit of pw: the dual price at first, raised to
// the least any holder would pay while it is sold out; it never falls, so
// the auction ends.
func (au *auctioneer) posted(pw int) int64 {
	if au.as.free[pw] <= 0 && !au.clean[pw] {
		au.clean[pw] = true
		if t, key := au.top(au.heapOf(pw), pw); t >= 0 && key > au.price[pw] {
			au.price[pw] = key
		}
	}
	return au.price[pw]
}

// top returns the valid holder of pw willing to pay least, and that
// amount (-1 when there is none), dropping stale entries.
func (au *auctioneer) top(h *holderHeap, pw int) (int, int64) {
	m, as := au.a.m, au.as
	p := uint16(pw % m.nP)
	for h.Len() > 0 {
		e := h.items[0]
		t := int(e.s)
		if int(as.w[t])*m.nP+int(p) == pw && containsProduct(as.box(t), p) {
			return t, e.key
		}
		heap.Pop(h)
	}
	return -1, 0
}

// heapOf builds pw's heap of holders at its first bid: each holder is
// willing to pay the price plus what it loses by its best replacement.
func (au *auctioneer) heapOf(pw int) *holderHeap {
	if h := au.heaps[pw]; h != nil {
		return h
	}
	m, as := au.a.m, au.as
	w, p := pw/m.nP, pw%m.nP
	h := &holderHeap{}
	add := func(s int32) {
		if int(as.w[s]) != w {
			return
		}
		if j := indexOf(as.box(int(s)), uint16(p)); j >= 0 {
			h.items = append(h.items, holder{key: as.prices[pw] + au.regret(int(s), j), s: s})
		}
	}
	for _, s := range au.list[au.start[pw]:au.start[pw+1]] {
		add(s)
	}
	for _, s := range au.extra[pw] {
		add(s)
	}
	au.extra[pw] = nil
	heap.Init(h)
	au.heaps[pw] = h
	return h
}

// regret is what s loses, in reduced value, by replacing its j-th product
// by the best other product its box allows (large when there is none).
func (au *auctioneer) regret(s, j int) int64 {
	m, as := au.a.m, au.as
	base := int(as.w[s]) * m.nP
	stock := m.stock[base : base+m.nP]
	box := as.box(s)
	out := box[j]
	for i, p := range box {
		if i != j {
			au.regCount[m.category[p]]++
		}
	}
	best := int64(unusable)
	prod, score := au.a.cand.of(s)
	for i, q := range prod {
		c := m.category[q]
		if stock[q] > 0 && q != out && au.regCount[c] < m.catLimit[c] && !containsProduct(box, q) {
			best = max(best, int64(score[i])-au.as.prices[base+int(q)])
		}
	}
	for _, p := range box {
		au.regCount[m.category[p]] = 0
	}
	if best == unusable {
		return 1 << 40
	}
	return int64(as.scores[s*m.k+j]) - au.as.prices[base+int(out)] - best
}

func indexOf(l []uint16, p uint16) int {
	for i, q := range l {
		if q == p {
			return i
		}
	}
	return -1
}

// holder is one unit of a product held by subscriber s, who would pay up
// to key for it (stale once s no longer holds it).
type holder struct {
	key int64
	s   int32
}

// holderHeap is a min-heap by key, then subscriber.
type holderHeap struct{ items []holder }

func (h *holderHeap) Len() int { return len(h.items) }
func (h *holderHeap) Less(i, j int) bool {
	x, y := h.items[i], h.items[j]
	return x.key < y.key || x.key == y.key && x.s < y.s
}
func (h *holderHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *holderHeap) Push(x any)    { h.items = append(h.items, x.(holder)) }
func (h *holderHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}
