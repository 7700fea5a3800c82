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
// twice at once in one process. A run in progress when ctx ends finishes its
// batch with a context that is not canceled, so work is never cut in half.
func Start(ctx context.Context, log *slog.Logger, jobs ...Job) *Group {
	g := &Group{}
	for _, j := range jobs {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			t := time.NewTicker(j.Every)
			defer t.Stop()
			for {
				if err := j.Run(context.WithoutCancel(ctx)); err != nil {
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
