package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/customer"
)

// CustomerStore implements customer.Store.
type CustomerStore struct{ db *DB }

var _ customer.Store = (*CustomerStore)(nil)

// Customers returns the customer store.
func (db *DB) Customers() *CustomerStore { return &CustomerStore{db: db} }

var (
	errEmailTaken       = shopd.TypedErrorf(shopd.ECONFLICT, "email-taken", "An account with this email already exists.")
	errCustomerNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "customer-not-found", "No such customer.")
	errSessionNotFound  = shopd.TypedErrorf(shopd.ENOTFOUND, "session-not-found", "No such session.")
	errAddressNotFound  = shopd.TypedErrorf(shopd.ENOTFOUND, "address-not-found", "No such address.")
)

const customerColumns = `id, email, name, market, accepts_marketing, created_at, updated_at`

func scanCustomer(row interface{ Scan(...any) error }, extra ...any) (customer.Customer, error) {
	var c customer.Customer
	var created, updated int64
	err := row.Scan(append([]any{&c.ID, &c.Email, &c.Name, &c.Market, &c.AcceptsMarketing, &created, &updated}, extra...)...)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, err
}

func insertSession(ctx context.Context, tx *Tx, s customer.Session, tokenHash string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO customer_sessions (id, customer_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		s.ID, s.CustomerID, tokenHash, micros(s.CreatedAt), micros(s.ExpiresAt))
	return err
}

// CreateCustomer implements customer.Store.
func (s *CustomerStore) CreateCustomer(ctx context.Context, c customer.Customer, passwordHash string, sess customer.Session, tokenHash string) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO customers (id, email, name, market, accepts_marketing, password_hash, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			c.ID, c.Email, c.Name, c.Market, c.AcceptsMarketing, passwordHash, micros(c.CreatedAt), micros(c.UpdatedAt))
		if isUniqueViolation(err) {
			return errEmailTaken
		}
		if err != nil {
			return err
		}
		return insertSession(ctx, tx, sess, tokenHash)
	})
}

// insertBatchRows is how many customers one INSERT statement writes. In
// PostgreSQL a larger statement saves round trips (8 parameters a row stays
// far below its limit of 65,535); the SQLite driver binds $N parameters in
// time that grows with the square of their number, so small statements are
// fastest there (measured: 25,000 rows in 0.4 s at 10 rows a statement, 20 s
// at 2,000).
func insertBatchRows(d Dialect) int {
	if d == Postgres {
		return 500
	}
	return 10
}

// insertTxRows is how many customers one transaction writes: large enough
// that commits do not dominate, small enough not to hold the SQLite writer
// for long.
const insertTxRows = 10_000

