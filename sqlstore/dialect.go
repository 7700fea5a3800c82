package sqlstore

import (
	"errors"
	"iter"
	"slices"
	"strconv"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopd/shopd"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names a database engine. The SQL text is shared; this file holds
// what differs between the engines.
type Dialect int

// The engines shopd runs on.
const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// ForUpdate is the row-lock clause for a SELECT inside a write transaction.
// SQLite has one writer at a time, so it needs none.
func (d Dialect) ForUpdate() string {
	if d == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// ForUpdateOf is ForUpdate for a SELECT that joins tables: it locks the
// rows of the table (alias) only.
func (d Dialect) ForUpdateOf(table string) string {
	if d == Postgres {
		return " FOR UPDATE OF " + table
	}
	return ""
}

// SkipLocked is the row-lock clause that lets concurrent workers share a
// queue. SQLite has one writer, so it needs none.
func (d Dialect) SkipLocked() string {
	if d == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// SkipLockedOf is SkipLocked for the rows of one table of a join.
func (d Dialect) SkipLockedOf(table string) string {
	if d == Postgres {
		return " FOR UPDATE OF " + table + " SKIP LOCKED"
	}
	return ""
}

// planEach returns the arguments of a query that PostgreSQL must plan for
// the values it runs with. pgx prepares each query text once per
// connection, and after five runs PostgreSQL may keep a generic plan made
// without the values. For an IN list planned while its table was small
// that is a sequential scan, kept as the table grows until it is next
// analyzed: on a new database, in a 10-second hot-SKU benchmark, 32
// idempotency keys took 13 ms to look up among 4,000 and batched checkouts
// ran at about a third of their speed. With pgx's QueryExecModeCacheDescribe the query goes with its
// values and is planned for them on every run.
func (d Dialect) planEach(args []any) []any {
	if d == Postgres {
		return append([]any{pgx.QueryExecModeCacheDescribe}, args...)
	}
	return args
}

// ChildJoin is the LEFT JOIN of a parent's child rows (cart lines of carts,
// order lines of orders) for a read of a few parents by key: alias's rows of
// table whose column fk equals parent. It must be index lookups per parent
// whatever the statistics say. PostgreSQL plans a plain join from them, and a
// table never analyzed (a new shop, a drop's first minute: autovacuum looks
// at a database once a minute) is assumed to hold 200 rows per key, so a
// batch of 16 carts hashed all of cart_lines: 7.6 ms among 30,000 rows where
// the lookups take 0.3 ms, and a third of PostgreSQL's time in a drop
// (docs/BENCHMARKS.md). A LATERAL subquery with OFFSET 0 is not flattened
// into the join, so it runs per parent with its index. SQLite plans joins
// as nested loops anyway.
func (d Dialect) ChildJoin(table, alias, fk, parent string) string {
	if d == Postgres {
		return " LEFT JOIN LATERAL (SELECT * FROM " + table + " WHERE " + fk + " = " + parent + " OFFSET 0) " +
			alias + " ON true"
	}
	return " LEFT JOIN " + table + " " + alias + " ON " + alias + "." + fk + " = " + parent
}

// rowsWithKeys yields the FROM item and arguments of a read of table's
// rows (as alias) whose column col, not unique by itself, is one of keys:
// one statement on PostgreSQL, one per 256 keys on SQLite. PostgreSQL estimates a column
// without statistics to hold 200 rows per value (0.5 %) and 256 of them
// all the table, so a table never analyzed (a new shop, a drop's first
// minute) was scanned whole for an IN list: idempotency keys, looked up
// 256 at a time, took 2.8 ms a lookup on average and 40 % of PostgreSQL's
// statement time in a 5-second hot-SKU benchmark (docs/BENCHMARKS.md).
// There each key is looked up alone through a LATERAL subquery that
// OFFSET 0 keeps from being flattened, once per distinct key, planned for
// the table as it is (planEach). A FOR UPDATE OF alias then locks each
// key's rows as it reads them, keys in sorted order. SQLite reads an IN
// list by its index anyway.
func rowsWithKeys(d Dialect, table, alias, col string, keys []string) iter.Seq2[string, []any] {
	if d == Postgres {
		return func(yield func(string, []any) bool) {
			if len(keys) == 0 {
				return
			}
			yield(`unnest($1::text[]) AS wanted(key) CROSS JOIN LATERAL (SELECT * FROM `+table+` WHERE `+col+
				` = wanted.key OFFSET 0) `+alias, d.planEach([]any{slices.Compact(slices.Sorted(slices.Values(keys)))}))
		}
	}
	return func(yield func(string, []any) bool) {
		for in, args := range inLists(d, keys) {
			if !yield(`(SELECT * FROM `+table+` WHERE `+col+` IN `+in+`) `+alias, args) {
				return
			}
		}
	}
}

// isUniqueViolation reports whether err is a unique or primary-key violation,
// by typed driver codes, never by message text.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == pgerrcode.UniqueViolation
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isForeignKeyViolation reports whether err is a foreign-key violation.
func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == pgerrcode.ForeignKeyViolation
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// isRetryable reports whether a transaction failed only because of
// contention and can safely run again: PostgreSQL serialization failures and
// deadlocks, SQLite busy or locked.
func isRetryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == pgerrcode.SerializationFailure || pe.Code == pgerrcode.DeadlockDetected
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff // primary result code
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// conflictOr turns a unique violation into an ECONFLICT error with the given
// type and message, and returns any other error unchanged.
func conflictOr(err error, typ, msg string) error {
	if isUniqueViolation(err) {
		return shopd.TypedErrorf(shopd.ECONFLICT, typ, "%s", msg)
	}
	return err
}

// Param returns the placeholder of the n-th (1-based) argument of a
// statement whose placeholders appear in argument order, each once — as in
// generated bulk inserts. Hand-written SQL uses $n, which both engines accept.
// Statements with thousands of parameters must use Param: SQLite looks up
// both $n and ?n in a list by linear search, which makes a 30,000-parameter
// statement quadratic (measured: 4 s and 2.3 s), while a bare ? is a plain
// index (38 ms).
func (d Dialect) Param(n int) string {
	if d == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}
