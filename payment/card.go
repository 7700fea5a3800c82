package payment

import (
	"strings"

	"github.com/shopd/shopd"
)

// Card numbers are 13 to 19 digits long (ISO/IEC 7812).
const (
	minCardDigits = 13
	maxCardDigits = 19
)

// ContainsCardNumber reports whether b holds anything that looks like a
// payment card number: 13 to 19 digits that pass the Luhn check, written
// either without separators or in groups separated by single spaces or
// dashes ("4242 4242 4242 4242", "4242-4242-4242-4242"). shopd must never
// receive a card number (cards go straight from the shopper to the gateway,
// which returns a token), so a request body for which this is true is
// rejected before anything reads or logs it.
//
// Every run of consecutive digit groups is checked, so a number next to
// another number ("4111…1111 5555…4444") is still found; a digit group of
// more than 19 digits is not a card number on its own.
func ContainsCardNumber(b []byte) bool {
	var groups [][]byte // the digit groups of the current chain
	flush := func() bool {
		defer func() { groups = groups[:0] }()
		return chainHasCard(groups)
	}
	i := 0
	for i < len(b) {
		if !isDigit(b[i]) {
			i++
			continue
		}
		j := i
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		groups = append(groups, b[i:j])
		// A single space or dash followed by a digit continues the chain.
		if j+1 < len(b) && (b[j] == ' ' || b[j] == '-') && isDigit(b[j+1]) {
			i = j + 1
			continue
		}
		if flush() {
			return true
		}
		i = j
	}
	return flush()
}

// chainHasCard checks every run of consecutive groups with 13–19 digits.
func chainHasCard(groups [][]byte) bool {
	var digits [maxCardDigits]byte
	for i := range groups {
		n := 0
		for j := i; j < len(groups); j++ {
			if n+len(groups[j]) > maxCardDigits {
				break
			}
			n += copy(digits[n:], groups[j])
			if n >= minCardDigits && luhnValid(digits[:n]) {
				return true
			}
		}
	}
	return false
}

// luhnValid reports whether the digits pass the Luhn (mod 10) check.
func luhnValid(digits []byte) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Limits on payment input.
const (
	MaxAmount         = 1_000_000_000_000 // minor units
	maxTokenLen       = 255
	maxReferenceLen   = 100
	maxDescriptionLen = 500
	maxReasonLen      = 500
)

// Validate checks a payment method as a client may send it. Field paths are
// prefixed with prefix ("payment_method"). It rejects anything that looks
// like a card number in any field.
func (m Method) Validate(v *shopd.Validation, prefix string) {
	p := func(f string) string { return prefix + "." + f }
	switch {
	case m.Token == "":
		v.Addf(p("token"), "is required")
	case len(m.Token) > maxTokenLen || !printableASCII(m.Token):
		v.Addf(p("token"), "must be 1 to %d printable ASCII characters", maxTokenLen)
	case ContainsCardNumber([]byte(m.Token)):
		v.Addf(p("token"), "must be a gateway token, never a card number")
	}
	if len(m.Brand) > 30 || strings.ToLower(m.Brand) != m.Brand || !printableASCII(m.Brand) && m.Brand != "" {
		v.Addf(p("brand"), "must be a lowercase brand name of at most 30 characters")
	}
	if m.Last4 != "" && (len(m.Last4) != 4 || strings.Trim(m.Last4, "0123456789") != "") {
		v.Addf(p("last4"), "must be exactly 4 digits")
	}
	if m.ExpMonth < 0 || m.ExpMonth > 12 {
		v.Addf(p("exp_month"), "must be from 1 to 12")
	}
	if m.ExpYear != 0 && (m.ExpYear < 2000 || m.ExpYear > 2100) {
		v.Addf(p("exp_year"), "must be from 2000 to 2100")
	}
	if (m.ExpMonth == 0) != (m.ExpYear == 0) {
		v.Addf(p("exp_month"), "exp_month and exp_year go together")
	}
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
