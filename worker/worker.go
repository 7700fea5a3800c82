// Package worker runs shopd's background jobs: loops that wake at an
// interval, do one batch of work, and stop when their context ends.
package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Job is a unit of background work run every interval.
type Job struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) error
}

// Group is a set of running jobs.
type Group struct{ wg sync.WaitGroup }

// Wait blocks until every job has returned after its context ended.
func (g *Group) Wait() { g.wg.Wait() }

// Start runs each job once at start and then every interval until ctx ends.
// A failing run is logged and retried at the next tick; a job never runs
// twice at once in one process. Run gets ctx itself: a job stops between
// batches when ctx ends and runs each batch with context.WithoutCancel, so
// work is never cut in half (see Batches).
func Start(ctx context.Context, log *slog.Logger, jobs ...Job) *Group {
	g := &Group{}
	for _, j := range jobs {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			t := time.NewTicker(j.Every)
			defer t.Stop()
			for {
				if err := j.Run(ctx); err != nil && ctx.Err() == nil {
					log.Error("job failed", slog.String("job", j.Name), slog.String("error", err.Error()))
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	return g
}

// Batches runs batch until it finds nothing to do, stopping between batches
// when ctx ends; each batch runs to completion even then.
func Batches(ctx context.Context, batch func(ctx context.Context) (int, error)) error {
	for ctx.Err() == nil {
		n, err := batch(context.WithoutCancel(ctx))
		if err != nil || n == 0 {
			return err
		}
	}
	return nil
}

// Once adapts a one-shot cleanup (it returns how many rows it touched) to a
// batch that always reports done.
func Once(f func(ctx context.Context) (int64, error)) func(ctx context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		_, err := f(ctx)
		return 0, err
	}
}
