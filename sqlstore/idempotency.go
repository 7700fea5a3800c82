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
func (s *IdempotencyStore) Claim(ctx context.Context, rec idempotency.Record, staleBefore time.Time) (idempotency.Record, bool, error) {
	var existing idempotency.Record
	claimed := false
	err := s.db.InTx(ctx, func(tx *Tx) error {
		var status int
		var lockedAt, expiresAt, createdAt int64
		err := tx.QueryRowContext(ctx, `SELECT request_hash, status, content_type, location, body, locked_at, created_at, expires_at
			FROM idempotency_keys WHERE scope = $1 AND key = $2`+tx.Dialect().ForUpdate(), rec.Scope, rec.Key).
			Scan(&existing.RequestHash, &status, &existing.ContentType, &existing.Location, &existing.Body, &lockedAt, &createdAt, &expiresAt)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			// Two first requests may race to insert: the loser inserts nothing
			// and reports the key as in use.
			res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, locked_at, created_at, expires_at)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope, key) DO NOTHING`,
				rec.Scope, rec.Key, rec.RequestHash, micros(rec.LockedAt), micros(rec.CreatedAt), micros(rec.ExpiresAt))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			claimed = n == 1
			existing = idempotency.Record{Scope: rec.Scope, Key: rec.Key, RequestHash: rec.RequestHash}
			return err
		case err != nil:
			return err
		}
		existing.Scope, existing.Key, existing.Status = rec.Scope, rec.Key, status
		existing.LockedAt, existing.CreatedAt, existing.ExpiresAt = fromMicros(lockedAt), fromMicros(createdAt), fromMicros(expiresAt)
		expired := !existing.ExpiresAt.After(rec.CreatedAt)
		abandoned := status == 0 && existing.LockedAt.Before(staleBefore) && existing.RequestHash == rec.RequestHash
		if !expired && !abandoned {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE idempotency_keys SET request_hash = $3, status = 0, content_type = '', location = '', body = NULL,
			locked_at = $4, created_at = $5, expires_at = $6 WHERE scope = $1 AND key = $2`,
			rec.Scope, rec.Key, rec.RequestHash, micros(rec.LockedAt), micros(rec.CreatedAt), micros(rec.ExpiresAt))
		claimed = err == nil
		return err
	})
	if err != nil {
		return idempotency.Record{}, false, err
	}
	return existing, claimed, nil
}

// Complete implements idempotency.Store.
func (s *IdempotencyStore) Complete(ctx context.Context, scope, key string, status int, contentType, location string, body []byte) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET status = $3, content_type = $4, location = $5, body = $6
			WHERE scope = $1 AND key = $2`, scope, key, status, contentType, location, body)
		return err
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
