package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Tx is a write transaction. It embeds *sql.Tx, so store code calls
// ExecContext/QueryContext on it directly.
type Tx struct {
	*sql.Tx
	db     *DB
	shared bool // one of a group of SQLite transactions sharing a commit

	// PostgreSQL: the transaction's connection, for pipelined writes.
	conn       *sql.Conn
	pipelining bool
	queue      []pending
	last       []pending         // queued to go after queue (execLast)
	mapErr     func(error) error // see errorsMapped
	failed     error             // a pipelined write's error (the transaction's cause of failure)
}

// ctx returns the context for a statement: in a shared transaction, one
// caller's cancellation must not interrupt the statements of the others
// (SQLite may roll the whole transaction back), so it is not passed on.
func (tx *Tx) ctx(ctx context.Context) context.Context {
	if tx.shared {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// ExecContext runs a statement in the transaction.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx.flushFirst(ctx)
	return tx.Tx.ExecContext(tx.ctx(ctx), query, args...)
}

// QueryContext runs a query in the transaction.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx.flushFirst(ctx)
	return tx.Tx.QueryContext(tx.ctx(ctx), query, args...)
}

// QueryRowContext runs a query for one row in the transaction.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	tx.flushFirst(ctx)
	return tx.Tx.QueryRowContext(tx.ctx(ctx), query, args...)
}

// Dialect returns the engine of the transaction.
func (tx *Tx) Dialect() Dialect { return tx.db.dialect }

// Now returns the store clock's time.
func (tx *Tx) Now() time.Time { return tx.db.clock.Now() }

// maxTxAttempts bounds retries of a transaction that failed on contention.
const maxTxAttempts = 8

// InTx runs fn in a write transaction and commits it if fn returns nil;
// if fn returns an error, none of its changes stay. On SQLite the
// transaction may share its commit with others (see txgroup.go). A
// transaction that fails only on contention (busy, deadlock, serialization)
// is retried with jittered backoff, so fn must have no effects outside the
// transaction and may run more than once.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		if db.group != nil {
			err = db.group.run(ctx, fn)
		} else {
			err = db.inTxOnce(ctx, fn)
		}
		if err == nil || !isRetryable(err) || attempt == maxTxAttempts {
			return err
		}
		backoff := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 6)))
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff):
		}
	}
}

func (db *DB) inTxOnce(ctx context.Context, fn func(tx *Tx) error) (err error) {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	defer conn.Close()
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	tx := &Tx{Tx: sqlTx, db: db}
	if db.dialect == Postgres {
		tx.conn = conn
	}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	err = fn(tx)
	if tx.failed != nil {
		return tx.failed // the cause; fn's error may be only its consequence
	}
	if err != nil {
		return err
	}
	return sqlTx.Commit()
}

// Reader is what read-only queries need: the read pool, or a transaction
// when a write needs to read its own changes.
type Reader interface {
	querier
	Dialect() Dialect
}

// querier is what database/sql's pools and transactions have of a Reader.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader returns the read pool.
func (db *DB) reader() Reader { return dialectReader{db.read, db.dialect} }

// dialectReader is a database/sql pool or transaction as a Reader.
type dialectReader struct {
	querier
	dialect Dialect
}

func (r dialectReader) Dialect() Dialect { return r.dialect }

// micros converts a time to the stored form: microseconds since the epoch.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts a stored time back to a UTC time.Time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros stores an optional time; the zero time is NULL.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// fromNullMicros reads an optional time; NULL is the zero time.
func fromNullMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMicros(n.Int64)
}

// nullString stores "" as NULL.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// placeholders returns "$1, $2, …, $n", the VALUES of a one-row insert.
func placeholders(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i))
	}
	return b.String()
}

// params collects the arguments of a query built from optional filters.
type params []any

// add appends v and returns its placeholder ($n).
func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// Savepoint runs fn inside a savepoint of the transaction: if fn fails,
// its changes are rolled back and the transaction can go on (on
// PostgreSQL, even after a failed statement). It returns fn's error.
func (tx *Tx) Savepoint(ctx context.Context, fn func() error) error {
	// A write queued inside the savepoint would fail outside it: no
	// pipelining until it is released.
	defer func(was bool) { tx.pipelining = was }(tx.pipelining)
	tx.pipelining = false
	if _, err := tx.ExecContext(ctx, `SAVEPOINT inner_step`); err != nil {
		return err
	}
	if ferr := fn(); ferr != nil {
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT inner_step`); err != nil {
			return errors.Join(ferr, err)
		}
		_, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT inner_step`)
		return errors.Join(ferr, err)
	}
	_, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT inner_step`)
	return err
}
