package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/shopd/shopd/idempotency"
)

// IdempotencyStore implements idempotency.Store.
type IdempotencyStore struct{ db *DB }

var _ idempotency.Store = (*IdempotencyStore)(nil)

// Idempotency returns the idempotency key store.
func (db *DB) Idempotency() *IdempotencyStore { return &IdempotencyStore{db: db} }

// Claim implements idempotency.Store.
func (s *IdempotencyStore) Claim(ctx context.Context, rec idempotency.Record, staleBefore time.Time) (existing idempotency.Record, claimed bool, err error) {
	err = s.db.InTx(ctx, func(tx *Tx) error {
		existing, claimed, err = tx.ClaimKey(ctx, rec, staleBefore)
		return err
	})
	return existing, claimed, err
}

// ClaimKey implements idempotency.Claimer: it inserts rec unless the
// (scope, key) pair exists and is neither expired nor an abandoned claim
// older than staleBefore, and otherwise returns the existing record. The
// insert comes first: a new key, the common case, costs one statement.
func (tx *Tx) ClaimKey(ctx context.Context, rec idempotency.Record, staleBefore time.Time) (idempotency.Record, bool, error) {
	// Two first requests may race to insert: the loser inserts nothing and
	// reads the winner's claim below (PostgreSQL: after the winner commits).
	res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, locked_at, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope, key) DO NOTHING`,
		rec.Scope, rec.Key, rec.RequestHash, micros(rec.LockedAt), micros(rec.CreatedAt), micros(rec.ExpiresAt))
	if err != nil {
		return idempotency.Record{}, false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return idempotency.Record{Scope: rec.Scope, Key: rec.Key, RequestHash: rec.RequestHash}, err == nil, err
	}
	existing, err := idemRead(ctx, tx, rec.Scope, rec.Key, tx.Dialect().ForUpdate())
	if err != nil {
		return idempotency.Record{}, false, err // ErrNoRows too: the key was there a statement ago
	}
	expired := !existing.ExpiresAt.After(rec.CreatedAt)
	abandoned := existing.Status == 0 && existing.LockedAt.Before(staleBefore) && existing.RequestHash == rec.RequestHash
	if !expired && !abandoned {
		return existing, false, nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE idempotency_keys SET request_hash = $3, status = 0, content_type = '', location = '', body = NULL,
		locked_at = $4, created_at = $5, expires_at = $6 WHERE scope = $1 AND key = $2`,
		rec.Scope, rec.Key, rec.RequestHash, micros(rec.LockedAt), micros(rec.CreatedAt), micros(rec.ExpiresAt))
	if err != nil {
		return idempotency.Record{}, false, err
	}
	return idempotency.Record{Scope: rec.Scope, Key: rec.Key, RequestHash: rec.RequestHash}, true, nil
}

// Lookup implements idempotency.Store.
func (s *IdempotencyStore) Lookup(ctx context.Context, scope, key string) (idempotency.Record, bool, error) {
	var rec idempotency.Record
	var err error
	if s.db.batch.idemKeys != nil {
		rec, err = s.db.batch.idemKeys.Do(ctx, idemKey{scope, key}) // coalesced.go
	} else {
		rec, err = idemRead(ctx, s.db.reader(), scope, key, "")
	}
	if errors.Is(err, sql.ErrNoRows) {
		return rec, false, nil
	}
	return rec, err == nil, err
}

const idemColumns = `request_hash, status, content_type, location, body, locked_at, created_at, expires_at`

// idemScan receives a row of idemColumns.
type idemScan struct {
	rec                            idempotency.Record
	lockedAt, createdAt, expiresAt int64
}

func (s *idemScan) dest() []any {
	return []any{&s.rec.RequestHash, &s.rec.Status, &s.rec.ContentType, &s.rec.Location, &s.rec.Body, &s.lockedAt, &s.createdAt, &s.expiresAt}
}

func (s *idemScan) record() idempotency.Record {
	s.rec.LockedAt, s.rec.CreatedAt, s.rec.ExpiresAt = fromMicros(s.lockedAt), fromMicros(s.createdAt), fromMicros(s.expiresAt)
	return s.rec
}

// idemRead reads a key's record; suffix may lock it (FOR UPDATE).
func idemRead(ctx context.Context, r Reader, scope, key, suffix string) (idempotency.Record, error) {
	s := idemScan{rec: idempotency.Record{Scope: scope, Key: key}}
	err := r.QueryRowContext(ctx, `SELECT `+idemColumns+` FROM idempotency_keys WHERE scope = $1 AND key = $2`+suffix, scope, key).Scan(s.dest()...)
	return s.record(), err
}

