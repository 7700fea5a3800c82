package order

import (
	"testing"

	"github.com/shopd/shopd"
)

// TestTransitions checks every pair of statuses against the lifecycle.
func TestTransitions(t *testing.T) {
	all := []Status{StatusPendingPayment, StatusPaid, StatusFulfilling, StatusShipped, StatusDelivered, StatusCanceled}
	legal := map[[2]Status]bool{
		{StatusPendingPayment, StatusPaid}: true, {StatusPendingPayment, StatusCanceled}: true,
		{StatusPaid, StatusFulfilling}: true, {StatusPaid, StatusCanceled}: true,
		{StatusFulfilling, StatusShipped}: true, {StatusFulfilling, StatusCanceled}: true,
		{StatusShipped, StatusDelivered}: true,
	}
	for _, from := range all {
		if !from.Valid() {
			t.Fatalf("%s not valid", from)
		}
		for _, to := range all {
			want := legal[[2]Status{from, to}]
			if got := from.CanBecome(to); got != want {
				t.Errorf("%s → %s: %v, want %v", from, to, got, want)
			}
			err := from.Transition(to)
			if want != (err == nil) || (err != nil && shopd.ErrorCode(err) != shopd.ECONFLICT) {
				t.Errorf("%s → %s: err %v", from, to, err)
			}
		}
	}
	if Status("lost").Valid() || Status("lost").CanBecome(StatusPaid) {
		t.Error("an unknown status is valid")
	}
}

func TestRefundStatus(t *testing.T) {
	for _, c := range []struct {
		paid, refunded int64
		want           RefundStatus
	}{{1000, 0, RefundNone}, {1000, 1, RefundPartial}, {1000, 999, RefundPartial}, {1000, 1000, RefundFull}, {0, 0, RefundNone}} {
		if got := RefundStatusFor(c.paid, c.refunded); got != c.want {
			t.Errorf("%d/%d: %s, want %s", c.paid, c.refunded, got, c.want)
		}
	}
}

func TestCheck(t *testing.T) {
	m := func(n int64, cur string) shopd.Money { return shopd.Money{Amount: n, Currency: cur} }
	// US: 2 × $24.00, $4.80 off, NY 4% on $43.20 = $1.73, shipping $5.99.
	us := func() Order {
		return Order{ID: "ord_us", TaxIncluded: false,
			Lines:    []Line{{Quantity: 2, UnitPrice: m(2400, "USD"), Subtotal: m(4800, "USD"), Discount: m(480, "USD"), Tax: m(173, "USD"), Total: m(4493, "USD")}},
			Subtotal: m(4800, "USD"), Discount: m(480, "USD"), Tax: m(173, "USD"), Shipping: m(599, "USD"), Total: m(5092, "USD")}
	}
	// BR: R$ 129,90 including 18% ICMS (R$ 19,82), free shipping.
	br := func() Order {
		return Order{ID: "ord_br", TaxIncluded: true,
			Lines:    []Line{{Quantity: 1, UnitPrice: m(12990, "BRL"), Subtotal: m(12990, "BRL"), Discount: m(0, "BRL"), Tax: m(1982, "BRL"), Total: m(12990, "BRL")}},
			Subtotal: m(12990, "BRL"), Discount: m(0, "BRL"), Tax: m(1982, "BRL"), Shipping: m(0, "BRL"), Total: m(12990, "BRL")}
	}
	for name, c := range map[string]struct {
		o  Order
		ok bool
	}{
		"us adds up":     {us(), true},
		"br adds up":     {br(), true},
		"us total off":   {func() Order { o := us(); o.Total.Amount++; return o }(), false},
		"us line off":    {func() Order { o := us(); o.Lines[0].Subtotal.Amount--; return o }(), false},
		"br tax added":   {func() Order { o := br(); o.Total.Amount += o.Tax.Amount; return o }(), false},
		"mixed currency": {func() Order { o := us(); o.Lines[0].Tax.Currency = "CAD"; return o }(), false},
		"zero quantity":  {func() Order { o := us(); o.Lines[0].Quantity = 0; return o }(), false},
	} {
		if err := c.o.Check(); (err == nil) != c.ok {
			t.Errorf("%s: %v", name, err)
		}
	}
}
