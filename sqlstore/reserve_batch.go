package sqlstore

import (
	"context"
	"slices"
	"strconv"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/inventory"
)

// ReserveStocks reserves stock for many requests at once — a batch of
// concurrent checkouts — with the outcome ReserveStock would give each in
// turn, in a few statements for the whole batch: the stock rows of all
// their SKUs are read once with the warehouses' routes (a statement per
// market: invReadRoutes), the requests are routed in memory in their
// order, each whole or not at all, each touched row gets one UPDATE for the
// sum of its reservations and all reservation rows are inserted together.
// A drop's hot SKU thus costs one row update per batch instead of one per
// checkout.
//
// The rows are read without a lock, and each row's UPDATE re-checks its
// availability (PostgreSQL re-evaluates the condition on the row as it
// stands once it holds the lock) and must change it: levels that changed
// since the read so that the reservations no longer fit fail the whole
// transaction rather than oversell (the Placer then places each checkout
// alone). So the hot row is locked from its UPDATE, sent last (execLast),
// to the commit, not across the round trips of the batch. The UPDATEs go
// in routing order, the order CommitReservations updates rows in, so the
// two never deadlock.
//
// errs[i] is request i's own failure (invalid, or out of stock: nothing
// of it is written); err is the store's, which leaves the transaction
// unusable. The references must be new: one that already holds stock
// fails the whole statement (a unique violation), not only its request.
func (tx *Tx) ReserveStocks(ctx context.Context, reqs []inventory.ReserveRequest) (errs []error, err error) {
	errs = make([]error, len(reqs))
	merged := make([][]inventory.MergedLine, len(reqs))
	var markets, skus []string
	for i, r := range reqs {
		if errs[i] = r.Validate(); errs[i] != nil {
			continue
		}
		markets = append(markets, r.Market)
		merged[i] = inventory.MergeLines(r.Lines)
		for _, l := range merged[i] {
			skus = append(skus, l.SKU)
		}
	}
	rows, routes, err := invReadRoutes(ctx, tx, slices.Compact(slices.Sorted(slices.Values(markets))), slices.Compact(slices.Sorted(slices.Values(skus))))
	if err != nil {
		return nil, err
	}
	now := micros(tx.Now())
	var reservations [][]any
	for i, r := range reqs {
		if merged[i] == nil {
			continue
		}
		route := routes[r.Market]
		if r.Warehouse != "" {
			route = slices.DeleteFunc(slices.Clone(route), func(w invWarehouse) bool { return w.id != r.Warehouse && w.code != r.Warehouse })
		}
		allocs, err := invAllocate(route, merged[i], rows)
		if err != nil {
			errs[i] = err
			continue
		}
		for _, a := range allocs {
			rows[invKey{a.sku, a.w.id}].taken += a.quantity
			reservations = append(reservations, []any{shopd.NewID(inventory.ReservationPrefix), r.Reference, a.sku, a.w.id, a.quantity,
				string(inventory.ReservationActive), micros(r.ExpiresAt), now, now})
		}
	}
	if err := invTakeRows(ctx, tx, rows, now); err != nil {
		return nil, err
	}
	err = tx.insertRows(ctx, `INSERT INTO stock_reservations (id, reference, sku, warehouse_id, quantity, state, expires_at, created_at, updated_at) VALUES `, reservations)
	return errs, err
}

// invKey names a stock row.
type invKey struct{ sku, warehouseID string }

// invBatchRow is a stock row read for a batch of reservations: its levels
// when read and the units the batch takes from it.
type invBatchRow struct {
	w     invWarehouse
	row   invRow
	taken int64
}

func (l *invBatchRow) available() int64 { return max(0, l.row.available()-l.taken) }

