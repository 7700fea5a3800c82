package idempotency

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCompletionsGroup: 500 concurrent Completes are all written, each
// exactly once, in far fewer groups than calls, one group at a time; a
// group's error reaches every caller in it and no one else.
func TestCompletionsGroup(t *testing.T) {
	var g completions
	var mu sync.Mutex
	written := map[string]int{}
	var groups, writing atomic.Int64
	boom := errors.New("boom")
	write := func(_ context.Context, cs []Completion) error {
		if writing.Add(1) != 1 {
			t.Error("two groups written at once")
		}
		defer writing.Add(-1)
		groups.Add(1)
		time.Sleep(2 * time.Millisecond) // a commit
		mu.Lock()
		defer mu.Unlock()
		for _, c := range cs {
			if c.Key == "fails" {
				return boom
			}
		}
		for _, c := range cs {
			written[c.Key]++
		}
		return nil
	}
	const n = 500
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := string(rune('A'+i%26)) + string(rune('a'+i/26%26)) + string(rune('0'+i/676))
			if i == 250 {
				key = "fails"
			}
			errs[i] = g.complete(context.Background(), Completion{Key: key}, write)
		}()
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		switch {
		case errors.Is(err, boom):
			failed++
		case err != nil:
			t.Errorf("call %d: %v", i, err)
		}
	}
	if errs[250] != boom {
		t.Errorf("the failing completion's caller got %v", errs[250])
	}
	if len(written)+failed != n {
		t.Errorf("%d written + %d failed, want %d", len(written), failed, n)
	}
	for k, c := range written {
		if c != 1 {
			t.Errorf("%s written %d times", k, c)
		}
	}
	if g := groups.Load(); g >= n/2 {
		t.Errorf("%d groups for %d calls: completions were not grouped", g, n)
	}
	if g.writing || len(g.waiting) != 0 {
		t.Errorf("left writing=%v with %d waiting", g.writing, len(g.waiting))
	}
}
