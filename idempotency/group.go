package idempotency

import (
	"context"
	"sync"
)

// Completion is a response kept under a claimed key.
type Completion struct {
	Scope, Key  string
	Status      int
	ContentType string
	Location    string
	Body        []byte
}

// completions stores concurrent Completes together: the first caller
// writes every completion waiting at that moment in one transaction (one
// commit, a few statements) while the callers that come meanwhile wait and
// form the next group, written by the first of them. Every caller returns
// once its own completion is stored, or with the group's error. A drop
// completes thousands of checkouts a second; one by one, each was a
// transaction of its own (a commit, three round trips on PostgreSQL).
type completions struct {
	mu      sync.Mutex
	waiting []*completing
	writing bool // a caller is writing a group
}

type completing struct {
	c    Completion
	err  error
	lead bool          // this caller writes the next group
	done chan struct{} // closed when c is stored, or when the caller leads
}

// complete stores c with write, in a group with the completions that wait
// beside it.
func (g *completions) complete(ctx context.Context, c Completion, write func(context.Context, []Completion) error) error {
	me := &completing{c: c, done: make(chan struct{})}
	g.mu.Lock()
	g.waiting = append(g.waiting, me)
	if g.writing {
		g.mu.Unlock()
		<-me.done
		if !me.lead {
			return me.err
		}
		g.mu.Lock()
	}
	g.writing = true
	group := g.waiting
	g.waiting = nil
	g.mu.Unlock()

	cs := make([]Completion, len(group))
	for i, w := range group {
		cs[i] = w.c
	}
	err := write(context.WithoutCancel(ctx), cs)

	g.mu.Lock()
	for _, w := range group {
		if w != me {
			w.err = err
			close(w.done)
		}
	}
	if len(g.waiting) > 0 {
		next := g.waiting[0] // its caller writes the group that formed meanwhile
		next.lead = true
		close(next.done)
	} else {
		g.writing = false
	}
	g.mu.Unlock()
	return err
}
