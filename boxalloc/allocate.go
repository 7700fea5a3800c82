package boxalloc

import (
	"context"
	"math"
	"time"
)

// Options tune Allocate. The zero value is usable.
type Options struct {
	Seed          int64          // fixes every tie-break and processing order
	Workers       int            // goroutines; 0 means GOMAXPROCS. Results do not depend on it.
	MaxIterations int            // dual passes; 0 means 200
	TargetGap     float64        // stop once the certified gap is at most this; 0 means 0.0005
	RepairEvery   int            // dual passes between primal repairs; 0 means 10
	Candidates    int            // products kept per subscriber (8 to 64); 0 means 32
	Jitter        float64        // tie-breaking jitter in points (see picker.jitter); 0 means 0.2, <0 none
	Progress      func(Progress) // called after every dual pass and at each phase; may be nil
}

// Progress is a snapshot of a running allocation, for a live progress line.
type Progress struct {
	Phase     string // "candidates", "dual", "complete" or "done"
	Iteration int
	Bound     Points // best certified upper bound so far (every RepairEvery passes)
	Estimate  Points // this pass's dual value over the candidates (steers; not a bound)
	Objective Points // best allocation so far (after a repair)
	Gap       float64
	Filled    int // boxes filled by the best allocation so far
	Elapsed   time.Duration
}

func (o Options) withDefaults() Options {
	if o.MaxIterations <= 0 {
		o.MaxIterations = 200
	}
	if o.TargetGap <= 0 {
		o.TargetGap = 0.0005
	}
	if o.RepairEvery <= 0 {
		o.RepairEvery = 10
	}
	if o.Candidates <= 0 {
		o.Candidates = defaultCandidates
	}
	o.Candidates = min(max(o.Candidates, 8), 64)
	o.Workers = workerCount(o.Workers)
	if o.Jitter == 0 {
		o.Jitter = 0.2
	}
	return o
}

// allocator is the state of one Allocate call.
type allocator struct {
	m       *model
	cand    *candidates
	dual    *dual
	resp    bestResponse
	pickers []*picker
	order   []int // subscribers in seeded order, for repair and completion
	workers int
	seed    int64
}

// Allocate computes the boxes of an instance (see the package doc for the
// method). The result respects every constraint (Validate passes); its
// Bound is an upper bound on the best possible objective, so Gap is
// certified. The same instance and seed give the same result whatever
// Workers is. It returns EINVALID for a malformed instance and ctx.Err()
// when ctx ends first.
func Allocate(ctx context.Context, in *Instance, opt Options) (*Result, error) {
	start := time.Now()
	opt = opt.withDefaults()
	m, err := compile(in)
	if err != nil {
		return nil, err
	}
	report := func(p Progress) {
		if opt.Progress != nil {
			p.Elapsed = time.Since(start)
			opt.Progress(p)
		}
	}
	report(Progress{Phase: "candidates"})
	a, err := newAllocator(ctx, m, opt)
	if err != nil {
		return nil, err
	}
	bound := int64(math.MaxInt64)
	var best *assignment
	gap, it, leastOver := 1.0, 0, int64(math.MaxInt64)
	for it < opt.MaxIterations && gap > opt.TargetGap {
		it++
		estimate, err := a.pass(ctx)
		if err != nil {
			return nil, err
		}
		excess := a.excess()
		over := overDemand(excess)
		certify := it%opt.RepairEvery == 0 || it == opt.MaxIterations
		if certify {
			b, err := a.bound(ctx)
			if err != nil {
				return nil, err
			}
			bound = min(bound, b)
		}
		// Best responses that fit stock better repair into better boxes.
		if certify || over < leastOver && it > signPasses {
			leastOver = min(leastOver, over)
			as, err := a.repair(ctx)
			if err != nil {
				return nil, err
			}
			if as.betterThan(best) {
				best = as
			}
			gap = gapOf(bound, best.objective())
		}
		p := Progress{Phase: "dual", Iteration: it, Bound: Points(bound), Estimate: Points(estimate), Gap: gap}
		if best != nil {
			p.Objective, p.Filled = Points(best.objective()), best.filled()
		}
		report(p)
		target := int64(0)
		if best != nil {
			target = best.objective()
		}
		a.dual.update(excess, m.stock, estimate, target)
	}
	report(Progress{Phase: "complete", Iteration: it, Bound: Points(bound), Objective: Points(best.objective()), Gap: gap, Filled: best.filled()})
	reasons, err := a.complete(ctx, best)
	if err != nil {
		return nil, err
	}
	r := m.result("lagrangian", best, reasons)
	r.setBound(Points(bound))
	r.Iterations = it
	r.Elapsed = time.Since(start)
	report(Progress{Phase: "done", Iteration: it, Bound: r.Bound, Objective: r.Objective, Gap: r.Gap, Filled: len(r.Boxes)})
	return r, nil
}

func newAllocator(ctx context.Context, m *model, opt Options) (*allocator, error) {
	n := len(m.in.Subscribers)
	a := &allocator{m: m, workers: opt.Workers, seed: opt.Seed,
		resp: bestResponse{w: make([]int8, n), items: make([]uint16, n*m.k), scores: make([]int32, n*m.k)}}
	m.jitter = max(0, int64(toPoints(opt.Jitter)))
	for range opt.Workers {
		pk := newPicker(m)
		pk.jitterSeed = uint64(opt.Seed)
		a.pickers = append(a.pickers, pk)
	}
	cand, err := m.buildCandidates(ctx, opt.Workers, opt.Candidates)
	if err != nil {
		return nil, err
	}
	a.cand = cand
	a.order = seededOrder(n, opt.Seed)
	a.dual = newDual(m, opt.Workers, initialStep(cand))
	return a, nil
}

// initialStep is a twentieth of the mean best candidate score: prices reach
// the scale of scores in a dozen growing steps.
func initialStep(c *candidates) float64 {
	sum, n := 0.0, 0
	for s, cnt := range c.n {
		if cnt > 0 {
			sum += float64(c.score[s*c.stride])
			n++
		}
	}
	if n == 0 {
		return 1
	}
	return max(1, sum/float64(n)/20)
}

func gapOf(bound, objective int64) float64 {
	if bound <= 0 {
		return 0
	}
	return float64(bound-objective) / float64(bound)
}

// complete runs the completion step for every subscriber still without a
// full box, in seeded order, and returns the reasons of those it cannot fill.
func (a *allocator) complete(ctx context.Context, as *assignment) (map[int]string, error) {
	reasons := map[int]string{}
	var c *completer
	for _, s := range a.order {
		if int(as.n[s]) == a.m.k {
			continue
		}
		if as.n[s] > 0 {
			as.release(a.m, s)
		}
		if c == nil {
			c = a.newCompleter(as)
		}
		if r := c.fill(ctx, s); r != "" {
			reasons[s] = r
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return reasons, nil
}

// overDemand is the number of units demanded beyond stock.
func overDemand(excess []int64) int64 {
	over := int64(0)
	for _, e := range excess {
		over += max(e, 0)
	}
	return over
}
