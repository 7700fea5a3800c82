package sqlstore_test

import (
	"context"
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
	ctx := context.Background()
	pool := db.Pools()["main"]
	const parents = 20000
	for _, stmt := range []string{
		`ALTER TABLE carts SET (autovacuum_enabled = false)`,
		`ALTER TABLE cart_lines SET (autovacuum_enabled = false)`,
		`ALTER TABLE orders SET (autovacuum_enabled = false)`,
		`ALTER TABLE order_lines SET (autovacuum_enabled = false)`,
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
			SELECT 'ol_' || id, id, 1, 'var_1', 'prd_1', 'SKU', 'T', '{}', 1, 100, 100, 0, 0, 100 FROM orders`,
	} {
		if _, err := pool.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	var analyzed int
	if err := pool.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stats
		WHERE tablename IN ('carts', 'cart_lines', 'orders', 'order_lines')`).Scan(&analyzed); err != nil {
		t.Fatal(err)
	}
	if analyzed != 0 {
		t.Fatalf("%d column statistics exist; the test needs tables never analyzed", analyzed)
	}

	ids := make([]string, 16)
	for i := range ids {
		ids[i] = fmt.Sprintf("'p_%d'", i*1000+1)
	}
	for name, query := range sqlstore.BatchReads(sqlstore.Postgres, "("+strings.Join(ids, ", ")+")") {
		rows, err := pool.QueryContext(ctx, `EXPLAIN `+query)
		if err != nil {
			t.Fatal(name, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		if text := strings.Join(plan, "\n"); strings.Contains(text, "Seq Scan") || strings.Contains(text, "Hash") {
			t.Errorf("%s: the plan scans or hashes a table:\n%s", name, text)
		}
	}
}
