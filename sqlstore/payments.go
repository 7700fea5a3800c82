package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/payment/testgateway"
)

// PaymentStore implements payment.Store.
type PaymentStore struct{ db *DB }

var _ payment.Store = (*PaymentStore)(nil)
var _ payment.Tx = (*Tx)(nil)

// Payments returns the payment store.
func (db *DB) Payments() *PaymentStore { return &PaymentStore{db: db} }

// InTx implements payment.Store.
func (s *PaymentStore) InTx(ctx context.Context, fn func(tx payment.Tx) error) error {
	return s.db.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

const paymentColumns = `id, reference, customer_id, amount, currency, capture, method_token, method_brand, method_last4,
	method_exp_month, method_exp_year, description, status, gateway, idempotency_key, charge_id, captured, refunded,
	failure_type, failure_message, hard_decline, attempts, locked_until, created_at, updated_at, settled_at`

func scanPayment(row interface{ Scan(...any) error }) (payment.Payment, error) {
	var p payment.Payment
	var status string
	var locked, created, updated int64
	var settled sql.NullInt64
	err := row.Scan(&p.ID, &p.Reference, &p.CustomerID, &p.Amount.Amount, &p.Amount.Currency, &p.Capture, &p.Method.Token,
		&p.Method.Brand, &p.Method.Last4, &p.Method.ExpMonth, &p.Method.ExpYear, &p.Description, &status, &p.Gateway,
		&p.IdempotencyKey, &p.ChargeID, &p.Captured, &p.Refunded, &p.FailureType, &p.FailureMessage, &p.HardDecline,
		&p.Attempts, &locked, &created, &updated, &settled)
	if errors.Is(err, sql.ErrNoRows) {
		return p, shopd.TypedErrorf(shopd.ENOTFOUND, "payment-not-found", "No such payment.")
	}
	p.Status = payment.Status(status)
	p.LockedUntil, p.CreatedAt, p.UpdatedAt, p.SettledAt = fromMicros(locked), fromMicros(created), fromMicros(updated), fromNullMicros(settled)
	return p, err
}

// InsertPayment implements payment.Tx: it records a pending payment, with
// its idempotency key, in the caller's transaction.
func (tx *Tx) InsertPayment(ctx context.Context, p payment.Payment) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO payments (`+paymentColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)`,
		p.ID, p.Reference, p.CustomerID, p.Amount.Amount, p.Amount.Currency, p.Capture, p.Method.Token, p.Method.Brand,
		p.Method.Last4, p.Method.ExpMonth, p.Method.ExpYear, p.Description, string(p.Status), p.Gateway, p.IdempotencyKey,
		p.ChargeID, p.Captured, p.Refunded, p.FailureType, p.FailureMessage, p.HardDecline, p.Attempts, micros(p.LockedUntil),
		micros(p.CreatedAt), micros(p.UpdatedAt), nullMicros(p.SettledAt))
	return conflictOr(err, "payment-exists", "A payment with this ID or idempotency key exists.")
}

// PaymentForUpdate implements payment.Tx.
func (tx *Tx) PaymentForUpdate(ctx context.Context, id string) (payment.Payment, error) {
	return scanPayment(tx.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM payments WHERE id = $1`+tx.Dialect().ForUpdate(), id))
}

// ClaimPayment implements payment.Tx with one conditional UPDATE, so that of
// many concurrent callers exactly one gets the lease.
func (tx *Tx) ClaimPayment(ctx context.Context, id string, now, until time.Time, attempt bool) (payment.Payment, bool, error) {
	inc := 0
	if attempt {
		inc = 1
	}
	res, err := tx.ExecContext(ctx, `UPDATE payments SET locked_until = $2, attempts = attempts + $4, updated_at = $3
		WHERE id = $1 AND status IN ('pending', 'in_doubt') AND locked_until <= $3`, id, micros(until), micros(now), inc)
	if err != nil {
		return payment.Payment{}, false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return payment.Payment{}, false, err
	}
	p, err := tx.PaymentForUpdate(ctx, id)
	return p, n == 1, err
}

// SettlePayment implements payment.Tx.
func (tx *Tx) SettlePayment(ctx context.Context, id string, s payment.Settlement) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE payments SET status = $2, charge_id = $3, captured = $4, failure_type = $5,
		failure_message = $6, hard_decline = $7, locked_until = 0, updated_at = $8, settled_at = $8
		WHERE id = $1 AND status IN ('pending', 'in_doubt')`,
		id, string(s.Status), s.ChargeID, s.Captured, s.FailureType, s.FailureMessage, s.HardDecline, micros(s.At))
	return affectedOne(res, err)
}

