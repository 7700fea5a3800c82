package sqlstore

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/shopd/shopd"
)

// Error types of backup and restore.
const (
	errRestoreNotEmpty = "restore-target-not-empty"
	errBadBackup       = "backup-invalid"
	errNewerSchema     = "backup-schema-newer"
	errToolMissing     = "backup-tool-missing"
)

// Snapshot is what an operator checks after a backup or a restore: the
// schema version, how many tables there are and the row counts of the key
// tables, all read in one snapshot of the store.
type Snapshot struct {
	Version   int64 // highest applied migration; 0 for a store with no shopd schema
	Tables    int
	Orders    int64
	Payments  int64
	Products  int64
	Customers int64
}

func (s Snapshot) String() string {
	return fmt.Sprintf("migration %d, %d tables: %d orders, %d payments, %d products, %d customers",
		s.Version, s.Tables, s.Orders, s.Payments, s.Products, s.Customers)
}

// BackupResult describes a verified backup file.
type BackupResult struct {
	Path  string
	Bytes int64
	// Snapshot is read from the backup's own snapshot: on SQLite from the
	// copy itself, on PostgreSQL in the transaction whose exported snapshot
	// pg_dump dumps.
	Snapshot
}

// RestoreResult describes a restored and verified store.
type RestoreResult struct {
	// Migrated is how many migrations were applied after the restore because
	// the backup came from an older shopd.
	Migrated int
	Snapshot
}

// LatestMigration returns the highest migration version compiled into this
// binary for the engine.
func LatestMigration(d Dialect) (int64, error) {
	dir := "migrations/sqlite"
	if d == Postgres {
		dir = "migrations/postgres"
	}
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, e := range entries {
		if v, err := goose.NumericComponent(e.Name()); err == nil && v > latest {
			latest = v
		}
	}
	return latest, nil
}

// rowQuerier is a *sql.DB, *sql.Conn or *sql.Tx.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inspect reads a Snapshot through q, which should hold one snapshot (a
// transaction) so the counts agree with each other.
func inspect(ctx context.Context, q rowQuerier, d Dialect) (Snapshot, error) {
	var s Snapshot
	tables := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	goose := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version'`
	if d == Postgres {
		tables = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
		goose = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'goose_db_version'`
	}
	var hasGoose int
	if err := q.QueryRowContext(ctx, tables).Scan(&s.Tables); err != nil {
		return s, err
	}
	if err := q.QueryRowContext(ctx, goose).Scan(&hasGoose); err != nil || hasGoose == 0 {
		return s, err
	}
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&s.Version); err != nil {
		return s, err
	}
	if s.Version == 0 {
		return s, nil
	}
	for _, c := range []struct {
		table string
		n     *int64
	}{{"orders", &s.Orders}, {"payments", &s.Payments}, {"products", &s.Products}, {"customers", &s.Customers}} {
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM `+c.table).Scan(c.n); err != nil {
			return s, fmt.Errorf("count %s: %w", c.table, err)
		}
	}
	return s, nil
}

// Inspect returns the store's Snapshot, read in one read transaction.
func (db *DB) Inspect(ctx context.Context) (Snapshot, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: db.dialect == Postgres, Isolation: isolation(db.dialect)})
	if err != nil {
		return Snapshot{}, err
	}
	defer tx.Rollback()
	return inspect(ctx, tx, db.dialect)
}

// isolation is the level that gives one snapshot for several statements:
// SQLite's read transactions are snapshots already.
func isolation(d Dialect) sql.IsolationLevel {
	if d == Postgres {
		return sql.LevelRepeatableRead
	}
	return sql.LevelDefault
}

// Backup writes a transaction-consistent copy of the store to path while
// other connections and processes keep writing, and verifies it. The copy
// is written to path+".tmp", synced and renamed, so path is never a partial
// file; an existing file at path is replaced only by a verified backup.
//
// SQLite: VACUUM INTO on a read connection (one read transaction, so one
// snapshot), then PRAGMA integrity_check on the copy. PostgreSQL: pg_dump
// --format=custom of a snapshot exported by a repeatable-read transaction in
// which the counts are read; pg_dump must be on PATH (EUNAVAILABLE
// "backup-tool-missing" names the package otherwise).
//
// It returns EINVALID if path is the store itself or the store has no shopd
// schema.
func (db *DB) Backup(ctx context.Context, path string) (BackupResult, error) {
	if path == "" {
		return BackupResult{}, shopd.Errorf(shopd.EINVALID, "no file given")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}
	tmp := path + ".tmp"
	// A leftover from a backup that crashed; VACUUM INTO and pg_dump need
	// the name free.
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}
	var res BackupResult
	var err error
	if db.dialect == Postgres {
		res, err = db.backupPostgres(ctx, tmp)
	} else {
		res, err = db.backupSQLite(ctx, path, tmp)
	}
	if err != nil {
		os.Remove(tmp)
		return BackupResult{}, err
	}
	if err := commitFile(tmp, path); err != nil {
		os.Remove(tmp)
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}
	res.Path = path
	return res, nil
}

