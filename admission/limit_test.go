package admission

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseLimit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Limit
		str  string
		bad  bool
	}{
		{"30/1m", Limit{30, time.Minute}, "30/1m", false},
		{"10/s", Limit{10, time.Second}, "10/1s", false},
		{" 5/15m ", Limit{5, 15 * time.Minute}, "5/15m", false},
		{"100/10s", Limit{100, 10 * time.Second}, "100/10s", false},
		{"3/1h", Limit{3, time.Hour}, "3/1h", false},
		{"7/1500ms", Limit{7, 1500 * time.Millisecond}, "7/1.5s", false},
		{"off", Limit{}, "off", false},
		{"0", Limit{}, "off", false},
		{"0/1m", Limit{}, "off", false},
		{"", Limit{}, "off", false},
		{"30", Limit{}, "", true},
		{"x/1m", Limit{}, "", true},
		{"-1/1m", Limit{}, "", true},
		{"30/0s", Limit{}, "", true},
		{"30/fortnight", Limit{}, "", true},
	} {
		got, err := ParseLimit(c.in)
		if (err != nil) != c.bad || got != c.want || (!c.bad && got.String() != c.str) {
			t.Errorf("ParseLimit(%q) = %v (%q), %v; want %v (%q), error %v", c.in, got, got.String(), err, c.want, c.str, c.bad)
		}
	}
}

// TestLimiterBurstAndRefill: a bucket of 5 refilled at 5 a second lets 5
// through at once, then one each 200 ms, and says when.
func TestLimiterBurstAndRefill(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(Limit{5, time.Second}, 0, clk.Now)
	for i := range 5 {
		if ok, _ := l.Allow("ip"); !ok {
			t.Fatalf("request %d refused", i)
		}
	}
	ok, retry := l.Allow("ip")
	if ok || retry != 200*time.Millisecond {
		t.Fatalf("6th: %v, retry %v; want refused, 200ms", ok, retry)
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Fatal("another key shares the bucket")
	}
	clk.Add(100 * time.Millisecond)
	if ok, retry := l.Allow("ip"); ok || retry != 100*time.Millisecond {
		t.Fatalf("after 100ms: %v, %v", ok, retry)
	}
	clk.Add(100 * time.Millisecond)
	if ok, _ := l.Allow("ip"); !ok {
		t.Fatal("after 200ms: refused")
	}
	clk.Add(time.Hour) // full again, never above the burst
	n := 0
	for {
		if ok, _ := l.Allow("ip"); !ok {
			break
		}
		n++
	}
	if n != 5 {
		t.Fatalf("after an hour: %d allowed, want 5", n)
	}
}

// TestLimiterRace: 300 goroutines hit one key of a bucket of 50 with the
// clock stopped: exactly 50 get through.
func TestLimiterRace(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(Limit{50, time.Minute}, 0, clk.Now)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 300 {
		wg.Go(func() {
			if ok, _ := l.Allow("203.0.113.7"); ok {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 50 {
		t.Fatalf("%d allowed, want 50", allowed.Load())
	}
}

// TestLimiterEviction: 100,000 keys in one minute through a limiter of
// 1,024 keep at most 1,024 buckets (arbitrary ones go when none has
// refilled), and an off limiter keeps none.
func TestLimiterEviction(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(Limit{2, time.Minute}, 1024, clk.Now)
	for i := range 100_000 {
		if i%2000 == 0 {
			clk.Add(time.Second)
		}
		if ok, _ := l.Allow("k" + strconv.Itoa(i)); !ok {
			t.Fatalf("key %d refused", i)
		}
		if i%997 == 0 {
			if n := l.Len(); n > 1024 {
				t.Fatalf("%d buckets after %d keys", n, i+1)
			}
		}
	}
	if n := l.Len(); n > 1024 || n < 1024-shards {
		t.Fatalf("%d buckets, want about 1024 and at most that", n)
	}
	off := NewLimiter(Limit{}, 0, nil)
	for range 100 {
		if ok, _ := off.Allow("x"); !ok {
			t.Fatal("an off limiter refused")
		}
	}
	if off.Len() != 0 {
		t.Fatal("an off limiter keeps buckets")
	}
}

// TestLimiterKeepsEmptyBuckets: refilled buckets are evicted first, so a
// key kept empty stays limited while 50,000 one-shot keys pass through.
func TestLimiterKeepsEmptyBuckets(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(Limit{2, 2 * time.Second}, 1024, clk.Now) // one token a second
	for i := range 50_000 {
		clk.Add(time.Second)
		if ok, _ := l.Allow("one-shot" + strconv.Itoa(i)); !ok {
			t.Fatalf("one-shot key %d refused", i)
		}
		first, _ := l.Allow("attacker")
		second, _ := l.Allow("attacker")
		if i > 0 && (!first || second) {
			t.Fatalf("iteration %d: attacker %v %v; want one request a second", i, first, second)
		}
	}
	if n := l.Len(); n > 1024 {
		t.Fatalf("%d buckets", n)
	}
}

func TestMarks(t *testing.T) {
	clk := newFakeClock()
	m := NewMarks(2*time.Second, clk.Now)
	if m.Any() || m.Marked("us|A") {
		t.Fatal("new marks are not empty")
	}
	m.Mark("us|A")
	if !m.Any() || !m.Marked("us|A") || m.Marked("us|B") {
		t.Fatal("mark not seen")
	}
	clk.Add(time.Second)
	m.Mark("us|B")
	clk.Add(1500 * time.Millisecond) // A is 2.5 s old, B 1.5 s
	if m.Marked("us|A") || !m.Marked("us|B") || !m.Any() {
		t.Fatal("expiry")
	}
	m.Clear("us|B")
	if m.Marked("us|B") {
		t.Fatal("cleared mark still seen")
	}
	clk.Add(time.Second)
	if m.Any() {
		t.Fatal("every mark expired, Any is true")
	}
	m.Mark("us|C") // drops the expired ones
	if len(m.until) != 1 {
		t.Fatalf("%d marks kept", len(m.until))
	}
}
