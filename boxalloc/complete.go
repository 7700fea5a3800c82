package boxalloc

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// completer fills the boxes repair left empty by augmenting paths in the
// flow network source → subscriber (k) → subscriber × category (limit) →
// product@warehouse → sink (stock), one warehouse at a time: a path gives s
// one more product, possibly by moving holders of a sold-out product to
// another product they can receive, until a product with free stock is
// reached. When no path exists at any of its warehouses (other boxes keep
// their warehouse), s cannot be filled, and reason says why.
type completer struct {
	a       *allocator
	as      *assignment
	holders [][]int32 // per pw: subscribers whose box holds it
	visit   []uint32  // per product: search stamp
	stamp   uint32
	from    []int32        // per product: the product its holder gave up, -1 from s
	holder  []int32        // per product: who takes it on the path
	seen    map[int32]bool // holders expanded in this search
	scores  []int32
	log     []swap
	queue   []int32
}

// swap is one change a path made, kept to undo a box that cannot be completed.
type swap struct {
	s              int
	removed, added int // product indices, -1 for none
	score          int32
}

func (a *allocator) newCompleter(as *assignment) *completer {
	m := a.m
	c := &completer{a: a, as: as, holders: make([][]int32, len(m.stock)), visit: make([]uint32, m.nP),
		from: make([]int32, m.nP), holder: make([]int32, m.nP), scores: make([]int32, m.nP)}
	for s, w := range as.w {
		for _, p := range as.box(s) {
			pw := m.pw(int(p), int(w))
			c.holders[pw] = append(c.holders[pw], int32(s))
		}
	}
	return c
}

// fill tries to give s a full box; it returns "" or the reason it cannot.
// Augmenting paths never empty another box, so when they fall short, fill
// also tries displacing one box that holds a product s could use and
// refilling both.
func (c *completer) fill(ctx context.Context, s int) string {
	m := c.a.m
	for _, w := range m.warehouses(s) {
		if m.maxBoxSize(c.scoresOf(s), int(w)) < m.k {
			continue
		}
		if c.tryFill(ctx, s, int(w), -1) {
			return ""
		}
	}
	for _, w := range m.warehouses(s) {
		if m.maxBoxSize(c.scoresOf(s), int(w)) >= m.k && c.displace(ctx, s, int(w)) {
			return ""
		}
	}
	return m.reason(s)
}

// maxDisplaced bounds the boxes fill tries to displace for one subscriber.
const maxDisplaced = 16

func (c *completer) displace(ctx context.Context, s, w int) bool {
	m := c.a.m
	own := slices.Clone(c.scoresOf(s))
	tried := map[int32]bool{}
	for q := range m.nP {
		if own[q] < 0 || m.stock[m.pw(q, w)] == 0 {
			continue
		}
		for _, t := range slices.Clone(c.holders[m.pw(q, w)]) {
			if tried[t] || len(tried) >= maxDisplaced || ctx.Err() != nil {
				continue
			}
			tried[t] = true
			if c.tryFill(ctx, s, w, int(t)) {
				return true
			}
		}
	}
	return false
}

// tryFill augments s's box at w to k items, after emptying t's box when t
// >= 0 and then refilling it; it undoes everything unless all succeed.
func (c *completer) tryFill(ctx context.Context, s, w, t int) bool {
	m, as := c.a.m, c.as
	c.log = c.log[:0]
	as.w[s] = int8(w)
	for t >= 0 && as.n[t] > 0 {
		p := int(as.box(t)[as.n[t]-1])
		as.remove(m, t, int(as.n[t])-1)
		c.dropHolder(m.pw(p, w), t)
		c.log = append(c.log, swap{s: t, removed: p, added: -1})
	}
	ok := c.augmentTo(ctx, s, w)
	if ok && t >= 0 {
		ok = c.augmentTo(ctx, t, w)
	}
	if ok {
		return true
	}
	c.undo()
	as.w[s] = -1
	return false
}

// augmentTo adds products to s's box at w until it is full and meets the floor.
func (c *completer) augmentTo(ctx context.Context, s, w int) bool {
	for int(c.as.n[s]) < c.a.m.k && ctx.Err() == nil && c.augment(s, w) {
	}
	return int(c.as.n[s]) == c.a.m.k && c.meetsFloor(s)
}

func (c *completer) scoresOf(s int) []int32 {
	sub := &c.a.m.in.Subscribers[s]
	c.a.m.scorer.score(&sub.Profile, sub.Recent, c.scores)
	return c.scores
}

// augment finds one augmenting path for s at w by breadth-first search and applies it.
func (c *completer) augment(s, w int) bool {
	m, as := c.a.m, c.as
	c.stamp++
	clear(c.seen)
	if c.seen == nil {
		c.seen = map[int32]bool{}
	}
	queue := c.queue[:0]
	// reach marks q reached from holder t giving up product from (-1: s
	// takes it); a product with free stock ends the search at once.
	reach := func(q, from, t int32) bool {
		c.visit[q], c.from[q], c.holder[q] = c.stamp, from, t
		if as.free[m.pw(int(q), w)] > 0 {
			c.apply(s, w, q)
			return true
		}
		queue = append(queue, q)
		return false
	}
	own := c.scoresOf(s)
	for q := range int32(m.nP) {
		if own[q] >= 0 && m.stock[m.pw(int(q), w)] > 0 && c.canTake(s, -1, int(q)) && reach(q, -1, int32(s)) {
			return true
		}
	}
	for len(queue) > 0 {
		q := queue[0]
		queue = queue[1:]
		for _, t := range c.holders[m.pw(int(q), w)] {
			// Each holder moves at most once per path, so a path's exchanges
			// never conflict; s itself may only swap within the category.
			if c.seen[t] {
				continue
			}
			c.seen[t] = true
			ts := c.scoresOf(int(t))
			for q2 := range int32(m.nP) {
				if c.visit[q2] != c.stamp && ts[q2] >= 0 && m.stock[m.pw(int(q2), w)] > 0 &&
					(int(t) != s || m.category[q2] == m.category[q]) && c.canTake(int(t), int(q), int(q2)) && reach(q2, q, t) {
					return true
				}
			}
		}
	}
	c.queue = queue
	return false
}

