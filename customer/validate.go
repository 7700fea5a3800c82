package customer

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopd/shopd"
)

// Field limits.
const (
	MaxEmailLength     = 254 // RFC 5321 path limit
	MaxNameLength      = 200
	MaxAddresses       = 20 // per customer
	maxLineLength      = 200
	maxCityLength      = 100
	maxRegionLength    = 10
	maxPostalLength    = 20
	maxPhoneLength     = 32
	maxMarketLength    = 8
	maxEmailPrefixSize = MaxEmailLength
)

// NormalizeEmail trims and lower-cases an email address and checks that it
// is a plain address ("name@example.com", no display name) of at most
// MaxEmailLength bytes. It returns EINVALID with a field error on field.
func NormalizeEmail(field, email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	var v shopd.Validation
	switch {
	case e == "":
		v.Addf(field, "is required")
	case len(e) > MaxEmailLength:
		v.Addf(field, "must be at most %d bytes", MaxEmailLength)
	case !validEmail(e):
		v.Addf(field, "must be an email address such as name@example.com")
	}
	return e, v.Err()
}

func validEmail(e string) bool {
	if !utf8.ValidString(e) || hasControl(e) {
		return false
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Name != "" || a.Address != e {
		return false
	}
	_, domain, ok := strings.Cut(e, "@")
	// A shop mails its customers over the Internet: the domain needs a dot
	// and may not start or end with one.
	return ok && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// hasControl reports whether s holds a control character (newlines, NUL, …),
// which no single-line field may hold.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

// checkText trims a single-line text field, checks it with
// shopd.Validation.Text and returns the trimmed text.
func checkText(v *shopd.Validation, field, s string, maxLen int, required bool) string {
	s = strings.TrimSpace(s)
	v.Text(field, s, maxLen, required)
	return s
}

// checkMarketCode validates the syntax of a market code (lower-case letters,
// 2 to 8); whether the market exists is the Markets' business.
func checkMarketCode(v *shopd.Validation, field, code string) string {
	c := strings.ToLower(strings.TrimSpace(code))
	ok := len(c) >= 2 && len(c) <= maxMarketLength
	for i := 0; ok && i < len(c); i++ {
		ok = c[i] >= 'a' && c[i] <= 'z'
	}
	v.Check(ok, field, "must be a market code such as \"us\"")
	return c
}

// AddressInput is a new address as the customer gives it.
type AddressInput struct {
	Name       string
	Line1      string
	Line2      string
	City       string
	Region     string
	PostalCode string
	Country    string
	Phone      string
}

// normalize validates the input and returns it cleaned up (trimmed, codes
// upper-cased), or EINVALID listing every bad field.
func (in AddressInput) normalize() (AddressInput, error) {
	var v shopd.Validation
	out := AddressInput{
		Name:       checkText(&v, "name", in.Name, MaxNameLength, true),
		Line1:      checkText(&v, "line1", in.Line1, maxLineLength, true),
		Line2:      checkText(&v, "line2", in.Line2, maxLineLength, false),
		City:       checkText(&v, "city", in.City, maxCityLength, true),
		Region:     strings.ToUpper(strings.TrimSpace(in.Region)),
		PostalCode: strings.ToUpper(strings.TrimSpace(in.PostalCode)),
		Country:    strings.ToUpper(strings.TrimSpace(in.Country)),
		Phone:      strings.TrimSpace(in.Phone),
	}
	v.Check(len(out.Region) <= maxRegionLength && onlyChars(out.Region, "-"), "region",
		fmt.Sprintf("must be a state or province code of at most %d letters, digits or hyphens", maxRegionLength))
	v.Check(len(out.PostalCode) <= maxPostalLength && onlyChars(out.PostalCode, " -"), "postal_code",
		fmt.Sprintf("must be at most %d letters, digits, spaces or hyphens", maxPostalLength))
	v.Check(isCountry(out.Country), "country", "must be an ISO 3166-1 alpha-2 country code such as \"US\"")
	phoneOK := len(out.Phone) <= maxPhoneLength && onlyChars(out.Phone, "+-(). ")
	for _, c := range out.Phone {
		phoneOK = phoneOK && !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z')
	}
	v.Check(phoneOK, "phone", fmt.Sprintf("must be a phone number of at most %d digits, spaces and + - ( ) .", maxPhoneLength))
	return out, v.Err()
}

// onlyChars reports whether s holds only ASCII letters, digits and extra.
func onlyChars(s, extra string) bool {
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune(extra, c)) {
			return false
		}
	}
	return true
}

// iso3166 lists the officially assigned ISO 3166-1 alpha-2 codes.
const iso3166 = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT " +
	"MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG " +
	"UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"

func isCountry(code string) bool {
	if len(code) != 2 || !onlyChars(code, "") {
		return false
	}
	i := strings.Index(iso3166, code)
	return i >= 0 && i%3 == 0
}