// invReadRoutes reads, for each market, the stock rows of the SKUs (sorted)
// in the active warehouses that serve it, without a lock — one statement a
// market, where the route and the rows were one each — and so each
// market's route: those warehouses in routing order. A warehouse that holds
// none of the SKUs is left out of the route, where it could only have
// answered "none available". A row read for two markets is one row.
func invReadRoutes(ctx context.Context, tx *Tx, markets, skus []string) (map[invKey]*invBatchRow, map[string][]invWarehouse, error) {
	rows := make(map[invKey]*invBatchRow, len(skus))
	routes := make(map[string][]invWarehouse, len(markets))
	for _, market := range markets {
		var route []invWarehouse
		for in, args := range inLists(tx.Dialect(), skus, market) {
			rs, err := tx.QueryContext(ctx, `SELECT s.sku, w.id, w.code, w.priority, s.on_hand, s.reserved, s.low_stock_threshold
				FROM stock s JOIN warehouses w ON w.id = s.warehouse_id JOIN warehouse_markets m ON m.warehouse_id = w.id
				WHERE m.market = $1 AND w.active AND s.sku IN `+in, args...)
			if err != nil {
				return nil, nil, err
			}
			for rs.Next() {
				var sku string
				l := &invBatchRow{}
				if err := rs.Scan(&sku, &l.w.id, &l.w.code, &l.w.priority, &l.row.onHand, &l.row.reserved, &l.row.threshold); err != nil {
					rs.Close()
					return nil, nil, err
				}
				if _, ok := rows[invKey{sku, l.w.id}]; !ok {
					rows[invKey{sku, l.w.id}] = l
				}
				route = append(route, l.w)
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return nil, nil, err
			}
		}
		slices.SortFunc(route, func(a, b invWarehouse) int { return invRouteCmp("", a, "", b) })
		routes[market] = slices.CompactFunc(route, func(a, b invWarehouse) bool { return a.id == b.id })
	}
	return rows, routes, nil
}

// invAlloc is a share of a line taken from one stock row.
type invAlloc struct {
	sku      string
	w        invWarehouse
	quantity int64
}

// invAllocate routes one request's lines over the locked rows as
// ReserveStock does: each line whole in the first warehouse of the route
// that can cover it, else split over the route in order; if any line
// cannot be covered, the request gets nothing. It only reads rows.
func invAllocate(route []invWarehouse, lines []inventory.MergedLine, rows map[invKey]*invBatchRow) ([]invAlloc, error) {
	var out []invAlloc
	avail := func(sku string, w invWarehouse) int64 {
		if l := rows[invKey{sku, w.id}]; l != nil {
			return l.available()
		}
		return 0
	}
	for _, l := range lines {
		if len(route) == 0 {
			return nil, inventory.OutOfStock(l, 0)
		}
		if i := slices.IndexFunc(route, func(w invWarehouse) bool { return avail(l.SKU, w) >= l.Quantity }); i >= 0 {
			out = append(out, invAlloc{l.SKU, route[i], l.Quantity})
			continue
		}
		remaining, seen := l.Quantity, int64(0)
		var split []invAlloc
		for _, w := range route {
			a := avail(l.SKU, w)
			seen += a
			if q := min(a, remaining); q > 0 {
				split = append(split, invAlloc{l.SKU, w, q})
				remaining -= q
			}
		}
		if remaining > 0 {
			return nil, inventory.OutOfStock(l, seen)
		}
		out = append(out, split...)
	}
	return out, nil
}

// invTakeRows reserves what a batch took of each row read: an UPDATE per
// row, in routing order, each conditional on the row's availability as it
// stands and required to change it (see ReserveStocks), and inventory.low
// for rows that crossed their threshold.
func invTakeRows(ctx context.Context, tx *Tx, rows map[invKey]*invBatchRow, now int64) error {
	var keys []invKey
	for k, l := range rows {
		if l.taken > 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b invKey) int {
		return invRouteCmp(a.sku, rows[a].w, b.sku, rows[b].w)
	})
	for _, k := range keys {
		if err := tx.execLast(ctx, rowCount(1, "stock rows with "+strconv.FormatInt(rows[k].taken, 10)+" units of "+k.sku+" available"),
			`UPDATE stock SET reserved = reserved + $3, updated_at = $4 WHERE sku = $1 AND warehouse_id = $2 AND on_hand - reserved >= $3`,
			k.sku, k.warehouseID, rows[k].taken, now); err != nil {
			return err
		}
	}
	for _, k := range keys {
		l := rows[k]
		after := l.row
		after.reserved += l.taken
		if err := invCheckLow(ctx, tx, k.sku, l.w, l.row.available(), after); err != nil {
			return err
		}
	}
	return nil
}
