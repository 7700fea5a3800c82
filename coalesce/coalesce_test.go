package coalesce_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopd/shopd/coalesce"
)

// double answers each call with twice its request, and records batch sizes.
type double struct {
	mu      sync.Mutex
	sizes   []int
	running atomic.Int32
	overlap atomic.Bool
}

func (d *double) run(ctx context.Context, calls []*coalesce.Call[int, int]) {
	if d.running.Add(1) > 1 {
		d.overlap.Store(true)
	}
	defer d.running.Add(-1)
	time.Sleep(time.Millisecond) // a round trip, so that calls pile up
	d.mu.Lock()
	d.sizes = append(d.sizes, len(calls))
	d.mu.Unlock()
	for _, c := range calls {
		if c.Req < 0 {
			c.Err = errors.New("negative")
			continue
		}
		c.Res = 2 * c.Req
	}
}

func TestConcurrentCallsShareBatches(t *testing.T) {
	d := &double{}
	b := coalesce.New(16, d.run)
	const callers, rounds = 300, 5
	var wg sync.WaitGroup
	var wrong atomic.Int32
	for g := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				req := g*rounds + r
				if g%10 == 0 {
					req = -1 - req
				}
				res, err := b.Do(context.Background(), req)
				if req < 0 && (err == nil || res != 0) || req >= 0 && (err != nil || res != 2*req) {
					wrong.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := wrong.Load(); n != 0 {
		t.Fatalf("%d calls got another call's answer or error", n)
	}
	if d.overlap.Load() {
		t.Fatal("two batches ran at once")
	}
	total, most := 0, 0
	for _, n := range d.sizes {
		total += n
		most = max(most, n)
	}
	if total != callers*rounds {
		t.Fatalf("batches ran %d calls, want %d", total, callers*rounds)
	}
	if most > 16 {
		t.Fatalf("a batch of %d calls, over the maximum of 16", most)
	}
	if len(d.sizes) > callers*rounds/4 {
		t.Fatalf("%d batches for %d calls: they were not coalesced", len(d.sizes), callers*rounds)
	}
}

func TestLoneCallRunsAtOnce(t *testing.T) {
	d := &double{}
	b := coalesce.New(16, d.run)
	for i := range 3 {
		if res, err := b.Do(context.Background(), i); err != nil || res != 2*i {
			t.Fatalf("Do(%d) = %d, %v", i, res, err)
		}
	}
	if len(d.sizes) != 3 {
		t.Fatalf("batch sizes %v, want three batches of one", d.sizes)
	}
}

func TestCanceledCallIsNotRun(t *testing.T) {
	var ran []int
	b := coalesce.New(16, func(ctx context.Context, calls []*coalesce.Call[int, int]) {
		for _, c := range calls {
			ran = append(ran, c.Req)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Do(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled call: %v, want context.Canceled", err)
	}
	if len(ran) != 0 {
		t.Fatalf("ran %v for a canceled call", ran)
	}
}

func TestPanicFailsItsBatchAndPassesTheLead(t *testing.T) {
	release := make(chan struct{})
	b := coalesce.New(1, func(ctx context.Context, calls []*coalesce.Call[int, int]) {
		if calls[0].Req == 0 {
			<-release
			panic("boom")
		}
		calls[0].Res = calls[0].Req
	})
	panicked := make(chan any)
	go func() {
		defer func() { panicked <- recover() }()
		_, _ = b.Do(context.Background(), 0)
	}()
	time.Sleep(10 * time.Millisecond) // call 0 leads and waits in its batch
	answered := make(chan error)
	go func() {
		res, err := b.Do(context.Background(), 7)
		if err == nil && res != 7 {
			err = errors.New("wrong answer")
		}
		answered <- err
	}()
	time.Sleep(10 * time.Millisecond) // call 7 waits behind the batch
	close(release)
	if p := <-panicked; p == nil || !strings.Contains(p.(string), "boom") {
		t.Fatalf("the leader's panic: %v", p)
	}
	select {
	case err := <-answered:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the call waiting behind a panicked batch was never run")
	}
	if res, err := b.Do(context.Background(), 3); err != nil || res != 3 {
		t.Fatalf("after the panic: %d, %v", res, err)
	}
}