// MarkPaymentInDoubt implements payment.Tx.
func (tx *Tx) MarkPaymentInDoubt(ctx context.Context, id string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE payments SET status = 'in_doubt', locked_until = 0, updated_at = $2
		WHERE id = $1 AND status IN ('pending', 'in_doubt')`, id, micros(now))
	return err
}

// UpdatePaymentStatus implements payment.Tx.
func (tx *Tx) UpdatePaymentStatus(ctx context.Context, id string, from, to payment.Status, captured int64, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE payments SET status = $3, captured = $4, updated_at = $5 WHERE id = $1 AND status = $2`,
		id, string(from), string(to), captured, micros(now))
	return affectedOne(res, err)
}

// DuePayments implements payment.Tx.
func (tx *Tx) DuePayments(ctx context.Context, before, now time.Time, limit int) ([]payment.Payment, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+paymentColumns+` FROM payments
		WHERE status IN ('pending', 'in_doubt') AND updated_at <= $1 AND locked_until <= $2 ORDER BY updated_at, id LIMIT $3`,
		micros(before), micros(now), limit)
	if err != nil {
		return nil, err
	}
	return appendPayments(nil, rows)
}

// InsertPaymentRefund implements payment.Tx: one conditional UPDATE reserves
// the amount on the payment (so concurrent refunds serialise on the payment
// row and never exceed what was captured), then the refund row is inserted.
func (tx *Tx) InsertPaymentRefund(ctx context.Context, r payment.Refund) error {
	res, err := tx.ExecContext(ctx, `UPDATE payments SET refunded = refunded + $2, updated_at = $3
		WHERE id = $1 AND status = 'succeeded' AND captured - refunded >= $2`, r.PaymentID, r.Amount.Amount, micros(r.CreatedAt))
	ok, err := affectedOne(res, err)
	if err != nil {
		return err
	}
	if !ok {
		return shopd.TypedErrorf(shopd.EUNPROCESSABLE, "refund-exceeds-captured", "The refund is more than what is left to refund on the payment.")
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO payment_refunds (id, payment_id, amount, currency, reason, status, idempotency_key,
		gateway_id, failure_type, failure_message, locked_until, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		r.ID, r.PaymentID, r.Amount.Amount, r.Amount.Currency, r.Reason, string(r.Status), r.IdempotencyKey, r.GatewayID,
		r.FailureType, r.FailureMessage, micros(r.LockedUntil), micros(r.CreatedAt), micros(r.UpdatedAt))
	return conflictOr(err, "refund-exists", "A refund with this ID or idempotency key exists.")
}

const refundColumns = `id, payment_id, amount, currency, reason, status, idempotency_key, gateway_id, failure_type,
	failure_message, locked_until, created_at, updated_at`

func scanRefund(row interface{ Scan(...any) error }) (payment.Refund, error) {
	var r payment.Refund
	var status string
	var locked, created, updated int64
	err := row.Scan(&r.ID, &r.PaymentID, &r.Amount.Amount, &r.Amount.Currency, &r.Reason, &status, &r.IdempotencyKey,
		&r.GatewayID, &r.FailureType, &r.FailureMessage, &locked, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return r, shopd.TypedErrorf(shopd.ENOTFOUND, "refund-not-found", "No such refund.")
	}
	r.Status = payment.RefundStatus(status)
	r.LockedUntil, r.CreatedAt, r.UpdatedAt = fromMicros(locked), fromMicros(created), fromMicros(updated)
	return r, err
}

// ClaimPaymentRefund implements payment.Tx.
func (tx *Tx) ClaimPaymentRefund(ctx context.Context, id string, now, until time.Time) (payment.Refund, bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE payment_refunds SET locked_until = $2, updated_at = $3
		WHERE id = $1 AND status = 'pending' AND locked_until <= $3`, id, micros(until), micros(now))
	ok, err := affectedOne(res, err)
	if err != nil {
		return payment.Refund{}, false, err
	}
	r, err := scanRefund(tx.QueryRowContext(ctx, `SELECT `+refundColumns+` FROM payment_refunds WHERE id = $1`, id))
	return r, ok, err
}

// SettlePaymentRefund implements payment.Tx. A failed refund gives its
// amount back to the payment in the same transaction.
func (tx *Tx) SettlePaymentRefund(ctx context.Context, id string, status payment.RefundStatus, gatewayID, failureType, failureMessage string, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE payment_refunds SET status = $2, gateway_id = $3, failure_type = $4, failure_message = $5,
		locked_until = 0, updated_at = $6 WHERE id = $1 AND status = 'pending'`,
		id, string(status), gatewayID, failureType, failureMessage, micros(now))
	ok, err := affectedOne(res, err)
	if err != nil || !ok || status != payment.RefundFailed {
		return ok, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE payments SET refunded = refunded - (SELECT amount FROM payment_refunds WHERE id = $1), updated_at = $2
		WHERE id = (SELECT payment_id FROM payment_refunds WHERE id = $1)`, id, micros(now))
	return true, err
}

// DuePaymentRefunds implements payment.Tx.
func (tx *Tx) DuePaymentRefunds(ctx context.Context, before, now time.Time, limit int) ([]payment.Refund, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+refundColumns+` FROM payment_refunds
		WHERE status = 'pending' AND updated_at <= $1 AND locked_until <= $2 ORDER BY updated_at, id LIMIT $3`,
		micros(before), micros(now), limit)
	if err != nil {
		return nil, err
	}
	return collectRefunds(rows)
}

func collectRefunds(rows *sql.Rows) ([]payment.Refund, error) {
	defer rows.Close()
	out := []payment.Refund{}
	for rows.Next() {
		r, err := scanRefund(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// affectedOne reports whether a statement changed exactly one row.
func affectedOne(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Payment implements payment.Store.
func (s *PaymentStore) Payment(ctx context.Context, id string) (payment.Payment, error) {
	return scanPayment(s.db.reader().QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM payments WHERE id = $1`, id))
}

