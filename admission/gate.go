// Package admission protects a scarce resource — checkout on launch day —
// with a waiting room (Gate), keyed token-bucket rate limits (Limiter) and
// short-lived "sold out" marks (Marks). Everything lives in the memory of
// one process and uses the standard library only; with several replicas
// each one runs its own waiting room over its share of the traffic.
//
// A Gate admits at most Capacity requests at once. A request that finds the
// gate full does not wait on its connection: it gets a ticket (opaque,
// unguessable, bound to a key such as a cart ID), its position and when to
// come back. Tickets are served in arrival order: a new arrival is admitted
// directly only while nobody is in line, and only the first Window tickets
// may take a free slot. Those may also wait on their connection for up to
// Hold, and a freed slot goes to the oldest of them, so slots do not sit
// idle between polls. A ticket not presented again within TicketTTL is
// abandoned and leaves the line.
package admission

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"math"
	"sync"
	"time"
)

// TicketPrefix starts every ticket.
const TicketPrefix = "qt_"

// Config sizes a Gate. Zero fields take the defaults noted.
type Config struct {
	// Capacity is how many requests are admitted at once; less than 1 turns
	// the gate off (Enter always admits).
	Capacity int
	// QueueLimit bounds the tickets in line (10,000); an arrival beyond it
	// gets Full.
	QueueLimit int
	// Window is how many tickets at the head of the line may take a free
	// slot (4 × Capacity, at least 64): the most a ticket can be overtaken
	// by later ones, and the most connections held by Hold.
	Window int
	// Hold is how long a ticket in the window waits on its connection for a
	// slot before it is told to come back; 0 never waits.
	Hold time.Duration
	// TicketTTL abandons a ticket not presented again for this long (30 s).
	TicketTTL time.Duration
	// MaxRetry caps the retry hint (5 s, at most TicketTTL/3): how late a
	// ticket far back in line may learn of a sell-out.
	MaxRetry time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Outcome is what Enter decided.
type Outcome uint8

const (
	// Admitted: go ahead, and call Release when done.
	Admitted Outcome = iota
	// Queued: come back with Ticket after RetryAfter.
	Queued
	// Full: the line is full; come back after RetryAfter, without a ticket.
	Full
	// Mismatch: the ticket was issued for another key.
	Mismatch
)

func (o Outcome) String() string {
	return [...]string{"admitted", "queued", "full", "mismatch"}[o]
}

// Decision is the answer to Enter.
type Decision struct {
	Outcome Outcome
	// Ticket is the ticket to present next time (Queued), or the ticket
	// that was admitted.
	Ticket string
	// Position is the place in line, 1 for the next (Queued).
	Position int
	// Length is the number of tickets in line when the decision was made.
	Length int
	// RetryAfter is when to come back (Queued, Full); 0 means at once.
	RetryAfter time.Duration
	// ExpiresAt is when the ticket is abandoned unless presented (Queued).
	ExpiresAt time.Time
	// Waited is how long the admitted ticket was in line (0 for a direct
	// admission).
	Waited time.Duration
}

// Stats are a Gate's counters since it was made.
type Stats struct {
	InFlight       int    // admitted and not yet released
	Waiting        int    // tickets in line
	Holding        int    // tickets of the window waiting on their connection
	AdmittedDirect uint64 // admitted without a ticket
	AdmittedQueued uint64 // admitted with a ticket
	Issued         uint64 // tickets handed out
	Full           uint64 // arrivals turned away because the line was full
	Expired        uint64 // tickets abandoned: not presented for TicketTTL
	Left           uint64 // tickets withdrawn by Leave
}

const (
	minRetry = 100 * time.Millisecond // poll interval of a ticket in the window when Hold is 0
	rateTau  = 2.0                    // seconds: time constant of the admission-rate estimate
)

// Gate is a waiting room; see the package comment. It is safe for
// concurrent use.
type Gate struct {
	cfg Config

	mu       sync.Mutex
	inFlight int
	tickets  map[string]*ticket
	line     line
	waiters  []*waiter // tickets of the window waiting on their connection
	stats    Stats
	rate     float64   // admissions from the line per second, decaying
	rateAt   time.Time // when rate was last updated
	swept    time.Time
}

type ticket struct {
	id      string
	key     string
	idx     int // in line.t
	issued  time.Time
	seen    time.Time
	waiting bool
}

type waiter struct {
	t        *ticket
	ch       chan struct{}
	admitted bool // set, under the lock, by the Release that handed over its slot
	waited   time.Duration
}

// NewGate returns a Gate with cfg's defaults filled in.
func NewGate(cfg Config) *Gate {
	if cfg.QueueLimit <= 0 {
		cfg.QueueLimit = 10_000
	}
	if cfg.Window <= 0 {
		cfg.Window = max(4*cfg.Capacity, 64)
	}
	if cfg.TicketTTL <= 0 {
		cfg.TicketTTL = 30 * time.Second
	}
	if cfg.MaxRetry <= 0 {
		cfg.MaxRetry = 5 * time.Second
	}
	cfg.MaxRetry = min(cfg.MaxRetry, cfg.TicketTTL/3)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Gate{cfg: cfg, tickets: map[string]*ticket{}}
}

// Config returns the gate's configuration with defaults filled in.
func (g *Gate) Config() Config { return g.cfg }

// On reports whether the gate limits anything.
func (g *Gate) On() bool { return g.cfg.Capacity > 0 }

// Enter asks for a slot for key, with the ticket of an earlier Queued
// decision if there was one. An unknown or abandoned ticket counts as a new
// arrival. After Admitted the caller must call Release exactly once. A
// ticket of the window may wait up to Hold (or until ctx ends) for a slot.
func (g *Gate) Enter(ctx context.Context, key, ticketID string) Decision {
	if !g.On() {
		return Decision{Outcome: Admitted}
	}
	g.mu.Lock()
	now := g.cfg.Now()
	g.sweep(now)
	if ticketID != "" {
		if t := g.tickets[ticketID]; t != nil {
			if t.key != key {
				g.mu.Unlock()
				return Decision{Outcome: Mismatch}
			}
			return g.poll(ctx, t, now) // unlocks
		}
	}
	defer g.mu.Unlock()
	if g.line.live == 0 && g.inFlight < g.cfg.Capacity {
		g.inFlight++
		g.stats.AdmittedDirect++
		return Decision{Outcome: Admitted}
	}
	if g.line.live >= g.cfg.QueueLimit {
		g.stats.Full++
		wait := time.Duration(float64(g.line.live) / (2 * g.admissionRate(now)) * float64(time.Second))
		return Decision{Outcome: Full, Length: g.line.live, RetryAfter: g.clampRetry(max(wait, time.Second))}
	}
	t := &ticket{id: newTicketID(), key: key, issued: now, seen: now}
	g.tickets[t.id] = t
	g.line.push(t)
	g.stats.Issued++
	return g.queued(t, now)
}

// poll serves a ticket presented again; it is called with the lock held
// and returns with it released.
func (g *Gate) poll(ctx context.Context, t *ticket, now time.Time) Decision {
	t.seen = now
	inWindow := g.line.pos(t.idx) <= g.cfg.Window
	if inWindow && g.inFlight < g.cfg.Capacity {
		waited := g.admit(t, now)
		g.mu.Unlock()
		return Decision{Outcome: Admitted, Ticket: t.id, Waited: waited}
	}
	if !inWindow || g.cfg.Hold <= 0 || t.waiting {
		d := g.queued(t, now)
		g.mu.Unlock()
		return d
	}
	w := &waiter{t: t, ch: make(chan struct{}, 1)}
	t.waiting = true
	g.waiters = append(g.waiters, w)
	g.mu.Unlock()

	timer := time.NewTimer(g.cfg.Hold)
	defer timer.Stop()
	select {
	case <-w.ch:
	case <-timer.C:
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if w.admitted {
		return Decision{Outcome: Admitted, Ticket: t.id, Waited: w.waited}
	}
	for i, o := range g.waiters {
		if o == w {
			g.waiters = append(g.waiters[:i], g.waiters[i+1:]...)
			break
		}
	}
	t.waiting = false
	now = g.cfg.Now()
	t.seen = now
	return g.queued(t, now)
}

// queued is the Queued decision for a ticket in line.
func (g *Gate) queued(t *ticket, now time.Time) Decision {
	pos := g.line.pos(t.idx)
	var retry time.Duration
	switch {
	case pos <= g.cfg.Window && g.cfg.Hold > 0:
		retry = 0 // come back at once and wait on the connection
	case pos <= g.cfg.Window:
		retry = minRetry
	default:
		// Come back about when the window reaches this ticket.
		secs := float64(pos-g.cfg.Window) / g.admissionRate(now)
		retry = g.clampRetry(time.Duration(secs * float64(time.Second)))
	}
	return Decision{Outcome: Queued, Ticket: t.id, Position: pos, Length: g.line.live, RetryAfter: retry, ExpiresAt: t.seen.Add(g.cfg.TicketTTL)}
}

// clampRetry keeps a retry hint between minRetry and MaxRetry (at most a
// third of the ticket lifetime, so a ticket that follows the hint never
// expires).
func (g *Gate) clampRetry(d time.Duration) time.Duration {
	return min(max(d, minRetry), g.cfg.MaxRetry)
}

// admissionRate estimates admissions from the line per second. Until the
// estimate says otherwise it assumes 10 a second per slot (a checkout of
// 100 ms): a ticket that comes back early costs a poll, one that comes
// back late leaves a slot idle.
func (g *Gate) admissionRate(now time.Time) float64 {
	r := g.rate * math.Exp(-now.Sub(g.rateAt).Seconds()/rateTau)
	return max(r, 10*float64(g.cfg.Capacity))
}

// admit takes t out of line into a slot and returns how long it waited.
func (g *Gate) admit(t *ticket, now time.Time) time.Duration {
	g.line.remove(t.idx)
	delete(g.tickets, t.id)
	g.inFlight++
	g.stats.AdmittedQueued++
	g.rate = g.rate*math.Exp(-now.Sub(g.rateAt).Seconds()/rateTau) + 1/rateTau
	g.rateAt = now
	return now.Sub(t.issued)
}

// Release gives back the slot of an Admitted decision: to the oldest ticket
// waiting on its connection, if any.
func (g *Gate) Release() {
	if !g.On() {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight--
	if len(g.waiters) == 0 {
		return
	}
	first := 0
	for i, w := range g.waiters {
		if w.t.idx < g.waiters[first].t.idx {
			first = i
		}
	}
	w := g.waiters[first]
	g.waiters = append(g.waiters[:first], g.waiters[first+1:]...)
	w.t.waiting = false
	w.waited = g.admit(w.t, g.cfg.Now())
	w.admitted = true
	w.ch <- struct{}{}
}

// Leave withdraws a ticket from the line (its holder got a final answer
// without being admitted); an unknown ticket or one waiting on its
// connection is left alone.
func (g *Gate) Leave(ticketID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t := g.tickets[ticketID]; t != nil && !t.waiting {
		g.drop(t)
		g.stats.Left++
	}
}

// Holds reports whether the ticket is in line.
func (g *Gate) Holds(ticketID string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tickets[ticketID] != nil
}

// Stats returns the gate's counters.
func (g *Gate) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.stats
	s.InFlight, s.Waiting, s.Holding = g.inFlight, g.line.live, len(g.waiters)
	return s
}

func (g *Gate) drop(t *ticket) {
	g.line.remove(t.idx)
	delete(g.tickets, t.id)
}

// sweep abandons tickets not seen for TicketTTL, at most a few times per
// TTL (the scan is linear in the line's length).
func (g *Gate) sweep(now time.Time) {
	if now.Sub(g.swept) < g.cfg.TicketTTL/8 {
		return
	}
	g.swept = now
	for _, t := range g.tickets {
		if !t.waiting && now.Sub(t.seen) > g.cfg.TicketTTL {
			g.drop(t)
			g.stats.Expired++
		}
	}
}

// newTicketID returns "qt_" and 128 random bits.
func newTicketID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return TicketPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// line keeps tickets in arrival order with a Fenwick tree of which are
// still in line, so a ticket's position is O(log n) however tickets leave.
type line struct {
	t    []*ticket // arrival order; nil once gone
	tree []int32   // Fenwick tree over t (1-based): 1 for each ticket still in line
	live int
}

func (l *line) push(t *ticket) {
	if len(l.t) == cap(l.t) {
		l.rebuild()
	}
	t.idx = len(l.t)
	l.t = append(l.t, t)
	l.add(t.idx, 1)
	l.live++
}

func (l *line) remove(idx int) {
	l.t[idx] = nil
	l.add(idx, -1)
	l.live--
}

// pos is the number of tickets in line at or before idx.
func (l *line) pos(idx int) int {
	n := 0
	for i := idx + 1; i > 0; i -= i & -i {
		n += int(l.tree[i])
	}
	return n
}

func (l *line) add(idx int, d int32) {
	for i := idx + 1; i < len(l.tree); i += i & -i {
		l.tree[i] += d
	}
}

// rebuild drops gone entries and makes room for as many again.
func (l *line) rebuild() {
	live := make([]*ticket, 0, max(2*l.live, 64))
	for _, t := range l.t {
		if t != nil {
			t.idx = len(live)
			live = append(live, t)
		}
	}
	l.t = live
	l.tree = make([]int32, cap(live)+1)
	for i := range live {
		l.add(i, 1)
	}
}
