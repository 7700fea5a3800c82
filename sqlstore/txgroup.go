package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// SQLite has one writer, and most of a small transaction's cost is its
// commit: writing every page it dirtied to the WAL, one system call each
// (half of a checkout's CPU, measured). So SQLite write transactions are
// committed in groups: one goroutine takes every transaction waiting at that
// moment and runs them one after another in ONE database transaction, each
// inside its own SAVEPOINT, so that a function that fails rolls back only
// its own changes; then it commits once and answers each caller. A caller
// learns its outcome only after the commit, so nothing is reported done
// before it is durable, and a crash loses only unanswered work.
//
// If anything goes wrong at the level of the whole transaction (a savepoint
// or the commit fails, for example because a statement error made SQLite
// roll the transaction back), the group is rolled back and each function is
// run again alone, so one caller's failure never becomes another's.

// maxGroup bounds how many transactions share one commit, so that the last
// caller of a group does not wait too long behind the others.
const maxGroup = 64

// txGroup runs the SQLite write transactions of a DB.
type txGroup struct {
	db       *DB
	requests chan *txRequest
	closing  chan struct{}
	done     sync.WaitGroup
}

// txRequest is one caller's transaction and its outcome.
type txRequest struct {
	ctx      context.Context
	fn       func(tx *Tx) error
	err      error
	panicked any
	done     chan struct{}
}

func newTxGroup(db *DB) *txGroup {
	g := &txGroup{db: db, requests: make(chan *txRequest), closing: make(chan struct{})}
	g.done.Add(1)
	go g.loop()
	return g
}

// errClosed is the answer to a transaction asked of a closed DB.
var errClosed = errors.New("sqlstore: database is closed")

// run runs fn in a grouped transaction and returns its outcome. It waits
// for the outcome even when ctx ends: the group may already have committed
// fn's changes, and a caller must never be told "failed" of a committed
// change.
func (g *txGroup) run(ctx context.Context, fn func(tx *Tx) error) error {
	r := &txRequest{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case g.requests <- r:
	case <-g.closing:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	<-r.done
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.err
}

// close stops the loop after its current group.
func (g *txGroup) close() {
	close(g.closing)
	g.done.Wait()
}

func (g *txGroup) loop() {
	defer g.done.Done()
	var group []*txRequest
	for {
		select {
		case r := <-g.requests:
			group = append(group[:0], r)
		case <-g.closing:
			return
		}
		// Take everyone already waiting: the requests channel is
		// unbuffered, so they are exactly the callers blocked in run. Yield
		// first, so that the callers of the last group, just woken, can queue
		// their next transactions (measured: groups of 11 instead of 6).
		runtime.Gosched()
	collect:
		for len(group) < maxGroup {
			select {
			case r := <-g.requests:
				group = append(group, r)
			default:
				break collect
			}
		}
		if err := g.commitGroup(group); err != nil {
			for _, r := range group {
				r.runAlone(g.db)
			}
		}
		for _, r := range group {
			close(r.done)
		}
	}
}

// commitGroup runs the group's functions in one transaction, each in a
// savepoint if it has company, and commits. It returns an error, having rolled everything
// back, if the transaction as a whole failed.
func (g *txGroup) commitGroup(group []*txRequest) (err error) {
	// The transaction is shared: one caller's cancellation must not
	// interrupt the statements of the others.
	ctx := context.Background()
	sqlTx, err := g.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	tx := &Tx{Tx: sqlTx, db: g.db, shared: true}
	// A function alone in its group needs no savepoint (in one, SQLite
	// copies every page before its first change, to roll back to): its
	// failure rolls the whole transaction back.
	alone := len(group) == 1
	savepoint := func(stmt string) error {
		if alone {
			return nil
		}
		_, err := sqlTx.ExecContext(ctx, stmt)
		return err
	}
	for _, r := range group {
		if r.err = r.ctx.Err(); r.err != nil {
			continue // the caller gave up before its turn; nothing was done
		}
		if err := savepoint(`SAVEPOINT grouped`); err != nil {
			return err
		}
		r.panicked, r.err = callTx(tx, r.fn)
		if tx.failed != nil {
			r.err, tx.failed = tx.failed, nil // see Tx.Pipeline
		}
		if r.err != nil || r.panicked != nil {
			if alone {
				return sqlTx.Rollback()
			}
			if err := savepoint(`ROLLBACK TO grouped`); err != nil {
				return err
			}
		}
		if err := savepoint(`RELEASE grouped`); err != nil {
			return err
		}
	}
	return sqlTx.Commit()
}

// callTx calls fn, turning a panic into a value to re-raise in the
// caller's goroutine.
func callTx(tx *Tx, fn func(tx *Tx) error) (panicked any, err error) {
	defer func() { panicked = recover() }()
	return nil, fn(tx)
}

// runAlone runs the request in a transaction of its own.
func (r *txRequest) runAlone(db *DB) {
	defer func() { r.panicked = recover() }()
	r.err = db.inTxOnce(r.ctx, r.fn)
}