// idemReadAll reads the records of keys. It looks them up by key, the
// primary key's first column, by index (rowsWithKeys), and keeps the rows
// of their scopes.
func idemReadAll(ctx context.Context, r Reader, keys []idemKey) (map[idemKey]idempotency.Record, error) {
	names := make([]string, len(keys))
	wanted := make(map[idemKey]bool, len(keys))
	for i, k := range keys {
		names[i], wanted[k] = k.key, true
	}
	out := make(map[idemKey]idempotency.Record, len(keys))
	for from, args := range rowsWithKeys(r.Dialect(), "idempotency_keys", "i", "key", names) {
		rows, err := r.QueryContext(ctx, `SELECT i.scope, i.key, `+idemColumns+` FROM `+from, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var s idemScan
			if err := rows.Scan(append([]any{&s.rec.Scope, &s.rec.Key}, s.dest()...)...); err != nil {
				rows.Close()
				return nil, err
			}
			if k := (idemKey{s.rec.Scope, s.rec.Key}); wanted[k] {
				out[k] = s.record()
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CompleteAll implements idempotency.Store: one UPDATE per chunk of keys.
func (s *IdempotencyStore) CompleteAll(ctx context.Context, cs []idempotency.Completion) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		values := make([][]any, len(cs))
		for i, c := range cs {
			values[i] = []any{c.Scope, c.Key, c.Status, c.ContentType, c.Location, c.Body}
		}
		for chunk := range chunks(tx, values, 6, 250) {
			with, args := tx.valuesCTE("v", []column{{"scope", "TEXT"}, {"key", "TEXT"}, {"status", "INTEGER"},
				{"content_type", "TEXT"}, {"location", "TEXT"}, {"body", "BYTEA"}}, chunk)
			if _, err := tx.ExecContext(ctx, with+` UPDATE idempotency_keys SET status = v.status, content_type = v.content_type,
				location = v.location, body = v.body FROM v WHERE idempotency_keys.scope = v.scope AND idempotency_keys.key = v.key`, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// Release implements idempotency.Store.
func (s *IdempotencyStore) Release(ctx context.Context, scope, key string) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status = 0`, scope, key)
		return err
	})
}

// PurgeIdempotencyKeys deletes expired keys and returns how many it deleted.
func (db *DB) PurgeIdempotencyKeys(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= $1`, micros(now))
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return n, err
}

// ClaimKeys claims many keys in one statement per few hundred, for a batch
// of checkouts: claimed[i] tells whether recs[i] was new and is now held
// by the transaction. A key that exists is left as it is; its caller
// claims it with ClaimKey, which reads what holds it.
func (tx *Tx) ClaimKeys(ctx context.Context, recs []idempotency.Record) ([]bool, error) {
	const suffix = claimSuffix + ` RETURNING scope, key`
	inserted := map[[2]string]bool{}
	for chunk := range chunks(tx, claimRows(recs), 6, len(claimPrefix)+len(suffix)) {
		values, args := tx.rowValues(chunk, nil)
		rs, err := tx.QueryContext(ctx, claimPrefix+values+suffix, args...)
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			var k [2]string
			if err := rs.Scan(&k[0], &k[1]); err != nil {
				rs.Close()
				return nil, err
			}
			inserted[k] = true
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, err
		}
	}
	claimed := make([]bool, len(recs))
	for i, r := range recs {
		k := [2]string{r.Scope, r.Key}
		claimed[i] = inserted[k]
		delete(inserted, k) // the same key twice in recs: the first holds it
	}
	return claimed, nil
}

// ClaimNewKeys claims keys that are expected to be new, without reading
// the answer: inside Pipeline the claims go with the transaction's other
// writes, in their round trip. If one of them exists (a replay, a key in
// use, the same key twice) the statement fails the transaction with
// idempotency.ErrKeyExists; the caller then claims them with ClaimKeys.
func (tx *Tx) ClaimNewKeys(ctx context.Context, recs []idempotency.Record) error {
	for chunk := range chunks(tx, claimRows(recs), 6, len(claimPrefix)+len(claimSuffix)) {
		values, args := tx.rowValues(chunk, nil)
		all := func(n int64) error {
			if n != int64(len(chunk)) {
				return idempotency.ErrKeyExists
			}
			return nil
		}
		if err := tx.exec(ctx, all, claimPrefix+values+claimSuffix, args...); err != nil {
			return err
		}
	}
	return nil
}

// The statement that claims keys in bulk, and its rows.
const (
	claimPrefix = `INSERT INTO idempotency_keys (scope, key, request_hash, locked_at, created_at, expires_at) VALUES `
	claimSuffix = ` ON CONFLICT (scope, key) DO NOTHING`
)

func claimRows(recs []idempotency.Record) [][]any {
	rows := make([][]any, len(recs))
	for i, r := range recs {
		rows[i] = []any{r.Scope, r.Key, r.RequestHash, micros(r.LockedAt), micros(r.CreatedAt), micros(r.ExpiresAt)}
	}
	return rows
}

// ReleaseKeys deletes keys the transaction claimed for requests that then
// failed, so that a retry with the same key runs again.
func (tx *Tx) ReleaseKeys(ctx context.Context, recs []idempotency.Record) error {
	rows := make([][]any, len(recs))
	for i, r := range recs {
		rows[i] = []any{r.Scope, r.Key}
	}
	for chunk := range chunks(tx, rows, 2, 150) {
		with, args := tx.valuesCTE("v", []column{{"scope", "TEXT"}, {"key", "TEXT"}}, chunk)
		if err := tx.exec(ctx, nil, with+` DELETE FROM idempotency_keys
			WHERE EXISTS (SELECT 1 FROM v WHERE v.scope = idempotency_keys.scope AND v.key = idempotency_keys.key)`, args...); err != nil {
			return err
		}
	}
	return nil
}
