package admission

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestGateCounts: 500 goroutines arrive at once at a gate of capacity 10
// with room for 100 in line and nobody leaving: exactly 10 are admitted,
// exactly 100 get tickets with the positions 1 to 100, and 390 are turned
// away.
func TestGateCounts(t *testing.T) {
	g := NewGate(Config{Capacity: 10, QueueLimit: 100, Window: 10})
	const n = 500
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[Outcome]int{}
	var positions []int
	tickets := map[string]bool{}
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			d := g.Enter(t.Context(), "cart-"+strconv.Itoa(i), "")
			mu.Lock()
			defer mu.Unlock()
			counts[d.Outcome]++
			if d.Outcome == Queued {
				positions = append(positions, d.Position)
				tickets[d.Ticket] = true
				if !strings.HasPrefix(d.Ticket, TicketPrefix) || len(d.Ticket) != len(TicketPrefix)+22 {
					t.Errorf("ticket %q: want qt_ and 22 base64url characters", d.Ticket)
				}
			}
			if d.Outcome == Full && d.RetryAfter < time.Second {
				t.Errorf("full: retry after %v, want at least 1s", d.RetryAfter)
			}
		})
	}
	close(start)
	wg.Wait()
	if counts[Admitted] != 10 || counts[Queued] != 100 || counts[Full] != 390 || len(tickets) != 100 {
		t.Fatalf("outcomes %v, %d distinct tickets; want 10 admitted, 100 queued, 390 full", counts, len(tickets))
	}
	slices.Sort(positions)
	for i, p := range positions {
		if p != i+1 {
			t.Fatalf("positions %v: want 1..100", positions)
		}
	}
	s := g.Stats()
	if s.InFlight != 10 || s.Waiting != 100 || s.AdmittedDirect != 10 || s.Issued != 100 || s.Full != 390 || s.AdmittedQueued != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestGateFIFO: 300 goroutines take tickets at once while the only slot is
// taken, then all wait on their connections; each admitted one releases
// the slot to the next. They must be admitted exactly in ticket order.
func TestGateFIFO(t *testing.T) {
	g := NewGate(Config{Capacity: 1, Window: 1000, Hold: time.Minute})
	if d := g.Enter(t.Context(), "first", ""); d.Outcome != Admitted {
		t.Fatalf("first: %v", d.Outcome)
	}
	const n = 300
	var wg sync.WaitGroup
	var mu sync.Mutex
	var order []int // positions at issue, in admission order
	positions := make([]int, n)
	ready := make(chan struct{})
	var issued sync.WaitGroup
	issued.Add(n)
	for i := range n {
		wg.Go(func() {
			key := "cart-" + strconv.Itoa(i)
			d := g.Enter(t.Context(), key, "")
			issued.Done()
			if d.Outcome != Queued || d.RetryAfter != 0 {
				t.Errorf("arrival %d: %v retry %v; want queued, come back at once", i, d.Outcome, d.RetryAfter)
				return
			}
			positions[i] = d.Position
			<-ready
			d = g.Enter(t.Context(), key, d.Ticket)
			if d.Outcome != Admitted {
				t.Errorf("arrival %d: %v after waiting; want admitted", i, d.Outcome)
				return
			}
			mu.Lock()
			order = append(order, positions[i])
			mu.Unlock()
			g.Release()
		})
	}
	issued.Wait()
	close(ready)
	// Wait until all 300 wait on their connections, then free the slot.
	for deadline := time.Now().Add(10 * time.Second); g.Stats().Holding != n; {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v: want %d holding", g.Stats(), n)
		}
		time.Sleep(time.Millisecond)
	}
	g.Release()
	wg.Wait()
	if len(order) != n {
		t.Fatalf("%d admitted, want %d", len(order), n)
	}
	for i, p := range order {
		if p != i+1 {
			t.Fatalf("admission %d went to position %d; order %v", i+1, p, order)
		}
	}
	if s := g.Stats(); s.InFlight != 0 || s.Waiting != 0 || s.Holding != 0 || s.AdmittedQueued != n || s.AdmittedDirect != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestGateRace runs 400 shoppers who each poll with their ticket as told
