package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/platform"
	"github.com/shopd/shopd/sqlstore"
)

func backupCmd(ctx context.Context, c *cli, args []string) error {
	f := c.flags("backup", "--to FILE [--data-dir DIR | --database-url URL]",
		"Writes a consistent backup of the running store to FILE while shopd keeps serving, then verifies it.\n"+
			"SQLite: VACUUM INTO a copy (one transaction's snapshot), PRAGMA integrity_check on it.\n"+
			"PostgreSQL: pg_dump --format=custom (pg_dump must be on PATH, same major version as the server).\n"+
			"The file appears only when complete (written to FILE.tmp, synced, renamed). Restore it with\n"+
			"`shopd restore --from FILE` into an empty store. See docs/operations.md.")
	d := platform.BindDatabase(f)
	to := f.String("to", "", "", "file to write the backup to (required; replaced only by a verified backup)")
	if err := parse(f, args); err != nil {
		return err
	}
	if *to == "" {
		return usagef("--to FILE is required")
	}
	if err := d.Validate(); err != nil {
		return usagef("%v", err)
	}
	src := d.Source()
	if *d.URL == "" {
		// Opening a missing SQLite file would create an empty store.
		if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no store at %s: check --data-dir", src)
		}
	}
	db, err := sqlstore.Open(ctx, src, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	res, err := db.Backup(ctx, *to)
	if err != nil {
		return plain(err)
	}
	fmt.Fprintf(c.stdout, "backup of %s %s written to %s (%s) in %.2fs\n", db.Dialect(), db.Source(), res.Path, byteSize(res.Bytes), time.Since(start).Seconds())
	fmt.Fprintf(c.stdout, "backup verified: %s\n", res.Snapshot)
	return nil
}

func restoreCmd(ctx context.Context, c *cli, args []string) error {
	f := c.flags("restore", "--from FILE [--data-dir DIR | --database-url URL]",
		"Restores a backup made by `shopd backup` into an EMPTY store and verifies it; it never\n"+
			"overwrites a store that has data or migrations. SQLite: the database file must not exist\n"+
			"(or be empty). PostgreSQL: the database must have no tables (createdb a new one); pg_restore\n"+
			"must be on PATH. A backup from an older shopd is migrated; one from a newer shopd is refused.")
	d := platform.BindDatabase(f)
	from := f.String("from", "", "", "backup file to restore (required)")
	if err := parse(f, args); err != nil {
		return err
	}
	if *from == "" {
		return usagef("--from FILE is required")
	}
	if err := d.Validate(); err != nil {
		return usagef("%v", err)
	}
	start := time.Now()
	res, err := sqlstore.Restore(ctx, d.Source(), *from, sqlstore.Options{})
	if err != nil {
		return plain(err)
	}
	fmt.Fprintf(c.stdout, "restored %s in %.2fs: %s", *from, time.Since(start).Seconds(), res.Snapshot)
	if res.Migrated > 0 {
		fmt.Fprintf(c.stdout, " (%d migrations applied)", res.Migrated)
	}
	fmt.Fprintf(c.stdout, "\nrestore verified: %d orders, %d payments, %d products\n", res.Orders, res.Payments, res.Products)
	return nil
}

// plain drops the "shopd: code:" prefix of a domain error: on a terminal
// the message says it all.
func plain(err error) error {
	if e, ok := err.(*shopd.Error); ok {
		return errors.New(e.Message)
	}
	return err
}

// byteSize formats a file size for people.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
