package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/shopd/shopd/customer"
)

// Profile implements customer.Store.
func (s *CustomerStore) Profile(ctx context.Context, customerID string) (customer.Profile, error) {
	var p customer.Profile
	var data string
	var updated int64
	err := s.db.reader().QueryRowContext(ctx, `SELECT profile, updated_at FROM customer_profiles WHERE customer_id = $1`, customerID).
		Scan(&data, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	p.UpdatedAt = fromMicros(updated)
	return p, json.Unmarshal([]byte(data), &p.Profile)
}

// SaveProfile implements customer.Store.
func (s *CustomerStore) SaveProfile(ctx context.Context, customerID string, p customer.Profile) error {
	data, err := json.Marshal(p.Profile)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO customer_profiles (customer_id, profile, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (customer_id) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at`,
			customerID, string(data), micros(p.UpdatedAt))
		if isForeignKeyViolation(err) {
			return errCustomerNotFound
		}
		return err
	})
}
