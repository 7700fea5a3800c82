package httpapi_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/staff"
)

func TestProbes(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.do("GET", "/livez", nil).want(t, 200)
		e.do("GET", "/readyz", nil).want(t, 200)
		e.srv.SetDraining(true)
		e.do("GET", "/readyz", nil).wantProblem(t, 503, "draining")
		e.do("GET", "/livez", nil).want(t, 200)
		r := e.do("GET", "/v1/openapi.json", nil).want(t, 200)
		if !strings.Contains(string(r.Body), `"openapi":"3.0.3"`) {
			t.Fatalf("spec body: %.100s", r.Body)
		}
	})
}

func TestRequestIDs(t *testing.T) {
	e := newEnv(t, storetest.Open(t, sqlstore.SQLite))
	if id := e.do("GET", "/livez", nil).Header.Get("X-Request-ID"); !strings.HasPrefix(id, "req_") {
		t.Fatalf("generated request id %q", id)
	}
	if id := e.do("GET", "/livez", nil, header("X-Request-ID", "edge-123")).Header.Get("X-Request-ID"); id != "edge-123" {
		t.Fatalf("propagated request id %q", id)
	}
	// A request ID with control characters is replaced, not echoed.
	if id := e.do("GET", "/livez", nil, header("X-Request-ID", "a\tb")).Header.Get("X-Request-ID"); !strings.HasPrefix(id, "req_") {
		t.Fatalf("bad request id echoed: %q", id)
	}
}

func TestUnknownRoute(t *testing.T) {
	e := newEnv(t, storetest.Open(t, sqlstore.SQLite))
	e.do("GET", "/v1/nope", nil).wantProblem(t, 404, "route-not-found")
}

func TestStaffAuth(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		owner, admin, readOnly := as(e.keys[staff.RoleOwner]), as(e.keys[staff.RoleAdmin]), as(e.keys[staff.RoleReadOnly])

		e.do("GET", "/v1/admin/api-keys", nil).wantProblem(t, 401, "unauthorized")
		e.do("GET", "/v1/admin/api-keys", nil, as("sk_bogus")).wantProblem(t, 401, "invalid-api-key")
		e.do("GET", "/v1/admin/api-keys", nil, header("Authorization", "Basic abc")).wantProblem(t, 401, "unauthorized")
		e.do("GET", "/v1/admin/api-keys", nil, admin).wantProblem(t, 403, "insufficient-role")
		e.do("POST", "/v1/admin/api-keys", map[string]string{"name": "ci", "role": "owner"}, readOnly).wantProblem(t, 403, "insufficient-role")

		var list struct{ Data []staff.Key }
		e.do("GET", "/v1/admin/api-keys", nil, owner).want(t, 200).JSON(t, &list)
		if len(list.Data) != 4 {
			t.Fatalf("%d keys, want 4", len(list.Data))
		}

		// Create, use, revoke, and the key stops working at once.
		var k struct {
			staff.Key
			Secret string
		}
		r := e.do("POST", "/v1/admin/api-keys", map[string]string{"name": "deploy bot", "role": "admin"}, owner).want(t, 201)
		r.JSON(t, &k)
		if !strings.HasPrefix(k.Secret, "sk_") || k.Role != staff.RoleAdmin || r.Header.Get("Location") != "/v1/admin/api-keys/"+k.ID {
			t.Fatalf("created key %+v, location %q", k, r.Header.Get("Location"))
		}
		if strings.Contains(string(e.do("GET", "/v1/admin/api-keys", nil, owner).Body), k.Secret) {
			t.Fatal("a key list shows a secret")
		}
		e.do("GET", "/v1/admin/audit-log", nil, as(k.Secret)).want(t, 200)
		e.do("DELETE", "/v1/admin/api-keys/"+k.ID, nil, owner).want(t, 200)
		e.do("DELETE", "/v1/admin/api-keys/"+k.ID, nil, owner).want(t, 200) // idempotent
		e.do("GET", "/v1/admin/audit-log", nil, as(k.Secret)).wantProblem(t, 401, "invalid-api-key")
		e.do("DELETE", "/v1/admin/api-keys/key_nope", nil, owner).wantProblem(t, 404, "api-key-not-found")

		// Bad input changes nothing.
		for _, body := range []string{
			`{"name":"","role":"owner"}`, `{"name":"x","role":"god"}`, `{"name":"x","role":"owner","extra":1}`,
			`{"name":7,"role":"owner"}`, `[]`, `{"name":"x"`, `{"name":"x","role":"owner"} {}`, ``,
			`{"name":"` + strings.Repeat("n", 101) + `","role":"owner"}`,
		} {
			r := e.do("POST", "/v1/admin/api-keys", body, owner)
			if r.Status != 400 {
				t.Errorf("body %.40q: status %d, want 400: %s", body, r.Status, r.Body)
			}
		}
		e.do("GET", "/v1/admin/api-keys", nil, owner).want(t, 200).JSON(t, &list)
		if len(list.Data) != 5 {
			t.Fatalf("%d keys after bad input, want 5", len(list.Data))
		}
	})
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, storetest.Open(t, sqlstore.SQLite))
	big := `{"name":"` + strings.Repeat("x", 2<<20) + `","role":"owner"}`
	e.do("POST", "/v1/admin/api-keys", big, as(e.keys[staff.RoleOwner])).wantProblem(t, 413, "body-too-large")
	e.do("POST", "/v1/admin/api-keys", big, as(e.keys[staff.RoleOwner]), header("Idempotency-Key", "big")).wantProblem(t, 413, "body-too-large")
	e.do("POST", "/v1/admin/api-keys", `{"name":"x","role":"owner"}`, as(e.keys[staff.RoleOwner]), header("Content-Type", "text/plain")).
		wantProblem(t, 400, "unsupported-media-type")
}

