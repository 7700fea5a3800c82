package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Tx is a write transaction. It embeds *sql.Tx, so store code calls
// ExecContext/QueryContext on it directly.
type Tx struct {
	*sql.Tx
	db *DB
}

// Dialect returns the engine of the transaction.
func (tx *Tx) Dialect() Dialect { return tx.db.dialect }

// Now returns the store clock's time.
func (tx *Tx) Now() time.Time { return tx.db.clock.Now() }

// maxTxAttempts bounds retries of a transaction that failed on contention.
const maxTxAttempts = 8

// InTx runs fn in a write transaction and commits it if fn returns nil. A
// transaction that fails only on contention (busy, deadlock, serialization)
// is retried with jittered backoff, so fn must have no effects outside the
// transaction.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = db.inTxOnce(ctx, fn)
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
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	tx := &Tx{Tx: sqlTx, db: db}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return sqlTx.Commit()
}

// Reader is what read-only queries need: the read pool, or a transaction
// when a write needs to read its own changes.
type Reader interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader returns the read pool.
func (db *DB) reader() Reader { return db.read }

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

// params collects the arguments of a query built from optional filters.
type params []any

// add appends v and returns its placeholder ($n).
func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}
