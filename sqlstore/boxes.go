package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/box"
	"github.com/shopd/shopd/boxalloc"
	"github.com/shopd/shopd/event"
)

// BoxStore implements box.Store.
type BoxStore struct{ db *DB }

var _ box.Store = (*BoxStore)(nil)
var _ box.Tx = (*Tx)(nil)

// Boxes returns the store of period pools, allocation runs and boxes.
func (db *DB) Boxes() *BoxStore { return &BoxStore{db: db} }

// InTx implements box.Store.
func (s *BoxStore) InTx(ctx context.Context, fn func(tx box.Tx) error) error {
	return s.db.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

var errPoolNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "box-pool-not-found", "No pool is set for this plan and period.")

// Pool implements box.Store.
func (s *BoxStore) Pool(ctx context.Context, planID, period string) (box.Pool, error) {
	rows, err := s.db.reader().QueryContext(ctx, `SELECT p.variant_id, v.product_id, v.sku, p.cost, p.boost, p.updated_at
		FROM box_pools p JOIN variants v ON v.id = p.variant_id
		WHERE p.plan_id = $1 AND p.period = $2 ORDER BY p.position`, planID, period)
	if err != nil {
		return box.Pool{}, err
	}
	defer rows.Close()
	out := box.Pool{PlanID: planID, Period: period, Items: []box.PoolItem{}}
	for rows.Next() {
		var it box.PoolItem
		var boost, updated int64
		if err := rows.Scan(&it.VariantID, &it.ProductID, &it.SKU, &it.Cost, &boost, &updated); err != nil {
			return out, err
		}
		it.Boost = float64(boost) / boxalloc.PointScale
		out.UpdatedAt = fromMicros(updated)
		out.Items = append(out.Items, it)
	}
	if err := rows.Err(); err != nil {
		return out, err
	}
	if len(out.Items) == 0 {
		return out, errPoolNotFound
	}
	return out, nil
}

// SavePool implements box.Store: it replaces the period's pool.
func (s *BoxStore) SavePool(ctx context.Context, p box.Pool) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM box_pools WHERE plan_id = $1 AND period = $2`, p.PlanID, p.Period); err != nil {
			return err
		}
		for i, it := range p.Items {
			if _, err := tx.ExecContext(ctx, `INSERT INTO box_pools (plan_id, period, variant_id, cost, boost, position, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, p.PlanID, p.Period, it.VariantID, it.Cost,
				int64(it.Boost*boxalloc.PointScale), i, micros(p.UpdatedAt)); err != nil {
				return err
			}
		}
		return nil
	})
}

const boxRunColumns = `id, plan_id, period, market, status, options, report, boxes, created_at, updated_at`

func readBoxRuns(ctx context.Context, r Reader, where string, args ...any) ([]box.Run, error) {
	rows, err := r.QueryContext(ctx, `SELECT `+boxRunColumns+` FROM box_runs `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []box.Run{}
	for rows.Next() {
		var run box.Run
		var status, options, report string
		var created, updated int64
		if err := rows.Scan(&run.ID, &run.PlanID, &run.Period, &run.Market, &status, &options, &report, &run.Boxes, &created, &updated); err != nil {
			return nil, err
		}
		run.Status, run.CreatedAt, run.UpdatedAt = box.RunStatus(status), fromMicros(created), fromMicros(updated)
		if err := json.Unmarshal([]byte(options), &run.Options); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(report), &run.Report); err != nil {
			return nil, err
		}
		out = append(out, run)
	}
	return out, rows.Err()
}

func oneRun(runs []box.Run, err error) (box.Run, error) {
	if err != nil {
		return box.Run{}, err
	}
	if len(runs) == 0 {
		return box.Run{}, box.ErrRunNotFound
	}
	return runs[0], nil
}

func boxRunArgs(r box.Run) ([]any, error) {
	options, err := json.Marshal(r.Options)
	if err != nil {
		return nil, err
	}
	report, err := json.Marshal(r.Report)
	if err != nil {
		return nil, err
	}
	return []any{r.ID, r.PlanID, r.Period, r.Market, string(r.Status), string(options), string(report), r.Boxes,
		micros(r.CreatedAt), micros(r.UpdatedAt)}, nil
}

