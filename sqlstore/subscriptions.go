package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/subscription"
)

// SubscriptionStore implements subscription.Store.
type SubscriptionStore struct{ db *DB }

var _ subscription.Store = (*SubscriptionStore)(nil)

// Subscriptions returns the plan and subscription store.
func (db *DB) Subscriptions() *SubscriptionStore { return &SubscriptionStore{db: db} }

var (
	errPlanNotFound         = shopd.TypedErrorf(shopd.ENOTFOUND, "plan-not-found", "No such plan.")
	errSubscriptionNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "subscription-not-found", "No such subscription.")
)

const planColumns = `id, name, interval_unit, interval_count, prices, trial_days, kind, box_size, items, status, created_at, updated_at`

// CreatePlan implements subscription.Store.
func (s *SubscriptionStore) CreatePlan(ctx context.Context, p subscription.Plan) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		args, err := planArgs(p)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO plans (`+planColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, args...)
		return conflictOr(err, "plan-exists", "A plan with this ID exists.")
	})
}

func planArgs(p subscription.Plan) ([]any, error) {
	prices, err := json.Marshal(p.Prices)
	if err != nil {
		return nil, err
	}
	items := p.Items
	if items == nil {
		items = []subscription.PlanItem{}
	}
	itemsJSON, err := json.Marshal(items)
	if err != nil {
		return nil, err
	}
	return []any{p.ID, p.Name, string(p.Interval.Unit), p.Interval.Count, string(prices), p.TrialDays, string(p.Kind), p.BoxSize,
		string(itemsJSON), string(p.Status), micros(p.CreatedAt), micros(p.UpdatedAt)}, nil
}

// Plan implements subscription.Store.
func (s *SubscriptionStore) Plan(ctx context.Context, id string) (subscription.Plan, error) {
	ps, err := readPlans(ctx, s.db.reader(), `WHERE id = $1`, id)
	if err != nil {
		return subscription.Plan{}, err
	}
	if len(ps) == 0 {
		return subscription.Plan{}, errPlanNotFound
	}
	return ps[0], nil
}

// Plans implements subscription.Store.
func (s *SubscriptionStore) Plans(ctx context.Context, f subscription.PlanFilter) ([]subscription.Plan, error) {
	if f.Status != "" {
		return readPlans(ctx, s.db.reader(), `WHERE status = $1 ORDER BY id`, string(f.Status))
	}
	return readPlans(ctx, s.db.reader(), `ORDER BY id`)
}

// UpdatePlan implements subscription.Store.
func (s *SubscriptionStore) UpdatePlan(ctx context.Context, id string, fn func(p *subscription.Plan) error) (subscription.Plan, error) {
	var out subscription.Plan
	err := s.db.InTx(ctx, func(tx *Tx) error {
		ps, err := readPlans(ctx, tx, `WHERE id = $1`+tx.Dialect().ForUpdate(), id)
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return errPlanNotFound
		}
		p := ps[0]
		if err := fn(&p); err != nil {
			return err
		}
		args, err := planArgs(p)
		if err != nil {
			return err
		}
		// The ID, interval, kind and creation time never change.
		if _, err := tx.ExecContext(ctx, `UPDATE plans SET name = $2, prices = $5, trial_days = $6, box_size = $8, items = $9, status = $10, updated_at = $12
			WHERE id = $1 AND interval_unit = $3 AND interval_count = $4 AND kind = $7 AND created_at = $11`, args...); err != nil {
			return err
		}
		out = p
		return nil
	})
	return out, err
}

// DeletePlan implements subscription.Store.
func (s *SubscriptionStore) DeletePlan(ctx context.Context, id string) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM plans WHERE id = $1`, id)
		if isForeignKeyViolation(err) {
			return shopd.TypedErrorf(shopd.ECONFLICT, "plan-in-use", "Subscriptions refer to this plan; archive it instead.")
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			return errPlanNotFound
		}
		return nil
	})
}

