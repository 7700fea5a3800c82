package httpapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shopd/shopd/httpapi"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/staff"
)

// FuzzWriteBodies sends arbitrary bodies to every route that reads one (POST,
// PUT, PATCH), as the role the route needs, and fails on any 5xx or any
// response the OpenAPI document does not allow: outside input must get a
// clear client error, never a crash.
func FuzzWriteBodies(f *testing.F) {
	var routes []string
	for _, r := range httpapi.Routes() {
		if m, _, _ := strings.Cut(r, " "); m == "POST" || m == "PUT" || m == "PATCH" {
			routes = append(routes, r)
		}
	}
	for i := range routes {
		for _, body := range []string{
			`{}`, `[]`, `null`, `"x"`, `0`, ``, `{"a":1}`, `{"name":"` + strings.Repeat("é", 300) + `"}`,
			`{"title":"T","variants":[{"sku":"S","prices":{"us":{"amount":{"amount":-1,"currency":"USD"}}}}]}`,
			`{"quantity":9223372036854775807,"amount":1e400}`, `{"rate_percent":"1e3","region":"\u0000"}`,
			"\xff\xfe{}", `{"email":"a@b.c","password":"` + strings.Repeat("p", 300) + `"}`,
		} {
			f.Add(uint8(i), []byte(body))
		}
	}
	e := newEnv(f, storetest.Open(f, sqlstore.SQLite))
	// A customer for /v1/me routes, and real IDs for path parameters.
	var reg struct{ Session struct{ Token string } }
	if r := e.do("POST", "/v1/customers", map[string]string{"email": "fuzz@example.com", "password": "fuzz password"}); r.Status != 201 {
		f.Fatalf("register: %d %s", r.Status, r.Body)
	} else {
		json.Unmarshal(r.Body, &reg)
	}
	owner := e.keys[staff.RoleOwner]
	var product struct {
		ID       string
		Variants []struct{ ID string }
	}
	json.Unmarshal(e.do("POST", "/v1/admin/products", map[string]any{"title": "Fuzz Serum", "status": "active",
		"variants": []map[string]any{{"sku": "FUZZ-1", "prices": map[string]any{"us": map[string]any{"amount": map[string]any{"amount": 100, "currency": "USD"}}}}}},
		as(owner)).Body, &product)
	if len(product.Variants) == 0 {
		f.Fatal("setup product not created")
	}
	params := map[string]string{
		"{market}": "us", "{product}": product.ID, "{variant}": product.Variants[0].ID,
	}
	f.Fuzz(func(t *testing.T, i uint8, body []byte) {
		e.t = t
		route := routes[int(i)%len(routes)]
		method, path, _ := strings.Cut(route, " ")
		for k, v := range params {
			path = strings.ReplaceAll(path, k, v)
		}
		for strings.Contains(path, "{") { // other IDs: a well-formed unknown one
			a, b := strings.Index(path, "{"), strings.Index(path, "}")
			path = path[:a] + "x_06H0G0000000000000000000000" + path[b+1:]
		}
		req := httptest.NewRequest(method, path, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		switch {
		case strings.HasPrefix(path, "/v1/admin/"):
			req.Header.Set("Authorization", "Bearer "+owner)
		case strings.HasPrefix(path, "/v1/me"):
			req.Header.Set("Authorization", "Bearer "+reg.Session.Token)
		}
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		r := &resp{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
		if r.Status >= 500 {
			t.Fatalf("%s %s with %q: status %d: %s", method, path, body, r.Status, r.Body)
		}
		checkAgainstSpec(t, req, r)
	})
}
