package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// backupProduct is a product with three variants, written in one
// transaction: a restored store must hold all three or none.
func backupProduct(tag string) catalog.Product {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	p := catalog.Product{
		ID: shopd.NewID("prd"), Handle: "bk-" + tag, Title: "Backup " + tag, Status: catalog.StatusActive,
		TaxCategory: catalog.DefaultTaxCategory, Attributes: map[string][]string{"brand": {"Backup"}}, Media: []catalog.Media{},
		Variants: []catalog.Variant{}, CreatedAt: now, UpdatedAt: now,
	}
	for i := range 3 {
		sku := fmt.Sprintf("BK-%s-%d", tag, i)
		p.Variants = append(p.Variants, catalog.Variant{ID: shopd.NewID("var"), ProductID: p.ID, SKU: sku, Title: sku,
			Options: map[string]string{"n": fmt.Sprint(i)}, Position: i + 1, Prices: map[string]catalog.Price{}, CreatedAt: now, UpdatedAt: now})
	}
	return p
}

// emptyTarget returns the address of an empty store on the engine: a path
// that does not exist, or a new PostgreSQL database with no tables.
func emptyTarget(t *testing.T, d sqlstore.Dialect) string {
	t.Helper()
	if d == sqlstore.SQLite {
		return filepath.Join(t.TempDir(), "restored", "shopd.db")
	}
	base := os.Getenv("SHOPD_TEST_DATABASE_URL")
	name := "shopd_t_restore_" + strings.ToLower(strings.TrimPrefix(shopd.NewID("x"), "x_"))
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE DATABASE ` + name + ` TEMPLATE template0`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err == nil {
			admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
			admin.Close()
		}
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return u.String()
}

// rawDB opens a store's database directly, for checks and for breaking it.
func rawDB(t *testing.T, d sqlstore.Dialect, target string) *sql.DB {
	t.Helper()
	driver := "sqlite"
	if d == sqlstore.Postgres {
		driver = "pgx"
	}
	db, err := sql.Open(driver, target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func wantErr(t *testing.T, what string, err error, code, typ string) {
	t.Helper()
	if shopd.ErrorCode(err) != code || shopd.ErrorType(err) != typ {
		t.Fatalf("%s: error %v, want %s %s", what, err, code, typ)
	}
}

// TestBackupUnderWrites takes a backup while 8 goroutines create products,
// restores it into an empty store and checks that the restored store holds
// exactly the backup's snapshot: its counts equal the counts read in the
// snapshot the backup copied, lie between the counts before and after the
// backup, and every product has all three variants its transaction wrote.
func TestBackupUnderWrites(t *testing.T) {
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			ctx := context.Background()
			db := storetest.Open(t, d)
			var initial []catalog.Product
			for i := range 500 {
				initial = append(initial, backupProduct(fmt.Sprintf("init-%d", i)))
			}
			if err := db.Catalog().InsertProducts(ctx, initial); err != nil {
				t.Fatal(err)
			}

			var written atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for w := range 8 {
				wg.Go(func() {
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						if err := db.Catalog().CreateProduct(ctx, backupProduct(fmt.Sprintf("w%d-%d", w, i))); err != nil {
							errs <- err
							return
						}
						written.Add(1)
					}
				})
			}
			// Back up only once the writers are busy.
			for written.Load() < 40 {
				time.Sleep(time.Millisecond)
			}
			before, err := db.Inspect(ctx)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "backups", "shopd.backup")
			res, err := db.Backup(ctx, file)
			if err != nil {
				t.Fatal(err)
			}
			duringAfter := written.Load()
			after, err := db.Inspect(ctx)
			if err != nil {
				t.Fatal(err)
			}
			close(stop)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("writer: %v", err)
			}
			t.Logf("backup: %s (%d bytes); products before %d, in backup %d, after %d; %d written by the end of the backup, %d in all",
				res.Snapshot, res.Bytes, before.Products, res.Products, after.Products, duringAfter, written.Load())
			if res.Products < before.Products || res.Products > after.Products {
				t.Errorf("backup holds %d products; the store had %d before and %d after", res.Products, before.Products, after.Products)
			}
			latest, err := sqlstore.LatestMigration(d)
			if err != nil {
				t.Fatal(err)
			}
			if res.Version != latest || res.Tables < 30 {
				t.Errorf("backup snapshot %v; want migration %d and every table", res.Snapshot, latest)
			}
			if st, err := os.Stat(file); err != nil || st.Size() != res.Bytes || st.Mode().Perm() != 0o600 {
				t.Errorf("backup file: %v %v; want %d bytes, mode 0600", st, err, res.Bytes)
			}
			if _, err := os.Stat(file + ".tmp"); !os.IsNotExist(err) {
				t.Errorf("temporary file left behind: %v", err)
			}

			target := emptyTarget(t, d)
			rres, err := sqlstore.Restore(ctx, target, file, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rres.Snapshot != res.Snapshot || rres.Migrated != 0 {
				t.Errorf("restored %v (%d migrations applied); the backup's snapshot was %v", rres.Snapshot, rres.Migrated, res.Snapshot)
			}
			raw := rawDB(t, d, target)
			var products, variants, torn int64
			if err := raw.QueryRow(`SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM variants),
				(SELECT count(*) FROM products p WHERE (SELECT count(*) FROM variants v WHERE v.product_id = p.id) <> 3)`).Scan(&products, &variants, &torn); err != nil {
				t.Fatal(err)
			}
			if products != res.Products || variants != 3*products || torn != 0 {
				t.Errorf("restored store: %d products, %d variants, %d products without exactly 3 variants", products, variants, torn)
			}
			// The restored store serves the same rows through the store API.
			rdb, err := sqlstore.Open(ctx, target, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer rdb.Close()
			for _, p := range []catalog.Product{initial[0], initial[len(initial)-1]} {
				got, err := rdb.Catalog().Product(ctx, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				want, err := db.Catalog().Product(ctx, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("restored product differs:\n got %+v\nwant %+v", got, want)
				}
			}

			// Restoring again over the restored store is refused and changes nothing.
			_, err = sqlstore.Restore(ctx, target, file, sqlstore.Options{})
			wantErr(t, "restore over a restored store", err, shopd.ECONFLICT, "restore-target-not-empty")
			if snap, err := rdb.Inspect(ctx); err != nil || snap != rres.Snapshot {
				t.Errorf("after the refused restore: %v %v; want %v", snap, err, rres.Snapshot)
			}
		})
	}
}

// TestRestoreRefuses checks that restore never overwrites a store with a
// schema or data, refuses files that are not backups or come from a newer
// shopd, and that a backup is never written over the store itself.
func TestRestoreRefuses(t *testing.T) {
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			ctx := context.Background()
			db := storetest.Open(t, d)
			if err := db.Catalog().CreateProduct(ctx, backupProduct("one")); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "shopd.backup")
			if _, err := db.Backup(ctx, file); err != nil {
				t.Fatal(err)
			}

			// A store with migrations and no data, and one with data.
			migrated := storetest.URL(t, d)
			if d == sqlstore.SQLite {
				m, err := sqlstore.Open(ctx, migrated, sqlstore.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := m.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				m.Close()
			}
			for name, target := range map[string]string{"migrated, empty": migrated, "with data": db.Source()} {
				if d == sqlstore.Postgres && name == "with data" {
					continue // Source hides the password; the migrated case covers PostgreSQL.
				}
				_, err := sqlstore.Restore(ctx, target, file, sqlstore.Options{})
				wantErr(t, "restore into a store "+name, err, shopd.ECONFLICT, "restore-target-not-empty")
				if !strings.Contains(err.Error(), "migrations applied") {
					t.Errorf("restore into a store %s: %q does not say why", name, err)
				}
			}
			if snap, err := db.Inspect(ctx); err != nil || snap.Products != 1 {
				t.Errorf("store after refused restores: %v %v", snap, err)
			}

			// Not a backup: the target stays empty.
			junk := filepath.Join(t.TempDir(), "junk.backup")
			if err := os.WriteFile(junk, []byte(strings.Repeat("not a backup\n", 500)), 0o600); err != nil {
				t.Fatal(err)
			}
			target := emptyTarget(t, d)
			_, err := sqlstore.Restore(ctx, target, junk, sqlstore.Options{})
			wantErr(t, "restore of a junk file", err, shopd.EINVALID, "backup-invalid")
			_, err = sqlstore.Restore(ctx, target, filepath.Join(t.TempDir(), "missing"), sqlstore.Options{})
			wantErr(t, "restore of a missing file", err, shopd.EINVALID, "backup-invalid")
			if d == sqlstore.SQLite {
				entries, _ := os.ReadDir(filepath.Dir(target))
				if len(entries) != 0 {
					t.Errorf("failed restores left files: %v", entries)
				}
			}

			// A backup from a newer shopd (a migration this binary lacks).
			newer := storetest.URL(t, d)
			n, err := sqlstore.Open(ctx, newer, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			if _, err := n.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := rawDB(t, d, newer).Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)`); err != nil {
				t.Fatal(err)
			}
			newFile := filepath.Join(t.TempDir(), "newer.backup")
			if _, err := n.Backup(ctx, newFile); err != nil {
				t.Fatal(err)
			}
			_, err = sqlstore.Restore(ctx, target, newFile, sqlstore.Options{})
			wantErr(t, "restore of a newer backup", err, shopd.EINVALID, "backup-schema-newer")

			// The target is still empty: a good backup restores into it.
			if res, err := sqlstore.Restore(ctx, target, file, sqlstore.Options{}); err != nil || res.Products != 1 {
				t.Fatalf("restore after the refusals: %v %v", res, err)
			}

			if d == sqlstore.SQLite {
				_, err := db.Backup(ctx, db.Source())
				wantErr(t, "backup onto the store", err, shopd.EINVALID, "")
				if snap, err := db.Inspect(ctx); err != nil || snap.Products != 1 {
					t.Errorf("store after a refused backup onto itself: %v %v", snap, err)
				}
			}
		})
	}
}

