package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// TestBatchReadsWithoutStatistics proves that the reads of a batch of carts
// or orders with their lines look each parent's lines up by index on
// PostgreSQL even when the tables were never analyzed, as on a new shop or
// in a drop's first minute: planned from PostgreSQL's defaults, a plain join
// hashed every line of the table for each batch.
func TestBatchReadsWithoutStatistics(t *testing.T) {
	if !slices.Contains(storetest.Engines(t), sqlstore.Postgres) {
		t.Skip("PostgreSQL only: SQLite plans joins as nested loops")
	}
	db := storetest.Open(t, sqlstore.Postgres)
	pool := db.Pools()["main"]
	const parents = 20000
	neverAnalyzed(t, pool, []string{"carts", "cart_lines", "orders", "order_lines"},
		fmt.Sprintf(`INSERT INTO carts (id, market, created_at, updated_at, expires_at)
			SELECT 'p_' || i, 'us', 0, 0, 0 FROM generate_series(1, %d) i`, parents),
		`INSERT INTO cart_lines (id, cart_id, variant_id, quantity, position, created_at, updated_at)
			SELECT 'cl_' || id, id, 'var_1', 1, 1, 0, 0 FROM carts`,
		fmt.Sprintf(`INSERT INTO orders (id, email, market, currency, status, tax_included, subtotal, discount,
			shipping, tax, total, ship_to, created_at, updated_at)
			SELECT 'p_' || i, 'a@example.com', 'us', 'USD', 'paid', false, 100, 0, 0, 0, 100, '{}', 0, 0
			FROM generate_series(1, %d) i`, parents),
		`INSERT INTO order_lines (id, order_id, position, variant_id, product_id, sku, title, options, quantity,
			unit_price, subtotal, discount, tax, total)
			SELECT 'ol_' || id, id, 1, 'var_1', 'prd_1', 'SKU', 'T', '{}', 1, 100, 100, 0, 0, 100 FROM orders`)

	ids := make([]string, 16)
	for i := range ids {
		ids[i] = fmt.Sprintf("'p_%d'", i*1000+1)
	}
	for name, query := range sqlstore.BatchReads(sqlstore.Postgres, "("+strings.Join(ids, ", ")+")") {
		indexOnly(t, pool, name, query)
	}
}

// TestKeyLookupsWithoutStatistics proves that reads of many rows by a
// column that is not unique by itself — idempotency keys by key, a batch of
// settled orders' reservations by reference — use its index on PostgreSQL
// even when the table was never analyzed: an IN list of 256 values was
// estimated to match the whole table and scanned it (2.8 ms a lookup on
// average over a 5-second hot-SKU benchmark).
func TestKeyLookupsWithoutStatistics(t *testing.T) {
	if !slices.Contains(storetest.Engines(t), sqlstore.Postgres) {
		t.Skip("PostgreSQL only: SQLite reads an IN list by its index")
	}
	db := storetest.Open(t, sqlstore.Postgres)
	pool := db.Pools()["main"]
	neverAnalyzed(t, pool, []string{"idempotency_keys", "stock_reservations"},
		`INSERT INTO idempotency_keys (scope, key, request_hash, locked_at, created_at, expires_at)
			SELECT 'checkout', 'k_' || i, 'h', 0, 0, 0 FROM generate_series(1, 20000) i`,
		`INSERT INTO stock_reservations (id, reference, sku, warehouse_id, quantity, state, expires_at, created_at, updated_at)
			SELECT 'rsv_' || i, 'p_' || i, 'SKU', 'wh_1', 1, 'active', 0, 0, 0 FROM generate_series(1, 20000) i`)
	keys := make([]string, 256)
	for i := range keys {
		keys[i] = fmt.Sprintf("k_%d", i*50+1)
	}
	for name, read := range map[string]struct{ table, column string }{
		"idempotency keys": {"idempotency_keys", "key"}, "reservations": {"stock_reservations", "reference"}} {
		for from, args := range sqlstore.RowsWithKeys(sqlstore.Postgres, read.table, "t", read.column, keys) {
			indexOnly(t, pool, name, `SELECT t.* FROM `+from, args...)
		}
	}
}

// neverAnalyzed fills tables, with autovacuum off for them, by the
// statements, and checks that PostgreSQL holds no statistics of them.
func neverAnalyzed(t *testing.T, pool *sql.DB, tables []string, fill ...string) {
	t.Helper()
	ctx := context.Background()
	var stmts []string
	for _, table := range tables {
		stmts = append(stmts, `ALTER TABLE `+table+` SET (autovacuum_enabled = false)`)
	}
	for _, stmt := range append(stmts, fill...) {
		if _, err := pool.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	var analyzed int
	if err := pool.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stats WHERE tablename = ANY($1)`, tables).Scan(&analyzed); err != nil {
		t.Fatal(err)
	}
	if analyzed != 0 {
		t.Fatalf("%d column statistics exist; the test needs tables never analyzed", analyzed)
	}
}

// indexOnly fails the test if PostgreSQL's plan for query scans or hashes
// a table.
func indexOnly(t *testing.T, pool *sql.DB, name, query string, args ...any) {
	t.Helper()
	rows, err := pool.QueryContext(context.Background(), `EXPLAIN `+query, args...)
	if err != nil {
		t.Fatal(name, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if text := strings.Join(plan, "\n"); strings.Contains(text, "Seq Scan") || strings.Contains(text, "Hash") {
		t.Errorf("%s: the plan scans or hashes a table:\n%s", name, text)
	}
}

// TestPipelinedWritesPlannedForTheirValues proves that a write queued in a
// pipeline that asks to be planned for its values (an UPDATE by an IN list
// or a VALUES join) is, every time: a pgx batch takes no per-statement
// mode, and after five runs PostgreSQL would keep a generic plan — made
// while the table was small, a scan of the whole table as it grows.
func TestPipelinedWritesPlannedForTheirValues(t *testing.T) {
	if !slices.Contains(storetest.Engines(t), sqlstore.Postgres) {
		t.Skip("PostgreSQL only: SQLite has no pipeline")
	}
	db := storetest.Open(t, sqlstore.Postgres)
	ctx := context.Background()
	const update = `UPDATE stock_reservations SET updated_at = $1 WHERE id IN ($2, $3)`
	const runs = 10
	err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
		for i := range runs {
			if err := tx.Pipeline(ctx, func() error { return tx.ExecPlannedEach(ctx, update, i, "rsv_a", "rsv_b") }); err != nil {
				return err
			}
		}
		var generic, custom int
		if err := tx.QueryRowContext(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements
			WHERE statement = $1`, update).Scan(&generic, &custom); err != nil {
			return err
		}
		if generic != 0 || custom != runs {
			t.Errorf("planned %d times for its values and %d times generically, want %d and 0", custom, generic, runs)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
