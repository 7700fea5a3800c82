package sqlstore

import (
	"context"
	"database/sql"

	"github.com/shopd/shopd/cart"
	"github.com/shopd/shopd/coalesce"
	"github.com/shopd/shopd/idempotency"
	"github.com/shopd/shopd/order"
)

// In a drop, every shopper makes a cart, and every checkout reads its
// cart, looks up its idempotency key and reads its order back: four
// statements a shopper, a thousand times a second. On PostgreSQL each
// statement costs the server a round trip's work whatever it reads
// (measured: a drop ran 18 statements and 6.7 transactions per order, and
// more than half of PostgreSQL's CPU was in system calls), so concurrent calls
// of these are coalesced (package coalesce): one statement reads the carts
// of all the checkouts waiting at that moment, one transaction makes all
// the carts asked for. On SQLite a read is a function call in the process
// and costs less than the hand-over, and the one writer already commits
// concurrent transactions together (txgroup.go): a coalesced batch of carts
// would only wait for its turn in a group (measured: cart p50 15–16 →
// 20–32 ms in a drop), so SQLite's calls go straight to the database.

// maxCoalesced bounds a coalesced batch: one statement's IN list.
const maxCoalesced = 256

// coalesced are a DB's batchers, nil on SQLite.
type coalesced struct {
	newCarts *coalesce.Batcher[cart.Cart, struct{}]
	carts    *coalesce.Batcher[string, cart.Cart]
	orders   *coalesce.Batcher[string, order.Order]
	idemKeys *coalesce.Batcher[idemKey, idempotency.Record]
}

// idemKey names an idempotency key.
type idemKey struct{ scope, key string }

// coalesceCalls sets up the batchers of a PostgreSQL DB.
func (db *DB) coalesceCalls() {
	db.batch.newCarts = coalesce.New(maxCoalesced, db.createCartBatch)
	db.batch.carts = coalesce.New(maxCoalesced, db.readCartBatch)
	db.batch.orders = coalesce.New(maxCoalesced, db.readOrderBatch)
	db.batch.idemKeys = coalesce.New(maxCoalesced, db.readKeyBatch)
}

// createCartBatch makes the carts of a batch in one transaction; if it
// fails, each cart is made alone, so that one cart's trouble (a variant
// deleted meanwhile) is its own.
func (db *DB) createCartBatch(ctx context.Context, calls []*coalesce.Call[cart.Cart, struct{}]) {
	cs := coalesce.Reqs(calls)
	err := db.createCarts(ctx, cs)
	for i, c := range calls {
		switch {
		case err == nil:
		case len(calls) == 1:
			c.Err = err
		default:
			c.Err = db.createCarts(ctx, cs[i:i+1])
		}
	}
}

// readCartBatch reads the carts of a batch in one statement.
func (db *DB) readCartBatch(ctx context.Context, calls []*coalesce.Call[string, cart.Cart]) {
	carts, err := loadCarts(ctx, db.reader(), coalesce.Reqs(calls))
	for _, c := range calls {
		c.Res, c.Err = found(carts, c.Req, err, cart.ErrCartNotFound)
	}
}

// readOrderBatch reads the orders of a batch, with their lines, in one
// statement.
func (db *DB) readOrderBatch(ctx context.Context, calls []*coalesce.Call[string, order.Order]) {
	byID, err := readOrdersByID(ctx, db.reader(), coalesce.Reqs(calls))
	for _, c := range calls {
		c.Res, c.Err = found(byID, c.Req, err, errOrderNotFound)
	}
}

// readKeyBatch looks up the idempotency keys of a batch in one statement.
func (db *DB) readKeyBatch(ctx context.Context, calls []*coalesce.Call[idemKey, idempotency.Record]) {
	recs, err := idemReadAll(ctx, db.reader(), coalesce.Reqs(calls))
	for _, c := range calls {
		c.Res, c.Err = found(recs, c.Req, err, sql.ErrNoRows)
	}
}

// found is a batch read's answer for one key: the batch's error, the value
// read, or notFound.
func found[K comparable, V any](read map[K]V, k K, err, notFound error) (V, error) {
	v, ok := read[k]
	switch {
	case err != nil:
		return v, err
	case !ok:
		return v, notFound
	}
	return v, nil
}