func TestIdempotencyOverHTTP(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		admin := as(e.keys[staff.RoleAdmin])
		const path = "/v1/admin/markets/us/tax-rates"
		rate := func(category string) map[string]string {
			return map[string]string{"region": "NY", "category": category, "name": "Sales tax", "rate_percent": "4"}
		}
		first := e.do("POST", path, rate("books"), admin, header("Idempotency-Key", "create-1")).want(t, 201)
		again := e.do("POST", path, rate("books"), admin, header("Idempotency-Key", "create-1")).want(t, 201)
		if string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("Location") != first.Header.Get("Location") {
			t.Fatalf("replay differs:\n%s\n%s", first.Body, again.Body)
		}
		e.do("POST", path, rate("toys"), admin, header("Idempotency-Key", "create-1")).wantProblem(t, 422, "idempotency-key-reused")
		e.do("POST", path, rate("toys"), admin, header("Idempotency-Key", strings.Repeat("k", 256))).wantProblem(t, 400, "idempotency-key-invalid")
		// Keys are scoped per caller: another key's "create-1" is its own.
		e.do("POST", path, rate("toys"), as(e.keys[staff.RoleOwner]), header("Idempotency-Key", "create-1")).want(t, 201)
		// A client error is stored and replayed too: the key is spent.
		bad := map[string]string{"region": "NY", "category": "games", "name": "Sales tax", "rate_percent": "abc"}
		e.do("POST", path, bad, admin, header("Idempotency-Key", "bad-1")).want(t, 400)
		if r := e.do("POST", path, bad, admin, header("Idempotency-Key", "bad-1")).want(t, 400); r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatal("a stored client error was not replayed")
		}

		// 100 concurrent retries of one request create exactly one rate; the
		// others get the stored response or a conflict while it runs.
		var wg sync.WaitGroup
		statuses := make([]int, 100)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = e.do("POST", path, rate("race"), admin, header("Idempotency-Key", "race-1")).Status
			}()
		}
		wg.Wait()
		for _, s := range statuses {
			if s != 201 && s != 409 {
				t.Fatalf("concurrent replay status %d", s)
			}
		}
		var list struct {
			Data []struct{ Category string }
		}
		e.do("GET", path, nil, admin).want(t, 200).JSON(t, &list)
		races := 0
		for _, r := range list.Data {
			if r.Category == "race" {
				races++
			}
		}
		if races != 1 {
			t.Fatalf("%d rates made by 100 retries, want 1", races)
		}
	})
}