func (db *DB) backupSQLite(ctx context.Context, path, tmp string) (BackupResult, error) {
	if same, err := sameSQLiteFiles(db.source, path); err != nil || same {
		if err == nil {
			err = shopd.Errorf(shopd.EINVALID, "%s is the live store; write the backup to another file", path)
		}
		return BackupResult{}, err
	}
	// Created empty with owner-only permissions first (the copy holds
	// personal data); VACUUM INTO accepts an empty file.
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}
	f.Close()
	// VACUUM INTO reads the store in one read transaction, so the copy is
	// one snapshot while writers go on (WAL). It needs a connection of its
	// own: the read pool's query_only refuses it although it writes only
	// the new file.
	conn, err := sql.Open("sqlite", "file:"+db.source+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return BackupResult{}, err
	}
	_, err = conn.ExecContext(ctx, `VACUUM INTO $1`, tmp)
	conn.Close()
	if err != nil {
		return BackupResult{}, fmt.Errorf("backup: VACUUM INTO %s: %w", tmp, err)
	}
	snap, err := verifySQLiteFile(ctx, tmp)
	if err != nil {
		return BackupResult{}, fmt.Errorf("backup: the copy failed verification: %w", err)
	}
	if snap.Version == 0 {
		return BackupResult{}, shopd.Errorf(shopd.EINVALID, "%s has no shopd schema; nothing to back up", db.source)
	}
	st, err := os.Stat(tmp)
	if err != nil {
		return BackupResult{}, err
	}
	return BackupResult{Bytes: st.Size(), Snapshot: snap}, nil
}

// verifySQLiteFile opens a SQLite file that no one else uses, runs PRAGMA
// integrity_check and reads its Snapshot. It leaves no -wal or -shm files.
func verifySQLiteFile(ctx context.Context, path string) (Snapshot, error) {
	// journal_mode=DELETE: the file is a self-contained database with no
	// write-ahead log beside it (VACUUM INTO keeps the source's WAL flag).
	c, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(DELETE)")
	if err != nil {
		return Snapshot{}, err
	}
	defer func() {
		c.Close()
		os.Remove(path + "-wal")
		os.Remove(path + "-shm")
	}()
	c.SetMaxOpenConns(1)
	rows, err := c.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return Snapshot{}, shopd.TypedErrorf(shopd.EINVALID, errBadBackup, "%s is not a SQLite database: %v", path, err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return Snapshot{}, err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Snapshot{}, shopd.TypedErrorf(shopd.EINVALID, errBadBackup, "%s: integrity check: %v", path, err)
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], fmt.Sprintf("… %d more", len(problems)-5))
		}
		return Snapshot{}, shopd.TypedErrorf(shopd.EINVALID, errBadBackup, "%s failed PRAGMA integrity_check: %s", path, strings.Join(problems, "; "))
	}
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return Snapshot{}, err
	}
	defer tx.Rollback()
	return inspect(ctx, tx, SQLite)
}

func (db *DB) backupPostgres(ctx context.Context, tmp string) (BackupResult, error) {
	pgDump, err := pgTool(ctx, db, "pg_dump")
	if err != nil {
		return BackupResult{}, err
	}
	conn, err := db.read.Conn(ctx)
	if err != nil {
		return BackupResult{}, err
	}
	defer conn.Close()
	// pg_dump dumps the snapshot this transaction exports, and the counts
	// are read in it, so they are exactly the dump's.
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return BackupResult{}, err
	}
	defer tx.Rollback()
	var snapshotID string
	if err := tx.QueryRowContext(ctx, `SELECT pg_export_snapshot()`).Scan(&snapshotID); err != nil {
		return BackupResult{}, fmt.Errorf("backup: export snapshot: %w", err)
	}
	snap, err := inspect(ctx, tx, Postgres)
	if err != nil {
		return BackupResult{}, err
	}
	if snap.Version == 0 {
		return BackupResult{}, shopd.Errorf(shopd.EINVALID, "%s has no shopd schema; nothing to back up", db.source)
	}
	if _, err := runPGTool(ctx, db.pgURL, pgDump, "--format=custom", "--no-password", "--snapshot="+snapshotID, "--file="+tmp); err != nil {
		return BackupResult{}, err
	}
	if err := tx.Commit(); err != nil {
		return BackupResult{}, err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return BackupResult{}, err
	}
	// The archive must be readable by pg_restore and carry the schema version.
	if v, err := archiveVersion(ctx, tmp); err != nil {
		return BackupResult{}, fmt.Errorf("backup: the dump failed verification: %w", err)
	} else if v != snap.Version {
		return BackupResult{}, fmt.Errorf("backup: the dump holds migration %d, the snapshot %d", v, snap.Version)
	}
	if err := syncFile(tmp); err != nil {
		return BackupResult{}, err
	}
	st, err := os.Stat(tmp)
	if err != nil {
		return BackupResult{}, err
	}
	return BackupResult{Bytes: st.Size(), Snapshot: snap}, nil
}

