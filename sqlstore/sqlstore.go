// Package sqlstore implements every domain Store of shopd on SQLite (the
// embedded default) and PostgreSQL (scale-out), with one set of SQL. The few
// differences between the engines live in dialect.go.
//
// Conventions: all SQL uses $1-style placeholders (both engines accept them);
// times are stored as BIGINT microseconds since the Unix epoch in UTC (exact,
// sortable and identical on both engines); JSON is stored as TEXT; every
// multi-statement change runs in one transaction through DB.InTx.
package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/shopd/shopd"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations
var migrations embed.FS

// DB is a shopd database on SQLite or PostgreSQL.
type DB struct {
	dialect Dialect
	write   *sql.DB // SQLite: a single connection, so writers never fight over the lock
	read    *sql.DB // SQLite: a pool of query-only connections; PostgreSQL: same as write
	pool    *pgxpool.Pool
	group   *txGroup // SQLite: the writer that commits transactions in groups
	clock   shopd.Clock
	source  string
	batch   coalesced // concurrent calls made one (coalesced.go)
}

// Options tune Open. The zero value is fine.
type Options struct {
	// Clock for timestamps written by the store; SystemClock if nil.
	Clock shopd.Clock
	// ReadConns is the size of the SQLite read pool; 2×GOMAXPROCS if zero.
	ReadConns int
	// CommitEach makes every SQLite write transaction commit alone instead
	// of sharing a commit with those waiting beside it (txgroup.go): slower,
	// for comparisons (the checkout benchmarks' unbatched path).
	CommitEach bool
}

// Open connects to the database named by url: "postgres://…" or
// "postgresql://…" for PostgreSQL, "sqlite:PATH" or a bare file path for
// SQLite (the file and its directory are created). It does not migrate.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	if opts.Clock == nil {
		opts.Clock = shopd.SystemClock{}
	}
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return openPostgres(ctx, url, opts)
	}
	return openSQLite(ctx, strings.TrimPrefix(url, "sqlite:"), opts)
}

func openPostgres(ctx context.Context, url string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: bad PostgreSQL URL: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgxpool's default (4 on 2 cores) lets only 4 transactions wait on
		// the disk at once, which starves PostgreSQL's commit batching: a
		// 6,000-shopper drop ran at 17 orders/s with 4 connections, 54 with
		// 32 (loadtest). 8 per core stays well inside max_connections (100)
		// with a few processes; set pool_max_conns in the URL to choose.
		cfg.MaxConns = int32(8 * runtime.GOMAXPROCS(0))
	}
	cfg.ConnConfig.Tracer = pgTracer{}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: connect to PostgreSQL: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	// database/sql must queue for a connection instead of blocking inside
	// pgxpool while its own idle list holds every pooled connection.
	db.SetMaxOpenConns(int(cfg.MaxConns))
	db.SetMaxIdleConns(int(cfg.MaxConns))
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("sqlstore: connect to PostgreSQL at %s: %w", redactURL(url), err)
	}
	out := &DB{dialect: Postgres, write: db, read: db, pool: pool, clock: opts.Clock, source: redactURL(url)}
	out.coalesceCalls()
	return out, nil
}

func openSQLite(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlstore: empty SQLite path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sqlstore: create data directory: %w", err)
	}
	// busy_timeout first so that the other pragmas wait for a lock instead of
	// failing; WAL lets readers run beside the writer; synchronous=NORMAL is
	// durable across process crashes in WAL mode (a power loss can lose the
	// last commits, never corrupt the file).
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)"
	write, err := openSQLiteDB("file:" + path + "?" + pragmas + "&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlstore: open SQLite %s: %w", path, err)
	}
	read, err := openSQLiteDB("file:" + path + "?" + pragmas + "&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, err
	}
	n := opts.ReadConns
	if n <= 0 {
		n = 2 * runtime.GOMAXPROCS(0)
	}
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxIdleTime(0)
	db := &DB{dialect: SQLite, write: write, read: read, clock: opts.Clock, source: path}
	if !opts.CommitEach {
		db.group = newTxGroup(db)
	}
	return db, nil
}

