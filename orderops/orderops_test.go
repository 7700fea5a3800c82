package orderops

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shopd/shopd"
)

// TestValidation: bad input is EINVALID with the offending field, checked
// before any storage is touched (the service here has none).
func TestValidation(t *testing.T) {
	s := NewService(nil, nil, shopd.NewTestClock(shopd.SystemClock{}.Now()))
	ctx := context.Background()
	line := func(id string, q int64) []LineQuantity { return []LineQuantity{{LineID: id, Quantity: q}} }
	long := strings.Repeat("x", 501)
	for _, tc := range []struct {
		name, field string
		run         func() error
	}{
		{"fulfill without warehouse", "warehouse", func() error { _, _, err := s.Fulfill(ctx, "ord_1", FulfillRequest{}); return err }},
		{"fulfill zero units", "lines[0].quantity", func() error {
			_, _, err := s.Fulfill(ctx, "ord_1", FulfillRequest{Warehouse: "east", Lines: line("oln_1", 0)})
			return err
		}},
		{"fulfill too many units", "lines[0].quantity", func() error {
			_, _, err := s.Fulfill(ctx, "ord_1", FulfillRequest{Warehouse: "east", Lines: line("oln_1", 1_000_001)})
			return err
		}},
		{"fulfill a line twice", "lines[1].line_id", func() error {
			_, _, err := s.Fulfill(ctx, "ord_1", FulfillRequest{Warehouse: "east", Lines: append(line("oln_1", 1), line("oln_1", 1)...)})
			return err
		}},
		{"fulfill without line ID", "lines[0].line_id", func() error {
			_, _, err := s.Fulfill(ctx, "ord_1", FulfillRequest{Warehouse: "east", Lines: line("", 1)})
			return err
		}},
		{"fulfill 101 lines", "lines", func() error {
			ls := make([]LineQuantity, 101)
			for i := range ls {
				ls[i] = LineQuantity{LineID: "oln_" + itoa(i), Quantity: 1}
			}
			_, _, err := s.Fulfill(ctx, "ord_1", FulfillRequest{Warehouse: "east", Lines: ls})
			return err
		}},
		{"long tracking number", "tracking_number", func() error {
			_, _, err := s.Fulfill(ctx, "ord_1", FulfillRequest{Warehouse: "east", TrackingNumber: long})
			return err
		}},
		{"long carrier", "carrier", func() error {
			_, _, err := s.Fulfill(ctx, "ord_1", FulfillRequest{Warehouse: "east", Carrier: long})
			return err
		}},
		{"return without lines", "lines", func() error { _, _, err := s.Return(ctx, "ord_1", ReturnRequest{Warehouse: "east"}); return err }},
		{"return without warehouse", "warehouse", func() error { _, _, err := s.Return(ctx, "ord_1", ReturnRequest{Lines: line("oln_1", 1)}); return err }},
		{"return negative units", "lines[0].quantity", func() error {
			_, _, err := s.Return(ctx, "ord_1", ReturnRequest{Warehouse: "east", Lines: line("oln_1", -1)})
			return err
		}},
		{"return long reason", "reason", func() error {
			_, _, err := s.Return(ctx, "ord_1", ReturnRequest{Warehouse: "east", Lines: line("oln_1", 1), Reason: long})
			return err
		}},
		{"cancel long reason", "reason", func() error { _, err := s.Cancel(ctx, "ord_1", long, ""); return err }},
		{"refund zero", "amount.amount", func() error { _, err := s.Refund(ctx, "ord_1", shopd.Money{Currency: "USD"}, ""); return err }},
		{"refund negative", "amount.amount", func() error {
			_, err := s.Refund(ctx, "ord_1", shopd.Money{Amount: -5, Currency: "USD"}, "")
			return err
		}},
		{"refund too much", "amount.amount", func() error {
			_, err := s.Refund(ctx, "ord_1", shopd.Money{Amount: 1_000_000_000_001, Currency: "USD"}, "")
			return err
		}},
		{"refund long reason", "reason", func() error {
			_, err := s.Refund(ctx, "ord_1", shopd.Money{Amount: 5, Currency: "USD"}, long)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e *shopd.Error
			if err := tc.run(); !errors.As(err, &e) || e.Code != shopd.EINVALID {
				t.Fatalf("error %v, want EINVALID", err)
			}
			for _, f := range e.Fields {
				if f.Field == tc.field {
					return
				}
			}
			t.Fatalf("fields %+v, want one on %s", e.Fields, tc.field)
		})
	}
}

// TestUnknownOrder: an ID that is not an order's is ENOTFOUND without a
// lookup.
func TestUnknownOrder(t *testing.T) {
	s := NewService(nil, nil, shopd.NewTestClock(shopd.SystemClock{}.Now()))
	ctx := context.Background()
	for name, run := range map[string]func() error{
		"fulfill": func() error { _, _, err := s.Fulfill(ctx, "prd_1", FulfillRequest{Warehouse: "east"}); return err },
		"deliver": func() error { _, err := s.Deliver(ctx, "x"); return err },
		"cancel":  func() error { _, err := s.Cancel(ctx, "", "", ""); return err },
		"return": func() error {
			_, _, err := s.Return(ctx, "cus_1", ReturnRequest{Warehouse: "east", Lines: []LineQuantity{{LineID: "oln_1", Quantity: 1}}})
			return err
		},
		"refund": func() error {
			_, err := s.Refund(ctx, "ref_1", shopd.Money{Amount: 5, Currency: "USD"}, "")
			return err
		},
		"list": func() error { _, err := s.Fulfillments(ctx, "ful_1"); return err },
	} {
		var e *shopd.Error
		if err := run(); !errors.As(err, &e) || e.Code != shopd.ENOTFOUND || e.Type != "order-not-found" {
			t.Errorf("%s: %v, want ENOTFOUND order-not-found", name, err)
		}
	}
}
