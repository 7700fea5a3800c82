package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopd/shopd"
	"github.com/shopd/shopd/admission"
	"github.com/shopd/shopd/cart"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/platform"
	"github.com/shopd/shopd/staff"
)

// QueueTicketHeader carries a checkout queue ticket: in a 202 answer of
// POST /v1/checkouts, and in the retry that keeps its place in line.
const QueueTicketHeader = "Queue-Ticket"

// QueuedType is the type of a 202 answer that puts a checkout in line. It
// is not a problem: it tells the 202 apart from a checkout whose order
// awaits its payment's outcome (an Order with a Location header).
const QueuedType = "https://shopd.dev/queue/waiting"

// AdmissionConfig is the checkout waiting room and the rate limits of
// checkout and login. The zero value turns all of it off.
type AdmissionConfig struct {
	// CheckoutCapacity is how many checkouts run at once; beyond it a new
	// checkout gets a queue ticket. 0 turns the waiting room off.
	CheckoutCapacity int
	// QueueLimit bounds the tickets in line (10,000); beyond it 429
	// queue-full.
	QueueLimit int
	// QueueWindow is how many tickets at the head of the line may take a
	// free slot (CheckoutCapacity).
	QueueWindow int
	// QueueHold is how long a ticket in the window waits on its connection
	// for a slot before it is told to retry at once (0: never waits).
	QueueHold time.Duration
	// TicketTTL abandons a ticket not presented again for this long (30 s).
	TicketTTL time.Duration
	// SoldOutTTL is how long a SKU that failed a checkout out of stock is
	// suspected sold out (2 s): queued checkouts of carts made only of such
	// SKUs are answered 409 out-of-stock after a stock read confirms it.
	SoldOutTTL time.Duration

	// Token buckets per client address and per account; zero limits are
	// off. Checkout is limited per customer session (guests only per
	// address), login per email address.
	CheckoutPerIP, CheckoutPerCustomer admission.Limit
	LoginPerIP, LoginPerEmail          admission.Limit
	// ExemptIPs are client addresses the per-address limits skip.
	ExemptIPs []netip.Prefix
	// ClientIPHeader names a header in which a trusted proxy puts the
	// client's address (the last entry of X-Forwarded-For); empty uses the
	// connection's peer address.
	ClientIPHeader string
	// MaxKeys bounds the buckets each limit keeps (100,000).
	MaxKeys int
	// Now is the clock of tickets and buckets (time.Now).
	Now func() time.Time
}

// admitter is the server's waiting room and limits.
type admitter struct {
	cfg                          AdmissionConfig
	gate                         *admission.Gate
	soldOut                      *admission.Marks
	confirmed                    *admission.Marks // sold out, as a stock read found it (confirmedTTL)
	checkoutIP, checkoutCustomer *admission.Limiter
	loginIP, loginEmail          *admission.Limiter

	wait       prometheus.Histogram
	limited    *prometheus.CounterVec // by route and key kind
	rejections *prometheus.CounterVec // by reason
}

