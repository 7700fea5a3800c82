package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/customer"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/sqlstore"
)

// accountMarkets is a fixed market list for the accounts suite, so that it
// does not depend on the market store.
type accountMarkets map[string]market.Market

func (m accountMarkets) Market(_ context.Context, code string) (market.Market, error) {
	if mk, ok := m[code]; ok {
		return mk, nil
	}
	return market.Market{}, shopd.Errorf(shopd.ENOTFOUND, "no market %q", code)
}

func testAccounts(t *testing.T, db *sqlstore.DB) {
	clock := shopd.NewTestClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	svc := customer.NewService(db.Customers(), clock)
	svc.Markets = accountMarkets{"us": {Code: "us", Enabled: true}, "br": {Code: "br", Enabled: true}, "xx": {Code: "xx"}}

	t.Run("RegisterRace", func(t *testing.T) { testRegisterRace(t, svc) })
	t.Run("Register", func(t *testing.T) { testRegister(t, svc, clock) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, svc, clock) })
	t.Run("UpdateAndPassword", func(t *testing.T) { testUpdateMe(t, svc, clock) })
	t.Run("Addresses", func(t *testing.T) { testAddresses(t, svc) })
	t.Run("BulkInsertAndList", func(t *testing.T) { testBulkInsert(t, db, svc) })
}

// wantCode fails unless err carries the code and problem type.
func wantCode(t *testing.T, what string, err error, code, typ string) {
	t.Helper()
	e, ok := err.(*shopd.Error)
	if !ok || e.Code != code || e.Type != typ {
		t.Fatalf("%s: err = %v, want %s %q", what, err, code, typ)
	}
}

// 100 concurrent registrations of one email: exactly one wins.
func testRegisterRace(t *testing.T, svc *customer.Service) {
	var wins, taken atomic.Int64
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The case differs per request: emails are unique after normalisation.
			email := "Race@Example.com"
			if i%2 == 1 {
				email = "race@example.COM"
			}
			_, _, err := svc.Register(ctx, customer.Registration{Email: email, Password: fmt.Sprintf("password-%d", i)})
			switch {
			case err == nil:
				wins.Add(1)
			case shopd.ErrorCode(err) == shopd.ECONFLICT:
				taken.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || taken.Load() != 99 {
		t.Fatalf("wins=%d taken=%d, want 1 and 99", wins.Load(), taken.Load())
	}
	list, _, err := svc.ListCustomers(ctx, customer.CustomerFilter{EmailPrefix: "race@", Limit: 100})
	if err != nil || len(list) != 1 || list[0].Email != "race@example.com" {
		t.Fatalf("customers = %+v, %v", list, err)
	}
}

func testRegister(t *testing.T, svc *customer.Service, clock *shopd.TestClock) {
	c, ns, err := svc.Register(ctx, customer.Registration{Email: " Ana@Example.com ", Password: "correct horse", Name: " Ana ", Market: "US", AcceptsMarketing: true})
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	want := customer.Customer{ID: c.ID, Email: "ana@example.com", Name: "Ana", Market: "us", AcceptsMarketing: true, CreatedAt: now, UpdatedAt: now}
	if c != want || !shopd.HasIDPrefix(c.ID, "cus") {
		t.Fatalf("customer = %+v, want %+v", c, want)
	}
	if ns.CustomerID != c.ID || !ns.ExpiresAt.Equal(now.Add(customer.DefaultSessionTTL)) || len(ns.Token) < 40 || ns.Token[:3] != "cs_" {
		t.Fatalf("session = %+v", ns)
	}
	stored, err := svc.Me(ctx, ns.Session)
	if err != nil || stored != want {
		t.Fatalf("stored = %+v, %v; want %+v", stored, err, want)
	}

	_, _, err = svc.Register(ctx, customer.Registration{Email: "ANA@example.com", Password: "other password"})
	wantCode(t, "same email", err, shopd.ECONFLICT, "email-taken")

	for _, tc := range []struct {
		name  string
		in    customer.Registration
		field string
	}{
		{"bad email", customer.Registration{Email: "ana", Password: "password1"}, "email"},
		{"short password", customer.Registration{Email: "b@example.com", Password: "1234567"}, "password"},
		{"long name", customer.Registration{Email: "b@example.com", Password: "password1", Name: string(make([]byte, 201))}, "name"},
		{"unknown market", customer.Registration{Email: "b@example.com", Password: "password1", Market: "zz"}, "market"},
		{"closed market", customer.Registration{Email: "b@example.com", Password: "password1", Market: "xx"}, "market"},
		{"bad market code", customer.Registration{Email: "b@example.com", Password: "password1", Market: "u$"}, "market"},
	} {
		_, _, err := svc.Register(ctx, tc.in)
		e, ok := err.(*shopd.Error)
		if !ok || e.Code != shopd.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
			t.Errorf("%s: err = %v, want one EINVALID field error on %s", tc.name, err, tc.field)
		}
	}
}

