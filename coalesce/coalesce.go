// Package coalesce gathers concurrent calls of one operation into batches,
// so that a thousand shoppers reading a thousand carts in the same second
// cost the database a few dozen statements instead of a thousand.
//
// There is no goroutine of its own: the first caller to find no batch
// running runs one, for every call waiting at that moment (itself
// included), and goes on while calls keep arriving until its own is
// answered; then it hands the lead to the oldest waiting caller. A lone
// call runs at once and waits for nobody; under load, the calls that arrive
// while a batch runs form the next one, so batches grow with the load.
package coalesce

import (
	"context"
	"fmt"
	"sync"
)

// A Call is one caller's request in a batch. The batch function sets Res
// or Err of each call it is given.
type Call[Req, Res any] struct {
	Ctx context.Context // the caller's
	Req Req
	Res Res
	Err error

	done chan struct{} // closed when answered
	lead chan struct{} // closed when this caller is to run the batches
}

// Reqs returns the requests of calls, in their order.
func Reqs[Req, Res any](calls []*Call[Req, Res]) []Req {
	reqs := make([]Req, len(calls))
	for i, c := range calls {
		reqs[i] = c.Req
	}
	return reqs
}

// A Batcher runs calls in batches through its function. Its zero value is
// not usable; make one with New.
type Batcher[Req, Res any] struct {
	max int
	run func(ctx context.Context, calls []*Call[Req, Res])

	mu      sync.Mutex
	pending []*Call[Req, Res]
	leading bool // a caller is running batches
}

// New returns a Batcher that runs batches of at most max calls with run.
// run must answer every call it is given (Res or Err); it is handed a
// context that is not canceled when a caller gives up, since the batch
// serves the others too.
func New[Req, Res any](max int, run func(ctx context.Context, calls []*Call[Req, Res])) *Batcher[Req, Res] {
	return &Batcher[Req, Res]{max: max, run: run}
}

// Do runs req in a batch and returns its outcome. A call whose context
// ends before its batch starts returns the context's error; once its batch
// runs, it waits for the outcome (a write may already be committed).
func (b *Batcher[Req, Res]) Do(ctx context.Context, req Req) (Res, error) {
	c := &Call[Req, Res]{Ctx: ctx, Req: req, done: make(chan struct{}), lead: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	if b.leading {
		b.mu.Unlock()
		select {
		case <-c.done:
			return c.Res, c.Err
		case <-c.lead:
		}
	} else {
		b.leading = true
		b.mu.Unlock()
	}
	b.lead(ctx, c)
	return c.Res, c.Err
}

// lead runs batches until c is answered, then passes the lead on — also
// when run panics, so that a bug fails its own batch, not every later call.
func (b *Batcher[Req, Res]) lead(ctx context.Context, c *Call[Req, Res]) {
	defer func() {
		b.mu.Lock()
		if len(b.pending) == 0 {
			b.leading = false
		} else {
			close(b.pending[0].lead)
		}
		b.mu.Unlock()
	}()
	ctx = context.WithoutCancel(ctx)
	for {
		b.mu.Lock()
		n := min(len(b.pending), b.max)
		batch := b.pending[:n:n]
		b.pending = b.pending[n:]
		b.mu.Unlock()
		b.runBatch(ctx, batch)
		select {
		case <-c.done:
			return
		default: // c waits in a later batch
		}
	}
}

// runBatch answers the calls whose callers gave up, runs the rest and
// closes every call's done.
func (b *Batcher[Req, Res]) runBatch(ctx context.Context, batch []*Call[Req, Res]) {
	defer func() {
		p := recover()
		for _, c := range batch {
			if p != nil && c.Err == nil {
				c.Err = fmt.Errorf("coalesce: the batch panicked: %v", p)
			}
			close(c.done)
		}
		if p != nil {
			panic(p)
		}
	}()
	live := make([]*Call[Req, Res], 0, len(batch))
	for _, c := range batch {
		if c.Err = c.Ctx.Err(); c.Err == nil {
			live = append(live, c)
		}
	}
	if len(live) > 0 {
		b.run(ctx, live)
	}
}