// InsertCustomers writes many customers at once, all with the same password
// hash (from customer.HashPassword), for the seeder: multi-row INSERTs in
// large transactions. Customers without timestamps get the store clock's
// time. Emails must already be normalised (customer.NormalizeEmail). It
// returns ECONFLICT "email-taken" if an email exists (the transaction holding
// it writes nothing; earlier ones stay).
func (s *CustomerStore) InsertCustomers(ctx context.Context, list []customer.Customer, passwordHash string) error {
	now := s.db.Now()
	for start := 0; start < len(list); start += insertTxRows {
		chunk := list[start:min(start+insertTxRows, len(list))]
		err := s.db.InTx(ctx, func(tx *Tx) error {
			step := insertBatchRows(tx.Dialect())
			for b := 0; b < len(chunk); b += step {
				batch := chunk[b:min(b+step, len(chunk))]
				var q strings.Builder
				q.WriteString(`INSERT INTO customers (id, email, name, market, accepts_marketing, password_hash, created_at, updated_at) VALUES `)
				args := make([]any, 0, 8*len(batch))
				for i, c := range batch {
					if i > 0 {
						q.WriteByte(',')
					}
					n := len(args)
					fmt.Fprintf(&q, "($%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8)
					created, updated := c.CreatedAt, c.UpdatedAt
					if created.IsZero() {
						created = now
					}
					if updated.IsZero() {
						updated = created
					}
					args = append(args, c.ID, c.Email, c.Name, c.Market, c.AcceptsMarketing, passwordHash, micros(created), micros(updated))
				}
				if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
					return conflictOr(err, "email-taken", "An account with one of these emails already exists.")
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Customer implements customer.Store.
func (s *CustomerStore) Customer(ctx context.Context, id string) (customer.Customer, error) {
	c, err := scanCustomer(s.db.reader().QueryRowContext(ctx, `SELECT `+customerColumns+` FROM customers WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return customer.Customer{}, errCustomerNotFound
	}
	return c, err
}

// CustomerByEmail implements customer.Store.
func (s *CustomerStore) CustomerByEmail(ctx context.Context, email string) (customer.Customer, string, error) {
	var hash string
	c, err := scanCustomer(s.db.reader().QueryRowContext(ctx, `SELECT `+customerColumns+`, password_hash FROM customers WHERE email = $1`, email), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return customer.Customer{}, "", errCustomerNotFound
	}
	return c, hash, err
}

// PasswordHash implements customer.Store.
func (s *CustomerStore) PasswordHash(ctx context.Context, customerID string) (string, error) {
	var hash string
	err := s.db.reader().QueryRowContext(ctx, `SELECT password_hash FROM customers WHERE id = $1`, customerID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errCustomerNotFound
	}
	return hash, err
}

// UpdateCustomer implements customer.Store.
func (s *CustomerStore) UpdateCustomer(ctx context.Context, id string, update func(*customer.Customer) error, pw *customer.PasswordChange) (customer.Customer, error) {
	var out customer.Customer
	err := s.db.InTx(ctx, func(tx *Tx) error {
		var hash string
		c, err := scanCustomer(tx.QueryRowContext(ctx, `SELECT `+customerColumns+`, password_hash FROM customers WHERE id = $1`+tx.Dialect().ForUpdate(), id), &hash)
		if errors.Is(err, sql.ErrNoRows) {
			return errCustomerNotFound
		}
		if err != nil {
			return err
		}
		if update != nil {
			if err := update(&c); err != nil {
				return err
			}
		}
		if pw != nil {
			if hash != pw.OldHash {
				return shopd.TypedErrorf(shopd.ECONFLICT, "password-changed", "The password was changed meanwhile; try again.")
			}
			hash = pw.NewHash
			if pw.RevokeSessions {
				if _, err := tx.ExecContext(ctx, `DELETE FROM customer_sessions WHERE customer_id = $1 AND id <> $2`, id, pw.KeepSession); err != nil {
					return err
				}
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE customers SET email = $2, name = $3, market = $4, accepts_marketing = $5, password_hash = $6, updated_at = $7
			WHERE id = $1`, id, c.Email, c.Name, c.Market, c.AcceptsMarketing, hash, micros(c.UpdatedAt))
		if err != nil {
			return conflictOr(err, "email-taken", "An account with this email already exists.")
		}
		out = c
		return nil
	})
	return out, err
}

// Customers implements customer.Store.
func (s *CustomerStore) Customers(ctx context.Context, f customer.CustomerFilter) ([]customer.Customer, error) {
	q := `SELECT ` + customerColumns + ` FROM customers WHERE id > $1`
	args := []any{f.After}
	if f.EmailPrefix != "" {
		// A byte range instead of LIKE: no wildcards to escape, and both
		// engines use the email index (byte collation on both).
		args = append(args, f.EmailPrefix)
		q += ` AND email >= $2`
		if upper, ok := prefixUpperBound(f.EmailPrefix); ok {
			args = append(args, upper)
			q += ` AND email < $3`
		}
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args))
	rows, err := s.db.reader().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []customer.Customer{}
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	return list, rows.Err()
}

// prefixUpperBound returns the smallest string greater than every string
// that starts with prefix, or false if there is none (all 0xff bytes).
func prefixUpperBound(prefix string) (string, bool) {
	b := []byte(prefix)
	for len(b) > 0 && b[len(b)-1] == 0xff {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return "", false
	}
	b[len(b)-1]++
	return string(b), true
}

// CreateSession implements customer.Store.
func (s *CustomerStore) CreateSession(ctx context.Context, sess customer.Session, tokenHash string) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		err := insertSession(ctx, tx, sess, tokenHash)
		if isForeignKeyViolation(err) {
			return errCustomerNotFound
		}
		return err
	})
}

// SessionByTokenHash implements customer.Store.
func (s *CustomerStore) SessionByTokenHash(ctx context.Context, tokenHash string) (customer.Session, error) {
	var sess customer.Session
	var created, expires int64
	err := s.db.reader().QueryRowContext(ctx, `SELECT id, customer_id, created_at, expires_at FROM customer_sessions WHERE token_hash = $1`, tokenHash).
		Scan(&sess.ID, &sess.CustomerID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return customer.Session{}, errSessionNotFound
	}
	sess.CreatedAt, sess.ExpiresAt = fromMicros(created), fromMicros(expires)
	return sess, err
}

// DeleteSession implements customer.Store.
func (s *CustomerStore) DeleteSession(ctx context.Context, id string) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM customer_sessions WHERE id = $1`, id)
		return err
	})
}

// DeleteExpiredSessions implements customer.Store.
func (s *CustomerStore) DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := s.db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM customer_sessions WHERE expires_at <= $1`, micros(t))
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return n, err
}

