// Package httpapi is shopd's REST API: NewServer returns an http.Handler
// that serves every route in routes.go, with problem+json errors (errors.go),
// authentication of customers and staff, idempotency keys on POST, audit of
// staff writes, and cache validators on storefront reads.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/api"
	"github.com/shopd/shopd/box"
	"github.com/shopd/shopd/cart"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/checkout"
	"github.com/shopd/shopd/customer"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/idempotency"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/orderops"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/platform"
	"github.com/shopd/shopd/readcache"
	"github.com/shopd/shopd/staff"
	"github.com/shopd/shopd/subscription"
)

// DefaultMaxBodyBytes bounds request bodies unless Deps says otherwise.
const DefaultMaxBodyBytes = 1 << 20

// Deps are the services the API serves.
type Deps struct {
	Logger      *slog.Logger
	Clock       shopd.Clock
	Idempotency *idempotency.Service
	Markets     *market.Service
	Catalog     *catalog.Service
	Customers   *customer.Service
	Staff       *staff.Service
	Events      *event.Service
	Inventory   *inventory.Service
	Carts       *cart.Service
	Payments    *payment.Service
	Orders      *order.Service
	Checkout    *checkout.Service
	OrderOps    *orderops.Service
	// Subscriptions serves plans and subscriptions; nil answers their
	// routes 503.
	Subscriptions *subscription.Service
	// Biller runs billing for the billing-runs endpoint and retries an
	// open invoice when a payment method changes; nil answers the runs
	// 503 and leaves retries to the billing worker.
	Biller *subscription.Biller
	// Boxes serves period pools, allocation runs and boxes; nil answers
	// their routes 503.
	Boxes *box.Service
	// Metrics records per-route request counts and latency and serves
	// /metrics; nil turns both off.
	Metrics *platform.Metrics
	// Ready reports whether the store can serve (reachable, migrated).
	Ready func(ctx context.Context) error
	// DefaultMarket prices storefront reads that name no market; "us" if empty.
	DefaultMarket string
	// MaxBodyBytes bounds request bodies; DefaultMaxBodyBytes if zero.
	MaxBodyBytes int64
	// Admission is the checkout waiting room and the rate limits of
	// checkout and login (admission.go); the zero value is off.
	Admission AdmissionConfig
	// Role is the part of the API served; RoleAll if empty.
	Role Role
}

// A Role is the part of the API a process serves (shopd serve --role).
type Role string

const (
	// RoleAll serves every route.
	RoleAll Role = ""
	// RoleStorefront serves the storefront's catalog reads (markets,
	// products, plans), the API document and the probes. A drop's
	// checkouts keep the processes that sell busy; storefront reads
	// served by processes of their own wait less meanwhile (measured:
	// docs/BENCHMARKS.md, "The storefront in a process of its own").
	RoleStorefront Role = "storefront"
	// RoleWorker serves only the probes and /metrics: a process that runs
	// background work.
	RoleWorker Role = "worker"
)

// serves reports whether the role serves the route.
func (r Role) serves(rt route) bool {
	name := rt.method + " " + rt.pattern
	switch r {
	case RoleAll:
		return true
	case RoleStorefront:
		return storefrontReads[name] || probes[name]
	default:
		return probes[name]
	}
}

// The routes of the roles that serve part of the API, by method and pattern.
var (
	probes          = map[string]bool{"GET /livez": true, "GET /readyz": true, "GET /metrics": true}
	storefrontReads = map[string]bool{"GET /v1/openapi.json": true, "GET /v1/markets": true, "GET /v1/products": true, "GET /v1/products/{product}": true, "GET /v1/plans": true}
)

// notServed explains a route-not-found to a process of a role.
var notServed = map[Role]string{
	RoleStorefront: " This process serves the storefront's catalog reads only (role storefront).",
	RoleWorker:     " This process runs background work only (role worker).",
}

// Server is the API's http.Handler.
type Server struct {
	Deps
	log      *slog.Logger
	mux      *http.ServeMux
	spec     []byte
	draining atomic.Bool
	adm      *admitter
	answers  *readcache.Cache // storefront answers by read (respondStorefront)
}

// NewServer returns the API handler. It fails only if the embedded OpenAPI
// document is broken.
func NewServer(d Deps) (*Server, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Clock == nil {
		d.Clock = shopd.SystemClock{}
	}
	if d.DefaultMarket == "" {
		d.DefaultMarket = "us"
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = DefaultMaxBodyBytes
	}
	spec, err := api.JSON()
	if err != nil {
		return nil, err
	}
	s := &Server{Deps: d, log: d.Logger, mux: http.NewServeMux(), spec: spec, answers: readcache.NewSized(catalog.CacheTTL, maxStorefrontAnswers)}
	if s.adm, err = newAdmitter(d.Admission, d.Metrics); err != nil {
		return nil, err
	}
	for _, rt := range s.routes() {
		if d.Role.serves(rt) {
			s.mux.Handle(rt.method+" "+rt.pattern, s.gated(rt, s.endpoint(rt)))
		}
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, shopd.TypedErrorf(shopd.ENOTFOUND, "route-not-found", "No route for %s %s.%s", r.Method, r.URL.Path, notServed[d.Role]))
	})
	return s, nil
}

// SetDraining makes /readyz fail so load balancers stop sending traffic
// before shutdown; requests in flight still complete.
func (s *Server) SetDraining(v bool) { s.draining.Store(v) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.observe(s.mux).ServeHTTP(w, r)
}