// Restore restores the backup file from into the store named by url (as
// for Open), verifies it and applies the migrations the backup is missing.
// The store must be empty — never a live store:
//
//   - SQLite: the file must not exist, be empty, or hold no tables. The
//     backup is checked (PRAGMA integrity_check, schema version) on a copy
//     beside the target, which is then synced and renamed into place.
//   - PostgreSQL: the database must have no tables in its schema;
//     pg_restore --no-owner --no-acl --single-transaction loads it, so a
//     failed restore leaves the database empty again.
//
// It returns ECONFLICT "restore-target-not-empty" for a store with data or
// migrations, EINVALID "backup-invalid" for a file that is not a good
// backup of this engine, EINVALID "backup-schema-newer" for a backup from a
// newer shopd, and EUNAVAILABLE "backup-tool-missing" without pg_restore.
func Restore(ctx context.Context, url, from string, opts Options) (RestoreResult, error) {
	st, err := os.Stat(from)
	if err != nil {
		return RestoreResult{}, shopd.TypedErrorf(shopd.EINVALID, errBadBackup, "%v", err)
	}
	if !st.Mode().IsRegular() {
		return RestoreResult{}, shopd.TypedErrorf(shopd.EINVALID, errBadBackup, "%s is not a file", from)
	}
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return restorePostgres(ctx, url, from, opts)
	}
	return restoreSQLite(ctx, strings.TrimPrefix(url, "sqlite:"), from, opts)
}

