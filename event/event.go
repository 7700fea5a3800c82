// Package event is shopd's transactional outbox: every change that others
// must hear about (order.created, inventory.low, …) writes an Event in the
// same database transaction as the change itself, so an event exists if and
// only if its change committed. Delivery (webhooks, NATS) reads the outbox
// later, at least once, in order.
package event

import (
	"context"
	"encoding/json"
	"time"

	"github.com/shopd/shopd"
)

// Event is a fact that happened in the shop.
type Event struct {
	ID        string          `json:"id"`      // "evt_…", time-ordered
	Type      string          `json:"type"`    // e.g. "order.paid", "inventory.shortfall"
	Subject   string          `json:"subject"` // the ID of the resource it is about
	Data      json.RawMessage `json:"data"`    // the resource or change, as JSON
	CreatedAt time.Time       `json:"created_at"`
}

// New returns an event of a type about a subject, with data encoded as JSON.
func New(typ, subject string, data any, now time.Time) (Event, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return Event{}, err
	}
	return Event{ID: shopd.NewID("evt"), Type: typ, Subject: subject, Data: b, CreatedAt: now}, nil
}

// Appender writes events; a store's transaction implements it so that an
// event commits with its change.
type Appender interface {
	AppendEvent(ctx context.Context, e Event) error
}

// Filter selects events for staff.
type Filter struct {
	Type    string // exact type, or a prefix ending in "." such as "order."
	Subject string
	After   string // an event ID: list newer events only (cursor)
	Limit   int
}

// Store lists stored events.
type Store interface {
	// Events lists events oldest first after the cursor.
	Events(ctx context.Context, f Filter) ([]Event, error)
}

// Service reads the outbox.
type Service struct{ store Store }

// NewService returns a Service on store.
func NewService(store Store) *Service { return &Service{store: store} }

// Events lists events oldest first; the limit is clamped to 1..501 (a page
// of 500 and one more to tell whether another follows).
func (s *Service) Events(ctx context.Context, f Filter) ([]Event, error) {
	f.Limit = min(max(f.Limit, 1), 501) // a page of 500, plus one to tell whether another follows
	return s.store.Events(ctx, f)
}