// TestRestoreMigratesOlderBackup restores a backup taken one migration
// behind this binary and checks the restore applies the missing one.
func TestRestoreMigratesOlderBackup(t *testing.T) {
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			ctx := context.Background()
			latest, err := sqlstore.LatestMigration(d)
			if err != nil {
				t.Fatal(err)
			}
			old := emptyTarget(t, d)
			dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
			if d == sqlstore.Postgres {
				dialect, dir = goose.DialectPostgres, "migrations/postgres"
			}
			if d == sqlstore.SQLite {
				os.MkdirAll(filepath.Dir(old), 0o750)
			}
			p, err := goose.NewProvider(dialect, rawDB(t, d, old), os.DirFS(dir))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, latest-1); err != nil {
				t.Fatal(err)
			}
			odb, err := sqlstore.Open(ctx, old, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer odb.Close()
			file := filepath.Join(t.TempDir(), "old.backup")
			res, err := odb.Backup(ctx, file)
			if err != nil || res.Version != latest-1 {
				t.Fatalf("backup of the older store: %v %v", res, err)
			}
			rres, err := sqlstore.Restore(ctx, emptyTarget(t, d), file, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rres.Version != latest || rres.Migrated != 1 {
				t.Errorf("restored an older backup to migration %d with %d applied; want %d and 1", rres.Version, rres.Migrated, latest)
			}
		})
	}
}
