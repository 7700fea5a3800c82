package storetest

import (
	"context"
	"database/sql"
	"sort"
	"strings"
	"testing"

	"github.com/shopd/shopd/sqlstore"
)

// suites lists the conformance tests; each runs on every engine with a fresh
// database. Each module of shopd adds its own in a file of this package.
var suites = []struct {
	name string
	fn   func(t *testing.T, db *sqlstore.DB)
}{
	{"Idempotency", testIdempotency},
	{"IdempotencyCompleteConcurrently", testIdempotencyCompleteConcurrently},
	{"IdempotencyLookupConcurrently", testIdempotencyLookupConcurrently},
	{"Markets", testMarkets},
	{"Catalog", testCatalog},
	{"Accounts", testAccounts},
	{"Events", testEvents},
	{"Inventory", testInventory},
	{"Payments", testPayments},
	{"Carts", testCarts},
	{"Orders", testOrders},
	{"PurchaseLimits", testPurchaseLimits},
	{"OrderOps", testOrderOps},
	{"Subscriptions", testSubscriptions},
	{"Billing", testBilling},
	{"BillingConcurrentRuns", testBillingConcurrentRuns},
	{"BillingRunBudget", testBillingRunBudget},
	{"BillingPeriodOrders", testBillingPeriodOrders},
	{"BillingYear", testBillingYear},
	{"BillingDecade", testBillingDecade},
	{"Drops", testDrops},
}

// Run runs the whole conformance suite on every engine.
func Run(t *testing.T) {
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			EachEngine(t, s.fn)
		})
	}
}

// CheckSchemasMatch migrates a fresh database on each engine and fails if
// the two migration folders do not produce the same tables and columns.
func CheckSchemasMatch(t *testing.T) {
	if len(Engines(t)) < 2 {
		t.Skip("needs PostgreSQL (set SHOPD_TEST_DATABASE_URL)")
	}
	lite := columns(t, Open(t, sqlstore.SQLite), `SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
	pg := columns(t, Open(t, sqlstore.Postgres), `SELECT table_name || '.' || column_name FROM information_schema.columns
		WHERE table_schema = 'public'`)
	if strings.Join(lite, "\n") != strings.Join(pg, "\n") {
		t.Errorf("schemas differ\nSQLite only:\n  %s\nPostgreSQL only:\n  %s",
			strings.Join(minus(lite, pg), "\n  "), strings.Join(minus(pg, lite), "\n  "))
	}
}

func columns(t *testing.T, db *sqlstore.DB, query string) []string {
	t.Helper()
	var out []string
	err := db.InTx(context.Background(), func(tx *sqlstore.Tx) error {
		rows, err := tx.QueryContext(context.Background(), query)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s sql.NullString
			if err := rows.Scan(&s); err != nil {
				return err
			}
			if !strings.HasPrefix(s.String, "goose_db_version.") {
				out = append(out, s.String)
			}
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if !in[s] {
			out = append(out, s)
		}
	}
	return out
}

// ctx is the context of store calls in the suite.
var ctx = context.Background()
