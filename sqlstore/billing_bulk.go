package sqlstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/shopd/shopd/subscription"
)

// bulkRows is how many rows one multi-row INSERT carries: 29 columns × 500
// stays under both engines' bound parameter limits (PostgreSQL 65,535,
// SQLite 32,766), and 5,000 rows make one transaction.
const (
	bulkRows   = 500
	bulkPerTx  = 5000
	subColumns = 29
)

// InsertSubscriptions stores many new subscriptions with multi-row INSERTs,
// a few thousand rows per transaction. It writes no outbox events: it is
// for seeding tests and benchmarks with due subscriptions, not for
// customers subscribing (CreateSubscription).
func (s *SubscriptionStore) InsertSubscriptions(ctx context.Context, subs []subscription.Subscription) error {
	for len(subs) > 0 {
		chunk := subs[:min(len(subs), bulkPerTx)]
		subs = subs[len(chunk):]
		err := s.db.InTx(ctx, func(tx *Tx) error {
			for rest := chunk; len(rest) > 0; {
				rows := rest[:min(len(rest), bulkRows)]
				rest = rest[len(rows):]
				args := make([]any, 0, len(rows)*subColumns)
				values := make([]string, len(rows))
				for i, sub := range rows {
					a, err := subscriptionArgs(sub)
					if err != nil {
						return err
					}
					ph := make([]string, len(a))
					for j := range a {
						// SQLite binds "?" by position; "$n" names cost it a lookup
						// per parameter over all the statement's names.
						ph[j] = "?"
						if tx.Dialect() == Postgres {
							ph[j] = "$" + strconv.Itoa(len(args)+j+1)
						}
					}
					values[i] = "(" + strings.Join(ph, ", ") + ")"
					args = append(args, a...)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (`+subscriptionColumns+`) VALUES `+strings.Join(values, ", "), args...); err != nil {
					return conflictOr(err, "subscription-exists", "A subscription with this ID exists.")
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// column is a column of a VALUES list and its PostgreSQL type (parameters
// in a VALUES list have no type of their own there).
type column struct{ name, typ string }

// placeholder returns the n-th (from 1) parameter's placeholder: "?" on
// SQLite, which binds by position ("$n" names cost it a lookup per
// parameter over all the statement's names), "$n" on PostgreSQL, cast to
// typ if not "".
func (tx *Tx) placeholder(n int, typ string) string {
	switch {
	case tx.Dialect() != Postgres:
		return "?"
	case typ != "":
		return "CAST($" + strconv.Itoa(n) + " AS " + typ + ")"
	}
	return "$" + strconv.Itoa(n)
}

// statementSizes are the row counts of bulk statements. A bulk statement's
// text depends on its row count; with a few fixed counts the texts repeat,
// so they stay prepared (SQLite's statement cache keeps texts up to
// maxCachedQuery characters; pgx caches by text, and prepares a new text
// with a round trip of its own), instead of being parsed anew each time.
var statementSizes = []int{256, 64, 16, 4, 1}

// chunkSizes splits n rows into statements of statementSizes rows, the
// largest that fit first. On SQLite a statement must fit the statement
// cache: prefix characters, then rows of columns "?" placeholders.
func (tx *Tx) chunkSizes(n, columns, prefix int) []int {
	var sizes []int
	for _, size := range statementSizes {
		if tx.Dialect() == SQLite && size > 1 && prefix+size*(3*columns+2) > maxCachedQuery {
			continue
		}
		for n >= size {
			sizes = append(sizes, size)
			n -= size
		}
	}
	return sizes
}

// chunks yields rows in chunks of chunkSizes.
func chunks[T any](tx *Tx, rows []T, columns, prefix int) func(yield func([]T) bool) {
	return func(yield func([]T) bool) {
		for _, n := range tx.chunkSizes(len(rows), columns, prefix) {
			if !yield(rows[:n]) {
				return
			}
			rows = rows[n:]
		}
	}
}

// rowValues renders rows as "(…), (…)" placeholders and their arguments.
func (tx *Tx) rowValues(rows [][]any, types []string) (string, []any) {
	var b strings.Builder
	var args []any
	for i, row := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j, v := range row {
			if j > 0 {
				b.WriteString(", ")
			}
			args = append(args, v)
			typ := ""
			if types != nil {
				typ = types[j]
			}
			b.WriteString(tx.placeholder(len(args), typ))
		}
		b.WriteByte(')')
	}
	return b.String(), args
}

// insertRows runs prefix ("INSERT INTO t (…) VALUES ") over rows, then
// suffix if any ("ON CONFLICT …"), up to 256 rows per statement.
func (tx *Tx) insertRows(ctx context.Context, prefix string, rows [][]any, suffix ...string) error {
	if len(rows) == 0 {
		return nil
	}
	end := strings.Join(suffix, " ")
	for chunk := range chunks(tx, rows, len(rows[0]), len(prefix)+len(end)) {
		values, args := tx.rowValues(chunk, nil)
		if _, err := tx.ExecContext(ctx, prefix+values+end, args...); err != nil {
			return err
		}
	}
	return nil
}
