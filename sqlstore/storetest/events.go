package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/sqlstore"
)

func testEvents(t *testing.T, db *sqlstore.DB) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	mk := func(typ, subject string) event.Event {
		e, err := event.New(typ, subject, map[string]string{"id": subject}, now)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// An event commits with its transaction, or not at all.
	err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.AppendEvent(ctx, mk("order.created", "ord_1")); err != nil {
			return err
		}
		return errors.New("the change failed")
	})
	if err == nil {
		t.Fatal("expected the transaction to fail")
	}
	var want []event.Event
	for _, e := range []event.Event{mk("order.created", "ord_1"), mk("order.paid", "ord_1"), mk("inventory.low", "GLOW-30"), mk("orders.x", "z")} {
		if err := db.InTx(ctx, func(tx *sqlstore.Tx) error { return tx.AppendEvent(ctx, e) }); err != nil {
			t.Fatal(err)
		}
		want = append(want, e)
	}
	svc := event.NewService(db.Events())
	for _, c := range []struct {
		f    event.Filter
		want []int
	}{
		{event.Filter{Limit: 10}, []int{0, 1, 2, 3}},
		{event.Filter{Type: "order.", Limit: 10}, []int{0, 1}},
		{event.Filter{Type: "order.paid", Limit: 10}, []int{1}},
		{event.Filter{Subject: "ord_1", Limit: 10}, []int{0, 1}},
		{event.Filter{After: want[1].ID, Limit: 10}, []int{2, 3}},
		{event.Filter{Limit: 1}, []int{0}},
	} {
		got, err := svc.Events(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(c.want) {
			t.Fatalf("%+v: %d events, want %d", c.f, len(got), len(c.want))
		}
		for i, j := range c.want {
			if got[i].ID != want[j].ID || got[i].Type != want[j].Type || string(got[i].Data) != string(want[j].Data) || !got[i].CreatedAt.Equal(now) {
				t.Fatalf("%+v: event %d = %+v, want %+v", c.f, i, got[i], want[j])
			}
		}
	}
}
