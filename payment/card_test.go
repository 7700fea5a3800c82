package payment

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func TestContainsCardNumber(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"", false},
		{"4242424242424242", true},            // Visa test number
		{"4242 4242 4242 4242", true},         // grouped by spaces
		{"4242-4242-4242-4242", true},         // grouped by dashes
		{"378282246310005", true},             // Amex, 15 digits
		{"3782 822463 10005", true},           // Amex grouping
		{"6011111111111117", true},            // Discover
		{"4222222222222", true},               // 13-digit Visa
		{"6304000000000000001", false},        // 19 digits, not Luhn-valid
		{"6759649826438453", true},            // Maestro
		{"4242424242424241", false},           // Luhn fails
		{"424242424242", false},               // 12 digits
		{"42424242424242424242", false},       // 20 digits in one group
		{`{"card":"4242424242424242"}`, true}, // inside JSON
		{`{"number":4242424242424242}`, true}, // as a JSON number
		{"abc4242424242424242xyz", true},      // glued to letters
		{"4242  4242 4242 4242", false},       // a double space breaks the number
		{"4242 4242 4242 4242 5555 5555 5555 4444", true},
		{"1 4242424242424242", true},               // found after a short group
		{"order ord_01JC6Q 1999 USD qty 3", false}, // ordinary text
		{`{"amount":{"amount":1999,"currency":"USD"},"token":"tok_visa"}`, false},
		{"2026-11-23T10:00:00Z", false},
		{"1732356000000000", false}, // a timestamp in microseconds that fails Luhn
	} {
		if got := ContainsCardNumber([]byte(c.in)); got != c.want {
			t.Errorf("ContainsCardNumber(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestLuhn(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{{"79927398713", true}, {"79927398710", false}, {"0", true}, {"18", true}, {"4242424242424242", true}} {
		if got := luhnValid([]byte(c.in)); got != c.want {
			t.Errorf("luhnValid(%s) = %v", c.in, got)
		}
	}
}

// containsCardNumberSlow is the definition, written the slow, obvious way:
// split into chains of digit groups joined by single spaces or dashes and
// try every run of consecutive groups.
func containsCardNumberSlow(b []byte) bool {
	chain := regexp.MustCompile(`[0-9]+(?:[ -][0-9]+)*`)
	for _, m := range chain.FindAll(b, -1) {
		groups := regexp.MustCompile(`[ -]`).Split(string(m), -1)
		for i := range groups {
			for j := i; j < len(groups); j++ {
				s := strings.Join(groups[i:j+1], "")
				if len(s) >= 13 && len(s) <= 19 && luhnValid([]byte(s)) {
					return true
				}
			}
		}
	}
	return false
}

func FuzzContainsCardNumber(f *testing.F) {
	for _, s := range []string{"4242 4242 4242 4242", "x4242-4242-4242-4242y", "1 2 3", "378282246310005", "12345678901234567890", "4-2 4"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := ContainsCardNumber(b)
		if want := containsCardNumberSlow(b); got != want {
			t.Fatalf("ContainsCardNumber(%q) = %v, definition says %v", b, got, want)
		}
		// A card number placed between non-digits is always found.
		wrapped := append(append(append([]byte{}, b...), " x 4242424242424242 x "...), b...)
		if !ContainsCardNumber(wrapped) {
			t.Fatalf("missed the card in %q", wrapped)
		}
		// Removing every digit leaves nothing to find.
		if ContainsCardNumber(bytes.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return -1
			}
			return r
		}, b)) {
			t.Fatalf("found a card in %q without digits", b)
		}
	})
}