// TestSecretsNotReplayed checks that a response carrying an API key secret
// is never stored for replay.
func TestSecretsNotReplayed(t *testing.T) {
	e := newEnv(t, storetest.Open(t, sqlstore.SQLite))
	owner := as(e.keys[staff.RoleOwner])
	body := map[string]string{"name": "bot", "role": "support"}
	a := e.do("POST", "/v1/admin/api-keys", body, owner, header("Idempotency-Key", "key-1")).want(t, 201)
	b := e.do("POST", "/v1/admin/api-keys", body, owner, header("Idempotency-Key", "key-1")).want(t, 201)
	if string(a.Body) == string(b.Body) || b.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("an API key secret was replayed from storage")
	}
}

func TestAuditLog(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		owner, admin := as(e.keys[staff.RoleOwner]), as(e.keys[staff.RoleAdmin])
		e.do("GET", "/v1/admin/api-keys", nil, owner).want(t, 200) // reads are not audited
		e.do("POST", "/v1/admin/api-keys", map[string]string{"name": "a", "role": "support"}, owner).want(t, 201)
		e.do("POST", "/v1/admin/api-keys", map[string]string{"name": "", "role": "support"}, owner).want(t, 400)
		e.do("POST", "/v1/admin/api-keys", map[string]string{"name": "b", "role": "support"}, admin).want(t, 403)
		e.do("GET", "/v1/admin/audit-log", nil, as(e.keys[staff.RoleSupport])).wantProblem(t, 403, "insufficient-role")

		var page struct {
			Data       []staff.AuditEntry
			NextCursor string `json:"next_cursor"`
		}
		e.do("GET", "/v1/admin/audit-log?limit=2", nil, admin).want(t, 200).JSON(t, &page)
		if len(page.Data) != 2 || page.NextCursor == "" {
			t.Fatalf("first page %+v", page)
		}
		got := []int{page.Data[0].Status, page.Data[1].Status}
		cursor := page.NextCursor
		page.NextCursor = ""
		e.do("GET", "/v1/admin/audit-log?limit=2&cursor="+cursor, nil, admin).want(t, 200).JSON(t, &page)
		if len(page.Data) != 1 || page.NextCursor != "" {
			t.Fatalf("second page %+v", page)
		}
		got = append(got, page.Data[0].Status)
		if want := []int{403, 400, 201}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Fatalf("audited statuses %v, want %v (newest first)", got, want)
		}
		last := page.Data[0]
		if last.Action != "POST /v1/admin/api-keys" || last.KeyName != "test owner" || last.Role != staff.RoleOwner || !strings.HasPrefix(last.RequestID, "req_") {
			t.Fatalf("entry %+v", last)
		}
		e.do("GET", "/v1/admin/audit-log?limit=0", nil, admin).wantProblem(t, 400, "validation")
		var mine struct{ Data []staff.AuditEntry }
		e.do("GET", "/v1/admin/audit-log?key_id="+last.KeyID, nil, admin).want(t, 200).JSON(t, &mine)
		if len(mine.Data) != 2 {
			t.Fatalf("%d entries for the owner key, want 2", len(mine.Data))
		}
	})
}

// TestAPIKeyRoleOrder checks that roles include the powers of lower roles.
func TestAPIKeyRoleOrder(t *testing.T) {
	for _, c := range []struct {
		have, need staff.Role
		ok         bool
	}{
		{staff.RoleOwner, staff.RoleReadOnly, true}, {staff.RoleAdmin, staff.RoleOwner, false},
		{staff.RoleSupport, staff.RoleSupport, true}, {staff.RoleReadOnly, staff.RoleSupport, false},
		{"god", staff.RoleReadOnly, false},
	} {
		if got := c.have.Includes(c.need); got != c.ok {
			t.Errorf("%s includes %s = %v, want %v", c.have, c.need, got, c.ok)
		}
	}
}

// TestMetricsEndpoint checks that requests are counted per route pattern.
func TestMetricsEndpoint(t *testing.T) {
	e := newEnv(t, storetest.Open(t, sqlstore.SQLite))
	e.do("GET", "/livez", nil).want(t, 200)
	e.do("GET", "/v1/products/nope", nil).want(t, 404)
	body := string(e.do("GET", "/metrics", nil).want(t, 200).Body)
	for _, want := range []string{
		`shopd_http_requests_total{method="GET",route="GET /livez",status="200"} 1`,
		`shopd_http_requests_total{method="GET",route="GET /v1/products/{product}",status="404"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
