package order

import (
	"context"

	"github.com/shopd/shopd/event"
)

// AppendEvent appends an order event (the order as it now stands) to the
// outbox in the transaction that changed it.
func AppendEvent(ctx context.Context, tx event.Appender, typ string, o Order) error {
	es, err := Events([]Order{o}, typ)
	if err != nil {
		return err
	}
	return tx.AppendEvent(ctx, es[0])
}

// Events returns the events of each order (as it now stands) of each type,
// in that order, for a transaction that appends many at once.
func Events(os []Order, types ...string) ([]event.Event, error) {
	es := make([]event.Event, 0, len(os)*len(types))
	for _, o := range os {
		for _, typ := range types {
			e, err := event.New(typ, o.ID, o, o.UpdatedAt)
			if err != nil {
				return nil, err
			}
			es = append(es, e)
		}
	}
	return es, nil
}
