package readcache

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	c := New(time.Hour)
	loads := 0
	load := func() (int, error) { loads++; return loads, nil }
	for range 3 {
		if v, err := Read(t.Context(), c, "k", load); v != 1 || err != nil {
			t.Fatalf("read %d %v, want the first load's 1", v, err)
		}
	}
	// An error is returned and not kept.
	boom := errors.New("boom")
	if _, err := Read(t.Context(), c, "bad", func() (int, error) { return 0, boom }); err != boom {
		t.Fatal(err)
	}
	if _, ok := Get[int](c, "bad"); ok {
		t.Fatal("a failed load was kept")
	}
	// Forget clears; the next read loads again.
	c.Forget()
	if v, _ := Read(t.Context(), c, "k", load); v != 2 || loads != 2 {
		t.Fatalf("after Forget: %d (loads %d)", v, loads)
	}
	// A value loaded before a Forget is not kept: it may miss the write.
	gen := c.Generation()
	c.Forget()
	c.Put("stale", 7, gen)
	if _, ok := Get[int](c, "stale"); ok {
		t.Fatal("a value loaded before a write was kept")
	}
}

func TestTTL(t *testing.T) {
	c := New(20 * time.Millisecond)
	c.Put("k", "v", c.Generation())
	if v, ok := Get[string](c, "k"); !ok || v != "v" {
		t.Fatal("fresh value missing")
	}
	time.Sleep(30 * time.Millisecond)
	if _, ok := Get[string](c, "k"); ok {
		t.Fatal("a value older than the TTL was served")
	}
}

func TestMaxEntries(t *testing.T) {
	c := New(time.Hour)
	gen := c.Generation()
	for i := range MaxEntries + 10 {
		c.Put(strconv.Itoa(i), i, gen)
	}
	if n := len(c.entries); n != MaxEntries {
		t.Fatalf("%d entries, want %d", n, MaxEntries)
	}
	for _, i := range []int{0, 9, MaxEntries + 9} {
		_, ok := Get[int](c, strconv.Itoa(i))
		if want := i >= 10; ok != want {
			t.Errorf("entry %d kept: %v, want %v (the first 10 made room)", i, ok, want)
		}
	}
}

// TestNewSized: past its bound, a sized cache makes room by the entry read
// least recently: a hot key read between the puts of a scan of distinct
// keys (a crawler's filters and cursors) stays.
func TestNewSized(t *testing.T) {
	c := NewSized(time.Hour, 3)
	c.Put("hot", -1, c.Generation())
	for i := range 100 {
		c.Put(strconv.Itoa(i), i, c.Generation())
		if v, ok := Get[int](c, "hot"); !ok || v != -1 {
			t.Fatalf("the hot key was dropped after %d other puts", i+1)
		}
	}
	for i, want := range map[int]bool{97: false, 98: true, 99: true} {
		if _, ok := Get[int](c, strconv.Itoa(i)); ok != want {
			t.Errorf("entry %d kept: %v, want %v", i, ok, want)
		}
	}
	if n := len(c.entries); n != 3 || c.recent.Len() != 3 {
		t.Errorf("%d entries, %d in the list; want 3", n, c.recent.Len())
	}
	c.Put("99", 0, c.Generation()) // again: replaced, not added
	if v, _ := Get[int](c, "99"); v != 0 || c.recent.Len() != 3 {
		t.Errorf("put again: %d, %d in the list; want 0, 3", v, c.recent.Len())
	}
	c.Forget()
	if len(c.entries) != 0 || c.recent.Len() != 0 {
		t.Error("Forget left entries")
	}
}