// until admitted, hold the slot briefly and release it: every one is
// admitted, never more than the capacity at once, and the line ends empty.
func TestGateRace(t *testing.T) {
	const capacity, n = 8, 400
	g := NewGate(Config{Capacity: capacity, QueueLimit: n, Window: 16, Hold: 5 * time.Millisecond})
	var inside, most, admitted atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			key := "cart-" + strconv.Itoa(i)
			ticket := ""
			for polls := 0; ; polls++ {
				d := g.Enter(t.Context(), key, ticket)
				switch d.Outcome {
				case Admitted:
					now := inside.Add(1)
					for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
					}
					time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
					inside.Add(-1)
					admitted.Add(1)
					g.Release()
					return
				case Queued:
					ticket = d.Ticket
					time.Sleep(min(d.RetryAfter, 20*time.Millisecond))
				default:
					t.Errorf("shopper %d: %v", i, d.Outcome)
					return
				}
			}
		})
	}
	wg.Wait()
	s := g.Stats()
	if admitted.Load() != n || most.Load() > capacity || s.AdmittedDirect+s.AdmittedQueued != n || s.InFlight != 0 || s.Waiting != 0 || s.Holding != 0 || s.Expired != 0 {
		t.Fatalf("admitted %d, at most %d inside at once (capacity %d), stats %+v", admitted.Load(), most.Load(), capacity, s)
	}
	if s.AdmittedQueued == 0 {
		t.Fatalf("stats %+v: nobody went through the line", s)
	}
}