// Payments implements payment.Store.
func (s *PaymentStore) Payments(ctx context.Context, f payment.Filter) ([]payment.Payment, error) {
	q := `SELECT ` + paymentColumns + ` FROM payments WHERE 1 = 1`
	var args params
	if f.Status != "" {
		q += ` AND status = ` + args.add(string(f.Status))
	}
	if f.Reference != "" {
		q += ` AND reference = ` + args.add(f.Reference)
	}
	if f.Before != "" {
		q += ` AND id < ` + args.add(f.Before)
	}
	q += ` ORDER BY id DESC LIMIT ` + args.add(f.Limit)
	rows, err := s.db.reader().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return appendPayments([]payment.Payment{}, rows)
}

// PaymentRefunds implements payment.Store.
func (s *PaymentStore) PaymentRefunds(ctx context.Context, paymentID string) ([]payment.Refund, error) {
	rows, err := s.db.reader().QueryContext(ctx, `SELECT `+refundColumns+` FROM payment_refunds WHERE payment_id = $1 ORDER BY id`, paymentID)
	if err != nil {
		return nil, err
	}
	return collectRefunds(rows)
}

// TestGatewayLedger implements testgateway.Ledger: the test gateway's own
// tables, each call committed on its own, outside any caller's transaction.
type TestGatewayLedger struct{ db *DB }

var _ testgateway.Ledger = (*TestGatewayLedger)(nil)

// TestGatewayLedger returns the test gateway's ledger.
func (db *DB) TestGatewayLedger() *TestGatewayLedger { return &TestGatewayLedger{db: db} }

const chargeColumns = `id, idempotency_key, reference, token, amount, currency, status, captured, refunded, decline_type, created_at, updated_at`

func scanCharge(row interface{ Scan(...any) error }) (testgateway.Entry, error) {
	var e testgateway.Entry
	var status string
	var created, updated int64
	err := row.Scan(&e.ID, &e.Key, &e.Reference, &e.Token, &e.Amount.Amount, &e.Amount.Currency, &status, &e.Captured,
		&e.Refunded, &e.DeclineType, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return e, shopd.TypedErrorf(shopd.ENOTFOUND, "charge-not-found", "No such test gateway charge.")
	}
	e.Status, e.CreatedAt, e.UpdatedAt = payment.ChargeStatus(status), fromMicros(created), fromMicros(updated)
	return e, err
}

