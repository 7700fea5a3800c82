package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/payment"
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
var statementSizes = []int{256, 128, 64, 32, 16, 8, 4, 2, 1}

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

// inLists returns "($n, …)" for ids, numbered after the query's leading
// arguments lead, and the query's arguments: lead, then the IDs padded
// with the last one to one of statementSizes (a repeated ID changes
// nothing in an IN list), in lists of at most 256. On PostgreSQL a list of
// several is planned with its values (planEach).
func inLists(d Dialect, ids []string, lead ...any) func(yield func(string, []any) bool) {
	return func(yield func(string, []any) bool) {
		for chunk := range slices.Chunk(ids, statementSizes[0]) {
			size := statementSizes[0]
			for _, s := range statementSizes {
				if s >= len(chunk) {
					size = s
				}
			}
			in := make([]string, size)
			args := append(make([]any, 0, len(lead)+size), lead...)
			for i := range size {
				in[i] = "$" + strconv.Itoa(len(args)+1)
				args = append(args, chunk[min(i, len(chunk)-1)])
			}
			if size > 1 {
				args = d.planEach(args)
			}
			if !yield("("+strings.Join(in, ", ")+")", args) {
				return
			}
		}
	}
}

// inList is inLists for at most 256 IDs and no leading arguments.
func inList(d Dialect, ids []string) (string, []any) {
	for in, args := range inLists(d, ids) {
		return in, args
	}
	return "(NULL)", nil
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
		if err := tx.exec(ctx, nil, prefix+values+end, args...); err != nil {
			return err
		}
	}
	return nil
}

// valuesCTE returns "WITH name (columns) AS (VALUES …)" over rows and its
// arguments, for an UPDATE … FROM name that changes many rows with one
// statement (both engines run it).
func (tx *Tx) valuesCTE(name string, cols []column, rows [][]any) (string, []any) {
	names := make([]string, len(cols))
	types := make([]string, len(cols))
	for i, c := range cols {
		names[i], types[i] = c.name, c.typ
	}
	values, args := tx.rowValues(rows, types)
	return "WITH " + name + " (" + strings.Join(names, ", ") + ") AS (VALUES " + values + ")", args
}

// unindexed is col in a condition that must not choose an index: SQLite,
// which has no statistics on a VALUES list, would otherwise scan the list
// for every row of, say, payments by status (19 ms for 256 payments
// instead of 6, measured), rather than look each row up by its ID.
func (tx *Tx) unindexed(col string) string {
	if tx.Dialect() == SQLite {
		return "+" + col
	}
	return col
}

