package customer

import (
	"strings"
	"testing"

	"github.com/shopd/shopd"
)

func TestNormalizeEmail(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"  Ana@Example.COM ", "ana@example.com", true},
		{"a.b+tag@shop.co.uk", "a.b+tag@shop.co.uk", true},
		{"", "", false},
		{"ana", "", false},
		{"ana@", "", false},
		{"@example.com", "", false},
		{"ana@localhost", "", false},
		{"ana@example.", "", false},
		{"Ana <ana@example.com>", "", false},
		{"ana@example.com, bob@example.com", "", false},
		{"ana\n@example.com", "", false},
		{"ana@exa\x00mple.com", "", false},
		{"\"a b\"@example.com", "", false},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com", true}, // 254
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", "", false},                                                               // 255
	} {
		got, err := NormalizeEmail("email", tc.in)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if !tc.ok && shopd.ErrorCode(err) != shopd.EINVALID {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want EINVALID", tc.in, got, err)
		}
	}
}

func TestAddressNormalize(t *testing.T) {
	good := AddressInput{Name: " Ana Silva ", Line1: "Rua Augusta 1", City: "São Paulo", Region: "sp", PostalCode: "01305-000", Country: "br", Phone: "+55 (11) 5555-0100"}
	got, err := good.normalize()
	if err != nil {
		t.Fatal(err)
	}
	want := AddressInput{Name: "Ana Silva", Line1: "Rua Augusta 1", City: "São Paulo", Region: "SP", PostalCode: "01305-000", Country: "BR", Phone: "+55 (11) 5555-0100"}
	if got != want {
		t.Fatalf("normalize = %+v, want %+v", got, want)
	}
	for _, tc := range []struct {
		field string
		edit  func(*AddressInput)
	}{
		{"name", func(a *AddressInput) { a.Name = "" }},
		{"name", func(a *AddressInput) { a.Name = strings.Repeat("n", MaxNameLength+1) }},
		{"line1", func(a *AddressInput) { a.Line1 = "  " }},
		{"line1", func(a *AddressInput) { a.Line1 = "a\nb" }},
		{"line2", func(a *AddressInput) { a.Line2 = strings.Repeat("l", 201) }},
		{"city", func(a *AddressInput) { a.City = "" }},
		{"region", func(a *AddressInput) { a.Region = "São" }},
		{"region", func(a *AddressInput) { a.Region = strings.Repeat("A", 11) }},
		{"postal_code", func(a *AddressInput) { a.PostalCode = "0130;5" }},
		{"country", func(a *AddressInput) { a.Country = "" }},
		{"country", func(a *AddressInput) { a.Country = "XX" }},
		{"country", func(a *AddressInput) { a.Country = "USA" }},
		{"country", func(a *AddressInput) { a.Country = "S " }},
		{"phone", func(a *AddressInput) { a.Phone = "call me" }},
		{"phone", func(a *AddressInput) { a.Phone = strings.Repeat("1", 33) }},
	} {
		in := good
		tc.edit(&in)
		_, err := in.normalize()
		e, ok := err.(*shopd.Error)
		if !ok || e.Code != shopd.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
			t.Errorf("%+v: err = %v, want one field error on %s", in, err, tc.field)
		}
	}
}

func TestISO3166List(t *testing.T) {
	codes := strings.Fields(iso3166)
	if len(codes) != 249 {
		t.Fatalf("%d codes, want the 249 assigned ones", len(codes))
	}
	for i, c := range codes {
		if !isCountry(c) || (i > 0 && codes[i-1] >= c) {
			t.Fatalf("code %q at %d: not accepted or not sorted", c, i)
		}
	}
	for _, c := range []string{"", "U", "UK", "EU", "ZZ", "D ", " D", "S U"} {
		if isCountry(c) {
			t.Errorf("isCountry(%q) = true", c)
		}
	}
}
