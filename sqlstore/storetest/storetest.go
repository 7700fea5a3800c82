// Package storetest opens fresh, migrated shopd databases for tests on every
// engine, and holds the store conformance suite that every engine must pass.
//
// SQLite always runs. PostgreSQL runs when SHOPD_TEST_DATABASE_URL points at
// a server where the user may create databases; each test gets its own
// database, cloned from a migrated template and dropped afterwards. When
// SHOPD_REQUIRE_POSTGRES=1 (as in CI), a missing URL fails the test instead
// of skipping it.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver for admin statements
	"github.com/shopd/shopd"
	"github.com/shopd/shopd/sqlstore"
)

// Engines lists the engines the tests run on in this environment.
func Engines(t testing.TB) []sqlstore.Dialect {
	if os.Getenv("SHOPD_TEST_DATABASE_URL") == "" {
		if os.Getenv("SHOPD_REQUIRE_POSTGRES") == "1" {
			t.Fatal("SHOPD_REQUIRE_POSTGRES=1 but SHOPD_TEST_DATABASE_URL is not set")
		}
		return []sqlstore.Dialect{sqlstore.SQLite}
	}
	return []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres}
}

// EachEngine runs fn as a subtest on every engine, each with a fresh,
// migrated database.
func EachEngine(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	for _, d := range Engines(t) {
		t.Run(d.String(), func(t *testing.T) { fn(t, Open(t, d)) })
	}
}

// Open returns a fresh, migrated database on the engine, closed and removed
// when the test ends.
func Open(t testing.TB, d sqlstore.Dialect) *sqlstore.DB {
	return OpenWith(t, d, sqlstore.Options{})
}

// OpenWith is Open with store options (a test clock, for example).
func OpenWith(t testing.TB, d sqlstore.Dialect, opts sqlstore.Options) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), URL(t, d), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if d == sqlstore.SQLite {
		if _, err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// URL returns the address of a fresh, migrated database on the engine (for
// tests that start a shopd process). It is removed when the test ends.
func URL(t testing.TB, d sqlstore.Dialect) string {
	return newDatabase(t, d, true)
}

// EmptyURL is URL for a database without even the migrations applied.
func EmptyURL(t testing.TB, d sqlstore.Dialect) string {
	return newDatabase(t, d, false)
}

// newDatabase makes the database of URL or EmptyURL. A SQLite file is new
// either way: OpenWith, or the shopd process given it, migrates it.
func newDatabase(t testing.TB, d sqlstore.Dialect, migrated bool) string {
	t.Helper()
	if d == sqlstore.SQLite {
		return filepath.Join(t.TempDir(), "shopd.db")
	}
	base := os.Getenv("SHOPD_TEST_DATABASE_URL")
	if base == "" {
		t.Fatal("PostgreSQL test requested but SHOPD_TEST_DATABASE_URL is not set")
	}
	tpl := "template0"
	if migrated {
		var err error
		if tpl, err = template(base); err != nil {
			t.Fatal(err)
		}
	}
	name := "shopd_t_" + strings.ToLower(strings.TrimPrefix(shopd.NewID("x"), "x_"))
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, tpl)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name))
	})
	return withDatabase(base, name)
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// template creates (once per test binary, and only if it does not exist yet)
// a database migrated to the current schema, named after a hash of the
// migrations so a schema change makes a new one.
func template(base string) (string, error) {
	templateOnce.Do(func() {
		templateName = "shopd_tpl_" + sqlstore.MigrationsHash()
		admin, err := sql.Open("pgx", base)
		if err != nil {
			templateErr = err
			return
		}
		defer admin.Close()
		var exists bool
		if templateErr = admin.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, templateName).Scan(&exists); templateErr != nil || exists {
			return
		}
		// Build under a temporary name and rename, so that a concurrent test
		// binary never clones a half-migrated template.
		tmp := templateName + "_" + strings.ToLower(strings.TrimPrefix(shopd.NewID("x"), "x_"))[20:]
		if _, templateErr = admin.Exec(`CREATE DATABASE ` + tmp); templateErr != nil {
			return
		}
		db, err := sqlstore.Open(context.Background(), withDatabase(base, tmp), sqlstore.Options{})
		if err != nil {
			templateErr = err
			return
		}
		_, templateErr = db.Migrate(context.Background())
		db.Close()
		if templateErr != nil {
			return
		}
		if _, err := admin.Exec(fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, tmp, templateName)); err != nil {
			admin.Exec(`DROP DATABASE IF EXISTS ` + tmp)
			// Another test binary won the race; its template is as good.
			templateErr = admin.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, templateName).Scan(&exists)
			if templateErr == nil && !exists {
				templateErr = err
			}
		}
	})
	return templateName, templateErr
}

func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + name
	return u.String()
}
