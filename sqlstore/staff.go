package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/staff"
)

// StaffStore implements staff.Store.
type StaffStore struct{ db *DB }

var _ staff.Store = (*StaffStore)(nil)

// Staff returns the staff store.
func (db *DB) Staff() *StaffStore { return &StaffStore{db: db} }

const keyColumns = `id, name, role, prefix, created_at, last_used_at, revoked_at`

func scanKey(row interface{ Scan(...any) error }) (staff.Key, error) {
	var k staff.Key
	var created int64
	var used, revoked sql.NullInt64
	err := row.Scan(&k.ID, &k.Name, &k.Role, &k.Prefix, &created, &used, &revoked)
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = fromMicros(created), fromNullMicros(used), fromNullMicros(revoked)
	return k, err
}

// CreateKey implements staff.Store.
func (s *StaffStore) CreateKey(ctx context.Context, k staff.Key, secretHash string) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, name, role, prefix, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			k.ID, k.Name, k.Role, k.Prefix, secretHash, micros(k.CreatedAt))
		return err
	})
}

var errKeyNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "api-key-not-found", "No such API key.")

// KeyBySecretHash implements staff.Store.
func (s *StaffStore) KeyBySecretHash(ctx context.Context, secretHash string) (staff.Key, error) {
	k, err := scanKey(s.db.reader().QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE secret_hash = $1`, secretHash))
	if errors.Is(err, sql.ErrNoRows) {
		return staff.Key{}, errKeyNotFound
	}
	return k, err
}

// Keys implements staff.Store.
func (s *StaffStore) Keys(ctx context.Context) ([]staff.Key, error) {
	rows, err := s.db.reader().QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := []staff.Key{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// RevokeKey implements staff.Store.
func (s *StaffStore) RevokeKey(ctx context.Context, id string, t time.Time) (staff.Key, error) {
	var k staff.Key
	err := s.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, micros(t))
		if err != nil {
			return err
		}
		k, err = scanKey(tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return errKeyNotFound
		}
		return err
	})
	return k, err
}

// TouchKey implements staff.Store.
func (s *StaffStore) TouchKey(ctx context.Context, id string, t time.Time) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, id, micros(t))
		return err
	})
}

// AppendAudit implements staff.Store.
func (s *StaffStore) AppendAudit(ctx context.Context, e staff.AuditEntry) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (id, key_id, key_name, role, action, path, status, request_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			e.ID, e.KeyID, e.KeyName, e.Role, e.Action, e.Path, e.Status, e.RequestID, micros(e.CreatedAt))
		return err
	})
}

// Audit implements staff.Store.
func (s *StaffStore) Audit(ctx context.Context, f staff.AuditFilter) ([]staff.AuditEntry, error) {
	q := `SELECT id, key_id, key_name, role, action, path, status, request_id, created_at FROM audit_log WHERE 1 = 1`
	var args params
	if f.KeyID != "" {
		q += ` AND key_id = ` + args.add(f.KeyID)
	}
	if f.Before != "" {
		q += ` AND id < ` + args.add(f.Before)
	}
	q += ` ORDER BY id DESC LIMIT ` + args.add(f.Limit)
	rows, err := s.db.reader().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []staff.AuditEntry{}
	for rows.Next() {
		var e staff.AuditEntry
		var created int64
		if err := rows.Scan(&e.ID, &e.KeyID, &e.KeyName, &e.Role, &e.Action, &e.Path, &e.Status, &e.RequestID, &created); err != nil {
			return nil, err
		}
		e.CreatedAt = fromMicros(created)
		out = append(out, e)
	}
	return out, rows.Err()
}