// RecordTestCharge implements testgateway.Ledger.
func (l *TestGatewayLedger) RecordTestCharge(ctx context.Context, e testgateway.Entry) (testgateway.Entry, error) {
	var out testgateway.Entry
	err := l.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO test_gateway_charges (`+chargeColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (idempotency_key) DO NOTHING`,
			e.ID, e.Key, e.Reference, e.Token, e.Amount.Amount, e.Amount.Currency, string(e.Status), e.Captured, e.Refunded,
			e.DeclineType, micros(e.CreatedAt), micros(e.UpdatedAt))
		if err != nil {
			return err
		}
		out, err = scanCharge(tx.QueryRowContext(ctx, `SELECT `+chargeColumns+` FROM test_gateway_charges WHERE idempotency_key = $1`, e.Key))
		return err
	})
	return out, err
}

// TestCharge implements testgateway.Ledger. It reads through the writer so
// that a lookup sees every charge committed before it.
func (l *TestGatewayLedger) TestCharge(ctx context.Context, key string) (testgateway.Entry, error) {
	return scanCharge(l.db.reader().QueryRowContext(ctx, `SELECT `+chargeColumns+` FROM test_gateway_charges WHERE idempotency_key = $1`, key))
}

// transition moves an entry from authorized to status; an entry already in
// status is returned as is.
func (l *TestGatewayLedger) transition(ctx context.Context, id string, status payment.ChargeStatus, captured int64, now time.Time) (testgateway.Entry, error) {
	var out testgateway.Entry
	err := l.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE test_gateway_charges SET status = $2, captured = $3, updated_at = $4
			WHERE id = $1 AND status = 'authorized' AND $3 <= amount`, id, string(status), captured, micros(now))
		if err != nil {
			return err
		}
		if out, err = scanCharge(tx.QueryRowContext(ctx, `SELECT `+chargeColumns+` FROM test_gateway_charges WHERE id = $1`, id)); err != nil {
			return err
		}
		if out.Status != status {
			return shopd.TypedErrorf(shopd.ECONFLICT, "charge-not-authorized", "The charge is %s, not authorized.", out.Status)
		}
		return nil
	})
	return out, err
}

// CaptureTestCharge implements testgateway.Ledger.
func (l *TestGatewayLedger) CaptureTestCharge(ctx context.Context, id string, amount int64, now time.Time) (testgateway.Entry, error) {
	return l.transition(ctx, id, payment.ChargeCaptured, amount, now)
}

// VoidTestCharge implements testgateway.Ledger.
func (l *TestGatewayLedger) VoidTestCharge(ctx context.Context, id string, now time.Time) (testgateway.Entry, error) {
	return l.transition(ctx, id, payment.ChargeVoided, 0, now)
}

const gwRefundColumns = `id, idempotency_key, charge_id, amount, currency, created_at`

func scanGWRefund(row interface{ Scan(...any) error }) (testgateway.RefundEntry, error) {
	var r testgateway.RefundEntry
	var created int64
	err := row.Scan(&r.ID, &r.Key, &r.ChargeID, &r.Amount.Amount, &r.Amount.Currency, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return r, shopd.TypedErrorf(shopd.ENOTFOUND, "refund-not-found", "No such test gateway refund.")
	}
	r.CreatedAt = fromMicros(created)
	return r, err
}

// RefundTestCharge implements testgateway.Ledger.
func (l *TestGatewayLedger) RefundTestCharge(ctx context.Context, r testgateway.RefundEntry) (testgateway.RefundEntry, error) {
	var out testgateway.RefundEntry
	err := l.db.InTx(ctx, func(tx *Tx) error {
		var err error
		out, err = scanGWRefund(tx.QueryRowContext(ctx, `SELECT `+gwRefundColumns+` FROM test_gateway_refunds WHERE idempotency_key = $1`, r.Key))
		if shopd.ErrorCode(err) != shopd.ENOTFOUND {
			return err // replay (nil) or a real error
		}
		res, err := tx.ExecContext(ctx, `UPDATE test_gateway_charges SET refunded = refunded + $2, updated_at = $3
			WHERE id = $1 AND status = 'captured' AND currency = $4 AND captured - refunded >= $2`,
			r.ChargeID, r.Amount.Amount, micros(r.CreatedAt), r.Amount.Currency)
		ok, err := affectedOne(res, err)
		if err != nil {
			return err
		}
		if !ok {
			return shopd.TypedErrorf(shopd.EUNPROCESSABLE, "refund-exceeds-captured", "Charge %s has less than %d left to refund.", r.ChargeID, r.Amount.Amount)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO test_gateway_refunds (`+gwRefundColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			r.ID, r.Key, r.ChargeID, r.Amount.Amount, r.Amount.Currency, micros(r.CreatedAt)); err != nil {
			return err
		}
		out = r
		return nil
	})
	return out, err
}