// TestGateWindow: without Hold, a ticket in the window takes a free slot
// when it polls; a ticket behind the window waits even if a slot is free,
// and is told to come back later than the ones ahead.
func TestGateWindow(t *testing.T) {
	clk := newFakeClock()
	g := NewGate(Config{Capacity: 2, Window: 2, QueueLimit: 10, Now: clk.Now})
	ctx := t.Context()
	for i := range 2 {
		if d := g.Enter(ctx, "direct"+strconv.Itoa(i), ""); d.Outcome != Admitted {
			t.Fatalf("direct %d: %v", i, d.Outcome)
		}
	}
	var q []Decision
	for i := range 5 {
		d := g.Enter(ctx, "k"+strconv.Itoa(i), "")
		if d.Outcome != Queued || d.Position != i+1 || d.Length != i+1 {
			t.Fatalf("arrival %d: %+v", i, d)
		}
		if want := minRetry; i < 2 && d.RetryAfter != want {
			t.Fatalf("arrival %d in the window: retry %v, want %v", i, d.RetryAfter, want)
		}
		// Behind the window: (position − window) / (10 a second per slot), at least minRetry.
		if want := max(minRetry, time.Duration(i+1-2)*time.Second/20); i >= 2 && d.RetryAfter != want {
			t.Fatalf("arrival %d behind the window: retry %v, want %v", i, d.RetryAfter, want)
		}
		q = append(q, d)
	}
	g.Release() // one slot free
	if d := g.Enter(ctx, "k3", q[3].Ticket); d.Outcome != Queued || d.Position != 4 {
		t.Fatalf("position 4 with a free slot: %+v; want queued at 4", d)
	}
	if d := g.Enter(ctx, "late", ""); d.Outcome != Queued || d.Position != 6 {
		t.Fatalf("a new arrival while tickets wait: %+v; want queued at 6", d)
	}
	clk.Add(3 * time.Second)
	if d := g.Enter(ctx, "k1", q[1].Ticket); d.Outcome != Admitted || d.Ticket != q[1].Ticket || d.Waited != 3*time.Second {
		t.Fatalf("position 2 with a free slot: %+v; want admitted after 3s", d)
	}
	// k0 keeps its place; k2 and k3 moved up.
	if d := g.Enter(ctx, "k0", q[0].Ticket); d.Outcome != Queued || d.Position != 1 {
		t.Fatalf("k0: %+v", d)
	}
	if d := g.Enter(ctx, "k3", q[3].Ticket); d.Outcome != Queued || d.Position != 3 {
		t.Fatalf("k3: %+v", d)
	}
	if d := g.Enter(ctx, "k0", q[3].Ticket); d.Outcome != Mismatch {
		t.Fatalf("k3's ticket for k0: %v, want mismatch", d.Outcome)
	}
	g.Leave(q[0].Ticket)
	if d := g.Enter(ctx, "k2", q[2].Ticket); d.Outcome != Queued || d.Position != 1 {
		t.Fatalf("k2 after k0 left: %+v", d)
	}
	if s := g.Stats(); s.Waiting != 4 || s.Left != 1 || s.Expired != 0 || s.InFlight != 2 || s.AdmittedQueued != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestGateExpiry: a ticket not presented for the TTL leaves the line; shown
// again, it is a new arrival at the back. A ticket that polls stays.
func TestGateExpiry(t *testing.T) {
	clk := newFakeClock()
	g := NewGate(Config{Capacity: 1, TicketTTL: 10 * time.Second, Now: clk.Now})
	ctx := t.Context()
	g.Enter(ctx, "direct", "")
	a := g.Enter(ctx, "a", "")
	b := g.Enter(ctx, "b", "")
	if a.ExpiresAt != clk.Now().Add(10*time.Second) {
		t.Fatalf("expires at %v", a.ExpiresAt)
	}
	clk.Add(6 * time.Second)
	if d := g.Enter(ctx, "b", b.Ticket); d.Position != 2 {
		t.Fatalf("b: %+v", d)
	}
	clk.Add(6 * time.Second) // a unseen for 12 s, b for 6 s
	d := g.Enter(ctx, "b", b.Ticket)
	if d.Outcome != Queued || d.Position != 1 || d.Length != 1 {
		t.Fatalf("b after a expired: %+v", d)
	}
	d = g.Enter(ctx, "a", a.Ticket)
	if d.Outcome != Queued || d.Ticket == a.Ticket || d.Position != 2 {
		t.Fatalf("a's expired ticket: %+v; want a new ticket at position 2", d)
	}
	if s := g.Stats(); s.Expired != 1 || s.Issued != 3 || s.Waiting != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// TestGateHoldTimesOut: a ticket of the window that waits on its connection
// and gets no slot is told to come back at once, and keeps its place; a
// cancelled request leaves the ticket in line.
func TestGateHoldTimesOut(t *testing.T) {
	g := NewGate(Config{Capacity: 1, Hold: 20 * time.Millisecond})
	g.Enter(t.Context(), "direct", "")
	q := g.Enter(t.Context(), "a", "")
	start := time.Now()
	d := g.Enter(t.Context(), "a", q.Ticket)
	if d.Outcome != Queued || d.Position != 1 || d.RetryAfter != 0 || time.Since(start) < 20*time.Millisecond {
		t.Fatalf("%+v after %v", d, time.Since(start))
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if d := g.Enter(ctx, "a", q.Ticket); d.Outcome != Queued || !g.Holds(q.Ticket) {
		t.Fatalf("cancelled: %+v", d)
	}
	if s := g.Stats(); s.Holding != 0 || s.Waiting != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestGateOff: capacity 0 admits everything and counts nothing.
func TestGateOff(t *testing.T) {
	g := NewGate(Config{})
	for range 1000 {
		if d := g.Enter(t.Context(), "k", ""); d.Outcome != Admitted {
			t.Fatal(d.Outcome)
		}
	}
	g.Release()
	if s := g.Stats(); s != (Stats{}) {
		t.Fatalf("stats %+v", s)
	}
}

// TestLine compares the line's positions with a plain slice while tickets
// join and leave in random order through several rebuilds.
func TestLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var l line
	var model []*ticket
	for step := range 20_000 {
		if len(model) == 0 || rng.IntN(3) > 0 {
			tk := &ticket{id: strconv.Itoa(step)}
			l.push(tk)
			model = append(model, tk)
		} else {
			i := rng.IntN(len(model))
			if rng.IntN(2) == 0 {
				i = rng.IntN(min(len(model), 4)) // mostly near the head
			}
			l.remove(model[i].idx)
			model = slices.Delete(model, i, i+1)
		}
		if l.live != len(model) {
			t.Fatalf("step %d: live %d, want %d", step, l.live, len(model))
		}
		if len(model) > 0 {
			i := rng.IntN(len(model))
			if got := l.pos(model[i].idx); got != i+1 {
				t.Fatalf("step %d: position %d, want %d", step, got, i+1)
			}
		}
	}
}
