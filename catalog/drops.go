package catalog

import (
	"context"
	"time"

	"github.com/shopd/shopd"
)

// Event types of drops, written to the outbox once per product and launch
// time (a product whose launch time is moved has a new drop).
const (
	// EventDropStarted: an active product's launch time has come.
	EventDropStarted = "drop.started"
	// EventDropSoldOut: after its start, no variant of a drop's product has
	// stock left to reserve (on hand − reserved > 0 in no warehouse).
	EventDropSoldOut = "drop.sold_out"
)

// DefaultDropWindow is how far back Drops looks for launches: neither the
// start nor the sell-out of a drop launched longer ago than this is
// announced.
const DefaultDropWindow = 24 * time.Hour

// Drop is the data of the drop.started and drop.sold_out events.
type Drop struct {
	ProductID string    `json:"product_id"`
	Handle    string    `json:"handle"`
	LaunchAt  time.Time `json:"launch_at"`
	// At is when the drop was seen to start or to sell out: at most a
	// worker's interval after it happened.
	At time.Time `json:"at"`
}

// Announced is what one Announce call wrote to the outbox.
type Announced struct {
	Started []Drop // drop.started, by product ID
	SoldOut []Drop // drop.sold_out, by product ID
}

// DropStore is what Drops needs from storage.
type DropStore interface {
	// AnnounceDrops, in one transaction, records as started every active
	// product whose launch time is in (since, now] and was not recorded
	// yet, and marks sold out every started drop launched after since that
	// is not marked yet and has no stock left to reserve; it writes a
	// drop.started or drop.sold_out event (at now) for exactly the drops it
	// recorded or marked. Concurrent calls never announce a drop twice.
	AnnounceDrops(ctx context.Context, now, since time.Time) (Announced, error)
}

// Drops announces product drops: workers call Announce every second, so
// drop.started follows a launch by at most about a second, and
// drop.sold_out follows the last unit's reservation as closely. Any number
// of workers may run it at once.
type Drops struct {
	store DropStore
	clock shopd.Clock
	// Window bounds the look-back (DefaultDropWindow if zero): it keeps each
	// call small, and a worker started long after a launch does not
	// announce it as news.
	Window time.Duration
}

// NewDrops returns a Drops on store.
func NewDrops(store DropStore, clock shopd.Clock) *Drops {
	return &Drops{store: store, clock: clock}
}

// Drops returns a Drops on store with the catalog's clock.
func (s *Service) Drops(store DropStore) *Drops { return NewDrops(store, s.clock) }

// Announce writes drop.started for the drops whose launch time has come
// and drop.sold_out for the started drops that sold out, each once, and
// returns them.
func (d *Drops) Announce(ctx context.Context) (Announced, error) {
	window := d.Window
	if window <= 0 {
		window = DefaultDropWindow
	}
	now := d.clock.Now()
	return d.store.AnnounceDrops(ctx, now, now.Add(-window))
}

// Run is Announce as a worker job: a call in progress runs to its end even
// when ctx ends.
func (d *Drops) Run(ctx context.Context) error {
	_, err := d.Announce(context.WithoutCancel(ctx))
	return err
}