// TestRefund implements testgateway.Ledger.
func (l *TestGatewayLedger) TestRefund(ctx context.Context, key string) (testgateway.RefundEntry, error) {
	return scanGWRefund(l.db.reader().QueryRowContext(ctx, `SELECT `+gwRefundColumns+` FROM test_gateway_refunds WHERE idempotency_key = $1`, key))
}

// TestCharges implements testgateway.Ledger.
func (l *TestGatewayLedger) TestCharges(ctx context.Context, f testgateway.Filter) ([]testgateway.Entry, testgateway.Counts, error) {
	var c testgateway.Counts
	q := `SELECT ` + chargeColumns + ` FROM test_gateway_charges WHERE 1 = 1`
	var args params
	if f.Reference != "" {
		q += ` AND reference = ` + args.add(f.Reference)
	}
	if f.Status != "" {
		q += ` AND status = ` + args.add(string(f.Status))
	}
	if f.Before != "" {
		q += ` AND id < ` + args.add(f.Before)
	}
	q += ` ORDER BY id DESC LIMIT ` + args.add(f.Limit)
	rows, err := l.db.reader().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, c, err
	}
	out := []testgateway.Entry{}
	for rows.Next() {
		e, err := scanCharge(rows)
		if err != nil {
			rows.Close()
			return nil, c, err
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, c, err
	}
	err = l.db.reader().QueryRowContext(ctx, `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN status = 'authorized' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = 'captured' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = 'declined' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = 'voided' THEN 1 ELSE 0 END), 0),
		(SELECT COUNT(*) FROM test_gateway_refunds)
		FROM test_gateway_charges`).Scan(&c.Attempts, &c.Authorized, &c.Captured, &c.Declined, &c.Voided, &c.Refunds)
	return out, c, err
}

// InsertPayments records pending payments, as InsertPayment does, with
// multi-row INSERTs. ECONFLICT if an ID or key exists.
func (tx *Tx) InsertPayments(ctx context.Context, ps []payment.Payment) error {
	rows := make([][]any, len(ps))
	for i, p := range ps {
		rows[i] = []any{p.ID, p.Reference, p.CustomerID, p.Amount.Amount, p.Amount.Currency, p.Capture, p.Method.Token, p.Method.Brand,
			p.Method.Last4, p.Method.ExpMonth, p.Method.ExpYear, p.Description, string(p.Status), p.Gateway, p.IdempotencyKey,
			p.ChargeID, p.Captured, p.Refunded, p.FailureType, p.FailureMessage, p.HardDecline, p.Attempts, micros(p.LockedUntil),
			micros(p.CreatedAt), micros(p.UpdatedAt), nullMicros(p.SettledAt)}
	}
	return tx.errorsMapped(func(err error) error {
		return conflictOr(err, "payment-exists", "A payment with this ID or idempotency key exists.")
	}, func() error {
		return tx.insertRows(ctx, `INSERT INTO payments (`+paymentColumns+`) VALUES `, rows)
	})
}

