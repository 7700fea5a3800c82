package boxalloc

import (
	"context"
	"time"
)

// Greedy is the first-come baseline: subscribers in an order fixed by
// opt.Seed each take their best box (highest score, one warehouse) from
// the stock the earlier ones left; a subscriber who finds no full box is
// unfilled. No prices, no repair, no bound (Bound is 0; compare with
// GapTo an Allocate bound). Only Seed, Candidates and Progress of opt are
// used. It returns EINVALID for a malformed instance and ctx.Err() when
// ctx ends first.
func Greedy(ctx context.Context, in *Instance, opt Options) (*Result, error) {
	start := time.Now()
	opt = opt.withDefaults()
	opt.Jitter, opt.Workers = -1, 1
	m, err := compile(in)
	if err != nil {
		return nil, err
	}
	a, err := newAllocator(ctx, m, opt)
	if err != nil {
		return nil, err
	}
	as := newAssignment(m, a.dual.prices) // all zero: plain scores
	pk := a.pickers[0]
	reasons := map[int]string{}
	for i, s := range a.order {
		if i%chunkSize == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		a.boxFromFree(pk, as, s)
		if as.w[s] < 0 {
			reasons[s] = m.reason(s)
		}
	}
	r := m.result("greedy", as, reasons)
	r.Elapsed = time.Since(start)
	if opt.Progress != nil {
		opt.Progress(Progress{Phase: "done", Objective: r.Objective, Filled: len(r.Boxes), Elapsed: r.Elapsed})
	}
	return r, nil
}
