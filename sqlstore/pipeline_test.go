package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestPipeline proves Tx.Pipeline's contract on both engines: writes
// queued in it are seen by every later statement of the transaction and
// committed with it; a failed write fails the whole transaction even if
// the caller ignores the error; a savepoint inside keeps its own
// failures; and on PostgreSQL the queued writes make one round trip.
func TestPipeline(t *testing.T) {
	spans := recordSpans()
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		newEvents := func(subject string, n int) []event.Event {
			es := make([]event.Event, n)
			for i := range es {
				e, err := event.New("pipeline.probe", subject, map[string]int{"i": i}, now)
				if err != nil {
					t.Fatal(err)
				}
				es[i] = e
			}
			return es
		}
		count := func(r sqlstore.Reader, subject string) int {
			var n int
			if err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE subject = $1`, subject).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		stored := func(subject string) int {
			es, err := db.Events().Events(ctx, event.Filter{Subject: subject, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			return len(es)
		}

		// 300 events: four INSERTs (256, 32, 8, 4 rows), queued, then read.
		ctx, root := spans.start(ctx)
		err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
			seen := -1
			err := tx.Pipeline(ctx, func() error {
				if err := tx.AppendEvents(ctx, newEvents("many", 300)); err != nil {
					return err
				}
				seen = count(tx, "many") // sends the queue first
				return nil
			})
			if seen != 300 {
				t.Errorf("inside the pipeline a read saw %d of 300 queued events", seen)
			}
			return err
		})
		root.End()
		if err != nil {
			t.Fatal(err)
		}
		if n := stored("many"); n != 300 {
			t.Fatalf("committed %d events, want 300", n)
		}
		if got := spans.names(root); db.Dialect() == sqlstore.Postgres {
			// Without the pipeline: four INSERTs, each a round trip.
			if want := []string{"postgresql BEGIN", "postgresql BATCH", "postgresql SELECT", "postgresql COMMIT"}; !slices.Equal(got, want) {
				t.Errorf("round trips %v, want %v", got, want)
			}
		}

		// A failed write fails the transaction, even if fn carries on.
		first := newEvents("first", 1)
		if err := db.InTx(ctx, func(tx *sqlstore.Tx) error { return tx.AppendEvents(ctx, first) }); err != nil {
			t.Fatal(err)
		}
		var pipelineErr error
		err = db.InTx(ctx, func(tx *sqlstore.Tx) error {
			pipelineErr = tx.Pipeline(ctx, func() error {
				if err := tx.AppendEvents(ctx, newEvents("lost", 3)); err != nil {
					return err
				}
				return tx.AppendEvents(ctx, first) // the same ID again
			})
			return nil // ignores it
		})
		if pipelineErr == nil || err == nil || err.Error() != pipelineErr.Error() {
			t.Errorf("a duplicate event in a pipeline: Pipeline %v, InTx %v; want the same error from both", pipelineErr, err)
		}
		if n := stored("lost"); n != 0 {
			t.Errorf("a failed transaction kept %d events", n)
		}

		// A savepoint inside keeps its failure to itself.
		errOwn := errors.New("refused")
		err = db.InTx(ctx, func(tx *sqlstore.Tx) error {
			return tx.Pipeline(ctx, func() error {
				if err := tx.AppendEvents(ctx, newEvents("kept", 2)); err != nil {
					return err
				}
				err := tx.Savepoint(ctx, func() error {
					if err := tx.AppendEvents(ctx, newEvents("undone", 2)); err != nil {
						return err
					}
					return errOwn
				})
				if !errors.Is(err, errOwn) {
					return fmt.Errorf("savepoint: %v, want %v", err, errOwn)
				}
				return tx.AppendEvents(ctx, newEvents("kept", 1))
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		if kept, undone := stored("kept"), stored("undone"); kept != 3 || undone != 0 {
			t.Errorf("after a refused savepoint: %d kept (want 3), %d undone (want 0)", kept, undone)
		}
	})
}

// TestCommitLazily: a cart's transaction commits without waiting for the
// disk, and only that transaction — the next one on the same (only)
// pooled connection is durable again. SQLite has nothing to change.
func TestCommitLazily(t *testing.T) {
	for _, d := range storetest.Engines(t) {
		if d != sqlstore.Postgres {
			continue
		}
		ctx := context.Background()
		url := storetest.URL(t, d)
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		db, err := sqlstore.Open(ctx, url+sep+"pool_max_conns=1", sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		setting := func(lazy bool) string {
			var got string
			err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
				return tx.Pipeline(ctx, func() error {
					if lazy {
						if err := tx.CommitLazily(ctx); err != nil {
							return err
						}
					}
					return tx.QueryRowContext(ctx, `SHOW synchronous_commit`).Scan(&got)
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := setting(true); got != "off" {
			t.Errorf("in a lazily committed transaction synchronous_commit = %q, want off", got)
		}
		if got := setting(false); got != "on" {
			t.Errorf("in the next transaction on the one connection synchronous_commit = %q, want on", got)
		}
	}
}

// spanRecorder records the spans of the whole test binary; sqlstore's
// tracer delegates to the first global provider set, so there is one.
type spanRecorder struct{ *tracetest.SpanRecorder }

var (
	recorderOnce sync.Once
	recorder     spanRecorder
)

func recordSpans() spanRecorder {
	recorderOnce.Do(func() {
		recorder = spanRecorder{tracetest.NewSpanRecorder()}
		otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder)))
	})
	return recorder
}

// start starts a root span for the statements that names lists.
func (r spanRecorder) start(ctx context.Context) (context.Context, trace.Span) {
	return otel.Tracer("test").Start(ctx, "test")
}

// names lists, in order, the names of the ended spans under root.
func (r spanRecorder) names(root trace.Span) []string {
	var out []string
	for _, s := range r.Ended() {
		if s.Parent().SpanID() == root.SpanContext().SpanID() {
			out = append(out, s.Name())
		}
	}
	return out
}