func testSessions(t *testing.T, svc *customer.Service, clock *shopd.TestClock) {
	c, reg, err := svc.Register(ctx, customer.Registration{Email: "sam@example.com", Password: "sam's password"})
	if err != nil {
		t.Fatal(err)
	}
	got, s1, err := svc.Login(ctx, "  SAM@example.com", "sam's password")
	if err != nil || got.ID != c.ID || s1.CustomerID != c.ID || s1.Token == reg.Token {
		t.Fatalf("login = %+v, %+v, %v", got, s1, err)
	}
	_, _, err = svc.Login(ctx, "sam@example.com", "wrong password")
	wantCode(t, "wrong password", err, shopd.EUNAUTHORIZED, "invalid-credentials")
	msg := err.Error()
	_, _, err = svc.Login(ctx, "nobody@example.com", "sam's password")
	wantCode(t, "unknown email", err, shopd.EUNAUTHORIZED, "invalid-credentials")
	if err.Error() != msg {
		t.Fatalf("unknown email says %q, wrong password says %q", err, msg)
	}

	sess, err := svc.Authenticate(ctx, s1.Token)
	if err != nil || sess != s1.Session {
		t.Fatalf("authenticate = %+v, %v; want %+v", sess, err, s1.Session)
	}
	for _, bad := range []string{"", "cs_", "cs_nope", s1.Token + "x", "sk_" + s1.Token[3:], s1.Token[:len(s1.Token)-1]} {
		_, err := svc.Authenticate(ctx, bad)
		wantCode(t, "token "+bad, err, shopd.EUNAUTHORIZED, "invalid-session")
	}

	// Logout ends only that session.
	if err := svc.Logout(ctx, s1.Session); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Authenticate(ctx, s1.Token)
	wantCode(t, "after logout", err, shopd.EUNAUTHORIZED, "invalid-session")
	if _, err := svc.Authenticate(ctx, reg.Token); err != nil {
		t.Fatalf("other session after logout: %v", err)
	}

	// Expiry: valid until the last microsecond, then rejected and purged.
	clock.Set(reg.ExpiresAt.Add(-time.Microsecond))
	if _, err := svc.Authenticate(ctx, reg.Token); err != nil {
		t.Fatalf("just before expiry: %v", err)
	}
	_, late, err := svc.Login(ctx, "sam@example.com", "sam's password")
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(reg.ExpiresAt)
	_, err = svc.Authenticate(ctx, reg.Token)
	wantCode(t, "at expiry", err, shopd.EUNAUTHORIZED, "invalid-session")
	if _, err := svc.Authenticate(ctx, late.Token); err != nil {
		t.Fatalf("later session: %v", err)
	}
	n, err := svc.PurgeExpiredSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The sessions of RegisterRace and Register expired with reg (same
	// clock, same TTL); the later session survives.
	if n != 3 {
		t.Fatalf("purged %d sessions, want 3", n)
	}
	if _, err := svc.Authenticate(ctx, late.Token); err != nil {
		t.Fatalf("later session after purge: %v", err)
	}
	if n, err := svc.PurgeExpiredSessions(ctx); err != nil || n != 0 {
		t.Fatalf("second purge = %d, %v; want 0", n, err)
	}

	// A configurable TTL.
	short := *svc
	short.SessionTTL = time.Hour
	_, s2, err := short.Login(ctx, "sam@example.com", "sam's password")
	if err != nil || !s2.ExpiresAt.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("short session = %+v, %v", s2, err)
	}
	clock.Advance(time.Hour)
	_, err = svc.Authenticate(ctx, s2.Token)
	wantCode(t, "short session expired", err, shopd.EUNAUTHORIZED, "invalid-session")
}

