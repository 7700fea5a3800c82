package admission

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkGateEnterRelease is the cost the waiting room adds to a checkout
// that is admitted at once: Enter and Release under contention.
func BenchmarkGateEnterRelease(b *testing.B) {
	g := NewGate(Config{Capacity: 1 << 20})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if d := g.Enter(b.Context(), "cart", ""); d.Outcome != Admitted {
				b.Fatal(d.Outcome)
			}
			g.Release()
		}
	})
}

// BenchmarkGatePoll is the cost of a poll with a ticket far back in line.
func BenchmarkGatePoll(b *testing.B) {
	g := NewGate(Config{Capacity: 1, QueueLimit: 100_000, Window: 1, TicketTTL: time.Hour})
	g.Enter(b.Context(), "first", "")
	tickets := make([]string, 10_000)
	for i := range tickets {
		tickets[i] = g.Enter(b.Context(), strconv.Itoa(i), "").Ticket
	}
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1)) % len(tickets)
			if d := g.Enter(b.Context(), strconv.Itoa(i), tickets[i]); d.Outcome != Queued && !(i == 0 && d.Outcome == Admitted) {
				b.Fatal(d.Outcome)
			}
		}
	})
}

// BenchmarkLimiterAllow takes tokens of 100,000 keys in parallel.
func BenchmarkLimiterAllow(b *testing.B) {
	l := NewLimiter(Limit{N: 1 << 30, Per: time.Second}, 100_000, nil)
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = "198.51.100." + strconv.Itoa(i)
	}
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Allow(keys[int(n.Add(1))%len(keys)])
		}
	})
}
