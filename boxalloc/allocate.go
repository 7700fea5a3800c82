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
	MaxIterations int            // dual passes over all subscribers; 0 means 200, or 6 after a warm start
	TargetGap     float64        // stop once the certified gap is at most this; 0 means 0.0005
	RepairEvery   int            // dual passes between primal repairs; 0 means 10
	Candidates    int            // products kept per subscriber (8 to 64); 0 means 48
	Sample        int            // subscribers in the warm-start sample, used above 4× as many; 0 means n/10 within 10,000 to 50,000, <0 never
	SamplePasses  int            // dual passes over the sample; 0 means 60
	Jitter        float64        // deterministic perturbation of scores while steering prices, in points (breaks ties of identical profiles; never in objective or bound); 0 means 0.4, <0 none
	Progress      func(Progress) // called after every dual pass and at each phase; may be nil
}

// Progress is a snapshot of a running allocation, for a live progress line.
type Progress struct {
	Phase     string // "sample", "candidates", "dual", "complete" or "done"
	Iteration int
	Bound     Points // best certified upper bound so far (every RepairEvery passes; 0 before the first)
	Estimate  Points // this pass's dual value with jittered scores (steers prices; not a bound)
	Objective Points // best allocation so far (after a repair)
	Gap       float64
	Filled    int // boxes filled by the best allocation so far
	Elapsed   time.Duration
}

func (o Options) withDefaults() Options {
	if o.SamplePasses <= 0 {
		o.SamplePasses = 60
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
		o.Jitter = 0.4
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
	warm, err := warmStart(ctx, in, opt, report)
	if err != nil {
		return nil, err
	}
	passes := opt.MaxIterations
	if passes <= 0 && warm != nil {
		passes = warmPasses
	} else if passes <= 0 {
		passes = defaultPasses
	}
	report(Progress{Phase: "candidates"})
	a, err := newAllocator(ctx, m, opt)
	if err != nil {
		return nil, err
	}
	if warm != nil {
		a.dual.warm(warm.dual, warm.share)
	}
	best, bound, it, err := a.solve(ctx, passes, opt, "dual", true, report)
	if err != nil {
		return nil, err
	}
	gap := gapOf(bound, best.objective())
	report(Progress{Phase: "complete", Iteration: it, Bound: Points(bound), Objective: Points(best.objective()), Gap: gap, Filled: best.filled()})
	if err := a.auction(ctx, best); err != nil {
		return nil, err
	}
	reasons, err := a.complete(ctx, best)
	if err != nil {
		return nil, err
	}
	if err := a.improve(ctx, best); err != nil {
		return nil, err
	}
	a.cand, a.resp = nil, bestResponse{} // let the collector have them before the result is built
	r := m.result("lagrangian", best, reasons)
	r.setBound(Points(bound))
	r.Iterations = it
	r.Elapsed = time.Since(start)
	report(Progress{Phase: "done", Iteration: it, Bound: r.Bound, Objective: r.Objective, Gap: r.Gap, Filled: len(r.Boxes)})
	return r, nil
}

// solve runs up to passes dual passes; with certify, every RepairEvery-th
// (and the last) also certifies a bound and repairs the best responses into
// an allocation, and it stops early once the gap reaches the target. It
// returns the best allocation, the best bound and the passes run.
func (a *allocator) solve(ctx context.Context, passes int, opt Options, phase string, certify bool, report func(Progress)) (*assignment, int64, int, error) {
	bound := int64(math.MaxInt64)
	var best *assignment
	gap, it := 1.0, 0
	for it < passes && gap > opt.TargetGap {
		it++
		estimate, err := a.pass(ctx)
		if err != nil {
			return nil, 0, 0, err
		}
		excess := a.excess()
		if certify && (it%opt.RepairEvery == 0 || it == passes) {
			b, err := a.bound(ctx)
			if err != nil {
				return nil, 0, 0, err
			}
			bound = min(bound, b)
			as, err := a.repair(ctx)
			if err != nil {
				return nil, 0, 0, err
			}
			if as.betterThan(best) {
				best = as
			}
			gap = gapOf(bound, best.objective())
		}
		p := Progress{Phase: phase, Iteration: it, Estimate: Points(estimate), Gap: gap}
		if bound < math.MaxInt64 {
			p.Bound = Points(bound)
		}
		if best != nil {
			p.Objective, p.Filled = Points(best.objective()), best.filled()
		}
		report(p)
		a.dual.update(excess, a.m.stock)
	}
	return best, bound, it, nil
}

// Default numbers of passes over all subscribers, without and after a warm start.
const (
	defaultPasses = 200
	warmPasses    = 6
)

// warmStart runs the price passes on a sample of the subscribers (every
// n/Sample-th, with the stock scaled to their share) and returns its
// prices and slopes, or nil when the instance is small enough to solve
// directly. Demand per product scales with the subscribers, so the
// sample's prices are close to the full instance's and few full passes remain.
func warmStart(ctx context.Context, in *Instance, opt Options, report func(Progress)) (*warmState, error) {
	n := len(in.Subscribers)
	size := opt.Sample
	if size == 0 {
		size = min(max(n/10, 10_000), 50_000)
	}
	if size < 0 || n < 4*size {
		return nil, nil
	}
	stride := n / size
	sample := *in
	sample.Subscribers = make([]Subscriber, 0, n/stride+1)
	for s := 0; s < n; s += stride {
		sample.Subscribers = append(sample.Subscribers, in.Subscribers[s])
	}
	share := float64(len(sample.Subscribers)) / float64(n)
	sample.Stock = make([]StockLevel, len(in.Stock))
	for i, st := range in.Stock {
		st.Quantity = int(math.Round(float64(st.Quantity) * share))
		sample.Stock[i] = st
	}
	m, err := compile(&sample)
	if err != nil {
		return nil, err
	}
	a, err := newAllocator(ctx, m, opt)
	if err != nil {
		return nil, err
	}
	if _, _, _, err := a.solve(ctx, opt.SamplePasses, opt, "sample", false, report); err != nil {
		return nil, err
	}
	return &warmState{dual: a.dual, share: share}, nil
}

// warmState is what a sample teaches the full instance.
type warmState struct {
	dual  *dual
	share float64
}

func newAllocator(ctx context.Context, m *model, opt Options) (*allocator, error) {
	n := len(m.in.Subscribers)
	a := &allocator{m: m, workers: opt.Workers, seed: opt.Seed,
		resp: bestResponse{w: make([]int8, n), items: make([]uint16, n*m.k), scores: make([]int32, n*m.k)}}
	m.jitter = min(max(0, int64(toPoints(opt.Jitter))), math.MaxUint32)
	for w := range opt.Workers {
		pk := newPicker(m)
		pk.worker = w
		pk.jitterSeed = uint64(opt.Seed)
		a.pickers = append(a.pickers, pk)
	}
	cand, err := m.buildCandidates(ctx, opt.Workers, opt.Candidates)
	if err != nil {
		return nil, err
	}
	a.cand = cand
	a.order = seededOrder(n, opt.Seed)
	a.dual = newDual(m, opt.Workers)
	return a, nil
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
	for _, s := range a.order { // the auction may leave short boxes: completion starts from empty ones
		if int(as.n[s]) != a.m.k && as.n[s] > 0 {
			as.release(a.m, s)
		}
	}
	for _, s := range a.order {
		if int(as.n[s]) == a.m.k {
			continue
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