func testUpdateMe(t *testing.T, svc *customer.Service, clock *shopd.TestClock) {
	c, s1, err := svc.Register(ctx, customer.Registration{Email: "upd@example.com", Password: "first password", Name: "U"})
	if err != nil {
		t.Fatal(err)
	}
	_, s2, err := svc.Login(ctx, "upd@example.com", "first password")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	name, mk, yes := "Una", "br", true
	got, err := svc.UpdateMe(ctx, s1.Session, customer.Update{Name: &name, Market: &mk, AcceptsMarketing: &yes})
	if err != nil {
		t.Fatal(err)
	}
	want := c
	want.Name, want.Market, want.AcceptsMarketing, want.UpdatedAt = "Una", "br", true, clock.Now()
	if got != want {
		t.Fatalf("updated = %+v, want %+v", got, want)
	}
	if me, err := svc.Me(ctx, s2.Session); err != nil || me != want {
		t.Fatalf("me = %+v, %v", me, err)
	}
	// An empty update changes nothing but the time stamp.
	if got, err := svc.UpdateMe(ctx, s1.Session, customer.Update{}); err != nil || got.Name != "Una" || got.Market != "br" {
		t.Fatalf("empty update = %+v, %v", got, err)
	}
	empty := ""
	if got, err := svc.UpdateMe(ctx, s1.Session, customer.Update{Market: &empty}); err != nil || got.Market != "" {
		t.Fatalf("clear market = %+v, %v", got, err)
	}
	bad := "zz"
	_, err = svc.UpdateMe(ctx, s1.Session, customer.Update{Market: &bad})
	wantCode(t, "unknown market", err, shopd.EINVALID, "validation")

	newPW, wrong, first := "second password", "not the password", "first password"
	_, err = svc.UpdateMe(ctx, s1.Session, customer.Update{Password: &newPW})
	wantCode(t, "no current password", err, shopd.EINVALID, "validation")
	_, err = svc.UpdateMe(ctx, s1.Session, customer.Update{Password: &newPW, CurrentPassword: &wrong})
	wantCode(t, "wrong current password", err, shopd.EFORBIDDEN, "invalid-credentials")
	short := "short"
	_, err = svc.UpdateMe(ctx, s1.Session, customer.Update{Password: &short, CurrentPassword: &first})
	wantCode(t, "short new password", err, shopd.EINVALID, "validation")
	if _, err := svc.Authenticate(ctx, s2.Token); err != nil {
		t.Fatalf("failed changes revoked a session: %v", err)
	}

	if _, err := svc.UpdateMe(ctx, s1.Session, customer.Update{Password: &newPW, CurrentPassword: &first}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, s1.Token); err != nil {
		t.Fatalf("the session that changed the password: %v", err)
	}
	_, err = svc.Authenticate(ctx, s2.Token)
	wantCode(t, "other session after password change", err, shopd.EUNAUTHORIZED, "invalid-session")
	_, _, err = svc.Login(ctx, "upd@example.com", first)
	wantCode(t, "old password", err, shopd.EUNAUTHORIZED, "invalid-credentials")
	if _, _, err := svc.Login(ctx, "upd@example.com", newPW); err != nil {
		t.Fatalf("new password: %v", err)
	}

	// Two concurrent changes from the same old password: the loser sees a
	// conflict, never a silent overwrite.
	a, b := "password a", "password b"
	errs := make(chan error, 2)
	for _, pw := range []*string{&a, &b} {
		go func() {
			_, err := svc.UpdateMe(ctx, s1.Session, customer.Update{Password: pw, CurrentPassword: &newPW})
			errs <- err
		}()
	}
	e1, e2 := <-errs, <-errs
	if (e1 == nil) == (e2 == nil) {
		t.Fatalf("concurrent password changes: %v, %v; want one success and one failure", e1, e2)
	}
	if e1 == nil {
		e1 = e2
	}
	if c := shopd.ErrorCode(e1); c != shopd.ECONFLICT && c != shopd.EFORBIDDEN {
		t.Fatalf("losing change: %v, want ECONFLICT or EFORBIDDEN", e1)
	}
}

