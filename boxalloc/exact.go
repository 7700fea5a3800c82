package boxalloc

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/shopd/shopd"
)

// Limits of Exact: it enumerates every box of every subscriber.
const (
	ExactMaxSubscribers = 10
	ExactMaxProducts    = 16
)

// Exact solves a small instance to optimality by branch and bound over
// every feasible box of every subscriber: it first fills as many boxes as
// possible, then maximises the objective. It is the reference for tests.
// It returns EINVALID for a malformed instance or one above
// ExactMaxSubscribers or ExactMaxProducts, and ctx.Err() when ctx ends first.
func Exact(ctx context.Context, in *Instance) (*Result, error) {
	start := time.Now()
	if len(in.Subscribers) > ExactMaxSubscribers || len(in.Products) > ExactMaxProducts {
		return nil, shopd.Errorf(shopd.EINVALID, "boxalloc: exact solver takes at most %d subscribers and %d products", ExactMaxSubscribers, ExactMaxProducts)
	}
	m, err := compile(in)
	if err != nil {
		return nil, err
	}
	e := &exactSearch{m: m, ctx: ctx, free: slices.Clone(m.stock), choice: make([]int, len(in.Subscribers))}
	for s := range in.Subscribers {
		e.options = append(e.options, m.allBoxes(s))
		e.order = append(e.order, s)
	}
	slices.SortStableFunc(e.order, func(x, y int) int { return len(e.options[x]) - len(e.options[y]) })
	e.bestFilled = -1
	e.search(0, 0, 0)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	as := newAssignment(m, make([]int64, len(m.stock)))
	reasons := map[int]string{}
	for s, c := range e.best {
		if c < 0 {
			reasons[s] = m.reason(s)
			continue
		}
		box := e.options[s][c]
		as.w[s] = int8(box.w)
		for i, p := range box.items {
			as.add(m, s, int(p), box.scores[i])
		}
	}
	r := m.result("exact", as, reasons)
	r.setBound(r.Objective)
	r.Elapsed = time.Since(start)
	return r, nil
}

// exactBox is one feasible box of a subscriber.
type exactBox struct {
	w      int
	items  []uint16
	scores []int32
	score  int64
}

type exactSearch struct {
	m          *model
	ctx        context.Context
	options    [][]exactBox // per subscriber, best first
	order      []int        // subscribers, fewest options first
	free       []int32
	choice     []int // per subscriber: option index, -1 for none
	best       []int
	bestFilled int
	bestScore  int64
	nodes      int
}

// search tries every option of the i-th subscriber in order, pruning with
// the bound "every later subscriber gets its best box, whatever the stock".
func (e *exactSearch) search(i, filled int, score int64) {
	if e.nodes++; e.nodes%4096 == 0 && e.ctx.Err() != nil {
		return
	}
	filledUB, scoreUB := filled, score
	for _, s := range e.order[i:] {
		if len(e.options[s]) > 0 {
			filledUB++
			scoreUB += e.options[s][0].score
		}
	}
	if filledUB < e.bestFilled || filledUB == e.bestFilled && scoreUB <= e.bestScore {
		return
	}
	if i == len(e.order) {
		e.bestFilled, e.bestScore, e.best = filled, score, slices.Clone(e.choice)
		return
	}
	s := e.order[i]
	for c, box := range e.options[s] {
		if !e.fits(box) {
			continue
		}
		e.take(box, -1)
		e.choice[s] = c
		e.search(i+1, filled+1, score+box.score)
		e.take(box, 1)
	}
	e.choice[s] = -1
	e.search(i+1, filled, score)
}

func (e *exactSearch) fits(b exactBox) bool {
	for _, p := range b.items {
		if e.free[e.m.pw(int(p), b.w)] <= 0 {
			return false
		}
	}
	return true
}

func (e *exactSearch) take(b exactBox, delta int32) {
	for _, p := range b.items {
		e.free[e.m.pw(int(p), b.w)] += delta
	}
}

// allBoxes lists every feasible box of s (any stock > 0), best first.
func (m *model) allBoxes(s int) []exactBox {
	scores := make([]int32, m.nP)
	sub := &m.in.Subscribers[s]
	m.scorer.score(&sub.Profile, sub.Recent, scores)
	var boxes []exactBox
	items := make([]uint16, 0, m.k)
	perCat := make([]int32, m.nCat)
	for _, w := range m.warehouses(s) {
		var walk func(from int, retail int64)
		walk = func(from int, retail int64) {
			if len(items) == m.k {
				if retail >= m.valueFloor {
					b := exactBox{w: int(w), items: slices.Clone(items)}
					for _, p := range items {
						b.scores = append(b.scores, scores[p])
						b.score += int64(scores[p])
					}
					boxes = append(boxes, b)
				}
				return
			}
			for p := from; p < m.nP; p++ {
				c := m.category[p]
				if scores[p] < 0 || m.stock[m.pw(p, int(w))] == 0 || perCat[c] >= m.catLimit[c] {
					continue
				}
				perCat[c]++
				items = append(items, uint16(p))
				walk(p+1, retail+m.retail[p])
				items = items[:len(items)-1]
				perCat[c]--
			}
		}
		walk(0, 0)
	}
	slices.SortStableFunc(boxes, func(x, y exactBox) int { return cmp.Compare(y.score, x.score) })
	return boxes
}