// InsertRun implements box.Store.
func (s *BoxStore) InsertRun(ctx context.Context, r box.Run) error {
	args, err := boxRunArgs(r)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO box_runs (`+boxRunColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, args...)
		return conflictOr(err, "box-run-pending", "Another run of this plan, period and market holds stock: approve or discard it first.")
	})
}

// Run implements box.Store.
func (s *BoxStore) Run(ctx context.Context, id string) (box.Run, error) {
	return oneRun(readBoxRuns(ctx, s.db.reader(), `WHERE id = $1`, id))
}

// PendingRun implements box.Store.
func (s *BoxStore) PendingRun(ctx context.Context, planID, period, market string) (box.Run, error) {
	return oneRun(readBoxRuns(ctx, s.db.reader(), `WHERE plan_id = $1 AND period = $2 AND market = $3
		AND status IN ('allocating', 'proposed')`, planID, period, market))
}

// Runs implements box.Store.
func (s *BoxStore) Runs(ctx context.Context, f box.RunFilter) ([]box.Run, error) {
	var args params
	where := filterWhere(&args, []filterCond{{"plan_id = ", f.PlanID}, {"period = ", f.Period}, {"id < ", f.Before}})
	return readBoxRuns(ctx, s.db.reader(), where+` ORDER BY id DESC LIMIT `+args.add(f.Limit), args...)
}

// filterCond is an optional condition of a list query: left out when v
// is "".
type filterCond struct{ cond, v string }

// filterWhere returns the WHERE clause of the conditions that are set.
func filterWhere(args *params, conds []filterCond) string {
	var where []string
	for _, c := range conds {
		if c.v != "" {
			where = append(where, c.cond+args.add(c.v))
		}
	}
	if len(where) == 0 {
		return ""
	}
	return "WHERE " + strings.Join(where, " AND ")
}

// LockRun implements box.Tx.
func (tx *Tx) LockRun(ctx context.Context, id string) (box.Run, error) {
	return oneRun(readBoxRuns(ctx, tx, `WHERE id = $1`+tx.Dialect().ForUpdate(), id))
}

// SaveRun implements box.Tx.
func (tx *Tx) SaveRun(ctx context.Context, r box.Run, typ string) error {
	args, err := boxRunArgs(r)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE box_runs SET status = $5, options = $6, report = $7, boxes = $8, updated_at = $10
		WHERE id = $1 AND plan_id = $2 AND period = $3 AND market = $4 AND created_at = $9`, args...); err != nil {
		return err
	}
	if typ == "" {
		return nil
	}
	r.Report.Usage, r.Report.Unfilled = nil, nil // events carry the figures, not the per-product detail
	e, err := event.New(typ, r.ID, r, r.UpdatedAt)
	if err != nil {
		return err
	}
	return tx.AppendEvent(ctx, e)
}

const boxColumns = `id, run_id, plan_id, period, subscription_id, customer_id, invoice_id, warehouse_id, order_id, status, score, items, created_at, updated_at`

