package sqlstore

import (
	"cmp"
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// On PostgreSQL every statement is a round trip, and on a busy machine a
// round trip is a wait for a CPU on each side. A transaction's writes
// whose answers nothing reads — bulk INSERTs, UPDATEs whose row count is
// only checked — can instead go to the server together: inside Pipeline
// they are queued and sent as one pgx batch (one round trip) when fn
// ends, or earlier when a statement that answers something comes next,
// so every statement still sees the writes before it. A placed batch of
// checkouts thus writes its stock, reservations, orders, lines, payments
// and events in one round trip instead of one or more each.

// pending is a queued write and what its row count must satisfy.
type pending struct {
	query  string
	args   []any
	check  func(rows int64) error
	mapErr func(error) error // as errorsMapped was when it was queued
}

// Pipeline runs fn with the transaction's bulk writes queued and sent
// together (PostgreSQL; on SQLite a statement is a call, not a round
// trip, and the writes run at once). A queued write's error is returned by
// Pipeline (or by the statement that sent the queue), not by the call
// that queued it. Any error of Pipeline — a write's or fn's — fails the
// whole transaction, on both engines, even if the caller carries on.
func (tx *Tx) Pipeline(ctx context.Context, fn func() error) error {
	if tx.pipelining {
		return fn()
	}
	tx.pipelining = tx.conn != nil
	err := fn()
	tx.pipelining = false
	// The queued writes precede fn's error as they would have without
	// queueing: they are sent either way.
	if ferr := tx.flush(ctx); ferr != nil {
		err = ferr
	}
	err = cmp.Or(tx.failed, err)
	tx.failed = err
	return err
}

// exec runs a write whose answer is only its row count, checked by check
// (nil: any count); inside Pipeline it is queued.
func (tx *Tx) exec(ctx context.Context, check func(rows int64) error, query string, args ...any) error {
	if tx.pipelining {
		tx.queue = append(tx.queue, pending{query, args, check, tx.mapErr})
		return nil
	}
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil || check == nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	return check(n)
}

// execLast is exec for a write of a hot row — a drop's stock, which every
// placement and settlement of its checkouts updates: queued, it goes after
// every write queued with it, even later ones, so that its row lock is
// taken at the end of the round trip and held only until the commit.
// Statements still see it: a read sends the whole queue first.
func (tx *Tx) execLast(ctx context.Context, check func(rows int64) error, query string, args ...any) error {
	if tx.pipelining {
		tx.last = append(tx.last, pending{query, args, check, tx.mapErr})
		return nil
	}
	return tx.exec(ctx, check, query, args...)
}

// errorsMapped runs fn with its writes' errors turned into the store's
// own by m — a unique violation into a typed conflict, say — also those
// of writes that fn queued and that fail only later.
func (tx *Tx) errorsMapped(m func(error) error, fn func() error) error {
	defer func(outer func(error) error) { tx.mapErr = outer }(tx.mapErr)
	if outer := tx.mapErr; outer != nil {
		inner := m
		m = func(err error) error { return outer(inner(err)) } // as an unqueued error passes both
	}
	tx.mapErr = m
	if err := fn(); err != nil {
		return m(err)
	}
	return nil
}

// commitLazily lets the transaction's commit return before its WAL
// reaches the disk (PostgreSQL's synchronous_commit off, for this
// transaction only). Only for writes a shopper can redo, like carts:
// never for orders, payments, stock or idempotency records. A server
// crash may lose the last fraction of a second of such commits, never
// corrupt anything, and never one that a later durable commit (an order
// placed from the cart, say) depends on: WAL is flushed in order. SQLite
// (synchronous=NORMAL) has nothing to change.
func (tx *Tx) commitLazily(ctx context.Context) error {
	if tx.conn == nil {
		return nil
	}
	return tx.exec(ctx, nil, `SET LOCAL synchronous_commit TO OFF`)
}

// rowCount is a check that a write changed exactly want rows.
func rowCount(want int, what string) func(int64) error {
	return func(n int64) error {
		if n != int64(want) {
			return fmt.Errorf("sqlstore: %d of %d %s changed", n, want, what)
		}
		return nil
	}
}

// flush sends the queued writes in one batch. A failure is also kept in
// tx.failed: PostgreSQL has aborted the transaction, and the statements
// after it must not be mistaken for its cause.
func (tx *Tx) flush(ctx context.Context) error {
	queue := append(tx.queue, tx.last...)
	tx.queue, tx.last = nil, nil
	if len(queue) == 0 {
		return nil
	}
	err := tx.conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("sqlstore: pipeline on a %T connection", dc)
		}
		var b pgx.Batch
		var of []*pending // the write each statement of b runs; nil for a SET around one
		add := func(p *pending, query string, args ...any) {
			b.Queue(query, args...)
			of = append(of, p)
		}
		for i := range queue {
			p := &queue[i]
			args, each := batchArgs(p.args)
			if each {
				add(nil, `SET LOCAL plan_cache_mode TO force_custom_plan`)
			}
			add(p, p.query, args...)
			if each {
				add(nil, `SET LOCAL plan_cache_mode TO DEFAULT`)
			}
		}
		results := sc.Conn().SendBatch(ctx, &b)
		for _, p := range of {
			tag, err := results.Exec()
			if err == nil && p != nil && p.check != nil {
				err = p.check(tag.RowsAffected())
			}
			if err != nil && p != nil && p.mapErr != nil {
				err = p.mapErr(err)
			}
			if err != nil {
				_ = results.Close() // the first error is the cause
				return err
			}
		}
		return results.Close()
	})
	if err != nil && tx.failed == nil {
		tx.failed = err
	}
	return err
}

// batchArgs are a queued statement's arguments without planEach's mode,
// and whether it was there. A pgx Batch runs every statement in the
// connection's mode, which keeps a prepared statement's generic plan once
// PostgreSQL has made one: for an IN list (inLists asks for planEach), one
// made while the table was small may scan it whole as it grows. So such a
// statement runs between two SET LOCALs of plan_cache_mode, in the same
// round trip: PostgreSQL plans it for its values at every run.
func batchArgs(args []any) ([]any, bool) {
	if len(args) > 0 {
		if _, ok := args[0].(pgx.QueryExecMode); ok {
			return args[1:], true
		}
	}
	return args, false
}

// flushFirst sends the queue before a statement that answers something.
func (tx *Tx) flushFirst(ctx context.Context) {
	if len(tx.queue)+len(tx.last) > 0 {
		_ = tx.flush(ctx) // kept in tx.failed; the statement then fails on the aborted transaction
	}
}
