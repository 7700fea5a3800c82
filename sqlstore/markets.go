package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/market"
)

// MarketStore implements market.Store.
type MarketStore struct{ db *DB }

var _ market.Store = (*MarketStore)(nil)

// Markets returns the market store.
func (db *DB) Markets() *MarketStore { return &MarketStore{db: db} }

const marketColumns = `code, name, country, currency, tax_mode, rounding, languages, default_locale, time_zone, enabled, created_at, updated_at`

func scanMarket(row interface{ Scan(...any) error }) (market.Market, error) {
	var m market.Market
	var langs string
	var created, updated int64
	err := row.Scan(&m.Code, &m.Name, &m.Country, &m.Currency, &m.TaxMode, &m.Rounding, &langs, &m.DefaultLocale,
		&m.TimeZone, &m.Enabled, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return market.Market{}, market.ErrMarketNotFound
	} else if err != nil {
		return market.Market{}, err
	}
	if err := json.Unmarshal([]byte(langs), &m.Languages); err != nil {
		return market.Market{}, fmt.Errorf("sqlstore: market %s: languages: %w", m.Code, err)
	}
	m.CreatedAt, m.UpdatedAt = fromMicros(created), fromMicros(updated)
	return m, nil
}

func marketLanguagesJSON(langs []string) (string, error) {
	if langs == nil {
		langs = []string{}
	}
	b, err := json.Marshal(langs)
	return string(b), err
}

// CreateDefaults implements market.Store. Concurrent callers on PostgreSQL
// may all see no market and try to insert; the inserts of the first market
// code queue behind the first transaction, and the others then fail on the
// primary key and report that they inserted nothing. SQLite runs one write
// transaction at a time, so the second caller sees the markets.
func (s *MarketStore) CreateDefaults(ctx context.Context, markets []market.Market, taxes []market.TaxRate, shipping []market.ShippingRate) (bool, error) {
	// Fast path: every start after the first finds markets with one read.
	var exists bool
	if err := s.db.reader().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM markets)`).Scan(&exists); err != nil || exists {
		return false, err
	}
	created := false
	err := s.db.InTx(ctx, func(tx *Tx) error {
		created = false
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM markets)`).Scan(&exists); err != nil || exists {
			return err
		}
		for _, m := range markets {
			if err := insertMarket(ctx, tx, m); err != nil {
				return err
			}
		}
		for _, r := range taxes {
			if err := insertTaxRate(ctx, tx, r); err != nil {
				return err
			}
		}
		for _, r := range shipping {
			if err := insertShippingRate(ctx, tx, r); err != nil {
				return err
			}
		}
		created = true
		return nil
	})
	if isUniqueViolation(err) {
		return false, nil // another caller created them first
	}
	return created && err == nil, err
}

