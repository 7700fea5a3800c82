package readcache

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	c := New(time.Hour)
	loads := 0
	load := func() (int, error) { loads++; return loads, nil }
	for range 3 {
		if v, err := Read(c, "k", load); v != 1 || err != nil {
			t.Fatalf("read %d %v, want the first load's 1", v, err)
		}
	}
	// An error is returned and not kept.
	boom := errors.New("boom")
	if _, err := Read(c, "bad", func() (int, error) { return 0, boom }); err != boom {
		t.Fatal(err)
	}
	if _, ok := Get[int](c, "bad"); ok {
		t.Fatal("a failed load was kept")
	}
	// Forget clears; the next read loads again.
	c.Forget()
	if v, _ := Read(c, "k", load); v != 2 || loads != 2 {
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
	if n := len(c.entries); n != 10 {
		t.Fatalf("%d entries, want 10 (emptied once full)", n)
	}
}

// TestNewSized: a sized cache starts again empty past its own bound.
func TestNewSized(t *testing.T) {
	c := NewSized(time.Hour, 3)
	for i := range 4 {
		c.Put(strconv.Itoa(i), i, c.Generation())
	}
	_, first := Get[int](c, "0")
	v, last := Get[int](c, "3")
	if first || !last || v != 3 || len(c.entries) != 1 {
		t.Errorf("after 4 puts in a cache of 3: first kept %v, last %v (%d), %d entries; want only the last", first, last, v, len(c.entries))
	}
}