// qualified prefixes each of a comma-separated column list with table.
func qualified(table, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = table + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// lockIn returns the rows of read (a table's reader) whose IDs are in ids,
// locked for the transaction, in ID order: a query per few hundred IDs.
func lockIn[T any](ctx context.Context, tx *Tx, ids []string, read func(ctx context.Context, r Reader, where string, args ...any) ([]T, error)) ([]T, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var out []T
	for in, args := range inLists(tx.Dialect(), ids) {
		rows, err := read(ctx, tx, `WHERE id IN `+in+` ORDER BY id`+tx.Dialect().ForUpdate(), args...)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	if len(out) != len(ids) {
		return nil, shopd.TypedErrorf(shopd.ENOTFOUND, "not-found", "%d of %d rows not found.", len(ids)-len(out), len(ids))
	}
	return out, nil
}

// LockSubscriptions implements subscription.BillingTx.
func (tx *Tx) LockSubscriptions(ctx context.Context, ids []string) ([]subscription.Subscription, error) {
	subs, err := lockIn(ctx, tx, ids, readSubscriptions)
	if shopd.ErrorCode(err) == shopd.ENOTFOUND {
		return nil, errSubscriptionNotFound
	}
	return subs, err
}

// LockInvoices implements subscription.BillingTx.
func (tx *Tx) LockInvoices(ctx context.Context, ids []string) ([]subscription.Invoice, error) {
	invs, err := lockIn(ctx, tx, ids, readInvoices)
	if shopd.ErrorCode(err) == shopd.ENOTFOUND {
		return nil, errInvoiceNotFound
	}
	return invs, err
}

// invoiceUpdates are the columns billing changes of an invoice (with its ID).
var invoiceUpdates = []column{{"id", "TEXT"}, {"adjustment", "BIGINT"}, {"total", "BIGINT"}, {"status", "TEXT"}, {"attempts", "INTEGER"},
	{"first_failed_at", "BIGINT"}, {"next_attempt_at", "BIGINT"}, {"awaiting_method", "BOOLEAN"}, {"last_decline", "TEXT"},
	{"payment_id", "TEXT"}, {"order_id", "TEXT"}, {"updated_at", "BIGINT"}}

// subscriptionUpdates are the columns billing changes of a subscription
// (with its ID): never its customer, market, zone, interval, anchor,
// payment method or address.
var subscriptionUpdates = []column{{"id", "TEXT"}, {"plan_id", "TEXT"}, {"price", "BIGINT"}, {"kind", "TEXT"}, {"status", "TEXT"},
	{"trial_end", "BIGINT"}, {"period_index", "INTEGER"}, {"current_period_start", "BIGINT"}, {"current_period_end", "BIGINT"},
	{"next_period", "INTEGER"}, {"next_billing_at", "BIGINT"}, {"cancel_at_period_end", "BOOLEAN"}, {"canceled_at", "BIGINT"},
	{"paused_until", "BIGINT"}, {"skip_period", "INTEGER"}, {"pending_plan_id", "TEXT"}, {"pending_plan_price", "BIGINT"},
	{"adjustment", "BIGINT"}, {"updated_at", "BIGINT"}}

// SaveBilling implements subscription.BillingTx: one multi-row INSERT for
// the new invoices, one for the payments, one UPDATE … FROM (VALUES …) for
// the other invoices, one for the subscriptions and one INSERT for the
// events (per few hundred rows each).
func (tx *Tx) SaveBilling(ctx context.Context, changes []subscription.BillingChange, payments []payment.Payment) error {
	var invOrder, subOrder []string
	invs := map[string]subscription.Invoice{}
	isNew := map[string]bool{}
	subs := map[string]subscription.Subscription{}
	var events []event.Event
	for _, c := range changes {
		var e event.Event
		var err error
		switch {
		case c.Invoice != nil:
			inv := *c.Invoice
			if _, ok := invs[inv.ID]; !ok {
				invOrder = append(invOrder, inv.ID)
			}
			invs[inv.ID], isNew[inv.ID] = inv, isNew[inv.ID] || c.New
			if c.Event == "" {
				continue
			}
			e, err = event.New(c.Event, inv.ID, inv, inv.UpdatedAt)
		case c.Subscription != nil:
			s := *c.Subscription
			if _, ok := subs[s.ID]; !ok {
				subOrder = append(subOrder, s.ID)
			}
			subs[s.ID] = s
			if c.Event == "" {
				continue
			}
			s.PaymentMethod.Token = "" // events go to webhooks; the token stays here
			e, err = event.New(c.Event, s.ID, subscriptionEvent{Subscription: s, Change: c.Data}, s.UpdatedAt)
		default:
			continue
		}
		if err != nil {
			return err
		}
		events = append(events, e)
	}
	var inserts, updates, subRows [][]any
	for _, id := range invOrder {
		inv := invs[id]
		if isNew[id] {
			inserts = append(inserts, invoiceArgs(inv))
			continue
		}
		updates = append(updates, []any{inv.ID, inv.Adjustment.Amount, inv.Total.Amount, string(inv.Status), inv.Attempts,
			nullMicros(inv.FirstFailedAt), nullMicros(inv.NextAttemptAt), inv.AwaitingMethod, inv.LastDecline, inv.PaymentID,
			inv.OrderID, micros(inv.UpdatedAt)})
	}
	for _, id := range subOrder {
		s := subs[id]
		skip := sql.NullInt64{Int64: int64(s.SkipPeriod), Valid: s.SkipPeriod != subscription.NoPeriod}
		subRows = append(subRows, []any{s.ID, s.PlanID, s.Price.Amount, string(s.Kind), string(s.Status), nullMicros(s.TrialEnd),
			s.PeriodIndex, micros(s.CurrentPeriodStart), micros(s.CurrentPeriodEnd), s.NextPeriod, nullMicros(s.NextBillingAt),
			s.CancelAtPeriodEnd, nullMicros(s.CanceledAt), nullMicros(s.PausedUntil), skip, nullString(s.PendingPlanID),
			s.PendingPlanPrice.Amount, s.Adjustment.Amount, micros(s.UpdatedAt)})
	}
	// Nothing here reads: the writes go to the database together.
	return tx.Pipeline(ctx, func() error {
		err := tx.errorsMapped(func(err error) error {
			return conflictOr(err, "invoice-exists", "This subscription's period already has an invoice.")
		}, func() error {
			return tx.insertRows(ctx, `INSERT INTO invoices (`+invoiceColumns+`) VALUES `, inserts)
		})
		if err != nil {
			return err
		}
		if err := tx.InsertPayments(ctx, payments); err != nil {
			return err
		}
		if err := tx.updateRows(ctx, "invoices", invoiceUpdates, updates); err != nil {
			return err
		}
		err = tx.errorsMapped(func(err error) error {
			if isForeignKeyViolation(err) {
				return errPlanNotFound
			}
			return err
		}, func() error {
			return tx.updateRows(ctx, "subscriptions", subscriptionUpdates, subRows)
		})
		if err != nil {
			return err
		}
		return tx.AppendEvents(ctx, events)
	})
}

// updateRows sets cols[1:] of table's rows whose ID is cols[0] to rows'
// values, with one UPDATE per few hundred rows. Like every VALUES join it
// keeps PostgreSQL's generic plan. One made in a new database's first
// seconds may hash the list and scan the table (settling 16 payments:
// 1.0–1.6 ms a statement, 0.75 planned for its values), but parsing and
// planning the list on every run cost more: in drops alternated with and
// without, PostgreSQL's CPU per order was higher with it in every round
// (1.30 and 1.11 ms against 1.09 and 1.06 in the last; docs/BENCHMARKS.md).
func (tx *Tx) updateRows(ctx context.Context, table string, cols []column, rows [][]any) error {
	sets := make([]string, len(cols)-1)
	for i, c := range cols[1:] {
		sets[i] = c.name + " = v." + c.name
	}
	for chunk := range chunks(tx, rows, len(cols), 100+len(table)+30*len(cols)) {
		with, args := tx.valuesCTE("v", cols, chunk)
		if err := tx.exec(ctx, nil, with+` UPDATE `+table+` SET `+strings.Join(sets, ", ")+
			` FROM v WHERE `+table+`.id = v.id`, args...); err != nil {
			return err
		}
	}
	return nil
}