func insertMarket(ctx context.Context, tx *Tx, m market.Market) error {
	langs, err := marketLanguagesJSON(m.Languages)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO markets (`+marketColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		m.Code, m.Name, m.Country, m.Currency, string(m.TaxMode), string(m.Rounding), langs, m.DefaultLocale, m.TimeZone, m.Enabled,
		micros(m.CreatedAt), micros(m.UpdatedAt))
	return err
}

// Markets implements market.Store.
func (s *MarketStore) Markets(ctx context.Context) ([]market.Market, error) {
	rows, err := s.db.reader().QueryContext(ctx, `SELECT `+marketColumns+` FROM markets ORDER BY code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []market.Market{}
	for rows.Next() {
		m, err := scanMarket(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Market implements market.Store.
func (s *MarketStore) Market(ctx context.Context, code string) (market.Market, error) {
	return scanMarket(s.db.reader().QueryRowContext(ctx, `SELECT `+marketColumns+` FROM markets WHERE code = $1`, code))
}

// UpdateMarket implements market.Store. Only the columns staff may change
// are written: code, country, currency and tax mode stay as created.
func (s *MarketStore) UpdateMarket(ctx context.Context, code string, fn func(*market.Market) error) (market.Market, error) {
	var m market.Market
	err := s.db.InTx(ctx, func(tx *Tx) error {
		var err error
		m, err = scanMarket(tx.QueryRowContext(ctx, `SELECT `+marketColumns+` FROM markets WHERE code = $1`+tx.Dialect().ForUpdate(), code))
		if err != nil {
			return err
		}
		if err := fn(&m); err != nil {
			return err
		}
		langs, err := marketLanguagesJSON(m.Languages)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE markets SET name = $2, languages = $3, default_locale = $4, time_zone = $5,
			rounding = $6, enabled = $7, updated_at = $8 WHERE code = $1`,
			code, m.Name, langs, m.DefaultLocale, m.TimeZone, string(m.Rounding), m.Enabled, micros(m.UpdatedAt))
		return err
	})
	if err != nil {
		return market.Market{}, err
	}
	// Report what is stored, not what fn may have set in the fixed fields.
	return s.Market(ctx, code)
}

// lockMarketRow takes the market's row lock, so that counting its rates before
// an insert is exact under concurrency, and returns ENOTFOUND if it does not
// exist.
func lockMarketRow(ctx context.Context, tx *Tx, code string) error {
	var got string
	err := tx.QueryRowContext(ctx, `SELECT code FROM markets WHERE code = $1`+tx.Dialect().ForUpdate(), code).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return market.ErrMarketNotFound
	}
	return err
}

const taxRateColumns = `id, market, region, category, name, rate, created_at, updated_at`

func scanTaxRate(row interface{ Scan(...any) error }) (market.TaxRate, error) {
	var r market.TaxRate
	var created, updated int64
	err := row.Scan(&r.ID, &r.Market, &r.Region, &r.Category, &r.Name, &r.Rate, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return market.TaxRate{}, market.ErrTaxRateNotFound
	} else if err != nil {
		return market.TaxRate{}, err
	}
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return r, nil
}

func insertTaxRate(ctx context.Context, tx *Tx, r market.TaxRate) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO tax_rates (`+taxRateColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		r.ID, r.Market, r.Region, r.Category, r.Name, int64(r.Rate), micros(r.CreatedAt), micros(r.UpdatedAt))
	return err
}

const errTaxRateExists = "The market already has a tax rate with this region, category and name."

// TaxRates implements market.Store.
func (s *MarketStore) TaxRates(ctx context.Context, code string) ([]market.TaxRate, error) {
	rows, err := s.db.reader().QueryContext(ctx, `SELECT `+taxRateColumns+` FROM tax_rates WHERE market = $1
		ORDER BY region, category, name`, code)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []market.TaxRate{}
	for rows.Next() {
		r, err := scanTaxRate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// TaxRate implements market.Store.
func (s *MarketStore) TaxRate(ctx context.Context, id string) (market.TaxRate, error) {
	return scanTaxRate(s.db.reader().QueryRowContext(ctx, `SELECT `+taxRateColumns+` FROM tax_rates WHERE id = $1`, id))
}

// CreateTaxRate implements market.Store.
func (s *MarketStore) CreateTaxRate(ctx context.Context, r market.TaxRate) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		if err := lockMarketRow(ctx, tx, r.Market); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tax_rates WHERE market = $1`, r.Market).Scan(&n); err != nil {
			return err
		}
		if n >= market.MaxTaxRatesPerMarket {
			return shopd.TypedErrorf(shopd.ECONFLICT, "too-many-tax-rates", "A market holds at most %d tax rates.", market.MaxTaxRatesPerMarket)
		}
		return conflictOr(insertTaxRate(ctx, tx, r), "tax-rate-exists", errTaxRateExists)
	})
}

// UpdateTaxRate implements market.Store. The rate stays in its market.
func (s *MarketStore) UpdateTaxRate(ctx context.Context, id string, fn func(*market.TaxRate) error) (market.TaxRate, error) {
	var r market.TaxRate
	err := s.db.InTx(ctx, func(tx *Tx) error {
		var err error
		r, err = scanTaxRate(tx.QueryRowContext(ctx, `SELECT `+taxRateColumns+` FROM tax_rates WHERE id = $1`+tx.Dialect().ForUpdate(), id))
		if err != nil {
			return err
		}
		mkt := r.Market
		if err := fn(&r); err != nil {
			return err
		}
		r.Market = mkt
		_, err = tx.ExecContext(ctx, `UPDATE tax_rates SET region = $2, category = $3, name = $4, rate = $5, updated_at = $6 WHERE id = $1`,
			id, r.Region, r.Category, r.Name, int64(r.Rate), micros(r.UpdatedAt))
		return conflictOr(err, "tax-rate-exists", errTaxRateExists)
	})
	if err != nil {
		return market.TaxRate{}, err
	}
	return r, nil
}

// DeleteTaxRate implements market.Store.
func (s *MarketStore) DeleteTaxRate(ctx context.Context, id string) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		return deleteMarketRow(ctx, tx, `DELETE FROM tax_rates WHERE id = $1`, id, market.ErrTaxRateNotFound)
	})
}

func deleteMarketRow(ctx context.Context, tx *Tx, query, id string, notFound error) error {
	res, err := tx.ExecContext(ctx, query, id)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		return notFound
	}
	return err
}

const shippingRateColumns = `id, market, name, region, currency, price, free_above, min_delivery_days, max_delivery_days, created_at, updated_at`

func scanShippingRate(row interface{ Scan(...any) error }) (market.ShippingRate, error) {
	var r market.ShippingRate
	var free sql.NullInt64
	var created, updated int64
	err := row.Scan(&r.ID, &r.Market, &r.Name, &r.Region, &r.Price.Currency, &r.Price.Amount, &free, &r.MinDays, &r.MaxDays, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return market.ShippingRate{}, market.ErrShippingRateNotFound
	} else if err != nil {
		return market.ShippingRate{}, err
	}
	if free.Valid {
		r.FreeAbove = &shopd.Money{Amount: free.Int64, Currency: r.Price.Currency}
	}
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return r, nil
}

// freeAboveColumn stores a threshold; it must be in the price's currency,
// which market.Service checks.
func freeAboveColumn(r market.ShippingRate) (sql.NullInt64, error) {
	if r.FreeAbove == nil {
		return sql.NullInt64{}, nil
	}
	if r.FreeAbove.Currency != r.Price.Currency {
		return sql.NullInt64{}, shopd.ErrCurrencyMismatch
	}
	return sql.NullInt64{Int64: r.FreeAbove.Amount, Valid: true}, nil
}

func insertShippingRate(ctx context.Context, tx *Tx, r market.ShippingRate) error {
	free, err := freeAboveColumn(r)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO shipping_rates (`+shippingRateColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.ID, r.Market, r.Name, r.Region, r.Price.Currency, r.Price.Amount, free, r.MinDays, r.MaxDays, micros(r.CreatedAt), micros(r.UpdatedAt))
	return err
}

const errShippingRateExists = "The market already has a shipping rate with this name for this region."

// ShippingRates implements market.Store.
func (s *MarketStore) ShippingRates(ctx context.Context, code string) ([]market.ShippingRate, error) {
	rows, err := s.db.reader().QueryContext(ctx, `SELECT `+shippingRateColumns+` FROM shipping_rates WHERE market = $1
		ORDER BY region, price, name`, code)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []market.ShippingRate{}
	for rows.Next() {
		r, err := scanShippingRate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ShippingRate implements market.Store.
func (s *MarketStore) ShippingRate(ctx context.Context, id string) (market.ShippingRate, error) {
	return scanShippingRate(s.db.reader().QueryRowContext(ctx, `SELECT `+shippingRateColumns+` FROM shipping_rates WHERE id = $1`, id))
}

// CreateShippingRate implements market.Store.
func (s *MarketStore) CreateShippingRate(ctx context.Context, r market.ShippingRate) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		if err := lockMarketRow(ctx, tx, r.Market); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM shipping_rates WHERE market = $1`, r.Market).Scan(&n); err != nil {
			return err
		}
		if n >= market.MaxShippingRatesPerMarket {
			return shopd.TypedErrorf(shopd.ECONFLICT, "too-many-shipping-rates", "A market holds at most %d shipping rates.", market.MaxShippingRatesPerMarket)
		}
		return conflictOr(insertShippingRate(ctx, tx, r), "shipping-rate-exists", errShippingRateExists)
	})
}

// UpdateShippingRate implements market.Store. The rate stays in its market
// and currency.
func (s *MarketStore) UpdateShippingRate(ctx context.Context, id string, fn func(*market.ShippingRate) error) (market.ShippingRate, error) {
	var r market.ShippingRate
	err := s.db.InTx(ctx, func(tx *Tx) error {
		var err error
		r, err = scanShippingRate(tx.QueryRowContext(ctx, `SELECT `+shippingRateColumns+` FROM shipping_rates WHERE id = $1`+tx.Dialect().ForUpdate(), id))
		if err != nil {
			return err
		}
		mkt, cur := r.Market, r.Price.Currency
		if err := fn(&r); err != nil {
			return err
		}
		r.Market = mkt
		if r.Price.Currency != cur {
			return shopd.ErrCurrencyMismatch
		}
		free, err := freeAboveColumn(r)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE shipping_rates SET name = $2, region = $3, price = $4, free_above = $5,
			min_delivery_days = $6, max_delivery_days = $7, updated_at = $8 WHERE id = $1`,
			id, r.Name, r.Region, r.Price.Amount, free, r.MinDays, r.MaxDays, micros(r.UpdatedAt))
		return conflictOr(err, "shipping-rate-exists", errShippingRateExists)
	})
	if err != nil {
		return market.ShippingRate{}, err
	}
	return r, nil
}

// DeleteShippingRate implements market.Store.
func (s *MarketStore) DeleteShippingRate(ctx context.Context, id string) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		return deleteMarketRow(ctx, tx, `DELETE FROM shipping_rates WHERE id = $1`, id, market.ErrShippingRateNotFound)
	})
}
