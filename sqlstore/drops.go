package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/event"
)

// DropStore implements catalog.DropStore.
type DropStore struct{ db *DB }

var _ catalog.DropStore = (*DropStore)(nil)

// Drops returns the store of product drops.
func (db *DB) Drops() *DropStore { return &DropStore{db: db} }

// AnnounceDrops implements catalog.DropStore. A drop is a row of drops,
// keyed by product and launch time: the INSERT … ON CONFLICT DO NOTHING
// returns only the rows it wrote, so when several workers run at once the
// one whose row commits first announces the start and the others, which
// wait for that row on PostgreSQL or for the writer lock on SQLite, find it
// and write nothing. Sold out is the same with an UPDATE of rows whose
// sold_out_at is still NULL (PostgreSQL checks that again after waiting
// for a concurrent update of the row).
func (s *DropStore) AnnounceDrops(ctx context.Context, now, since time.Time) (catalog.Announced, error) {
	var out catalog.Announced
	err := s.db.InTx(ctx, func(tx *Tx) (err error) {
		at, from := micros(now), micros(since)
		// Rows are inserted in product order, so that concurrent workers
		// lock them in the same order.
		out.Started, err = dropRows(tx.QueryContext(ctx, `INSERT INTO drops (product_id, launch_at, started_at)
			SELECT id, launch_at, CAST($1 AS BIGINT) FROM products
			WHERE status = 'active' AND launch_at > $2 AND launch_at <= $1 ORDER BY id
			ON CONFLICT DO NOTHING RETURNING product_id, launch_at`, at, from))
		if err != nil {
			return err
		}
		// A drop sells out while it is the product's current launch (not
		// moved, not withdrawn) and no variant has a unit left to reserve
		// in any warehouse.
		out.SoldOut, err = dropRows(tx.QueryContext(ctx, `UPDATE drops SET sold_out_at = $1
			WHERE sold_out_at IS NULL AND launch_at > $2
			AND EXISTS (SELECT 1 FROM products p WHERE p.id = drops.product_id AND p.status = 'active' AND p.launch_at = drops.launch_at)
			AND NOT EXISTS (SELECT 1 FROM variants v JOIN stock st ON st.sku = v.sku
				WHERE v.product_id = drops.product_id AND st.on_hand - st.reserved > 0)
			RETURNING product_id, launch_at`, at, from))
		if err != nil || len(out.Started)+len(out.SoldOut) == 0 {
			return err
		}
		return dropEvents(ctx, tx, &out, now)
	})
	if err != nil {
		return catalog.Announced{}, err
	}
	return out, nil
}

// dropRows reads the (product_id, launch_at) rows of a RETURNING clause.
func dropRows(rows *sql.Rows, err error) ([]catalog.Drop, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []catalog.Drop
	for rows.Next() {
		var d catalog.Drop
		var launch int64
		if err := rows.Scan(&d.ProductID, &launch); err != nil {
			return nil, err
		}
		d.LaunchAt = fromMicros(launch)
		out = append(out, d)
	}
	return out, rows.Err()
}

// dropEvents fills in the announced drops' handles and times, sorts them by
// product, and appends their events: starts first, so that a drop that
// starts sold out reads in order.
func dropEvents(ctx context.Context, tx *Tx, a *catalog.Announced, now time.Time) error {
	var ids []string
	for _, d := range slices.Concat(a.Started, a.SoldOut) {
		ids = append(ids, d.ProductID)
	}
	slices.Sort(ids)
	handles, err := dropHandles(ctx, tx, slices.Compact(ids))
	if err != nil {
		return err
	}
	at := fromMicros(micros(now)) // as stored
	var es []event.Event
	for _, part := range []struct {
		drops []catalog.Drop
		typ   string
	}{{a.Started, catalog.EventDropStarted}, {a.SoldOut, catalog.EventDropSoldOut}} {
		slices.SortFunc(part.drops, func(x, y catalog.Drop) int { return strings.Compare(x.ProductID, y.ProductID) })
		for i := range part.drops {
			d := &part.drops[i]
			d.Handle, d.At = handles[d.ProductID], at
			e, err := event.New(part.typ, d.ProductID, *d, now)
			if err != nil {
				return err
			}
			es = append(es, e)
		}
	}
	return tx.AppendEvents(ctx, es)
}

// dropHandles returns the handles of the products, by ID.
func dropHandles(ctx context.Context, tx *Tx, ids []string) (map[string]string, error) {
	handles := map[string]string{}
	read := func(in string, args []any) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, handle FROM products WHERE id IN `+in, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, handle string
			if err := rows.Scan(&id, &handle); err != nil {
				return err
			}
			handles[id] = handle
		}
		return rows.Err()
	}
	for in, args := range inLists(tx.Dialect(), ids) {
		if err := read(in, args); err != nil {
			return nil, err
		}
	}
	return handles, nil
}
