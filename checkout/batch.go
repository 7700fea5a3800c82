package checkout

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/idempotency"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/payment"
)

// Checkouts that arrive together are placed together. A drop sends
// thousands of checkouts for one SKU in the same second; placed one by one,
// each would wait for the SKU's stock row, locked by the one before it
// until its commit. Placed as a batch, they share one transaction, one
// commit, a few multi-row statements and one update of the row, and each
// still gets its own order and its own answer (PlaceOrders).

// MaxBatch bounds the checkouts placed in one transaction.
const MaxBatch = 256

// maxLinger bounds how long a batch waits for more checkouts once the
// last batch had several.
const maxLinger = 2 * time.Millisecond

// PlaceOrders is PlaceOrder for a batch of checkouts in one transaction,
// with the outcome each would have had running PlaceOrder in turn, in a
// few statements for the whole batch. errs[i] is placement i's own
// failure (its key replayed or in use, a limit reached, out of stock),
// which leaves nothing of it; err is the store's, which fails the
// transaction (the caller then places each alone).
func PlaceOrders(ctx context.Context, tx Tx, pls []Placement) (errs []error, err error) {
	return placeOrders(ctx, tx, pls, false)
}

// placeOrders is PlaceOrders. With keysLast, for a batch without holds,
// the keys are claimed with the other writes, one round trip less (a
// drop's keys are new); if one of them exists, the transaction fails with
// idempotency.ErrKeyExists and the batch must be placed again by
// PlaceOrders.
func placeOrders(ctx context.Context, tx Tx, pls []Placement, keysLast bool) (errs []error, err error) {
	errs = make([]error, len(pls))
	if !keysLast {
		// Keys first: a replayed request must take nothing. New keys are
		// claimed in one statement; a key that exists, or repeats in the
		// batch, is claimed as PlaceOrder claims it, which tells a replay
		// from a key in use.
		var recs []idempotency.Record
		var keyed []int
		for i, pl := range pls {
			if pl.Key != nil {
				recs, keyed = append(recs, pl.Key.Record), append(keyed, i)
			}
		}
		claimed, err := tx.ClaimKeys(ctx, recs)
		if err != nil {
			return nil, err
		}
		for j, i := range keyed {
			if !claimed[j] {
				errs[i] = pls[i].Key.Claim(ctx, tx)
			}
		}
	}
	// Purchase limits and discount codes (rare in a drop): each checkout's
	// in a savepoint, so that a refusal undoes only its own counts.
	for i, pl := range pls {
		if errs[i] == nil && pl.holds() {
			errs[i] = tx.Savepoint(ctx, func() error { return takeHolds(ctx, tx, pl) })
		}
	}
	var reqs []inventory.ReserveRequest
	var placing []int
	for i, pl := range pls {
		if errs[i] == nil {
			reqs, placing = append(reqs, pl.Reserve), append(placing, i)
		}
	}
	// From the stock on, nothing written is read back: the writes go to the
	// database together (Tx.Pipeline).
	err = tx.Pipeline(ctx, func() error {
		return placeReserved(ctx, tx, pls, errs, reqs, placing, keysLast)
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// placeReserved reserves the stock of the placements still standing,
// writes the orders, payments and events of those that got it and gives
// back the keys of those that did not. With keysLast (placeOrders') it
// claims all their keys first, also of those that then give them back: a
// key that exists must fail the batch even for a checkout out of stock,
// whose answer is the replay or "in use", not "out of stock".
func placeReserved(ctx context.Context, tx Tx, pls []Placement, errs []error, reqs []inventory.ReserveRequest, placing []int, keysLast bool) error {
	stockErrs, err := tx.ReserveStocks(ctx, reqs)
	if err != nil {
		return err
	}
	shopd.CrashPoint("checkout.reserving") // stock reserved, nothing committed
	var orders []order.Order
	var payments []payment.Payment
	var claim, unclaim []idempotency.Record
	for j, i := range placing {
		pl := pls[i]
		errs[i] = stockErrs[j]
		if pl.Key != nil && keysLast {
			claim = append(claim, pl.Key.Record)
		}
		if errs[i] != nil {
			if pl.Key != nil {
				unclaim = append(unclaim, pl.Key.Record)
			}
			if pl.holds() {
				if err := untakeHolds(ctx, tx, pl); err != nil {
					return err
				}
			}
			continue
		}
		orders, payments = append(orders, pl.Order), append(payments, pl.Payment)
	}
	if err := tx.ClaimNewKeys(ctx, claim); err != nil {
		return err
	}
	if err := tx.ReleaseKeys(ctx, unclaim); err != nil {
		return err
	}
	if err := tx.InsertOrders(ctx, orders); err != nil {
		return err
	}
	if err := tx.InsertPayments(ctx, payments); err != nil {
		return err
	}
	events, err := order.Events(orders, "order.created")
	if err != nil {
		return err
	}
	return tx.AppendEvents(ctx, events)
}

// A Placer coalesces concurrent placements into batches: a caller hands its
// placement over and waits; a loop takes every placement waiting at that
// moment (up to MaxBatch), places them in one transaction and answers
// each. Placements that arrive while a batch runs form the next one, so
// the batches grow with the load and a lone checkout waits for nobody.
type Placer struct {
	store    Store
	requests chan *placeRequest
	stop     chan struct{}
	done     sync.WaitGroup
	failed   func(n int, err error)
}

type placeRequest struct {
	ctx  context.Context
	pl   Placement
	err  error
	done chan struct{}
}

// NewPlacer starts workers loops placing batches of checkouts in store.
// failed, if not nil, is told of a batch of n checkouts whose transaction
// failed with err, before each is placed alone: a store error, which
// should be rare; if it keeps coming, every checkout waits for the hot row
// on its own.
func NewPlacer(store Store, workers int, failed func(n int, err error)) *Placer {
	p := &Placer{store: store, requests: make(chan *placeRequest), stop: make(chan struct{}), failed: failed}
	for range workers {
		p.done.Add(1)
		go p.loop()
	}
	return p
}

// Place places pl in a batch and returns its outcome. Once handed over it
// waits for the outcome even if ctx ends: the batch may already have
// committed the order, and a caller must not be told "failed" of a placed
// order.
func (p *Placer) Place(ctx context.Context, pl Placement) error {
	r := &placeRequest{ctx: ctx, pl: pl, done: make(chan struct{})}
	select {
	case p.requests <- r:
	case <-p.stop:
		return shopd.Errorf(shopd.EUNAVAILABLE, "checkout is shutting down")
	case <-ctx.Done():
		return ctx.Err()
	}
	<-r.done
	return r.err
}

// Close stops the loops after their current batches.
func (p *Placer) Close() {
	close(p.stop)
	p.done.Wait()
}

func (p *Placer) loop() {
	defer p.done.Done()
	batch := make([]*placeRequest, 0, MaxBatch)
	last := 0 // the size of the last batch
	for {
		select {
		case r := <-p.requests:
			batch = append(batch[:0], r)
		case <-p.stop:
			return
		}
		// Under load, callers answered together come back together: wait a
		// moment (maxLinger at most) for as many as the last batch had,
		// rather than run a batch of one and then the rest. A lone checkout
		// (the last batch had one) waits for nobody.
		var linger *time.Timer
		if last > 1 {
			linger = time.NewTimer(maxLinger)
		}
	more:
		for len(batch) < MaxBatch {
			if len(batch) >= last {
				select {
				case r := <-p.requests:
					batch = append(batch, r)
					continue
				default:
					break more
				}
			}
			select {
			case r := <-p.requests:
				batch = append(batch, r)
			case <-linger.C:
				break more
			}
		}
		if linger != nil {
			linger.Stop()
		}
		last = len(batch)
		p.run(batch)
	}
}

// run places a batch and answers each of its callers. If the batch's
// transaction fails as a whole, each placement is placed alone, so one
// checkout's trouble never becomes another's.
func (p *Placer) run(batch []*placeRequest) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err // nothing done yet: the caller gave up
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	pls := make([]Placement, len(live))
	for i, r := range live {
		pls[i] = r.pl
	}
	ctx := context.WithoutCancel(live[0].ctx)
	// A batch without purchase limits or discount codes (a drop's) claims
	// its keys last; if one exists, it is placed again claiming them first.
	keysLast := !slices.ContainsFunc(pls, Placement.holds)
	var errs []error
	err := p.store.InTx(ctx, func(tx Tx) (err error) {
		errs, err = placeOrders(ctx, tx, pls, keysLast)
		return err
	})
	if keysLast && errors.Is(err, idempotency.ErrKeyExists) {
		err = p.store.InTx(ctx, func(tx Tx) (err error) {
			errs, err = PlaceOrders(ctx, tx, pls)
			return err
		})
	}
	if err != nil && p.failed != nil {
		p.failed(len(live), err)
	}
	for i, r := range live {
		if err == nil {
			r.err = errs[i]
		} else {
			ctx := context.WithoutCancel(r.ctx)
			r.err = p.store.InTx(ctx, func(tx Tx) error { return PlaceOrder(ctx, tx, r.pl) })
		}
		close(r.done)
	}
}
