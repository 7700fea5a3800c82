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