func readPlans(ctx context.Context, r Reader, where string, args ...any) ([]subscription.Plan, error) {
	rows, err := r.QueryContext(ctx, `SELECT `+planColumns+` FROM plans `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []subscription.Plan{}
	for rows.Next() {
		var p subscription.Plan
		var unit, kind, status, prices, items string
		var created, updated int64
		if err := rows.Scan(&p.ID, &p.Name, &unit, &p.Interval.Count, &prices, &p.TrialDays, &kind, &p.BoxSize, &items, &status, &created, &updated); err != nil {
			return nil, err
		}
		p.Interval.Unit, p.Kind, p.Status = subscription.Unit(unit), subscription.Kind(kind), subscription.PlanStatus(status)
		p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
		if err := json.Unmarshal([]byte(prices), &p.Prices); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(items), &p.Items); err != nil {
			return nil, err
		}
		if len(p.Items) == 0 {
			p.Items = nil
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// methodJSON is how a payment method is stored: the gateway token and what a
// person needs to recognise the card, never a card number.
type methodJSON struct {
	Token    string `json:"token"`
	Brand    string `json:"brand,omitempty"`
	Last4    string `json:"last4,omitempty"`
	ExpMonth int    `json:"exp_month,omitempty"`
	ExpYear  int    `json:"exp_year,omitempty"`
}

const subscriptionColumns = `id, customer_id, plan_id, market, currency, price, time_zone, interval_unit, interval_count, kind, status,
	anchor, trial_end, period_index, current_period_start, current_period_end, next_period, next_billing_at, cancel_at_period_end,
	canceled_at, paused_until, skip_period, pending_plan_id, pending_plan_price, adjustment, payment_method, ship_to, created_at, updated_at`

func subscriptionArgs(s subscription.Subscription) ([]any, error) {
	m := s.PaymentMethod
	pm, err := json.Marshal(methodJSON{Token: m.Token, Brand: m.Brand, Last4: m.Last4, ExpMonth: m.ExpMonth, ExpYear: m.ExpYear})
	if err != nil {
		return nil, err
	}
	shipTo, err := json.Marshal(s.ShipTo)
	if err != nil {
		return nil, err
	}
	skip := sql.NullInt64{Int64: int64(s.SkipPeriod), Valid: s.SkipPeriod != subscription.NoPeriod}
	return []any{s.ID, s.CustomerID, s.PlanID, s.Market, s.Price.Currency, s.Price.Amount, s.TimeZone, string(s.Interval.Unit), s.Interval.Count,
		string(s.Kind), string(s.Status), micros(s.Anchor), nullMicros(s.TrialEnd), s.PeriodIndex, micros(s.CurrentPeriodStart),
		micros(s.CurrentPeriodEnd), s.NextPeriod, nullMicros(s.NextBillingAt), s.CancelAtPeriodEnd, nullMicros(s.CanceledAt),
		nullMicros(s.PausedUntil), skip, nullString(s.PendingPlanID), s.PendingPlanPrice.Amount, s.Adjustment.Amount,
		string(pm), string(shipTo), micros(s.CreatedAt), micros(s.UpdatedAt)}, nil
}

// subscriptionEvent is the data of a subscription's outbox events: the
// subscription after the change, and what the change adds.
type subscriptionEvent struct {
	Subscription subscription.Subscription `json:"subscription"`
	Change       map[string]any            `json:"change,omitempty"`
}

// appendSubscriptionEvent writes a subscription's event in the transaction.
func (tx *Tx) appendSubscriptionEvent(ctx context.Context, typ string, s subscription.Subscription, data map[string]any) error {
	s.PaymentMethod.Token = "" // events go to webhooks; the token stays here
	e, err := event.New(typ, s.ID, subscriptionEvent{Subscription: s, Change: data}, s.UpdatedAt)
	if err != nil {
		return err
	}
	return tx.AppendEvent(ctx, e)
}

// CreateSubscription implements subscription.Store.
func (s *SubscriptionStore) CreateSubscription(ctx context.Context, sub subscription.Subscription) error {
	args, err := subscriptionArgs(sub)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (`+subscriptionColumns+`) VALUES (`+placeholders(len(args))+`)`, args...); err != nil {
			if isForeignKeyViolation(err) {
				return errPlanNotFound
			}
			return conflictOr(err, "subscription-exists", "A subscription with this ID exists.")
		}
		return tx.appendSubscriptionEvent(ctx, subscription.EventCreated, sub, nil)
	})
}

// Subscription implements subscription.Store.
func (s *SubscriptionStore) Subscription(ctx context.Context, id string) (subscription.Subscription, error) {
	ss, err := readSubscriptions(ctx, s.db.reader(), `WHERE id = $1`, id)
	if err != nil {
		return subscription.Subscription{}, err
	}
	if len(ss) == 0 {
		return subscription.Subscription{}, errSubscriptionNotFound
	}
	return ss[0], nil
}

// Subscriptions implements subscription.Store.
func (s *SubscriptionStore) Subscriptions(ctx context.Context, f subscription.Filter) ([]subscription.Subscription, error) {
	var where []string
	var args params
	for _, c := range []struct{ cond, v string }{
		{"customer_id = ", f.CustomerID}, {"status = ", string(f.Status)}, {"plan_id = ", f.PlanID}, {"id < ", f.Before},
	} {
		if c.v != "" {
			where = append(where, c.cond+args.add(c.v))
		}
	}
	q := ""
	if len(where) > 0 {
		q = "WHERE " + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ` + args.add(f.Limit)
	return readSubscriptions(ctx, s.db.reader(), q, args...)
}

// UpdateSubscription implements subscription.Store. The open invoice is
// locked before the subscription, in the order billing locks them.
func (s *SubscriptionStore) UpdateSubscription(ctx context.Context, id string, fn func(s *subscription.Subscription, open *subscription.Invoice) (subscription.Change, error)) (subscription.Subscription, error) {
	var out subscription.Subscription
	err := s.db.InTx(ctx, func(tx *Tx) error {
		invs, err := readInvoices(ctx, tx, `WHERE subscription_id = $1 AND status = 'open'`+tx.Dialect().ForUpdate(), id)
		if err != nil {
			return err
		}
		before, err := tx.LockSubscription(ctx, id)
		if err != nil {
			return err
		}
		sub := before
		var open *subscription.Invoice
		if len(invs) > 0 {
			open = &invs[0]
		}
		ch, err := fn(&sub, open)
		if err != nil {
			return err
		}
		out = sub
		if ch.Event == "" {
			out = before // nothing changed: nothing is written
			return nil
		}
		if err := tx.SaveSubscription(ctx, sub, ch.Event, ch.Data); err != nil || ch.InvoiceEvent == "" || open == nil {
			return err
		}
		return tx.SaveInvoice(ctx, *open, ch.InvoiceEvent)
	})
	return out, err
}

// LockSubscription returns a subscription locked for the transaction.
func (tx *Tx) LockSubscription(ctx context.Context, id string) (subscription.Subscription, error) {
	ss, err := readSubscriptions(ctx, tx, `WHERE id = $1`+tx.Dialect().ForUpdate(), id)
	if err != nil {
		return subscription.Subscription{}, err
	}
	if len(ss) == 0 {
		return subscription.Subscription{}, errSubscriptionNotFound
	}
	return ss[0], nil
}

// SaveSubscription stores a subscription read in the transaction and, if
// event is not "", appends the event (the subscription and data).
func (tx *Tx) SaveSubscription(ctx context.Context, sub subscription.Subscription, event string, data map[string]any) error {
	args, err := subscriptionArgs(sub)
	if err != nil {
		return err
	}
	// Customer, market, currency, zone, interval, anchor and creation never
	// change; every other column is written as the caller left it.
	if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET plan_id = $3, price = $6, kind = $10, status = $11,
		trial_end = $13, period_index = $14, current_period_start = $15, current_period_end = $16, next_period = $17,
		next_billing_at = $18, cancel_at_period_end = $19, canceled_at = $20, paused_until = $21, skip_period = $22,
		pending_plan_id = $23, pending_plan_price = $24, adjustment = $25, payment_method = $26, ship_to = $27, updated_at = $29
		WHERE id = $1 AND customer_id = $2 AND market = $4 AND currency = $5 AND time_zone = $7 AND interval_unit = $8
		AND interval_count = $9 AND anchor = $12 AND created_at = $28`, args...); err != nil {
		if isForeignKeyViolation(err) {
			return errPlanNotFound
		}
		return err
	}
	if event == "" {
		return nil
	}
	return tx.appendSubscriptionEvent(ctx, event, sub, data)
}

func readSubscriptions(ctx context.Context, r Reader, where string, args ...any) ([]subscription.Subscription, error) {
	rows, err := r.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []subscription.Subscription{}
	for rows.Next() {
		var s subscription.Subscription
		var cur, unit, kind, status, pm, shipTo string
		var price, pendingPrice, adjustment, anchor, start, end, created, updated int64
		var trialEnd, nextBilling, canceled, paused, skip sql.NullInt64
		var pending sql.NullString
		if err := rows.Scan(&s.ID, &s.CustomerID, &s.PlanID, &s.Market, &cur, &price, &s.TimeZone, &unit, &s.Interval.Count, &kind, &status,
			&anchor, &trialEnd, &s.PeriodIndex, &start, &end, &s.NextPeriod, &nextBilling, &s.CancelAtPeriodEnd,
			&canceled, &paused, &skip, &pending, &pendingPrice, &adjustment, &pm, &shipTo, &created, &updated); err != nil {
			return nil, err
		}
		money := func(n int64) shopd.Money { return shopd.Money{Amount: n, Currency: cur} }
		s.Price, s.PendingPlanPrice, s.Adjustment = money(price), money(pendingPrice), money(adjustment)
		s.Interval.Unit, s.Kind, s.Status = subscription.Unit(unit), subscription.Kind(kind), subscription.Status(status)
		s.Anchor, s.TrialEnd, s.CurrentPeriodStart, s.CurrentPeriodEnd = fromMicros(anchor), fromNullMicros(trialEnd), fromMicros(start), fromMicros(end)
		s.NextBillingAt, s.CanceledAt, s.PausedUntil = fromNullMicros(nextBilling), fromNullMicros(canceled), fromNullMicros(paused)
		s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
		s.SkipPeriod = subscription.NoPeriod
		if skip.Valid {
			s.SkipPeriod = int(skip.Int64)
		}
		s.PendingPlanID = pending.String
		var m methodJSON
		if err := json.Unmarshal([]byte(pm), &m); err != nil {
			return nil, err
		}
		s.PaymentMethod = payment.Method{Token: m.Token, Brand: m.Brand, Last4: m.Last4, ExpMonth: m.ExpMonth, ExpYear: m.ExpYear}
		if err := json.Unmarshal([]byte(shipTo), &s.ShipTo); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
