package httpapi

import (
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestStorefrontKey: two storefront requests share a kept answer only if the
// storefront reads the same from them (market, limit, cursor, attr.*),
// whatever the escaping; parameters it ignores, and their order, do not
// change the key.
func TestStorefrontKey(t *testing.T) {
	s := &Server{Deps: Deps{DefaultMarket: "us"}}
	key := func(query string) string {
		return s.storefrontKey(httptest.NewRequest("GET", "/v1/products?"+query, nil))
	}
	// read is what the handlers take from the query, as they take it.
	read := func(query string) string {
		q, _ := url.ParseQuery(query) // Query() drops what it cannot parse, too
		market := q.Get("market")
		if market == "" {
			market = "us"
		}
		var parts []string
		for name, values := range q {
			if name == "limit" || name == "cursor" || strings.HasPrefix(name, "attr.") {
				parts = append(parts, name+"="+strings.Join(values, "\x00"))
			}
		}
		slices.Sort(parts)
		return market + " " + strings.Join(parts, " ")
	}
	queries := []string{
		"", "market", "market=us", "market=br", "market=br&market=us", "market=&market=br", "market=b%72",
		"limit=5", "limit=6", "limit=5&cursor=abc", "cursor=abc&limit=5", "cursor=a%26b", "cursor=a&b",
		"attr.color=red", "attr.color=blue", "attr%2Ecolor=red", "attr%2Ecolor=blue", "attr%2ecolor=red",
		"attr.color=red,blue", "attr.color=red%2Cblue", "attr.color=red&attr.color=blue", "attr.color=blue&attr.color=red",
		"attr.color=red&attr.size=m", "attr.size=m&attr.color=red", "attr.color=r+d", "attr.color=r%20d",
		"limit=5;cursor=x", "limit=5&x=1;cursor=y", "limit=5&utm_source=mail", "utm_source=mail&limit=5",
	}
	reads := map[string]string{} // key → the read of the first query with that key
	for _, q := range queries {
		k := key(q)
		if first, ok := reads[k]; ok && first != read(q) {
			t.Errorf("%q has the key %q of another read (%q, not %q)", q, k, first, read(q))
		}
		reads[k] = read(q)
	}
	for _, same := range [][2]string{
		{"limit=5", "limit=5&utm_source=mail"}, {"limit=5&cursor=abc", "cursor=abc&limit=5"}, {"", "market=us"},
		{"market=br&limit=2", "limit=2&market=br&market=us"}, {"attr.size=m&attr.color=red", "attr.color=red&v=2&attr.size=m"},
		{"attr%2Ecolor=red&utm=%20", "attr.color=red&utm=+"},
	} {
		if a, b := key(same[0]), key(same[1]); a != b {
			t.Errorf("%q and %q read the same but have the keys %q and %q", same[0], same[1], a, b)
		}
	}
}