func testAddresses(t *testing.T, svc *customer.Service) {
	_, a, err := svc.Register(ctx, customer.Registration{Email: "addr-a@example.com", Password: "password a"})
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := svc.Register(ctx, customer.Registration{Email: "addr-b@example.com", Password: "password b"})
	if err != nil {
		t.Fatal(err)
	}
	in := customer.AddressInput{Name: "Ana", Line1: "1 Main St", City: "Austin", Region: "tx", PostalCode: "78701", Country: "us", Phone: "+1 512 555 0100"}
	adr, err := svc.AddAddress(ctx, a.Session, in)
	if err != nil {
		t.Fatal(err)
	}
	if adr.Region != "TX" || adr.Country != "US" || adr.CustomerID != a.CustomerID || !shopd.HasIDPrefix(adr.ID, "adr") {
		t.Fatalf("address = %+v", adr)
	}
	if got, err := svc.Address(ctx, a.Session, adr.ID); err != nil || got != adr {
		t.Fatalf("get = %+v, %v; want %+v", got, err, adr)
	}
	// Another customer cannot see or delete it.
	_, err = svc.Address(ctx, b.Session, adr.ID)
	wantCode(t, "other's address", err, shopd.ENOTFOUND, "address-not-found")
	err = svc.DeleteAddress(ctx, b.Session, adr.ID)
	wantCode(t, "delete other's address", err, shopd.ENOTFOUND, "address-not-found")
	if list, err := svc.Addresses(ctx, b.Session); err != nil || len(list) != 0 {
		t.Fatalf("b's addresses = %+v, %v", list, err)
	}
	if list, err := svc.Addresses(ctx, a.Session); err != nil || len(list) != 1 || list[0] != adr {
		t.Fatalf("a's addresses = %+v, %v", list, err)
	}

	// 40 concurrent adds: exactly up to the limit succeed.
	var ok, full atomic.Int64
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := in
			in.Line2 = fmt.Sprintf("Apt %d", i)
			_, err := svc.AddAddress(ctx, a.Session, in)
			switch {
			case err == nil:
				ok.Add(1)
			case shopd.ErrorCode(err) == shopd.ECONFLICT:
				full.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != customer.MaxAddresses-1 || full.Load() != 40-(customer.MaxAddresses-1) {
		t.Fatalf("added %d, refused %d; want %d and %d", ok.Load(), full.Load(), customer.MaxAddresses-1, 40-(customer.MaxAddresses-1))
	}
	list, err := svc.Addresses(ctx, a.Session)
	if err != nil || len(list) != customer.MaxAddresses {
		t.Fatalf("%d addresses, %v", len(list), err)
	}
	if err := svc.DeleteAddress(ctx, a.Session, adr.ID); err != nil {
		t.Fatal(err)
	}
	err = svc.DeleteAddress(ctx, a.Session, adr.ID)
	wantCode(t, "delete twice", err, shopd.ENOTFOUND, "address-not-found")
	_, err = svc.Address(ctx, a.Session, adr.ID)
	wantCode(t, "deleted", err, shopd.ENOTFOUND, "address-not-found")
	if _, err := svc.AddAddress(ctx, a.Session, in); err != nil {
		t.Fatalf("add after delete: %v", err)
	}
	_, err = svc.Address(ctx, a.Session, "adr_nope")
	wantCode(t, "malformed id", err, shopd.ENOTFOUND, "address-not-found")
}

func testBulkInsert(t *testing.T, db *sqlstore.DB, svc *customer.Service) {
	hash, err := customer.HashPassword(ctx, "seeded password")
	if err != nil {
		t.Fatal(err)
	}
	const n = 25_000 // crosses transaction and statement boundaries
	list := make([]customer.Customer, n)
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range list {
		list[i] = customer.Customer{ID: shopd.NewID("cus"), Email: fmt.Sprintf("seed%05d@example.com", i), Name: fmt.Sprintf("Seed %d", i),
			Market: "us", AcceptsMarketing: i%3 == 0, CreatedAt: created.Add(time.Duration(i) * time.Second)}
	}
	start := time.Now()
	if err := db.Customers().InsertCustomers(ctx, list, hash); err != nil {
		t.Fatal(err)
	}
	t.Logf("inserted %d customers in %v", n, time.Since(start))

	c, s, err := svc.Login(ctx, "seed12345@example.com", "seeded password")
	if err != nil {
		t.Fatal(err)
	}
	want := list[12345]
	want.UpdatedAt = want.CreatedAt
	if c != want || s.CustomerID != want.ID {
		t.Fatalf("seeded customer = %+v, want %+v", c, want)
	}

	// A login upgrades a hash made with weaker parameters, keeping the password.
	weak, err := customer.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}.Hash(ctx, "old cheap hash")
	if err != nil {
		t.Fatal(err)
	}
	old := customer.Customer{ID: shopd.NewID("cus"), Email: "weak@example.com"}
	if err := db.Customers().InsertCustomers(ctx, []customer.Customer{old}, weak); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Login(ctx, "weak@example.com", "old cheap hash"); err != nil {
		t.Fatal(err)
	}
	if h, err := db.Customers().PasswordHash(ctx, old.ID); err != nil || h == weak || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash after login = %q, %v; want an upgraded hash", h, err)
	}
	if _, _, err := svc.Login(ctx, "weak@example.com", "old cheap hash"); err != nil {
		t.Fatalf("login after upgrade: %v", err)
	}

	// A batch with a taken email writes nothing of its transaction.
	dup := []customer.Customer{{ID: shopd.NewID("cus"), Email: "fresh@example.com"}, {ID: shopd.NewID("cus"), Email: "seed00001@example.com"}}
	wantCode(t, "duplicate", db.Customers().InsertCustomers(ctx, dup, hash), shopd.ECONFLICT, "email-taken")
	if _, _, err := svc.Login(ctx, "fresh@example.com", "seeded password"); shopd.ErrorCode(err) != shopd.EUNAUTHORIZED {
		t.Fatalf("customer of a failed batch exists: %v", err)
	}

	// Staff list: prefix filter and pages in creation order.
	var got []customer.Customer
	after := ""
	for page := 0; ; page++ {
		p, next, err := svc.ListCustomers(ctx, customer.CustomerFilter{EmailPrefix: "SEED1234", After: after, Limit: 4})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p...)
		if next == "" {
			break
		}
		if page > 5 || len(p) != 4 {
			t.Fatalf("page %d has %d items", page, len(p))
		}
		after = next
	}
	if len(got) != 10 {
		t.Fatalf("prefix seed1234 found %d customers, want 10", len(got))
	}
	for i, c := range got {
		if c.Email != fmt.Sprintf("seed1234%d@example.com", i) {
			t.Fatalf("item %d = %s", i, c.Email)
		}
	}
	for _, tc := range []struct {
		prefix string
		n      int
	}{{"seed2499", 10}, {"seed24999@", 1}, {"seed3", 0}, {"%", 0}, {"seed_", 0}, {"\xff", 0}} {
		p, _, err := svc.ListCustomers(ctx, customer.CustomerFilter{EmailPrefix: tc.prefix, Limit: 100})
		if err != nil || len(p) != tc.n {
			t.Errorf("prefix %q: %d customers, %v; want %d", tc.prefix, len(p), err, tc.n)
		}
	}
	for _, f := range []customer.CustomerFilter{{Limit: 0}, {Limit: 101}, {Limit: 10, After: "x"}, {Limit: 10, EmailPrefix: "a\nb"}} {
		_, _, err := svc.ListCustomers(ctx, f)
		wantCode(t, fmt.Sprintf("filter %+v", f), err, shopd.EINVALID, "validation")
	}
}