const addressColumns = `id, customer_id, name, line1, line2, city, region, postal_code, country, phone, created_at`

func scanAddress(row interface{ Scan(...any) error }) (customer.Address, error) {
	var a customer.Address
	var created int64
	err := row.Scan(&a.ID, &a.CustomerID, &a.Name, &a.Line1, &a.Line2, &a.City, &a.Region, &a.PostalCode, &a.Country, &a.Phone, &created)
	a.CreatedAt = fromMicros(created)
	return a, err
}

// CreateAddress implements customer.Store.
func (s *CustomerStore) CreateAddress(ctx context.Context, a customer.Address, max int) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		// Lock the customer so concurrent inserts cannot both pass the count.
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM customers WHERE id = $1`+tx.Dialect().ForUpdate(), a.CustomerID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return errCustomerNotFound
		}
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM customer_addresses WHERE customer_id = $1`, a.CustomerID).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return shopd.TypedErrorf(shopd.ECONFLICT, "address-limit", "A customer may keep at most %d addresses; delete one first.", max)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO customer_addresses (`+addressColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			a.ID, a.CustomerID, a.Name, a.Line1, a.Line2, a.City, a.Region, a.PostalCode, a.Country, a.Phone, micros(a.CreatedAt))
		return err
	})
}

// Addresses implements customer.Store.
func (s *CustomerStore) Addresses(ctx context.Context, customerID string) ([]customer.Address, error) {
	rows, err := s.db.reader().QueryContext(ctx, `SELECT `+addressColumns+` FROM customer_addresses WHERE customer_id = $1 ORDER BY id`, customerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []customer.Address{}
	for rows.Next() {
		a, err := scanAddress(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, a)
	}
	return list, rows.Err()
}

// Address implements customer.Store.
func (s *CustomerStore) Address(ctx context.Context, customerID, id string) (customer.Address, error) {
	a, err := scanAddress(s.db.reader().QueryRowContext(ctx, `SELECT `+addressColumns+` FROM customer_addresses WHERE id = $1 AND customer_id = $2`, id, customerID))
	if errors.Is(err, sql.ErrNoRows) {
		return customer.Address{}, errAddressNotFound
	}
	return a, err
}

// DeleteAddress implements customer.Store.
func (s *CustomerStore) DeleteAddress(ctx context.Context, customerID, id string) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM customer_addresses WHERE id = $1 AND customer_id = $2`, id, customerID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = errAddressNotFound
		}
		return err
	})
}
