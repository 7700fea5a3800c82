package shopd_test

import (
	"math"
	"testing"

	"github.com/shopd/shopd"
)

func usd(n int64) shopd.Money { return shopd.Money{Amount: n, Currency: "USD"} }

func TestMoneyArithmetic(t *testing.T) {
	if got, err := usd(1999).Add(usd(1)); err != nil || got != usd(2000) {
		t.Fatalf("add = %v, %v", got, err)
	}
	if got, err := usd(1999).Sub(usd(2000)); err != nil || got != usd(-1) {
		t.Fatalf("sub = %v, %v", got, err)
	}
	if got, err := usd(1999).Mul(3); err != nil || got != usd(5997) {
		t.Fatalf("mul = %v, %v", got, err)
	}
	if _, err := usd(1).Add(shopd.Money{Amount: 1, Currency: "BRL"}); err != shopd.ErrCurrencyMismatch {
		t.Fatalf("mixed currencies: %v", err)
	}
	for _, f := range []func() (shopd.Money, error){
		func() (shopd.Money, error) { return usd(math.MaxInt64).Add(usd(1)) },
		func() (shopd.Money, error) { return usd(math.MinInt64).Add(usd(-1)) },
		func() (shopd.Money, error) { return usd(0).Sub(usd(math.MinInt64)) },
		func() (shopd.Money, error) { return usd(math.MaxInt64 / 2).Mul(3) },
		func() (shopd.Money, error) { return usd(-1).Mul(math.MinInt64) },
	} {
		if _, err := f(); err != shopd.ErrOverflow {
			t.Errorf("overflow not detected: %v", err)
		}
	}
	if s, err := shopd.Sum("INR", shopd.Money{Amount: 9900, Currency: "INR"}, shopd.Money{Amount: 1, Currency: "INR"}); err != nil || s.Amount != 9901 {
		t.Fatalf("sum = %v, %v", s, err)
	}
	if _, err := shopd.NewMoney(1, "XYZ"); shopd.ErrorCode(err) != shopd.EINVALID {
		t.Fatalf("unknown currency: %v", err)
	}
}

func TestMoneyStringAndFormat(t *testing.T) {
	for _, c := range []struct {
		m              shopd.Money
		locale, str, f string
	}{
		{usd(1999), "en-US", "19.99 USD", "$19.99"},
		{usd(-5), "en-US", "-0.05 USD", "-$0.05"},
		{shopd.Money{Amount: 1999, Currency: "CAD"}, "fr-CA", "19.99 CAD", "19,99\u00a0$"},
		{shopd.Money{Amount: 123456, Currency: "BRL"}, "pt-BR", "1234.56 BRL", "R$\u00a01.234,56"},
		{shopd.Money{Amount: 12345678, Currency: "INR"}, "en-IN", "123456.78 INR", "₹1,23,456.78"},
		{shopd.Money{Amount: 500, Currency: "JPY"}, "ja-JP", "500 JPY", "￥500"},
	} {
		if got := c.m.String(); got != c.str {
			t.Errorf("String(%v) = %q, want %q", c.m, got, c.str)
		}
		if got := c.m.Format(c.locale); got != c.f {
			t.Errorf("Format(%v, %s) = %q, want %q", c.m, c.locale, got, c.f)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, c := range []struct {
		in   string
		want shopd.Rate
		ok   bool
	}{
		{"13", 130000, true}, {"9.975", 99750, true}, {"0.5", 5000, true}, {"100", 1000000, true},
		{"0", 0, true}, {"7.25", 72500, true}, {"18.0000", 180000, true},
		{"100.0001", 0, false}, {"-1", 0, false}, {"+1", 0, false}, {"1.00001", 0, false},
		{"", 0, false}, {"abc", 0, false}, {"1e2", 0, false}, {".5", 0, false}, {"1000", 0, false},
	} {
		got, err := shopd.ParseRate(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d, ok=%v", c.in, got, err, c.want, c.ok)
		}
		if c.ok {
			back, _ := shopd.ParseRate(got.Percent())
			if back != got {
				t.Errorf("Percent round trip of %q: %q", c.in, got.Percent())
			}
		}
	}
	if got := shopd.Rate(99750).Percent(); got != "9.975" {
		t.Errorf("Percent = %q", got)
	}
}

func TestTaxRounding(t *testing.T) {
	r13, _ := shopd.ParseRate("13")
	r5, _ := shopd.ParseRate("5")
	r18, _ := shopd.ParseRate("18")
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		// 5% of 10 cents is exactly 0.5 cent: half-up → 1, half-even → 0.
		{"half-up .5", shopd.TaxOn(usd(10), r5, shopd.RoundHalfUp).Amount, 1},
		{"half-even .5 to even 0", shopd.TaxOn(usd(10), r5, shopd.RoundHalfEven).Amount, 0},
		{"half-even 1.5 to even 2", shopd.TaxOn(usd(30), r5, shopd.RoundHalfEven).Amount, 2},
		{"13% of 19.99", shopd.TaxOn(usd(1999), r13, shopd.RoundHalfUp).Amount, 260}, // 259.87
		{"negative (refund) rounds symmetrically", shopd.TaxOn(usd(-10), r5, shopd.RoundHalfUp).Amount, -1},
		// R$ 118,00 including 18% holds R$ 18,00 of tax.
		{"inclusive 18%", shopd.TaxIn(shopd.Money{Amount: 11800, Currency: "BRL"}, r18, shopd.RoundHalfUp).Amount, 1800},
		// ₹ 999 including 18%: 999 × 18 / 118 = 152.389… → 152.39
		{"inclusive 18% of 999.00", shopd.TaxIn(shopd.Money{Amount: 99900, Currency: "INR"}, r18, shopd.RoundHalfUp).Amount, 15239},
		{"large amounts exact", shopd.MulDiv(math.MaxInt64/2, 2, 2, shopd.RoundHalfUp), math.MaxInt64 / 2},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestIDs(t *testing.T) {
	a, b := shopd.NewID("ord"), shopd.NewID("ord")
	if !shopd.HasIDPrefix(a, "ord") || shopd.HasIDPrefix(a, "prd") || len(a) != 30 {
		t.Fatalf("id %q", a)
	}
	if a >= b {
		t.Fatalf("ids not increasing: %s then %s", a, b)
	}
	s := shopd.NewSecret("sk")
	if len(s) != 3+52 || shopd.HashSecret(s) == shopd.HashSecret(shopd.NewSecret("sk")) || len(shopd.HashSecret(s)) != 64 {
		t.Fatalf("secret %q", s)
	}
}

func TestValidation(t *testing.T) {
	var v shopd.Validation
	if v.Err() != nil {
		t.Fatal("empty validation has an error")
	}
	v.Check(false, "name", "required")
	v.Addf("price", "must be ≥ %d", 0)
	err := v.Err()
	if shopd.ErrorCode(err) != shopd.EINVALID || len(err.(*shopd.Error).Fields) != 2 {
		t.Fatalf("err = %v", err)
	}
}