func readBoxes(ctx context.Context, r Reader, where string, args ...any) ([]box.Box, error) {
	rows, err := r.QueryContext(ctx, `SELECT `+boxColumns+` FROM boxes `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []box.Box{}
	for rows.Next() {
		var b box.Box
		var status, items string
		var created, updated int64
		if err := rows.Scan(&b.ID, &b.RunID, &b.PlanID, &b.Period, &b.SubscriptionID, &b.CustomerID, &b.InvoiceID, &b.WarehouseID,
			&b.OrderID, &status, &b.Score, &items, &created, &updated); err != nil {
			return nil, err
		}
		b.Status, b.CreatedAt, b.UpdatedAt = box.Status(status), fromMicros(created), fromMicros(updated)
		if err := json.Unmarshal([]byte(items), &b.Items); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Box implements box.Store.
func (s *BoxStore) Box(ctx context.Context, id string) (box.Box, error) {
	bs, err := readBoxes(ctx, s.db.reader(), `WHERE id = $1`, id)
	if err != nil {
		return box.Box{}, err
	}
	if len(bs) == 0 {
		return box.Box{}, box.ErrBoxNotFound
	}
	return bs[0], nil
}

// Boxes implements box.Store.
func (s *BoxStore) Boxes(ctx context.Context, f box.BoxFilter) ([]box.Box, error) {
	var args params
	where := filterWhere(&args, []filterCond{{"run_id = ", f.RunID}, {"subscription_id = ", f.SubscriptionID},
		{"customer_id = ", f.CustomerID}, {"status = ", string(f.Status)}, {"id < ", f.Before}})
	return readBoxes(ctx, s.db.reader(), where+` ORDER BY id DESC LIMIT `+args.add(f.Limit), args...)
}

// InsertBox implements box.Tx.
func (tx *Tx) InsertBox(ctx context.Context, b box.Box) error {
	items, err := json.Marshal(b.Items)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO boxes (`+boxColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		b.ID, b.RunID, b.PlanID, b.Period, b.SubscriptionID, b.CustomerID, b.InvoiceID, b.WarehouseID, b.OrderID, string(b.Status),
		b.Score, string(items), micros(b.CreatedAt), micros(b.UpdatedAt))
	if err != nil {
		return conflictOr(err, "box-exists", "The subscription already has a box for the period.")
	}
	var p params
	var q strings.Builder
	q.WriteString(`INSERT INTO box_items (subscription_id, period, product_id, box_id) VALUES `)
	for i, it := range b.Items {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(" + p.add(b.SubscriptionID) + ", " + p.add(b.Period) + ", " + p.add(it.ProductID) + ", " + p.add(b.ID) + ")")
	}
	_, err = tx.ExecContext(ctx, q.String(), p...)
	return err
}

// ToOrder implements box.Tx. The caller holds the run's lock, which keeps
// the boxes of the run to itself.
func (tx *Tx) ToOrder(ctx context.Context, runID string, limit int) ([]box.OrderInput, error) {
	bs, err := readBoxes(ctx, tx, `WHERE run_id = $1 AND status = 'allocated' ORDER BY id LIMIT $2`, runID, limit)
	if err != nil || len(bs) == 0 {
		return nil, err
	}
	var subIDs, invIDs, custIDs params
	for _, b := range bs {
		subIDs, invIDs, custIDs = append(subIDs, b.SubscriptionID), append(invIDs, b.InvoiceID), append(custIDs, b.CustomerID)
	}
	subs, err := readSubscriptions(ctx, tx, `WHERE id IN (`+invPlaceholders(1, len(subIDs))+`)`, subIDs...)
	if err != nil {
		return nil, err
	}
	invs, err := readInvoices(ctx, tx, `WHERE id IN (`+invPlaceholders(1, len(invIDs))+`)`, invIDs...)
	if err != nil {
		return nil, err
	}
	emails := map[string]string{}
	rows, err := tx.QueryContext(ctx, `SELECT id, email FROM customers WHERE id IN (`+invPlaceholders(1, len(custIDs))+`)`, custIDs...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, email string
		if err := rows.Scan(&id, &email); err != nil {
			return nil, err
		}
		emails[id] = email
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	subByID := make(map[string]int, len(subs))
	for i, s := range subs {
		subByID[s.ID] = i
	}
	invByID := make(map[string]int, len(invs))
	for i, inv := range invs {
		invByID[inv.ID] = i
	}
	out := make([]box.OrderInput, len(bs))
	for i, b := range bs {
		si, ok1 := subByID[b.SubscriptionID]
		ii, ok2 := invByID[b.InvoiceID]
		if !ok1 || !ok2 {
			return nil, errors.New("sqlstore: a box's subscription or invoice is missing") // foreign keys make this impossible
		}
		out[i] = box.OrderInput{Box: b, Subscription: subs[si], Invoice: invs[ii], Email: emails[b.CustomerID]}
	}
	return out, nil
}

// SetOrdered implements box.Tx: each box's order has the box's OrderID.
func (tx *Tx) SetOrdered(ctx context.Context, bs []box.Box) error {
	now := micros(tx.Now())
	boxIDs, invIDs := make([]string, len(bs)), make([]string, len(bs))
	for i, b := range bs {
		boxIDs[i], invIDs[i] = b.ID, b.InvoiceID
	}
	for in, args := range inLists(tx.Dialect(), boxIDs, now) {
		if _, err := tx.ExecContext(ctx, `UPDATE boxes SET status = 'ordered', updated_at = $1 WHERE id IN `+in, args...); err != nil {
			return err
		}
	}
	for in, args := range inLists(tx.Dialect(), invIDs, now) {
		if _, err := tx.ExecContext(ctx, `UPDATE invoices SET updated_at = $1,
			order_id = (SELECT b.order_id FROM boxes b WHERE b.invoice_id = invoices.id)
			WHERE id IN `+in, args...); err != nil {
			return err
		}
	}
	return nil
}

// DeleteBoxes implements box.Tx.
func (tx *Tx) DeleteBoxes(ctx context.Context, runID string, limit int) ([]box.Box, error) {
	var ordered bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM boxes WHERE run_id = $1 AND status = 'ordered')`, runID).Scan(&ordered); err != nil {
		return nil, err
	}
	if ordered {
		return nil, shopd.TypedErrorf(shopd.ECONFLICT, "box-run-approving", "Run %s is being approved (some boxes are orders): approve it to finish.", runID)
	}
	bs, err := readBoxes(ctx, tx, `WHERE run_id = $1 AND status = 'allocated' ORDER BY id LIMIT $2`, runID, limit)
	if err != nil || len(bs) == 0 {
		return bs, err
	}
	var ids params
	for _, b := range bs {
		ids = append(ids, b.ID)
	}
	in := `(` + invPlaceholders(1, len(ids)) + `)`
	if _, err := tx.ExecContext(ctx, `DELETE FROM box_items WHERE box_id IN `+in, ids...); err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM boxes WHERE id IN `+in, ids...)
	return bs, err
}

// Subscribers implements box.Store: paid invoices of the plan in the
// market whose period starts in [q.From, q.To), without a box for the
// period, with the customer's profile and what the subscription received
// in [q.HistoryFrom, q.Period).
func (s *BoxStore) Subscribers(ctx context.Context, q box.SubscriberQuery) ([]box.Subscriber, error) {
	r := s.db.reader()
	rows, err := r.QueryContext(ctx, `SELECT i.subscription_id, i.customer_id, i.id, s.time_zone, i.period_start, COALESCE(p.profile, '')
		FROM invoices i
		JOIN subscriptions s ON s.id = i.subscription_id
		LEFT JOIN customer_profiles p ON p.customer_id = i.customer_id
		LEFT JOIN boxes b ON b.subscription_id = i.subscription_id AND b.period = $5
		WHERE i.plan_id = $1 AND s.market = $2 AND i.status = 'paid' AND i.period_start >= $3 AND i.period_start < $4
			AND b.id IS NULL
		ORDER BY i.subscription_id, i.period_start`, q.PlanID, q.Market, micros(q.From), micros(q.To), q.Period)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []box.Subscriber
	index := map[string]int{}
	for rows.Next() {
		var sub box.Subscriber
		var start int64
		var profile string
		if err := rows.Scan(&sub.SubscriptionID, &sub.CustomerID, &sub.InvoiceID, &sub.TimeZone, &start, &profile); err != nil {
			return nil, err
		}
		sub.PeriodStart = fromMicros(start)
		if profile != "" {
			if err := json.Unmarshal([]byte(profile), &sub.Profile); err != nil {
				return nil, err
			}
		}
		index[sub.SubscriptionID] = len(out)
		out = append(out, sub)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	hist, err := r.QueryContext(ctx, `SELECT bi.subscription_id, bi.product_id FROM box_items bi
		JOIN subscriptions s ON s.id = bi.subscription_id
		WHERE s.market = $1 AND bi.period >= $2 AND bi.period < $3`, q.Market, q.HistoryFrom, q.Period)
	if err != nil {
		return nil, err
	}
	defer hist.Close()
	for hist.Next() {
		var sub, product string
		if err := hist.Scan(&sub, &product); err != nil {
			return nil, err
		}
		if i, ok := index[sub]; ok {
			out[i].Recent = append(out[i].Recent, product)
		}
	}
	return out, hist.Err()
}

// Stock implements box.Store.
func (s *BoxStore) Stock(ctx context.Context, market string, skus []string) (box.Stock, error) {
	r := s.db.reader()
	out := box.Stock{Warehouses: []boxalloc.Warehouse{}}
	rows, err := r.QueryContext(ctx, `SELECT w.id FROM warehouse_markets m JOIN warehouses w ON w.id = m.warehouse_id
		WHERE m.market = $1 AND w.active ORDER BY w.priority, w.code`, market)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	var args params
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return out, err
		}
		out.Warehouses = append(out.Warehouses, boxalloc.Warehouse{ID: id, Market: market})
		args = append(args, id)
	}
	if err := rows.Err(); err != nil || len(args) == 0 || len(skus) == 0 {
		return out, err
	}
	rows.Close()
	nw := len(args)
	for _, sku := range skus {
		args = append(args, sku)
	}
	levels, err := r.QueryContext(ctx, `SELECT sku, warehouse_id, on_hand - reserved FROM stock
		WHERE warehouse_id IN (`+invPlaceholders(1, nw)+`) AND sku IN (`+invPlaceholders(nw+1, len(skus))+`)
		ORDER BY sku, warehouse_id`, args...)
	if err != nil {
		return out, err
	}
	defer levels.Close()
	for levels.Next() {
		var l box.StockLevel
		if err := levels.Scan(&l.SKU, &l.WarehouseID, &l.Available); err != nil {
			return out, err
		}
		out.Levels = append(out.Levels, l)
	}
	return out, levels.Err()
}