func newAdmitter(c AdmissionConfig, m *platform.Metrics) (*admitter, error) {
	if c.MaxKeys <= 0 {
		c.MaxKeys = 100_000
	}
	if c.SoldOutTTL <= 0 {
		c.SoldOutTTL = 2 * time.Second
	}
	a := &admitter{
		cfg: c,
		gate: admission.NewGate(admission.Config{Capacity: c.CheckoutCapacity, QueueLimit: c.QueueLimit, Window: c.QueueWindow,
			Hold: c.QueueHold, TicketTTL: c.TicketTTL, Now: c.Now}),
		soldOut:          admission.NewMarks(c.SoldOutTTL, c.Now),
		confirmed:        admission.NewMarks(confirmedTTL, c.Now),
		checkoutIP:       admission.NewLimiter(c.CheckoutPerIP, c.MaxKeys, c.Now),
		checkoutCustomer: admission.NewLimiter(c.CheckoutPerCustomer, c.MaxKeys, c.Now),
		loginIP:          admission.NewLimiter(c.LoginPerIP, c.MaxKeys, c.Now),
		loginEmail:       admission.NewLimiter(c.LoginPerEmail, c.MaxKeys, c.Now),
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "shopd_checkout_queue_wait_seconds",
			Help:    "Time from a checkout's queue ticket to its admission.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopd_rate_limited_total",
			Help: "Requests answered 429 rate-limited, by route and by what was limited (ip, customer, email).",
		}, []string{"route", "by"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopd_checkout_queue_rejected_total",
			Help: "Checkouts turned away by the waiting room: queue_full (429), sold_out (409 from the line), ticket_mismatch (400).",
		}, []string{"reason"}),
	}
	if m == nil {
		return a, nil
	}
	// A registry serves one Server; a second Server on the same registry
	// (tests rebuild theirs) counts into the first one's collectors.
	var err error
	if a.wait, err = registerOrReuse(m, a.wait); err != nil {
		return nil, err
	}
	if a.limited, err = registerOrReuse(m, a.limited); err != nil {
		return nil, err
	}
	if a.rejections, err = registerOrReuse(m, a.rejections); err != nil {
		return nil, err
	}
	stat := func(f func(admission.Stats) float64) func() float64 {
		return func() float64 { return f(a.gate.Stats()) }
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shopd_checkout_queue_length", Help: "Checkout queue tickets in line."},
			stat(func(s admission.Stats) float64 { return float64(s.Waiting) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shopd_checkout_in_flight", Help: "Checkouts admitted and running."},
			stat(func(s admission.Stats) float64 { return float64(s.InFlight) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shopd_checkout_capacity", Help: "Checkouts admitted at once at most (0: waiting room off)."},
			func() float64 { return float64(max(c.CheckoutCapacity, 0)) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shopd_checkout_admitted_total", Help: "Checkouts admitted, directly or from the queue.", ConstLabels: prometheus.Labels{"via": "direct"}},
			stat(func(s admission.Stats) float64 { return float64(s.AdmittedDirect) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shopd_checkout_admitted_total", Help: "Checkouts admitted, directly or from the queue.", ConstLabels: prometheus.Labels{"via": "queue"}},
			stat(func(s admission.Stats) float64 { return float64(s.AdmittedQueued) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shopd_checkout_queue_tickets_total", Help: "Checkout queue tickets handed out."},
			stat(func(s admission.Stats) float64 { return float64(s.Issued) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shopd_checkout_queue_abandoned_total", Help: "Checkout queue tickets that expired unused."},
			stat(func(s admission.Stats) float64 { return float64(s.Expired) })),
	} {
		if _, err := registerOrReuse(m, c); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// registerOrReuse registers c, or returns the collector registered before
// under the same description.
func registerOrReuse[C prometheus.Collector](m *platform.Metrics, c C) (C, error) {
	err := m.Register(c)
	if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
		if old, ok := are.ExistingCollector.(C); ok {
			return old, nil
		}
	}
	return c, err
}

// gated puts the limits and the waiting room in front of the checkout and
// login endpoints, before authentication, idempotency keys or any other
// database work; other routes are returned as they are.
func (s *Server) gated(rt route, next http.Handler) http.Handler {
	name := rt.method + " " + rt.pattern
	var gate func(w http.ResponseWriter, r *http.Request, next http.Handler) error
	switch name {
	case "POST /v1/checkouts":
		gate = s.admitCheckout
	case "POST /v1/sessions":
		gate = s.admitLogin
	default:
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requestInfoFrom(r.Context()).route = name
		if err := gate(w, r, next); err != nil {
			s.writeError(w, r, err)
		}
	})
}

type cartIDKey struct{}

// admitCheckout limits checkouts per client address (not the polls of a
// ticket in line), answers a queued cart that is known to be sold out, and
// runs next once the waiting room admits the checkout.
func (s *Server) admitCheckout(w http.ResponseWriter, r *http.Request, next http.Handler) error {
	a := s.adm
	ticket := strings.TrimSpace(r.Header.Get(QueueTicketHeader))
	if ticket == "" || !a.gate.Holds(ticket) {
		if err := a.limitIP(w, r, a.checkoutIP, "POST /v1/checkouts"); err != nil {
			return err
		}
	}
	if !a.gate.On() {
		next.ServeHTTP(w, r)
		return nil
	}
	// A body without a readable cart_id waits like any other (its ticket is
	// bound to ""); once admitted, the endpoint rejects it.
	cartID, _ := peekField(r, func(b *struct {
		CartID string `json:"cart_id"`
	}) string {
		return b.CartID
	})
	if len(ticket) > 64 {
		ticket = "" // not a ticket of ours: a new arrival
	}
	r = r.WithContext(context.WithValue(r.Context(), cartIDKey{}, cartID))
	if a.soldOut.Any() && s.cartSoldOut(r, cartID) {
		a.gate.Leave(ticket)
		a.rejections.WithLabelValues("sold_out").Inc()
		return shopd.TypedErrorf(shopd.ECONFLICT, "out-of-stock", "Sold out: nothing in this cart is left in stock.")
	}
	d := a.gate.Enter(r.Context(), cartID, ticket)
	switch d.Outcome {
	case admission.Admitted:
		defer a.gate.Release()
		if d.Ticket != "" {
			a.wait.Observe(d.Waited.Seconds())
		}
		next.ServeHTTP(w, r)
		return nil
	case admission.Full:
		a.rejections.WithLabelValues("queue_full").Inc()
		setRetryAfter(w, d.RetryAfter)
		return shopd.TypedErrorf(shopd.ERATELIMITED, "queue-full", "The checkout queue is full (%d waiting); try again in %s.", d.Length, retryText(d.RetryAfter))
	case admission.Mismatch:
		a.rejections.WithLabelValues("ticket_mismatch").Inc()
		return shopd.TypedErrorf(shopd.EINVALID, "queue-ticket-mismatch", "This %s was issued for another cart.", QueueTicketHeader)
	}
	w.Header().Set(QueueTicketHeader, d.Ticket)
	w.Header().Set("Cache-Control", "no-store")
	setRetryAfter(w, d.RetryAfter)
	return respond(w, http.StatusAccepted, queueTicketJSON{
		Type: QueuedType, Status: "queued", Ticket: d.Ticket, CartID: cartID, Position: d.Position, QueueLength: d.Length,
		RetryAfterMS: d.RetryAfter.Milliseconds(), ExpiresAt: d.ExpiresAt.UTC(),
	})
}

// queueTicketJSON is the body of a 202 that puts a checkout in line.
type queueTicketJSON struct {
	Type         string    `json:"type"`
	Status       string    `json:"status"`
	Ticket       string    `json:"ticket"`
	CartID       string    `json:"cart_id"`
	Position     int       `json:"position"`
	QueueLength  int       `json:"queue_length"`
	RetryAfterMS int64     `json:"retry_after_ms"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// checkoutLimited is checkout behind the per-customer limit. When the
// waiting room is on, it marks the SKUs of a cart that failed out of stock
// as suspected sold out.
func (s *Server) checkoutLimited(w http.ResponseWriter, r *http.Request) error {
	who := callerFrom(r).session.CustomerID
	if who != "" {
		if err := s.adm.limit(w, s.adm.checkoutCustomer, who, "POST /v1/checkouts", "customer"); err != nil {
			return err
		}
	}
	err := s.checkout(w, r)
	if s.adm.gate.On() && errorType(err) == "out-of-stock" {
		cartID, _ := r.Context().Value(cartIDKey{}).(string)
		if q, qerr := s.Carts.Quote(context.WithoutCancel(r.Context()), cartID, cart.Caller{CustomerID: who}); qerr == nil {
			for _, l := range q.Lines {
				s.adm.soldOut.Mark(q.Market.Code + "|" + l.SKU)
			}
		}
	}
	return err
}

// errorType is the problem type slug of a *shopd.Error ("" otherwise).
func errorType(err error) string {
	var e *shopd.Error
	if errors.As(err, &e) {
		return e.Type
	}
	return ""
}

// confirmedTTL is how long a stock read's "sold out" stands for every
// queued checkout of the SKU: once sold out, thousands of them ask each
// second, and one read in a quarter second answers them all. A unit that
// comes back (a declined payment) waits at most this long to be sold.
const confirmedTTL = 250 * time.Millisecond

// cartSoldOut reports whether every SKU of the cart is suspected sold out
// and a stock read confirms that none is left in the cart's market (a read
// made in the last confirmedTTL, or a new one). A SKU found in stock
// (restocked, or released by a declined payment) loses its mark at once.
// Any failure to tell answers false: the checkout goes on.
func (s *Server) cartSoldOut(r *http.Request, cartID string) bool {
	ctx := r.Context()
	var who cart.Caller
	if token, ok, err := bearerToken(r); err != nil {
		return false
	} else if ok && !strings.HasPrefix(token, staff.KeyPrefix+"_") {
		sess, err := s.Customers.Authenticate(ctx, token)
		if err != nil {
			return false
		}
		who.CustomerID = sess.CustomerID
	}
	q, err := s.Carts.Quote(ctx, cartID, who)
	if err != nil || len(q.Lines) == 0 {
		return false
	}
	confirmed := true
	for _, l := range q.Lines {
		if !s.adm.soldOut.Marked(q.Market.Code + "|" + l.SKU) {
			return false
		}
		confirmed = confirmed && s.adm.confirmed.Marked(q.Market.Code+"|"+l.SKU)
	}
	if confirmed {
		return true
	}
	whs, err := s.Inventory.Warehouses(ctx)
	if err != nil {
		return false
	}
	serves := map[string]bool{}
	for _, wh := range whs {
		for _, m := range wh.Markets {
			serves[wh.Code] = serves[wh.Code] || (wh.Active && m == q.Market.Code)
		}
	}
	for _, l := range q.Lines {
		page, err := s.Inventory.Stock(ctx, inventory.StockFilter{SKU: l.SKU, Limit: 100})
		if err != nil {
			return false
		}
		for _, st := range page.Stock {
			if serves[st.Warehouse] && st.Available() > 0 {
				s.adm.soldOut.Clear(q.Market.Code + "|" + l.SKU)
				s.adm.confirmed.Clear(q.Market.Code + "|" + l.SKU)
				return false
			}
		}
	}
	for _, l := range q.Lines {
		s.adm.confirmed.Mark(q.Market.Code + "|" + l.SKU)
	}
	return true
}

// admitLogin limits logins per client address and per email address.
func (s *Server) admitLogin(w http.ResponseWriter, r *http.Request, next http.Handler) error {
	a := s.adm
	if err := a.limitIP(w, r, a.loginIP, "POST /v1/sessions"); err != nil {
		return err
	}
	if !a.loginEmail.Limit().Off() {
		email, err := peekField(r, func(b *struct {
			Email string `json:"email"`
		}) string {
			return b.Email
		})
		if err == nil && email != "" {
			if err := a.limit(w, a.loginEmail, strings.ToLower(strings.TrimSpace(email)), "POST /v1/sessions", "email"); err != nil {
				return err
			}
		}
	}
	next.ServeHTTP(w, r)
	return nil
}

// peekField reads the request body, puts it back for the endpoint, and
// returns one field of it.
func peekField[T any](r *http.Request, field func(*T) string) (string, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		// The endpoint reads the same error (413 for a body over the limit).
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
		return "", err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return "", err
	}
	return field(&v), nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// limitIP takes a token of the client address's bucket.
func (a *admitter) limitIP(w http.ResponseWriter, r *http.Request, l *admission.Limiter, route string) error {
	if l.Limit().Off() {
		return nil
	}
	ip := a.clientIP(r)
	if !ip.IsValid() {
		return nil
	}
	for _, p := range a.cfg.ExemptIPs {
		if p.Contains(ip) {
			return nil
		}
	}
	key := ip.String()
	if ip.Is6() {
		key = netip.PrefixFrom(ip, 64).Masked().String() // one IPv6 client holds a /64
	}
	return a.limit(w, l, key, route, "ip")
}

// limit takes a token of key's bucket, or answers 429 with Retry-After.
func (a *admitter) limit(w http.ResponseWriter, l *admission.Limiter, key, route, by string) error {
	ok, retry := l.Allow(key)
	if ok {
		return nil
	}
	a.limited.WithLabelValues(route, by).Inc()
	setRetryAfter(w, retry)
	what := map[string]string{"ip": "this address", "customer": "this customer", "email": "this email address"}[by]
	return shopd.TypedErrorf(shopd.ERATELIMITED, "rate-limited", "Too many requests from %s (at most %s); try again in %s.", what, l.Limit(), retryText(retry))
}

// clientIP is the client's address: from the trusted proxy's header when
// one is configured and present, else the connection's peer.
func (a *admitter) clientIP(r *http.Request) netip.Addr {
	if h := a.cfg.ClientIPHeader; h != "" {
		v := r.Header.Get(h)
		if i := strings.LastIndexByte(v, ','); i >= 0 {
			v = v[i+1:]
		}
		if ip, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
			return ip.Unmap()
		}
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	ip, _ := netip.ParseAddr(r.RemoteAddr)
	return ip.Unmap()
}

// setRetryAfter sets Retry-After in whole seconds, rounded up.
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
}

func retryText(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))) + " s"
}