// canTake says whether t's box may give up product out (-1: none) for in:
// not already held, category limit and value floor kept.
func (c *completer) canTake(t, out, in int) bool {
	m := c.a.m
	box := c.as.box(t)
	if slices.Contains(box, uint16(in)) {
		return false
	}
	cat, count := m.category[in], int32(0)
	retail := m.retail[in]
	for _, p := range box {
		if int(p) != out {
			retail += m.retail[p]
			if m.category[p] == cat {
				count++
			}
		}
	}
	if count >= m.catLimit[cat] {
		return false
	}
	// A holder's box is full, so the floor must still hold after the exchange.
	return out < 0 || m.valueFloor == 0 || retail >= m.valueFloor
}

// apply walks the path back from target: each holder takes the next
// product and gives up its own, and s takes the first.
func (c *completer) apply(s, w int, target int32) {
	for q := target; ; {
		t, out := int(c.holder[q]), int(c.from[q])
		score := c.scoresOf(t)[q]
		if out >= 0 {
			c.exchange(t, w, out, int(q), score)
		} else {
			c.exchange(s, w, -1, int(q), score)
			return
		}
		q = int32(out)
	}
}

func (c *completer) exchange(t, w, out, in int, score int32) {
	m, as := c.a.m, c.as
	if out >= 0 {
		as.remove(m, t, slices.Index(as.box(t), uint16(out)))
		c.dropHolder(m.pw(out, w), t)
	}
	as.add(m, t, in, score)
	c.holders[m.pw(in, w)] = append(c.holders[m.pw(in, w)], int32(t))
	c.log = append(c.log, swap{s: t, removed: out, added: in, score: score})
}

func (c *completer) dropHolder(pw, t int) {
	h := c.holders[pw]
	i := slices.Index(h, int32(t))
	h[i] = h[len(h)-1]
	c.holders[pw] = h[:len(h)-1]
}

// undo reverts the exchanges of a box that could not be completed.
func (c *completer) undo() {
	m, as := c.a.m, c.as
	for i := len(c.log) - 1; i >= 0; i-- {
		x := c.log[i]
		w := int(as.w[x.s])
		if x.added >= 0 {
			as.remove(m, x.s, slices.Index(as.box(x.s), uint16(x.added)))
			c.dropHolder(m.pw(x.added, w), x.s)
		}
		if x.removed >= 0 {
			sub := &m.in.Subscribers[x.s]
			m.scorer.score(&sub.Profile, sub.Recent, c.scores)
			as.add(m, x.s, x.removed, c.scores[x.removed])
			c.holders[m.pw(x.removed, w)] = append(c.holders[m.pw(x.removed, w)], int32(x.s))
		}
	}
	c.log = c.log[:0]
}

func (c *completer) meetsFloor(s int) bool {
	m := c.a.m
	retail := int64(0)
	for _, p := range c.as.box(s) {
		retail += m.retail[p]
	}
	return retail >= m.valueFloor
}

// maxBoxSize is the largest box of feasible products (scores >= 0) in stock
// at w, whatever other boxes take.
func (m *model) maxBoxSize(scores []int32, w int) int {
	perCat := make([]int32, m.nCat)
	for p, v := range scores {
		if v >= 0 && m.stock[m.pw(p, w)] > 0 {
			perCat[m.category[p]]++
		}
	}
	n := 0
	for c, k := range perCat {
		n += int(min(k, m.catLimit[c]))
	}
	return n
}

// reason explains why subscriber s has no box.
func (m *model) reason(s int) string {
	ws := m.warehouses(s)
	if len(ws) == 0 {
		return "no warehouse serves the subscriber"
	}
	scores := make([]int32, m.nP)
	sub := &m.in.Subscribers[s]
	m.scorer.score(&sub.Profile, sub.Recent, scores)
	feasible, best := 0, 0
	for p, v := range scores {
		inStock := false
		for _, w := range ws {
			inStock = inStock || m.stock[m.pw(p, int(w))] > 0
		}
		if v >= 0 && inStock {
			feasible++
		}
	}
	for _, w := range ws {
		best = max(best, m.maxBoxSize(scores, int(w)))
	}
	where := fmt.Sprintf("warehouses of market %s", m.market(s))
	limit := ""
	if best < feasible {
		limit = fmt.Sprintf(", at most %s per category", m.limitsText())
	}
	if best < m.k {
		return fmt.Sprintf("only %d feasible products in stock at %s (a box needs %d%s)", feasible, where, m.k, limit)
	}
	msg := fmt.Sprintf("the stock of its %d feasible products at %s is taken by other boxes and no exchange frees it", feasible, where)
	if m.valueFloor > 0 {
		msg += fmt.Sprintf(", or no box reaches the value floor %d", m.valueFloor)
	}
	return msg
}

func (m *model) limitsText() string {
	parts := []string{fmt.Sprint(m.in.limitOf(""))}
	for _, c := range slices.Sorted(maps.Keys(m.in.CategoryLimits)) {
		parts = append(parts, fmt.Sprintf("%d of %s", m.in.CategoryLimits[c], c))
	}
	return strings.Join(parts, ", ")
}