// TestSharedLoad: callers that miss a key together share one load; one
// that comes after a Forget does not join a load begun before it; when the
// shared load fails, each waiter loads for itself.
func TestSharedLoad(t *testing.T) {
	c := New(time.Hour)
	var loads atomic.Int64
	release := make(chan struct{})
	slow := func() (int, error) {
		loads.Add(1)
		<-release
		return 7, nil
	}
	var wg sync.WaitGroup
	got := make([]int, 200)
	for i := range got {
		wg.Go(func() { got[i], _ = Read(t.Context(), c, "k", slow) })
	}
	for loads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the others are waiting by now
	close(release)
	wg.Wait()
	for i, v := range got {
		if v != 7 {
			t.Fatalf("caller %d got %d", i, v)
		}
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d loads for 200 callers together, want 1", n)
	}

	// A load begun before a Forget is not shared after it, nor kept.
	finish := heldLoad(t, c, "f")
	c.Forget()
	after, err := Read(t.Context(), c, "f", func() (int, error) { return 2, nil })
	if first := finish(); first != 1 || after != 2 || err != nil {
		t.Fatalf("before the Forget %d, after %d %v; want 1 and its own load's 2", first, after, err)
	}
	if v, _ := Read(t.Context(), c, "f", func() (int, error) { return 3, nil }); v != 2 {
		t.Fatalf("kept %d, want the load after the Forget (2)", v)
	}

	// A failed shared load: its waiters load for themselves.
	fail := make(chan struct{})
	var own atomic.Int64
	var first sync.WaitGroup
	first.Go(func() {
		_, err := Read(t.Context(), c, "e", func() (int, error) { <-fail; return 0, errors.New("request ended") })
		if err == nil {
			t.Error("the failing load's caller got no error")
		}
	})
	time.Sleep(10 * time.Millisecond)
	vals := make([]int, 20)
	var waiters sync.WaitGroup
	for i := range vals {
		waiters.Go(func() { vals[i], _ = Read(t.Context(), c, "e", func() (int, error) { own.Add(1); return 5, nil }) })
	}
	time.Sleep(20 * time.Millisecond)
	close(fail)
	first.Wait()
	waiters.Wait()
	for i, v := range vals {
		if v != 5 {
			t.Fatalf("waiter %d got %d after the shared load failed", i, v)
		}
	}
	if n := own.Load(); n < 1 || n > 20 {
		t.Fatalf("%d own loads", n)
	}
}

// TestReadFor: a value served for less than the TTL expires then.
func TestReadFor(t *testing.T) {
	c := New(time.Hour)
	n := 0
	load := func() (int, time.Duration, error) { n++; return n, 30 * time.Millisecond, nil }
	if v, _, _ := ReadFor(t.Context(), c, "k", load); v != 1 {
		t.Fatal(v)
	}
	if v, age, _ := ReadFor(t.Context(), c, "k", load); v != 1 || age <= 0 {
		t.Fatalf("read again at once: %d (age %v), want the kept 1", v, age)
	}
	time.Sleep(40 * time.Millisecond)
	if v, _, _ := ReadFor(t.Context(), c, "k", load); v != 2 {
		t.Fatalf("after its 30 ms: %d, want a new load", v)
	}
}

// TestWaiterGivesUp: a caller waiting for another's load stops when its
// own context ends; the load goes on for its caller.
func TestWaiterGivesUp(t *testing.T) {
	c := New(time.Hour)
	finish := heldLoad(t, c, "k")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if v, err := Read(ctx, c, "k", func() (int, error) { return 2, nil }); err != context.DeadlineExceeded || v != 0 {
		t.Fatalf("waiter: %d %v, want its deadline", v, err)
	}
	if v := finish(); v != 1 {
		t.Fatalf("the load's caller got %d", v)
	}
}

// heldLoad starts a Read of key whose load yields 1 once finish is called,
// and returns when the load has begun; finish returns what that Read got.
func heldLoad(t *testing.T, c *Cache, key string) (finish func() int) {
	started, release := make(chan struct{}), make(chan struct{})
	got := make(chan int)
	go func() {
		v, _ := Read(t.Context(), c, key, func() (int, error) { close(started); <-release; return 1, nil })
		got <- v
	}()
	<-started
	return func() int {
		close(release)
		return <-got
	}
}

// BenchmarkRead: a hit, from every CPU, on a full cache of 1,000 entries
// (a storefront's kept answers), the cost each cached read pays.
func BenchmarkRead(b *testing.B) {
	c := NewSized(time.Hour, 1000)
	for i := range 1000 {
		c.Put(strconv.Itoa(i), i, c.Generation())
	}
	load := func() (int, error) { b.Fatal("a hit loaded"); return 0, nil }
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := Read(context.Background(), c, strconv.Itoa(i%1000), load); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
