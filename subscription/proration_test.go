package subscription_test

import (
	"errors"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/subscription"
)

func TestProrate(t *testing.T) {
	ny := zone(t, "America/New_York")
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	usd := func(a int64) shopd.Money { return shopd.Money{Amount: a, Currency: "USD"} }
	jpy := func(a int64) shopd.Money { return shopd.Money{Amount: a, Currency: "JPY"} }
	for _, c := range []struct {
		name                string
		old, new            shopd.Money
		start, end, at      time.Time
		credit, charge, net int64
	}{
		{"upgrade with 20 of 30 days left", usd(3000), usd(4500), jan, jan.Add(30 * day), jan.Add(10 * day), 2000, 3000, 1000},
		{"downgrade nets a credit", usd(4500), usd(3000), jan, jan.Add(30 * day), jan.Add(10 * day), 3000, 2000, -1000},
		{"at the start: all of both prices", usd(3000), usd(4500), jan, jan.Add(30 * day), jan, 3000, 4500, 1500},
		// 101 × ½ = 50.5 → 51 and 303 × ½ = 151.5 → 152: halves round up.
		{"halves round up", usd(101), usd(303), jan, jan.Add(2 * day), jan.Add(day), 51, 152, 101},
		// 1000 × ⅓ = 333.3 → 333 and 2000 × ⅓ = 666.7 → 667.
		{"thirds", usd(1000), usd(2000), jan, jan.Add(3 * day), jan.Add(2 * day), 333, 667, 334},
		// ¥1000 × 10/31 = 322.58 → 323 and ¥1500 × 10/31 = 483.87 → 484.
		{"yen has no minor unit", jpy(1000), jpy(1500), jan, jan.Add(31 * day), jan.Add(21 * day), 323, 484, 161},
		{"yen at a half", jpy(999), jpy(1001), jan, jan.Add(2 * day), jan.Add(day), 500, 501, 1},
		// March 2026 in New York is 743 hours; 384 of them are left at
		// midnight on the 16th: 7430 × 384/743 = 3840 exactly.
		{"a month an hour short for DST", usd(7430), usd(0),
			time.Date(2026, 3, 1, 0, 0, 0, 0, ny), time.Date(2026, 4, 1, 0, 0, 0, 0, ny), time.Date(2026, 3, 16, 0, 0, 0, 0, ny), 3840, 0, -3840},
		{"from free", usd(0), usd(2999), jan, jan.Add(30 * day), jan.Add(15 * day), 0, 1500, 1500},
		{"one microsecond in", usd(1_000_000), usd(2_000_000), jan, jan.Add(time.Second), jan.Add(time.Microsecond), 999_999, 1_999_998, 999_999},
		{"the last microsecond", usd(1_000_000), usd(2_000_000), jan, jan.Add(time.Second), jan.Add(time.Second - time.Microsecond), 1, 2, 1},
		// 128-bit arithmetic: 10^15 × (half of five years in µs) does not overflow.
		{"large amounts over five years", usd(1e15), usd(3e15), jan, jan.AddDate(5, 0, 0), jan.Add(jan.AddDate(5, 0, 0).Sub(jan) / 2), 5e14, 15e14, 10e14},
	} {
		got, err := subscription.Prorate(c.old, c.new, c.start, c.end, c.at)
		want := subscription.Proration{
			Credit: shopd.Money{Amount: c.credit, Currency: c.old.Currency},
			Charge: shopd.Money{Amount: c.charge, Currency: c.old.Currency},
			Net:    shopd.Money{Amount: c.net, Currency: c.old.Currency},
		}
		if err != nil || got != want {
			t.Errorf("%s: Prorate = %+v, %v; want %+v", c.name, got, err, want)
		}
	}
}

func TestProrateErrors(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	feb := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	usd := shopd.Money{Amount: 1000, Currency: "USD"}
	if _, err := subscription.Prorate(usd, shopd.Money{Amount: 1000, Currency: "EUR"}, jan, feb, jan); !errors.Is(err, shopd.ErrCurrencyMismatch) {
		t.Errorf("USD to EUR: %v, want ErrCurrencyMismatch", err)
	}
	for _, c := range []struct {
		name           string
		old, new       shopd.Money
		start, end, at time.Time
		field          string
	}{
		{"at the end", usd, usd, jan, feb, feb, "at"},
		{"after the end", usd, usd, jan, feb, feb.Add(time.Hour), "at"},
		{"before the start", usd, usd, jan, feb, jan.Add(-time.Nanosecond), "at"},
		{"empty period", usd, usd, jan, jan, jan, "end"},
		{"end before start", usd, usd, feb, jan, jan, "end"},
		{"shorter than a microsecond", usd, usd, jan, jan.Add(999 * time.Nanosecond), jan, "end"},
		{"negative old price", shopd.Money{Amount: -1, Currency: "USD"}, usd, jan, feb, jan, "old_price"},
		{"negative new price", usd, shopd.Money{Amount: -1, Currency: "USD"}, jan, feb, jan, "new_price"},
	} {
		p, err := subscription.Prorate(c.old, c.new, c.start, c.end, c.at)
		var e *shopd.Error
		if !errors.As(err, &e) || e.Code != shopd.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != c.field {
			t.Errorf("%s: Prorate = %+v, %v; want EINVALID on %s", c.name, p, err, c.field)
		}
	}
}