func restoreSQLite(ctx context.Context, path, from string, opts Options) (RestoreResult, error) {
	if path == "" {
		return RestoreResult{}, errors.New("restore: empty SQLite path")
	}
	if same, err := sameSQLiteFiles(path, from); err != nil || same {
		if err == nil {
			err = shopd.TypedErrorf(shopd.ECONFLICT, errRestoreNotEmpty, "%s is the store itself", from)
		}
		return RestoreResult{}, err
	}
	if err := sqliteTargetEmpty(ctx, path); err != nil {
		return RestoreResult{}, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	tmp := path + ".restore.tmp"
	os.Remove(tmp)
	if err := copyFile(from, tmp); err != nil {
		os.Remove(tmp)
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	snap, err := verifySQLiteFile(ctx, tmp)
	if err == nil {
		err = checkVersion(SQLite, snap.Version, from)
	}
	if err == nil {
		// verifySQLiteFile switched the copy to a rollback journal; sync
		// that before it takes the store's name.
		err = syncFile(tmp)
	}
	if err != nil {
		os.Remove(tmp)
		return RestoreResult{}, err
	}
	// A stale -wal beside the target would be replayed into the restored
	// file; sqliteTargetEmpty made sure it holds nothing.
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
	if err := commitFile(tmp, path); err != nil {
		os.Remove(tmp)
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	return finishRestore(ctx, path, opts)
}

// sqliteTargetEmpty returns nil if path can take a restore: it does not
// exist, is empty, or is a database with no tables (nothing but a header).
func sqliteTargetEmpty(ctx context.Context, path string) error {
	notEmpty := func(what string) error {
		return shopd.TypedErrorf(shopd.ECONFLICT, errRestoreNotEmpty,
			"%s %s; restore only into an empty store (a new --data-dir, or stop shopd and move the old files away first)", path, what)
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if wal, err := os.Stat(path + "-wal"); err == nil && wal.Size() > 0 {
			return notEmpty("is gone but its write-ahead log " + filepath.Base(path) + "-wal is not (is a shopd process still running on it?)")
		}
		return nil
	case err != nil:
		return fmt.Errorf("restore: %w", err)
	case !st.Mode().IsRegular():
		return notEmpty("is not a regular file")
	case st.Size() == 0:
		if wal, err := os.Stat(path + "-wal"); err == nil && wal.Size() > 0 {
			return notEmpty("is empty but its write-ahead log " + filepath.Base(path) + "-wal is not (is a shopd process still running on it?)")
		}
		return nil
	}
	// Reading through SQLite sees what is still in the WAL, too.
	c, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		return err
	}
	defer c.Close()
	snap, err := inspect(ctx, c, SQLite)
	if err != nil {
		return notEmpty(fmt.Sprintf("exists and cannot be read as a shopd store (%v)", err))
	}
	if snap.Tables > 0 {
		return notEmpty(describeNonEmpty(snap))
	}
	return nil
}

func describeNonEmpty(s Snapshot) string {
	if s.Version > 0 {
		return fmt.Sprintf("has migrations applied (version %d) and holds %d orders, %d products, %d customers", s.Version, s.Orders, s.Products, s.Customers)
	}
	return fmt.Sprintf("has %d tables", s.Tables)
}

// checkVersion refuses a backup whose schema this binary does not know.
func checkVersion(d Dialect, v int64, from string) error {
	latest, err := LatestMigration(d)
	if err != nil {
		return err
	}
	switch {
	case v == 0:
		return shopd.TypedErrorf(shopd.EINVALID, errBadBackup, "%s holds no shopd schema (no applied migrations)", from)
	case v > latest:
		return shopd.TypedErrorf(shopd.EINVALID, errNewerSchema,
			"%s was taken at migration %d, newer than this shopd knows (%d); restore it with the shopd release that wrote it", from, v, latest)
	}
	return nil
}

// finishRestore opens the restored store, applies pending migrations and
// reads its Snapshot.
func finishRestore(ctx context.Context, url string, opts Options) (RestoreResult, error) {
	db, err := Open(ctx, url, opts)
	if err != nil {
		return RestoreResult{}, err
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("restore: the backup was restored but migrating it failed: %w", err)
	}
	if err := db.MigrationsCurrent(ctx); err != nil {
		return RestoreResult{}, err
	}
	snap, err := db.Inspect(ctx)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("restore: verify: %w", err)
	}
	return RestoreResult{Migrated: n, Snapshot: snap}, nil
}

func restorePostgres(ctx context.Context, url, from string, opts Options) (RestoreResult, error) {
	db, err := Open(ctx, url, opts)
	if err != nil {
		return RestoreResult{}, err
	}
	defer db.Close()
	pgRestore, err := pgTool(ctx, db, "pg_restore")
	if err != nil {
		return RestoreResult{}, err
	}
	v, err := archiveVersion(ctx, from)
	if err != nil {
		return RestoreResult{}, err
	}
	if err := checkVersion(Postgres, v, from); err != nil {
		return RestoreResult{}, err
	}
	var tables []string
	rows, err := db.read.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() ORDER BY table_name = 'goose_db_version' DESC, table_name LIMIT 4`)
	if err != nil {
		return RestoreResult{}, err
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return RestoreResult{}, err
		}
		tables = append(tables, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return RestoreResult{}, err
	}
	if len(tables) > 0 {
		what := "has tables (" + strings.Join(tables, ", ") + ")"
		if tables[0] == "goose_db_version" {
			if snap, err := db.Inspect(ctx); err == nil {
				what = describeNonEmpty(snap)
			}
		}
		return RestoreResult{}, shopd.TypedErrorf(shopd.ECONFLICT, errRestoreNotEmpty,
			"database %s %s; restore only into an empty database (createdb a new one and point --database-url at it)", db.source, what)
	}
	if _, err := runPGTool(ctx, db.pgURL, pgRestore, "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", "--no-password", from); err != nil {
		return RestoreResult{}, err
	}
	return finishRestore(ctx, url, opts)
}

// pgTool finds pg_dump or pg_restore on PATH, or says which package to
// install for the server's major version.
func pgTool(ctx context.Context, db *DB, name string) (string, error) {
	path, err := exec.LookPath(name)
	if err == nil {
		return path, nil
	}
	major := "MAJOR"
	var num int
	if db.read.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&num) == nil && num > 0 {
		major = strconv.Itoa(num / 10000)
	}
	return "", shopd.TypedErrorf(shopd.EUNAVAILABLE, errToolMissing,
		"%s is not on PATH: install the PostgreSQL %s client tools (Debian/Ubuntu: apt-get install postgresql-client-%s; Alpine: apk add postgresql%s-client; RHEL/Fedora: dnf install postgresql%s), or take backups with pgBackRest or WAL-G (see docs/operations.md)",
		name, major, major, major, major)
}

// pgURL is the store's URL as libpq takes it: on a PostgreSQL DB the URL
// Open was given, without the password (passed in PGPASSWORD, so it never
// shows in the process list) and without pgx-only parameters libpq rejects.
func (db *DB) pgURL() (string, []string, error) {
	if db.pool == nil {
		return "", nil, errors.New("not a PostgreSQL store")
	}
	return libpqURL(db.pool.Config().ConnString())
}

func libpqURL(raw string) (string, []string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, fmt.Errorf("bad PostgreSQL URL: %w", err)
	}
	var env []string
	if pw, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pw)
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") || k == "default_query_exec_mode" || k == "statement_cache_capacity" || k == "description_cache_capacity" {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), env, nil
}

// runPGTool runs pg_dump or pg_restore against the database and returns
// its standard output; a failure carries its standard error.
func runPGTool(ctx context.Context, pgURL func() (string, []string, error), tool string, args ...string) ([]byte, error) {
	u, env, err := pgURL()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, tool, append([]string{"--dbname=" + u}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %v: %s", filepath.Base(tool), err, strings.TrimSpace(lastLines(stderr.String(), 10)))
	}
	return stdout.Bytes(), nil
}

// archiveVersion reads the highest applied migration from the
// goose_db_version table of a pg_dump custom archive, without a database.
func archiveVersion(ctx context.Context, file string) (int64, error) {
	tool, err := exec.LookPath("pg_restore")
	if err != nil {
		return 0, shopd.TypedErrorf(shopd.EUNAVAILABLE, errToolMissing, "pg_restore is not on PATH: install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client)")
	}
	cmd := exec.CommandContext(ctx, tool, "--data-only", "--table=goose_db_version", "--file=-", file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return 0, shopd.TypedErrorf(shopd.EINVALID, errBadBackup, "%s is not a pg_dump archive of a shopd database: %s", file, strings.TrimSpace(lastLines(stderr.String(), 3)))
	}
	return parseGooseCopy(&stdout)
}

// parseGooseCopy finds the COPY block of goose_db_version in pg_restore's
// SQL output and returns the highest applied version_id.
func parseGooseCopy(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var versionCol, appliedCol = -1, -1
	inCopy, found := false, false
	var latest int64
	for sc.Scan() {
		line := sc.Text()
		if !inCopy {
			// COPY public.goose_db_version (id, version_id, is_applied, tstamp) FROM stdin;
			if !strings.HasPrefix(line, "COPY ") || !strings.Contains(line, "goose_db_version") {
				continue
			}
			open, close := strings.Index(line, "("), strings.Index(line, ")")
			if open < 0 || close < open {
				return 0, errors.New("unexpected COPY line in the archive: " + line)
			}
			for i, col := range strings.Split(line[open+1:close], ",") {
				switch strings.TrimSpace(col) {
				case "version_id":
					versionCol = i
				case "is_applied":
					appliedCol = i
				}
			}
			if versionCol < 0 || appliedCol < 0 {
				return 0, errors.New("goose_db_version in the archive lacks version_id or is_applied")
			}
			inCopy, found = true, true
			continue
		}
		if line == `\.` {
			inCopy = false
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) <= max(versionCol, appliedCol) {
			return 0, errors.New("short goose_db_version row in the archive")
		}
		v, err := strconv.ParseInt(f[versionCol], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("goose_db_version row in the archive: %w", err)
		}
		if f[appliedCol] == "t" && v > latest {
			latest = v
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if !found {
		return 0, shopd.TypedErrorf(shopd.EINVALID, errBadBackup, "the archive has no goose_db_version table: not a backup of a shopd database")
	}
	return latest, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// sameSQLiteFiles reports whether other is the SQLite store at path or one
// of its -wal and -shm files.
func sameSQLiteFiles(path, other string) (bool, error) {
	o, err := os.Stat(other)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if s, err := os.Stat(p); err == nil && os.SameFile(s, o) {
			return true, nil
		}
	}
	return false, nil
}

// copyFile copies src to a new file dst (owner-only permissions) and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	return errors.Join(err, f.Close())
}

// commitFile syncs tmp, renames it to path and syncs the directory, so that
// after a crash path is either the old file or the whole new one.
func commitFile(tmp, path string) error {
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	err = dir.Sync()
	return errors.Join(err, dir.Close())
}
