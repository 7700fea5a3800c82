package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/customer"
	"github.com/shopd/shopd/httpapi"
	"github.com/shopd/shopd/idempotency"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/staff"
)

// accountEnv is newEnv with the customer service checking markets, as
// cmd/shopd wires it.
func accountEnv(t *testing.T, db *sqlstore.DB) *env {
	e := newEnv(t, db)
	e.svc.customers.Markets = e.svc.markets
	return e
}

// authBody is the answer to register and login.
type authBody struct {
	Customer customer.Customer
	Session  struct {
		Token     string
		ExpiresAt string `json:"expires_at"`
	}
}

// signUp registers a customer and returns the answer.
func (e *env) signUp(t *testing.T, email, password string) authBody {
	t.Helper()
	var b authBody
	e.do("POST", "/v1/customers", map[string]any{"email": email, "password": password, "name": "N " + email, "market": "us"}).want(t, 201).JSON(t, &b)
	return b
}

func TestRegisterAndLogin(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := accountEnv(t, db)
		r := e.do("POST", "/v1/customers", map[string]any{
			"email": "  Ana@Example.com", "password": "correct horse", "name": "Ana", "market": "br", "accepts_marketing": true,
		}).want(t, 201)
		if r.Header.Get("Location") != "/v1/me" || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("headers %v", r.Header)
		}
		var reg authBody
		r.JSON(t, &reg)
		c := reg.Customer
		want := customer.Customer{ID: c.ID, Email: "ana@example.com", Name: "Ana", Market: "br", AcceptsMarketing: true, CreatedAt: testStart, UpdatedAt: testStart}
		if c != want || !shopd.HasIDPrefix(c.ID, "cus") {
			t.Fatalf("customer = %+v, want %+v", c, want)
		}
		if !strings.HasPrefix(reg.Session.Token, customer.SessionPrefix+"_") || reg.Session.ExpiresAt != "2026-12-23T10:00:00Z" {
			t.Fatalf("session = %+v", reg.Session)
		}
		// Nothing secret is in the body but the token.
		for _, secret := range []string{"argon2", "password", "hash"} {
			if strings.Contains(string(r.Body), secret) {
				t.Fatalf("register response mentions %q: %s", secret, r.Body)
			}
		}

		var me customer.Customer
		e.do("GET", "/v1/me", nil, as(reg.Session.Token)).want(t, 200).JSON(t, &me)
		if me != want {
			t.Fatalf("me = %+v, want %+v", me, want)
		}

		// Login: wrong password and unknown email answer alike.
		wrong := e.do("POST", "/v1/sessions", map[string]string{"email": "ana@example.com", "password": "wrong horse"}).wantProblem(t, 401, "invalid-credentials")
		unknown := e.do("POST", "/v1/sessions", map[string]string{"email": "bob@example.com", "password": "correct horse"}).wantProblem(t, 401, "invalid-credentials")
		var p1, p2 httpapi.Problem
		wrong.JSON(t, &p1)
		unknown.JSON(t, &p2)
		if p1.Detail != p2.Detail || p1.Title != p2.Title {
			t.Fatalf("wrong password says %+v, unknown email says %+v", p1, p2)
		}
		var login authBody
		r = e.do("POST", "/v1/sessions", map[string]string{"email": "ANA@example.com ", "password": "correct horse"}).want(t, 201)
		r.JSON(t, &login)
		if login.Customer != want || login.Session.Token == reg.Session.Token || r.Header.Get("Location") != "/v1/sessions/current" {
			t.Fatalf("login = %+v", login)
		}

		// Logout ends that session only.
		e.do("DELETE", "/v1/sessions/current", nil, as(login.Session.Token)).want(t, 204)
		e.do("GET", "/v1/me", nil, as(login.Session.Token)).wantProblem(t, 401, "invalid-session")
		e.do("DELETE", "/v1/sessions/current", nil, as(login.Session.Token)).wantProblem(t, 401, "invalid-session")
		e.do("GET", "/v1/me", nil, as(reg.Session.Token)).want(t, 200)

		// Sessions expire after 30 days.
		e.clock.Advance(customer.DefaultSessionTTL)
		e.do("GET", "/v1/me", nil, as(reg.Session.Token)).wantProblem(t, 401, "invalid-session")
	})
}