// Close closes all connections.
func (db *DB) Close() error {
	if db.group != nil {
		db.group.close()
	}
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if db.pool != nil {
		db.pool.Close()
	}
	return err
}

// Dialect returns the engine behind db.
func (db *DB) Dialect() Dialect { return db.dialect }

// Source describes where db lives (a file path or a URL without password).
func (db *DB) Source() string { return db.source }

// Now returns the store clock's time.
func (db *DB) Now() time.Time { return db.clock.Now() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return shopd.Errorf(shopd.EUNAVAILABLE, "database unreachable: %v", err)
	}
	return nil
}

// Pools returns the connection pools by name ("write" and "read" on
// SQLite, "main" on PostgreSQL), for metrics.
func (db *DB) Pools() map[string]*sql.DB {
	if db.read == db.write {
		return map[string]*sql.DB{"main": db.write}
	}
	return map[string]*sql.DB{"write": db.write, "read": db.read}
}

// Stats returns the pool statistics of the writer and reader pools.
func (db *DB) Stats() (write, read sql.DBStats) { return db.write.Stats(), db.read.Stats() }

func (db *DB) migrationProvider() (*goose.Provider, error) {
	dir, dialect := "migrations/sqlite", goose.DialectSQLite3
	var opts []goose.ProviderOption
	if db.dialect == Postgres {
		dir, dialect = "migrations/postgres", goose.DialectPostgres
		// Replicas starting together take turns (an advisory lock, let go
		// if a replica dies), checking for a turn every second for up to
		// 15 minutes (a CONCURRENTLY index of a large table).
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 900))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(dialect, db.write, sub, opts...)
}

// Migrate applies all pending migrations and returns how many it applied.
// Processes migrating one store at once (replicas starting together, the
// CLI) apply each migration once: on PostgreSQL they take turns; SQLite,
// which has no lock to wait for, has each migration fail cleanly (its
// transaction, which waits for the other's commit, finds the tables made)
// when another process applied it first, so a failure after which the
// store's version moved on is tried again.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	p, err := db.migrationProvider()
	if err != nil {
		return 0, err
	}
	version := func() int64 {
		v, err := p.GetDBVersion(ctx)
		if err != nil {
			return -1 // no version table yet
		}
		return v
	}
	applied := 0
	for {
		before := version()
		res, err := p.Up(ctx)
		if partial := (*goose.PartialError)(nil); errors.As(err, &partial) {
			res = partial.Applied
		}
		applied += len(res)
		if err == nil {
			return applied, nil
		}
		if version() <= before {
			return applied, fmt.Errorf("sqlstore: migrate: %w", err)
		}
	}
}

// MigrationsCurrent returns nil if every embedded migration is applied, or
// EUNAVAILABLE if some are pending.
func (db *DB) MigrationsCurrent(ctx context.Context) error {
	p, err := db.migrationProvider()
	if err != nil {
		return err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return shopd.Errorf(shopd.EUNAVAILABLE, "cannot read migration state: %v", err)
	}
	if pending {
		return shopd.Errorf(shopd.EUNAVAILABLE, "database migrations are pending; run `shopd migrate`")
	}
	return nil
}

// MigrationsHash identifies the embedded schema: a hash of every migration
// file compiled into this binary (tests name migrated template databases
// after it, so a binary never clones a template of another schema).
func MigrationsHash() string {
	h := sha256.New()
	fs.WalkDir(migrations, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(migrations, p)
			h.Write([]byte(p))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// redactURL hides a password in a database URL for logs and messages.
func redactURL(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return url
	}
	if user, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
		return scheme + "://" + user + ":xxxxx@" + host
	}
	return url
}
