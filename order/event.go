package order

import (
	"context"

	"github.com/shopd/shopd/event"
)

// AppendEvent appends an order event (the order as it now stands) to the
// outbox in the transaction that changed it.
func AppendEvent(ctx context.Context, tx event.Appender, typ string, o Order) error {
	e, err := event.New(typ, o.ID, o, o.UpdatedAt)
	if err != nil {
		return err
	}
	return tx.AppendEvent(ctx, e)
}
