package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/shopd/shopd"
	"github.com/shopd/shopd/api"
	"github.com/shopd/shopd/box"
	"github.com/shopd/shopd/cart"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/checkout"
	"github.com/shopd/shopd/customer"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/httpapi"
	"github.com/shopd/shopd/idempotency"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/orderops"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/payment/testgateway"
	"github.com/shopd/shopd/platform"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/staff"
	"github.com/shopd/shopd/subscription"
)

// env is a shopd API on a real database, with a test clock and one staff
// key per role. Every response it sees is checked against the OpenAPI
// document.
type env struct {
	t     testing.TB
	db    *sqlstore.DB
	clock *shopd.TestClock
	srv   *httpapi.Server
	svc   services
	keys  map[staff.Role]string // staff API key secrets
}

type services struct {
	markets   *market.Service
	catalog   *catalog.Service
	customers *customer.Service
	staff     *staff.Service
	events    *event.Service
	orders    *order.Service
	inventory *inventory.Service
	carts     *cart.Service
	payments  *payment.Service
	checkout  *checkout.Service
	orderOps  *orderops.Service
	subs      *subscription.Service
	biller    *subscription.Biller
	boxes     *box.Service
}

// testStart is the test clock's first reading.
var testStart = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func newEnv(t testing.TB, db *sqlstore.DB) *env {
	t.Helper()
	clock := shopd.NewTestClock(testStart)
	svc := services{
		markets:   market.NewService(db.Markets(), clock),
		customers: customer.NewService(db.Customers(), clock),
		staff:     staff.NewService(db.Staff(), clock),
		events:    event.NewService(db.Events()),
		orders:    order.NewService(db.Orders(), clock),
	}
	svc.catalog = catalog.NewService(db.Catalog(), svc.markets, clock)
	svc.customers.Markets = svc.markets
	svc.inventory = inventory.NewService(db.Inventory(), clock)
	svc.inventory.Markets = svc.markets
	svc.carts = cart.NewService(db.Carts(), clock)
	svc.carts.Catalog, svc.carts.Markets = svc.catalog, svc.markets
	svc.payments = payment.NewService(db.Payments(), clock, payment.WithGateway(testgateway.New(db.TestGatewayLedger(), testgateway.Options{Clock: clock})))
	svc.checkout = checkout.NewService(db.Checkout(), svc.carts, svc.inventory, svc.payments, clock)
	t.Cleanup(svc.checkout.Close)
	svc.orderOps = orderops.NewService(db.OrderOps(), svc.payments, clock)
	svc.subs = subscription.NewService(db.Subscriptions(), clock, svc.markets, svc.catalog)
	svc.biller = subscription.NewBiller(db.Billing(), svc.payments, svc.markets, clock, subscription.DefaultBillingRules())
	svc.boxes = box.NewService(db.Boxes(), svc.subs, svc.catalog, svc.markets, clock)
	ctx := context.Background()
	if err := svc.markets.EnsureDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err := httpapi.NewServer(httpapi.Deps{
		Clock:         clock,
		Idempotency:   &idempotency.Service{Store: db.Idempotency(), Clock: clock},
		Markets:       svc.markets,
		Catalog:       svc.catalog,
		Customers:     svc.customers,
		Staff:         svc.staff,
		Events:        svc.events,
		Orders:        svc.orders,
		Inventory:     svc.inventory,
		Carts:         svc.carts,
		Payments:      svc.payments,
		Checkout:      svc.checkout,
		OrderOps:      svc.orderOps,
		Subscriptions: svc.subs,
		Biller:        svc.biller,
		Boxes:         svc.boxes,
		Metrics:       platform.NewMetrics("test"),
		Ready:         func(ctx context.Context) error { return db.Ping(ctx) },
		Logger:        slog.New(slog.NewTextHandler(newTestLog(t), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, clock: clock, srv: srv, svc: svc, keys: map[staff.Role]string{}}
	for _, role := range []staff.Role{staff.RoleOwner, staff.RoleAdmin, staff.RoleSupport, staff.RoleReadOnly} {
		_, secret, err := svc.staff.CreateKey(ctx, "test "+string(role), role)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[role] = secret
	}
	return e
}

// testLog passes the server's warnings and errors to the test's log, so
// that a failing test shows what the server saw; a server goroutine that
// logs after the test has ended is not an error.
type testLog struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func newTestLog(t testing.TB) *testLog {
	l := &testLog{t: t}
	t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.done = true
	})
	return l
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// resp is a recorded response.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r *resp) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Problem returns the problem type slug of an error response ("" if none).
func (r *resp) Problem() string {
	var p struct{ Type string }
	json.Unmarshal(r.Body, &p)
	return strings.TrimPrefix(p.Type, httpapi.ProblemTypeBase)
}

// opt changes a request before it is sent.
type opt func(*http.Request)

// as sends the request with a bearer token (a session token or an API key).
func as(token string) opt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// header sets a request header.
func header(k, v string) opt { return func(r *http.Request) { r.Header.Set(k, v) } }

// do sends a request to the server. body is nil (no body), a string or
// []byte (sent as is) or any other value (sent as JSON).
func (e *env) do(method, path string, body any, opts ...opt) *resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	r := &resp{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	checkAgainstSpec(e.t, req, r)
	return r
}

// want fails the test unless the response has the status.
func (r *resp) want(t testing.TB, status int) *resp {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

// wantProblem fails the test unless the response is a problem with the
// status and type slug.
func (r *resp) wantProblem(t testing.TB, status int, typ string) *resp {
	t.Helper()
	r.want(t, status)
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	if got := r.Problem(); got != typ {
		t.Fatalf("problem type %q, want %q; body: %s", got, typ, r.Body)
	}
	return r
}

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

// checkAgainstSpec fails the test if the response does not match what the
// OpenAPI document promises for the operation and status.
func checkAgainstSpec(t testing.TB, req *http.Request, r *resp) {
	t.Helper()
	specOnce.Do(func() {
		var b []byte
		if b, specErr = api.JSON(); specErr != nil {
			return
		}
		loader := openapi3.NewLoader()
		var doc *openapi3.T
		if doc, specErr = loader.LoadFromData(b); specErr != nil {
			return
		}
		doc.Servers = nil // match any host
		specRouter, specErr = legacy.NewRouter(doc)
	})
	if specErr != nil {
		t.Fatalf("OpenAPI document: %v", specErr)
	}
	route, params, err := specRouter.FindRoute(req)
	if err != nil {
		if r.Status == http.StatusNotFound || r.Status == http.StatusMethodNotAllowed {
			return // a request for a route that does not exist
		}
		t.Fatalf("%s %s: not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 r.Status,
		Header:                 r.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(r.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Fatalf("%s %s → %d does not match the OpenAPI document: %v\nbody: %s", req.Method, req.URL.Path, r.Status, err, r.Body)
	}
}
