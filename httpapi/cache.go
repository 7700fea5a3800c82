package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// storefrontCacheControl lets browsers and CDNs keep storefront reads for a
// short time and serve them stale while they revalidate, so a launch-day
// stampede mostly hits the CDN. Purge by Surrogate-Key on change.
const storefrontCacheControl = "public, max-age=30, stale-while-revalidate=60, stale-if-error=600"

// respondCacheable writes v as JSON with an ETag, Cache-Control and
// Surrogate-Key, and answers a matching If-None-Match with 304.
func respondCacheable(w http.ResponseWriter, r *http.Request, v any, surrogateKeys ...string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	sum := sha256.Sum256(b)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", storefrontCacheControl)
	h.Set("Vary", "Accept-Encoding")
	if len(surrogateKeys) > 0 {
		h.Set("Surrogate-Key", strings.Join(surrogateKeys, " "))
	}
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
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
