package loadtest

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoadtestRenewalTally counts invoices and the ledger's charges: an
// invoice charged twice and a period paid by two invoices are double
// charges, a paid invoice without a charge is uncharged, and charges for
// other references are not the run's.
func TestLoadtestRenewalTally(t *testing.T) {
	inv := func(id, sub string, period int, status, order string) invoice {
		return invoice{ID: id, SubscriptionID: sub, Period: period, Status: status, OrderID: order}
	}
	ch := func(refs ...string) []charge {
		var out []charge
		for _, r := range refs {
			out = append(out, charge{Reference: r})
		}
		return out
	}
	for _, c := range []struct {
		name    string
		invs    []invoice
		charges []charge
		want    Renewals
	}{
		{"clean", []invoice{inv("inv_1", "sub_1", 0, "paid", "ord_1"), inv("inv_2", "sub_2", 0, "paid", "ord_2")},
			ch("inv_1", "inv_2", "ord_9", "inv_other"),
			Renewals{Invoices: 2, InvoicesPaid: 2, Orders: 2, ChargesCaptured: 2}},
		{"charged twice", []invoice{inv("inv_1", "sub_1", 0, "paid", "ord_1"), inv("inv_2", "sub_2", 0, "paid", "ord_2")},
			ch("inv_1", "inv_1", "inv_2"),
			Renewals{Invoices: 2, InvoicesPaid: 2, Orders: 2, ChargesCaptured: 3, DoubleCharges: 1}},
		{"period paid twice", []invoice{inv("inv_1", "sub_1", 0, "paid", "ord_1"), inv("inv_2", "sub_1", 0, "paid", "ord_2"), inv("inv_3", "sub_1", 1, "paid", "")},
			ch("inv_1", "inv_2", "inv_3"),
			Renewals{Invoices: 3, InvoicesPaid: 3, Orders: 2, ChargesCaptured: 3, DoubleCharges: 1}},
		{"uncharged, open and void", []invoice{inv("inv_1", "sub_1", 0, "paid", "ord_1"), inv("inv_2", "sub_2", 0, "open", ""), inv("inv_3", "sub_3", 0, "void", "")},
			nil,
			Renewals{Invoices: 3, InvoicesPaid: 1, InvoicesOpen: 1, InvoicesVoid: 1, Orders: 1, UnchargedInvoices: 1}},
	} {
		var got Renewals
		got.tally(c.invs, c.charges)
		if got != c.want {
			t.Errorf("%s: %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

// TestLoadtestParallel: every index runs once; after an error the calls
// not begun are skipped and the first error is returned.
func TestLoadtestParallel(t *testing.T) {
	var calls atomic.Int64
	seen := make([]atomic.Int64, 500)
	if err := parallel(t.Context(), 500, 7, func(_ context.Context, i int) error {
		calls.Add(1)
		seen[i].Add(1)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := range seen {
		if seen[i].Load() != 1 {
			t.Fatalf("index %d ran %d times", i, seen[i].Load())
		}
	}
	calls.Store(0)
	boom := errors.New("boom")
	err := parallel(t.Context(), 10_000, 4, func(_ context.Context, i int) error {
		calls.Add(1)
		if i == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls.Load() >= 10_000 {
		t.Errorf("error %v after %d calls; want boom, early", err, calls.Load())
	}
}

// TestLoadtestValidateScenarios: the renewals and mixed scenarios check
// their own flags.
func TestLoadtestValidateScenarios(t *testing.T) {
	base := Config{Target: "http://127.0.0.1:1", AdminKey: "k", Connections: 4, Timeout: time.Second, Rate: 10, Duration: time.Second,
		Shoppers: 10, Stock: 5, Patience: time.Second, Subscriptions: 3}
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string // "" for valid
	}{
		{"renewals", func(c *Config) { c.Scenario = "renewals" }, ""},
		{"renewals without stock", func(c *Config) { c.Scenario, c.Stock = "renewals", 0 }, ""},
		{"renewals without subscriptions", func(c *Config) { c.Scenario, c.Subscriptions = "renewals", 0 }, "--subscriptions must be from 1"},
		{"renewals without rate", func(c *Config) { c.Scenario, c.Rate = "renewals", 0 }, "--rate"},
		{"mixed", func(c *Config) { c.Scenario = "mixed" }, ""},
		{"mixed without renewals", func(c *Config) { c.Scenario, c.Subscriptions = "mixed", 0 }, ""},
		{"mixed, negative", func(c *Config) { c.Scenario, c.Subscriptions = "mixed", -1 }, "--subscriptions must be from 0"},
		{"mixed without shoppers", func(c *Config) { c.Scenario, c.Shoppers = "mixed", 0 }, "--shoppers"},
		{"mixed without stock", func(c *Config) { c.Scenario, c.Stock = "mixed", 0 }, "--stock must be from 1"},
		{"mixed without duration", func(c *Config) { c.Scenario, c.Duration = "mixed", 0 }, "--duration"},
		{"box plan", func(c *Config) { c.Scenario, c.PlanKind = "renewals", "box" }, ""},
		{"unknown plan kind", func(c *Config) { c.Scenario, c.PlanKind = "mixed", "crate" }, `--plan-kind must be replenishment or box, not "crate"`},
	} {
		cfg := base
		c.edit(&cfg)
		err := cfg.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v; want %q", c.name, err, c.want)
		}
	}
}