func TestRegisterBadInput(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := accountEnv(t, db)
		e.signUp(t, "taken@example.com", "password1")
		long := strings.Repeat("a", 300)
		for _, tc := range []struct {
			name   string
			body   any
			status int
			typ    string
			field  string
		}{
			{"email taken", map[string]any{"email": "TAKEN@example.com", "password": "password2"}, 409, "email-taken", ""},
			{"no body", nil, 400, "malformed-json", ""},
			{"not json", "email=a", 400, "malformed-json", ""},
			{"array", `[]`, 400, "validation", "(body)"},
			{"two objects", `{"email":"a@b.co","password":"password1"} {}`, 400, "malformed-json", ""},
			{"unknown field", map[string]any{"email": "a@example.com", "password": "password1", "admin": true}, 400, "validation", "admin"},
			{"email number", map[string]any{"email": 5, "password": "password1"}, 400, "validation", "email"},
			{"password array", map[string]any{"email": "a@example.com", "password": []string{"x"}}, 400, "validation", "password"},
			{"marketing string", map[string]any{"email": "a@example.com", "password": "password1", "accepts_marketing": "yes"}, 400, "validation", "accepts_marketing"},
			{"no email", map[string]any{"password": "password1"}, 400, "validation", "email"},
			{"bad email", map[string]any{"email": "Ana <a@example.com>", "password": "password1"}, 400, "validation", "email"},
			{"long email", map[string]any{"email": long + "@example.com", "password": "password1"}, 400, "validation", "email"},
			{"short password", map[string]any{"email": "a@example.com", "password": "1234567"}, 400, "validation", "password"},
			{"long password", map[string]any{"email": "a@example.com", "password": long}, 400, "validation", "password"},
			{"long name", map[string]any{"email": "a@example.com", "password": "password1", "name": long}, 400, "validation", "name"},
			{"control name", map[string]any{"email": "a@example.com", "password": "password1", "name": "a\x00b"}, 400, "validation", "name"},
			{"unknown market", map[string]any{"email": "a@example.com", "password": "password1", "market": "zz"}, 400, "validation", "market"},
			{"bad market", map[string]any{"email": "a@example.com", "password": "password1", "market": "u s"}, 400, "validation", "market"},
			{"huge body", `{"email":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "body-too-large", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do("POST", "/v1/customers", tc.body).wantProblem(t, tc.status, tc.typ)
				var p httpapi.Problem
				r.JSON(t, &p)
				if tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field) {
					t.Fatalf("errors = %+v, want one on %s", p.Errors, tc.field)
				}
			})
		}
		e.do("POST", "/v1/customers", `{"email":"a@example.com","password":"password1"}`, header("Content-Type", "text/plain")).
			wantProblem(t, 400, "unsupported-media-type")
		// Nothing was created by any of them.
		var list struct{ Data []customer.Customer }
		e.do("GET", "/v1/admin/customers", nil, as(e.keys[staff.RoleSupport])).want(t, 200).JSON(t, &list)
		if len(list.Data) != 1 {
			t.Fatalf("%d customers, want 1", len(list.Data))
		}

		// Login input that cannot be credentials.
		e.do("POST", "/v1/sessions", map[string]any{"email": "taken@example.com"}).wantProblem(t, 400, "validation")
		e.do("POST", "/v1/sessions", map[string]any{"email": "taken@example.com", "password": 12345678}).wantProblem(t, 400, "validation")
		e.do("POST", "/v1/sessions", map[string]any{"email": "taken@example.com", "password": "password1", "remember": true}).wantProblem(t, 400, "validation")
		e.do("POST", "/v1/sessions", map[string]any{"email": "taken@example.com", "password": strings.Repeat("p", 1100)}).wantProblem(t, 400, "validation")
	})
}

func TestRegisterIdempotent(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := accountEnv(t, db)
		body := map[string]any{"email": "idem@example.com", "password": "password1"}
		// A registration returns a session token, which shopd never stores in
		// the clear: it is not replayed. A retry is safe all the same.
		first := e.do("POST", "/v1/customers", body, header("Idempotency-Key", "reg-1")).want(t, 201)
		retry := e.do("POST", "/v1/customers", body, header("Idempotency-Key", "reg-1")).wantProblem(t, 409, "email-taken")
		if retry.Header.Get("Idempotent-Replayed") != "" {
			t.Fatal("a response holding a session token was replayed")
		}
		var list struct{ Data []customer.Customer }
		e.do("GET", "/v1/admin/customers", nil, as(e.keys[staff.RoleSupport])).want(t, 200).JSON(t, &list)
		if len(list.Data) != 1 {
			t.Fatalf("%d customers, want 1", len(list.Data))
		}
		// Likewise a login retried with its key opens a second, different session.
		l1 := e.do("POST", "/v1/sessions", body, header("Idempotency-Key", "login-1")).want(t, 201)
		l2 := e.do("POST", "/v1/sessions", body, header("Idempotency-Key", "login-1")).want(t, 201)
		if string(l1.Body) == string(l2.Body) || l2.Header.Get("Idempotent-Replayed") != "" {
			t.Fatal("a login response was replayed")
		}
		// A logged-in customer's address POST replays too.
		var reg authBody
		first.JSON(t, &reg)
		adr := map[string]any{"name": "Ana", "line1": "1 Main St", "city": "Austin", "region": "TX", "country": "US"}
		a1 := e.do("POST", "/v1/me/addresses", adr, as(reg.Session.Token), header("Idempotency-Key", "adr-1")).want(t, 201)
		a2 := e.do("POST", "/v1/me/addresses", adr, as(reg.Session.Token), header("Idempotency-Key", "adr-1")).want(t, 201)
		if string(a1.Body) != string(a2.Body) || a2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("address replay %s, first %s", a2.Body, a1.Body)
		}
	})
}

// TestCustomerIsolation checks that a customer never reads another's data.
func TestCustomerIsolation(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := accountEnv(t, db)
		a, b := e.signUp(t, "a@example.com", "password a"), e.signUp(t, "b@example.com", "password b")
		asA, asB := as(a.Session.Token), as(b.Session.Token)

		var bAdr customer.Address
		r := e.do("POST", "/v1/me/addresses", map[string]any{
			"name": "Bea", "line1": "Rua Augusta 1", "line2": "ap 3", "city": "São Paulo", "region": "sp", "postal_code": "01305-000", "country": "br", "phone": "+55 11 5555 0100",
		}, asB).want(t, 201)
		r.JSON(t, &bAdr)
		if r.Header.Get("Location") != "/v1/me/addresses/"+bAdr.ID || bAdr.Region != "SP" || bAdr.Country != "BR" || bAdr.Line2 != "ap 3" {
			t.Fatalf("address %+v, location %q", bAdr, r.Header.Get("Location"))
		}
		path := "/v1/me/addresses/" + bAdr.ID

		// A's token on B's address: 404, exactly as for an address that never existed.
		notB := e.do("GET", path, nil, asA).wantProblem(t, 404, "address-not-found")
		never := e.do("GET", "/v1/me/addresses/adr_"+strings.Repeat("0", 26), nil, asA).wantProblem(t, 404, "address-not-found")
		var p1, p2 httpapi.Problem
		notB.JSON(t, &p1)
		never.JSON(t, &p2)
		if p1.Detail != p2.Detail {
			t.Fatalf("another's address says %q, a missing one %q", p1.Detail, p2.Detail)
		}
		e.do("DELETE", path, nil, asA).wantProblem(t, 404, "address-not-found")
		var list struct{ Data []customer.Address }
		e.do("GET", "/v1/me/addresses", nil, asA).want(t, 200).JSON(t, &list)
		if len(list.Data) != 0 {
			t.Fatalf("A sees addresses %+v", list.Data)
		}
		var got customer.Address
		e.do("GET", path, nil, asB).want(t, 200).JSON(t, &got)
		if got != bAdr {
			t.Fatalf("B's address = %+v, want %+v", got, bAdr)
		}

		// /v1/me is only ever the caller.
		var me customer.Customer
		e.do("GET", "/v1/me", nil, asA).want(t, 200).JSON(t, &me)
		if me.ID != a.Customer.ID || me.Email != "a@example.com" {
			t.Fatalf("A's /v1/me = %+v", me)
		}
		// A customer is never staff.
		e.do("GET", "/v1/admin/customers", nil, asA).wantProblem(t, 403, "forbidden")
		e.do("GET", "/v1/admin/customers/"+b.Customer.ID, nil, asA).wantProblem(t, 403, "forbidden")
		// Staff are not customers, and strangers are nobody.
		e.do("GET", "/v1/me", nil, as(e.keys[staff.RoleOwner])).wantProblem(t, 403, "forbidden")
		e.do("GET", "/v1/me", nil).wantProblem(t, 401, "unauthorized")
		e.do("GET", "/v1/me/addresses", nil, as("cs_forged")).wantProblem(t, 401, "invalid-session")
		e.do("GET", "/v1/me", nil, as("not-a-token")).wantProblem(t, 401, "invalid-session")

		// B deletes it; then it is gone for B too.
		e.do("DELETE", path, nil, asB).want(t, 204)
		e.do("GET", path, nil, asB).wantProblem(t, 404, "address-not-found")
		e.do("DELETE", path, nil, asB).wantProblem(t, 404, "address-not-found")
	})
}

func TestAddressInput(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := accountEnv(t, db)
		tok := as(e.signUp(t, "adr@example.com", "password1").Session.Token)
		good := map[string]any{"name": "Ana", "line1": "1 Main St", "city": "Austin", "region": "TX", "postal_code": "78701", "country": "US"}
		with := func(k string, v any) map[string]any {
			m := map[string]any{}
			for k, v := range good {
				m[k] = v
			}
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
			return m
		}
		for _, tc := range []struct {
			body  any
			field string
		}{
			{with("name", nil), "name"},
			{with("line1", strings.Repeat("x", 201)), "line1"},
			{with("city", ""), "city"},
			{with("country", "XX"), "country"},
			{with("country", "USA"), "country"},
			{with("country", 1), "country"},
			{with("region", "Texas State"), "region"},
			{with("postal_code", "787;01"), "postal_code"},
			{with("phone", "tel:555"), "phone"},
			{with("extra", "x"), "extra"},
		} {
			var p httpapi.Problem
			e.do("POST", "/v1/me/addresses", tc.body, tok).wantProblem(t, 400, "validation").JSON(t, &p)
			if len(p.Errors) != 1 || p.Errors[0].Field != tc.field {
				t.Errorf("%v: errors %+v, want one on %s", tc.body, p.Errors, tc.field)
			}
		}
		for range customer.MaxAddresses {
			e.do("POST", "/v1/me/addresses", good, tok).want(t, 201)
		}
		e.do("POST", "/v1/me/addresses", good, tok).wantProblem(t, 409, "address-limit")
		var list struct{ Data []customer.Address }
		e.do("GET", "/v1/me/addresses", nil, tok).want(t, 200).JSON(t, &list)
		if len(list.Data) != customer.MaxAddresses {
			t.Fatalf("%d addresses", len(list.Data))
		}
	})
}

func TestUpdateMe(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := accountEnv(t, db)
		reg := e.signUp(t, "me@example.com", "first password")
		tok := as(reg.Session.Token)
		var other authBody
		e.do("POST", "/v1/sessions", map[string]string{"email": "me@example.com", "password": "first password"}).want(t, 201).JSON(t, &other)

		e.clock.Advance(42e9)
		var c customer.Customer
		e.do("PATCH", "/v1/me", map[string]any{"name": "Me Myself", "market": "CA", "accepts_marketing": true}, tok).want(t, 200).JSON(t, &c)
		want := reg.Customer
		want.Name, want.Market, want.AcceptsMarketing, want.UpdatedAt = "Me Myself", "ca", true, e.clock.Now()
		if c != want {
			t.Fatalf("updated = %+v, want %+v", c, want)
		}
		// null leaves a field as it is; "" clears the market.
		c = customer.Customer{}
		e.do("PATCH", "/v1/me", map[string]any{"name": nil, "market": ""}, tok).want(t, 200).JSON(t, &c)
		if c.Name != "Me Myself" || c.Market != "" {
			t.Fatalf("after null/clear = %+v", c)
		}
		for _, tc := range []struct {
			body   any
			status int
			typ    string
		}{
			{map[string]any{"market": "zz"}, 400, "validation"},
			{map[string]any{"name": strings.Repeat("n", 201)}, 400, "validation"},
			{map[string]any{"accepts_marketing": "true"}, 400, "validation"},
			{map[string]any{"email": "new@example.com"}, 400, "validation"},
			{map[string]any{"password": "second password"}, 400, "validation"},
			{map[string]any{"password": "short", "current_password": "first password"}, 400, "validation"},
			{map[string]any{"password": "second password", "current_password": "wrong password"}, 403, "invalid-credentials"},
		} {
			e.do("PATCH", "/v1/me", tc.body, tok).wantProblem(t, tc.status, tc.typ)
		}
		e.do("GET", "/v1/me", nil, as(other.Session.Token)).want(t, 200)

		// A password change keeps this session and ends the others.
		e.do("PATCH", "/v1/me", map[string]any{"password": "second password", "current_password": "first password"}, tok).want(t, 200)
		e.do("GET", "/v1/me", nil, tok).want(t, 200)
		e.do("GET", "/v1/me", nil, as(other.Session.Token)).wantProblem(t, 401, "invalid-session")
		e.do("POST", "/v1/sessions", map[string]string{"email": "me@example.com", "password": "first password"}).wantProblem(t, 401, "invalid-credentials")
		e.do("POST", "/v1/sessions", map[string]string{"email": "me@example.com", "password": "second password"}).want(t, 201)
	})
}

func TestAdminCustomers(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := accountEnv(t, db)
		var ids []string
		for i := range 5 {
			ids = append(ids, e.signUp(t, fmt.Sprintf("shop%d@example.com", i), "password1").Customer.ID)
		}
		other := e.signUp(t, "zed@example.org", "password1")
		e.do("POST", "/v1/me/addresses", map[string]any{"name": "Zed", "line1": "1 Main St", "city": "Toronto", "region": "ON", "country": "CA"}, as(other.Session.Token)).want(t, 201)
		support := as(e.keys[staff.RoleSupport])

		// Pages of 2 by email prefix, in sign-up order.
		var got []string
		path := "/v1/admin/customers?email=SHOP&limit=2"
		for range 4 {
			var page struct {
				Data       []customer.Customer
				NextCursor string `json:"next_cursor"`
			}
			r := e.do("GET", path, nil, support).want(t, 200)
			r.JSON(t, &page)
			for _, c := range page.Data {
				got = append(got, c.ID)
			}
			for _, secret := range []string{"argon2", "hash", "token", "session"} {
				if strings.Contains(string(r.Body), secret) {
					t.Fatalf("staff list mentions %q: %s", secret, r.Body)
				}
			}
			if page.NextCursor == "" {
				break
			}
			path = "/v1/admin/customers?email=SHOP&limit=2&cursor=" + page.NextCursor
		}
		if strings.Join(got, ",") != strings.Join(ids, ",") {
			t.Fatalf("listed %v, want %v", got, ids)
		}

		var one struct {
			customer.Customer
			Addresses []customer.Address
		}
		r := e.do("GET", "/v1/admin/customers/"+other.Customer.ID, nil, support).want(t, 200)
		r.JSON(t, &one)
		if one.Customer != other.Customer || len(one.Addresses) != 1 || one.Addresses[0].City != "Toronto" {
			t.Fatalf("staff view = %+v", one)
		}
		if strings.Contains(string(r.Body), "argon2") || strings.Contains(string(r.Body), other.Session.Token) {
			t.Fatalf("staff view leaks credentials: %s", r.Body)
		}
		e.do("GET", "/v1/admin/customers/cus_"+strings.Repeat("0", 26), nil, support).wantProblem(t, 404, "customer-not-found")
		e.do("GET", "/v1/admin/customers/nope", nil, support).wantProblem(t, 404, "customer-not-found")

		e.do("GET", "/v1/admin/customers", nil, as(e.keys[staff.RoleReadOnly])).wantProblem(t, 403, "insufficient-role")
		e.do("GET", "/v1/admin/customers", nil).wantProblem(t, 401, "unauthorized")
		for _, q := range []string{"limit=0", "limit=101", "limit=x", "cursor=bogus", "email=" + strings.Repeat("a", 255)} {
			e.do("GET", "/v1/admin/customers?"+q, nil, support).wantProblem(t, 400, "validation")
		}
	})
}

// FuzzRegisterBody sends arbitrary bodies to POST /v1/customers: the answer
// is never a server error and always matches the OpenAPI document.
func FuzzRegisterBody(f *testing.F) {
	for _, seed := range []string{
		`{"email":"a@example.com","password":"password1"}`,
		`{"email":"b@example.com","password":"password1","name":"B","market":"us","accepts_marketing":true}`,
		`{"email":"c@example.com","password":"password1","market":"zz"}`,
		`{"email":"A@EXAMPLE.COM","password":"password1"}`,
		`{"email":null,"password":null,"name":null,"market":null,"accepts_marketing":null}`,
		`{"email":"a@example.com","password":"password1","x":1}`,
		`{"email":1e400,"password":"password1"}`,
		`{"email":["a"],"password":{"p":1}}`,
		`{"email":"\u0000@example.com","password":"\ud800\udc00xxxxxxx"}`,
		`{"email":"\"@example.com\"","password":"` + strings.Repeat("é", 257) + `"}`,
		`{"email":"a@example.com","password":"password1"}{}`,
		`{"email":"a@example.com",`,
		`[` + strings.Repeat(`[`, 10000),
		`"string"`, `null`, `true`, `0`, ``, `{}`,
		"\xff\xfe{}",
	} {
		f.Add([]byte(seed))
	}
	db := storetest.Open(f, sqlstore.SQLite)
	clock := shopd.NewTestClock(testStart)
	markets := market.NewService(db.Markets(), clock)
	if err := markets.EnsureDefaults(context.Background()); err != nil {
		f.Fatal(err)
	}
	customers := customer.NewService(db.Customers(), clock)
	customers.Markets = markets
	srv, err := httpapi.NewServer(httpapi.Deps{
		Clock: clock, Idempotency: &idempotency.Service{Store: db.Idempotency(), Clock: clock},
		Markets: markets, Customers: customers, Staff: staff.NewService(db.Staff(), clock),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v1/customers", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		r := &resp{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
		if r.Status >= 500 {
			t.Fatalf("status %d for %q: %s", r.Status, body, r.Body)
		}
		checkAgainstSpec(t, req, r)
		if r.Status == 201 {
			var b authBody
			if err := json.Unmarshal(r.Body, &b); err != nil || !strings.HasPrefix(b.Session.Token, "cs_") {
				t.Fatalf("201 body %s: %v", r.Body, err)
			}
		}
	})
}
