package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopd/shopd/readcache"
)

// storefrontCacheControl lets browsers and CDNs keep storefront reads for a
// short time and serve them stale while they revalidate, so a launch-day
// stampede mostly hits the CDN. Purge by Surrogate-Key on change.
const storefrontCacheControl = "public, max-age=30, stale-while-revalidate=60, stale-if-error=600"

// respondCacheable writes v as JSON with an ETag, Cache-Control and
// Surrogate-Key, and answers a matching If-None-Match with 304.
func respondCacheable(w http.ResponseWriter, r *http.Request, v any, surrogateKeys ...string) error {
	a, err := encodeCacheable(v, surrogateKeys)
	if err != nil {
		return err
	}
	return a.write(w, r)
}

// cacheableAnswer is a cacheable answer as sent: its JSON, ETag and
// Surrogate-Key.
type cacheableAnswer struct {
	body, etag, surrogateKey string
}

func encodeCacheable(v any, surrogateKeys []string) (*cacheableAnswer, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	sum := sha256.Sum256(b)
	return &cacheableAnswer{body: string(b), etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`,
		surrogateKey: strings.Join(surrogateKeys, " ")}, nil
}

func (a *cacheableAnswer) write(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", storefrontCacheControl)
	h.Set("Vary", "Accept-Encoding")
	if a.surrogateKey != "" {
		h.Set("Surrogate-Key", a.surrogateKey)
	}
	if etagMatches(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err := io.WriteString(w, a.body)
	return err
}

// maxStorefrontAnswers bounds the storefront answers kept: a list page
// answer may be 100 products long, and every read (storefrontKey) is an
// answer of its own.
const maxStorefrontAnswers = 1000

// storefrontAnswer is a storefront answer kept for its read
// (storefrontKey), with its reads' FreshUntil.
type storefrontAnswer struct {
	*cacheableAnswer
	until time.Time
}

// respondStorefront answers a storefront read from the answer made for the
// same read (storefrontKey) while nothing it was made of can have changed
// (the catalog's Generation is the same and its reads' FreshUntil has not
// come), else from build: the value to send, its surrogate keys and its
// reads' FreshUntil. A launch hour's shoppers all read the same few pages, and
// each then costs no encoding, no hashing and no catalog lookups; the
// requests that find an answer expired share the one that replaces it.
func (s *Server) respondStorefront(w http.ResponseWriter, r *http.Request, build func() (any, []string, time.Time, error)) error {
	answer := func() (*storefrontAnswer, time.Duration, error) {
		v, keys, until, err := build()
		if err != nil {
			return nil, 0, err
		}
		a, err := encodeCacheable(v, keys)
		return &storefrontAnswer{a, until}, until.Sub(s.Catalog.Now()), err
	}
	key := strconv.FormatUint(s.Catalog.Generation(), 10) + " " + s.storefrontKey(r)
	a, _, err := readcache.ReadFor(r.Context(), s.answers, key, answer)
	if err == nil && !s.Catalog.Now().Before(a.until) {
		a, _, err = answer() // the catalog's clock passed it before the cache's did: a test clock moved
	}
	if err != nil {
		return err
	}
	return a.write(w, r)
}

// storefrontKey names a storefront read by what its answer depends on: the
// path, the market and the query parameters the storefront reads (limit,
// cursor, attr.*) in a fixed order. Parameters it ignores — utm_source,
// a cache buster — neither miss the answers kept nor crowd them out. Equal
// keys always mean equal reads; the same read may have two keys (escaped
// and not), which costs a miss, never a wrong answer.
func (s *Server) storefrontKey(r *http.Request) string {
	raw := r.URL.RawQuery
	if strings.ContainsAny(raw, "%+;") {
		// Escapes (a name may be escaped too) or what the query parser
		// drops: decode.
		q := r.URL.Query()
		for name := range q {
			if name != "limit" && name != "cursor" && !strings.HasPrefix(name, "attr.") {
				delete(q, name)
			}
		}
		return "decoded " + r.URL.Path + " " + s.storefrontMarket(r) + " " + q.Encode()
	}
	// Nothing escaped: the parameters are what they say, and are read as
	// they come (every cached read pays for this; parsing into a map cost
	// 6 % of a cached product page's CPU).
	var market string
	var marketSeen bool
	var kept []string
	for part := range strings.SplitSeq(raw, "&") {
		name, value, _ := strings.Cut(part, "=")
		switch {
		case name == "market":
			if !marketSeen { // the first counts, as for Query().Get
				market, marketSeen = value, true
			}
		case name == "limit" || name == "cursor" || strings.HasPrefix(name, "attr."):
			kept = append(kept, part)
		}
	}
	if market == "" {
		market = s.DefaultMarket
	}
	slices.SortStableFunc(kept, func(a, b string) int {
		an, _, _ := strings.Cut(a, "=")
		bn, _, _ := strings.Cut(b, "=")
		return strings.Compare(an, bn)
	})
	return "raw " + r.URL.Path + " " + market + " " + strings.Join(kept, "&")
}

// etagMatches implements the weak comparison of If-None-Match (RFC 9110
// §13.1.2): any listed tag equal to etag, ignoring W/, or "*".
func etagMatches(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == etag || tag == "*" {
			return true
		}
	}
	return false
}