// ClaimPayments implements payment.Tx with one conditional UPDATE per few
// hundred payments, so that of many concurrent callers exactly one gets
// each lease.
func (tx *Tx) ClaimPayments(ctx context.Context, ids []string, now, until time.Time, attempt bool) ([]payment.Payment, error) {
	inc := 0
	if attempt {
		inc = 1
	}
	var out []payment.Payment
	for in, ids := range inLists(tx.Dialect(), ids, micros(until), inc, micros(now)) {
		rows, err := tx.QueryContext(ctx, `UPDATE payments SET locked_until = $1, attempts = attempts + $2, updated_at = $3
			WHERE id IN `+in+` AND status IN ('pending', 'in_doubt') AND locked_until <= $3
			RETURNING `+paymentColumns, ids...)
		if err != nil {
			return nil, err
		}
		if out, err = appendPayments(out, rows); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SettlePayments implements payment.Tx with one UPDATE per few hundred
// payments.
func (tx *Tx) SettlePayments(ctx context.Context, ss []payment.PaymentSettlement) ([]payment.Payment, error) {
	var out []payment.Payment
	for chunk := range chunks(tx, ss, len(settleColumns), 1000) {
		values := make([][]any, len(chunk))
		for i, s := range chunk {
			values[i] = []any{s.ID, string(s.Status), s.ChargeID, s.Captured, s.FailureType, s.FailureMessage, s.HardDecline, micros(s.At)}
		}
		with, args := tx.valuesCTE("v", settleColumns, values)
		rows, err := tx.QueryContext(ctx, with+` UPDATE payments SET status = v.status, charge_id = v.charge_id, captured = v.captured,
			failure_type = v.failure_type, failure_message = v.failure_message, hard_decline = v.hard_decline, locked_until = 0,
			updated_at = v.at, settled_at = v.at
			FROM v WHERE payments.id = v.id AND `+tx.unindexed("payments.status")+` IN ('pending', 'in_doubt')
			RETURNING `+qualified("payments", paymentColumns), args...)
		if err != nil {
			return nil, err
		}
		if out, err = appendPayments(out, rows); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// settleColumns are the values of SettlePayments, with their types.
var settleColumns = []column{{"id", "TEXT"}, {"status", "TEXT"}, {"charge_id", "TEXT"}, {"captured", "BIGINT"},
	{"failure_type", "TEXT"}, {"failure_message", "TEXT"}, {"hard_decline", "BOOLEAN"}, {"at", "BIGINT"}}

// MarkPaymentsInDoubt implements payment.Tx.
func (tx *Tx) MarkPaymentsInDoubt(ctx context.Context, ids []string, now time.Time) error {
	for in, ids := range inLists(tx.Dialect(), ids, micros(now)) {
		if _, err := tx.ExecContext(ctx, `UPDATE payments SET status = 'in_doubt', locked_until = 0, updated_at = $1
			WHERE id IN `+in+` AND status IN ('pending', 'in_doubt')`, ids...); err != nil {
			return err
		}
	}
	return nil
}

// appendPayments scans rows of paymentColumns and closes them.
func appendPayments(out []payment.Payment, rows *sql.Rows) ([]payment.Payment, error) {
	defer rows.Close()
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

var _ testgateway.BatchLedger = (*TestGatewayLedger)(nil)
var _ testgateway.DeclineLedger = (*TestGatewayLedger)(nil)

// TestDeclined implements testgateway.DeclineLedger with the reference
// index. It reads through the read pool, which sees every committed charge.
func (l *TestGatewayLedger) TestDeclined(ctx context.Context, reference string) (bool, error) {
	var n int
	err := l.db.reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM test_gateway_charges WHERE reference = $1 AND status = 'declined'`,
		reference).Scan(&n)
	return n > 0, err
}

// RecordTestCharges implements testgateway.BatchLedger: multi-row INSERTs
// that skip taken keys, then a SELECT of the stored entries, in one
// transaction.
func (l *TestGatewayLedger) RecordTestCharges(ctx context.Context, es []testgateway.Entry) ([]testgateway.Entry, error) {
	out := make([]testgateway.Entry, 0, len(es))
	err := l.db.InTx(ctx, func(tx *Tx) error {
		out = out[:0]
		for chunk := range slices.Chunk(es, statementSizes[0]) {
			rows := make([][]any, len(chunk))
			keys := make([]string, len(chunk))
			for i, e := range chunk {
				rows[i] = []any{e.ID, e.Key, e.Reference, e.Token, e.Amount.Amount, e.Amount.Currency, string(e.Status), e.Captured,
					e.Refunded, e.DeclineType, micros(e.CreatedAt), micros(e.UpdatedAt)}
				keys[i] = e.Key
			}
			if err := tx.insertRows(ctx, `INSERT INTO test_gateway_charges (`+chargeColumns+`) VALUES `, rows,
				` ON CONFLICT (idempotency_key) DO NOTHING`); err != nil {
				return err
			}
			in, args := inList(tx.Dialect(), keys)
			rs, err := tx.QueryContext(ctx, `SELECT `+chargeColumns+` FROM test_gateway_charges WHERE idempotency_key IN `+in, args...)
			if err != nil {
				return err
			}
			byKey := make(map[string]testgateway.Entry, len(chunk))
			for rs.Next() {
				e, err := scanCharge(rs)
				if err != nil {
					rs.Close()
					return err
				}
				byKey[e.Key] = e
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return err
			}
			for _, e := range chunk {
				stored, ok := byKey[e.Key]
				if !ok {
					return fmt.Errorf("sqlstore: test gateway charge %s was not stored", e.Key)
				}
				out = append(out, stored)
			}
		}
		return nil
	})
	return out, err
}
