package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// TestInTxIsolation proves the transaction contract under heavy
// concurrency, where SQLite commits many transactions as one group: every
// successful function's changes stay, every failed or panicking function's
// changes vanish, and no outcome leaks to another caller.
func TestInTxIsolation(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		mustTx(t, db, `CREATE TABLE tx_probe (id INTEGER PRIMARY KEY, kind TEXT NOT NULL)`)
		errFail := errors.New("fail on purpose")
		const n = 300
		var wg sync.WaitGroup
		outcomes := make([]string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					if p := recover(); p != nil {
						outcomes[i] = "panic"
					}
				}()
				kind := [...]string{"ok", "fail", "panic", "ok", "conflict"}[i%5]
				err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO tx_probe (id, kind) VALUES ($1, $2)`, i, kind); err != nil {
						return err
					}
					switch kind {
					case "fail":
						return errFail
					case "panic":
						panic("on purpose")
					case "conflict": // a statement error after a write
						_, err := tx.ExecContext(ctx, `INSERT INTO tx_probe (id, kind) VALUES ($1, $2)`, i, kind)
						return err
					}
					return nil
				})
				switch {
				case err == nil:
					outcomes[i] = "ok"
				case errors.Is(err, errFail):
					outcomes[i] = "fail"
				default:
					outcomes[i] = "error"
				}
			}()
		}
		wg.Wait()
		for i, got := range outcomes {
			want := map[int]string{0: "ok", 1: "fail", 2: "panic", 3: "ok", 4: "error"}[i%5]
			if got != want {
				t.Errorf("caller %d: outcome %q, want %q", i, got, want)
			}
		}
		kept, wrong := probeRows(t, db)
		if kept != n*2/5 || wrong != 0 {
			t.Errorf("rows kept: %d (%d not ok), want %d (0)", kept, wrong, n*2/5)
		}
	})
}

// TestInTxAlone: a transaction with nobody to share its commit (on SQLite,
// a group of one, run without a savepoint) keeps the same contract: a
// failure, a panic, a failed statement or a transaction ended under the
// store's feet leaves nothing; success stays.
func TestInTxAlone(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		mustTx(t, db, `CREATE TABLE tx_probe (id INTEGER PRIMARY KEY, kind TEXT NOT NULL)`)
		kinds := []string{"ok", "fail", "panic", "conflict", "ok"}
		if db.Dialect() == sqlstore.SQLite {
			kinds = append(kinds, "rollback") // see TestInTxBrokenTransaction
		}
		for i, kind := range kinds {
			var panicked any
			err := func() error {
				defer func() { panicked = recover() }()
				return db.InTx(ctx, func(tx *sqlstore.Tx) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO tx_probe (id, kind) VALUES ($1, $2)`, i, kind); err != nil {
						return err
					}
					switch kind {
					case "fail":
						return errors.New("fail on purpose")
					case "panic":
						panic("on purpose")
					case "conflict":
						_, err := tx.ExecContext(ctx, `INSERT INTO tx_probe (id, kind) VALUES ($1, $2)`, i, kind)
						return err
					case "rollback":
						_, err := tx.ExecContext(ctx, `ROLLBACK`)
						return err
					}
					return nil
				})
			}()
			if failed := err != nil || panicked != nil; failed != (kind != "ok") {
				t.Errorf("%s: error %v, panic %v", kind, err, panicked)
			}
		}
		kept, wrong := probeRows(t, db)
		if kept != 2 || wrong != 0 {
			t.Errorf("rows kept: %d (%d not ok), want 2 (0)", kept, wrong)
		}
	})
}

// TestInTxBrokenTransaction: on SQLite, a function that ends the
// transaction under the store's feet (here by ROLLBACK; in life, an I/O
// error) fails alone; the functions sharing its commit group still commit.
// (PostgreSQL has no groups, and answers COMMIT outside a transaction with
// a mere warning.)
func TestInTxBrokenTransaction(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		db := storetest.Open(t, sqlstore.SQLite)
		ctx := context.Background()
		mustTx(t, db, `CREATE TABLE tx_probe (id INTEGER PRIMARY KEY)`)
		const n = 100
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.InTx(ctx, func(tx *sqlstore.Tx) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO tx_probe (id) VALUES ($1)`, i); err != nil {
						return err
					}
					if i%10 == 0 {
						_, err := tx.ExecContext(ctx, `ROLLBACK`)
						return err // nil: the store must notice by itself
					}
					return nil
				})
			}()
		}
		wg.Wait()
		failed := 0
		for i, err := range errs {
			if (i%10 == 0) != (err != nil) {
				t.Errorf("caller %d: error %v", i, err)
			}
			if err != nil {
				failed++
			}
		}
		var rows int
		if err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
			return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tx_probe`).Scan(&rows)
		}); err != nil {
			t.Fatal(err)
		}
		if failed != n/10 || rows != n-n/10 {
			t.Errorf("%d failed, %d rows; want %d and %d", failed, rows, n/10, n-n/10)
		}
	})
}

// TestInTxCanceledCaller: a caller whose context ends before its turn gets
// the context's error and leaves nothing behind; its neighbours commit.
func TestInTxCanceledCaller(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		mustTx(t, db, `CREATE TABLE tx_probe (id INTEGER PRIMARY KEY)`)
		canceled, cancel := context.WithCancel(context.Background())
		cancel()
		err := db.InTx(canceled, func(tx *sqlstore.Tx) error {
			_, err := tx.ExecContext(canceled, `INSERT INTO tx_probe (id) VALUES (1)`)
			return err
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled caller: %v", err)
		}
		mustTx(t, db, `INSERT INTO tx_probe (id) VALUES (2)`)
		var ids string
		ctx := context.Background()
		if err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
			var id int
			rows, err := tx.QueryContext(ctx, `SELECT id FROM tx_probe ORDER BY id`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := rows.Scan(&id); err != nil {
					return err
				}
				ids += fmt.Sprint(id)
			}
			return rows.Err()
		}); err != nil {
			t.Fatal(err)
		}
		if ids != "2" {
			t.Errorf("rows %q, want only 2", ids)
		}
	})
}

// probeRows counts tx_probe's rows, and those of a kind other than "ok".
func probeRows(t *testing.T, db *sqlstore.DB) (kept, wrong int) {
	t.Helper()
	ctx := context.Background()
	if err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(*) FILTER (WHERE kind <> 'ok') FROM tx_probe`).Scan(&kept, &wrong)
	}); err != nil {
		t.Fatal(err)
	}
	return kept, wrong
}

func mustTx(t *testing.T, db *sqlstore.DB, stmt string) {
	t.Helper()
	ctx := context.Background()
	if err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
		_, err := tx.ExecContext(ctx, stmt)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
