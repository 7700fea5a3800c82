package httpapi_test

import (
	"bufio"
	"bytes"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopd/shopd/admission"
	"github.com/shopd/shopd/httpapi"
	"github.com/shopd/shopd/platform"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/staff"
)

// withAdmission rebuilds the env's server with the waiting room and limits
// of cfg, on the test clock, with a registry of its own.
func (e *env) withAdmission(cfg httpapi.AdmissionConfig) {
	e.t.Helper()
	d := e.srv.Deps
	d.Admission = cfg
	d.Admission.Now = e.clock.Now
	d.Metrics = platform.NewMetrics("test")
	srv, err := httpapi.NewServer(d)
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv = srv
}

// metric returns the value of one sample of /metrics, like
// `shopd_checkout_admitted_total{via="queue"}`; -1 if absent.
func (e *env) metric(t *testing.T, sample string) float64 {
	t.Helper()
	r := e.do("GET", "/metrics", nil).want(t, 200)
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.LastIndexByte(line, ' '); i > 0 && line[:i] == sample {
			value := line[i+1:]
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	return -1
}

// from sends the request from a client address.
func from(addr string) opt { return func(r *http.Request) { r.RemoteAddr = addr } }

// queueTicket is the 202 body of a queued checkout.
type queueTicket struct {
	Type         string
	Status       string
	Ticket       string
	CartID       string `json:"cart_id"`
	Position     int
	QueueLength  int   `json:"queue_length"`
	RetryAfterMS int64 `json:"retry_after_ms"`
}

// occupy starts a checkout that holds its slot for the test gateway's 2 s
// of tok_slow; it returns once the checkout is in flight, and release
// waits for its order.
func (e *env) occupy(t *testing.T, variant string) (release func()) {
	t.Helper()
	done := make(chan *resp, 1)
	cartID := e.cart(t, "us", variant, 1)
	before := e.metric(t, "shopd_checkout_in_flight")
	go func() {
		done <- e.do("POST", "/v1/checkouts", checkoutBody(cartID, "holder@example.com", "tok_slow", nyAddress))
	}()
	for deadline := time.Now().Add(10 * time.Second); e.metric(t, "shopd_checkout_in_flight") != before+1; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the holding checkout never got in")
		}
	}
	return func() {
		if r := <-done; r.Status != 201 {
			t.Errorf("holder: %d %s", r.Status, r.Body)
		}
	}
}

// TestCheckoutQueue: with room for one checkout at once, further checkouts
// are queued (202 with a ticket, unlike the 202 of a pending payment), the
// line is bounded (429 queue-full), a ticket is bound to its cart, only the
// head of the line takes the free slot, and every queued shopper then buys.
func TestCheckoutQueue(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.withAdmission(httpapi.AdmissionConfig{CheckoutCapacity: 1, QueueLimit: 3, QueueWindow: 1})
		variant := e.dropShop(t, 0, map[string]int{"east": 10})
		carts := make([]string, 4)
		tickets := make([]string, 3)
		for i := range carts {
			carts[i] = e.cart(t, "us", variant, 1)
		}
		// The gate reads the body first; a body over the limit is still 413.
		e.do("POST", "/v1/checkouts", `{"cart_id":"`+strings.Repeat("a", 2<<20)+`"}`).wantProblem(t, 413, "body-too-large")
		release := e.occupy(t, variant)
		for i := range 3 {
			r := e.do("POST", "/v1/checkouts", checkoutBody(carts[i], "q@example.com", "tok_visa", nyAddress), header("Idempotency-Key", "q-"+strconv.Itoa(i))).want(t, 202)
			var q queueTicket
			r.JSON(t, &q)
			if q.Type != httpapi.QueuedType || q.Status != "queued" || q.Position != i+1 || q.QueueLength != i+1 || q.CartID != carts[i] ||
				!strings.HasPrefix(q.Ticket, admission.TicketPrefix) || r.Header.Get(httpapi.QueueTicketHeader) != q.Ticket ||
				r.Header.Get("Location") != "" || r.Header.Get("Retry-After") != strconv.FormatInt((q.RetryAfterMS+999)/1000, 10) || q.RetryAfterMS < 100 {
				t.Fatalf("queued %d: %+v, headers %v", i, q, r.Header)
			}
			tickets[i] = q.Ticket
		}
		r := e.do("POST", "/v1/checkouts", checkoutBody(carts[3], "q@example.com", "tok_visa", nyAddress)).wantProblem(t, 429, "queue-full")
		if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 {
			t.Fatalf("queue-full Retry-After %q", r.Header.Get("Retry-After"))
		}
		e.do("POST", "/v1/checkouts", checkoutBody(carts[2], "q@example.com", "tok_visa", nyAddress),
			header(httpapi.QueueTicketHeader, tickets[1])).wantProblem(t, 400, "queue-ticket-mismatch")

		// The slot is busy: the head keeps its place.
		var q queueTicket
		e.do("POST", "/v1/checkouts", checkoutBody(carts[0], "q@example.com", "tok_visa", nyAddress),
			header(httpapi.QueueTicketHeader, tickets[0]), header("Idempotency-Key", "q-0")).want(t, 202).JSON(t, &q)
		if q.Position != 1 || q.Ticket != tickets[0] {
			t.Fatalf("head while busy: %+v", q)
		}
		release()
		// The slot is free, but the second in line may not take it before the first.
		e.do("POST", "/v1/checkouts", checkoutBody(carts[1], "q@example.com", "tok_visa", nyAddress),
			header(httpapi.QueueTicketHeader, tickets[1]), header("Idempotency-Key", "q-1")).want(t, 202).JSON(t, &q)
		if q.Position != 2 {
			t.Fatalf("second in line: %+v", q)
		}
		for i := range 3 {
			var o orderBody
			r := e.do("POST", "/v1/checkouts", checkoutBody(carts[i], "q@example.com", "tok_visa", nyAddress),
				header(httpapi.QueueTicketHeader, tickets[i]), header("Idempotency-Key", "q-"+strconv.Itoa(i))).want(t, 201)
			r.JSON(t, &o)
			if o.Status != "paid" || r.Header.Get("Location") != "/v1/orders/"+o.ID {
				t.Fatalf("admitted %d: %s", i, r.Body)
			}
		}
		// The Idempotency-Key was claimed by the admitted checkout only: a
		// replay returns its order.
		if r := e.do("POST", "/v1/checkouts", checkoutBody(carts[0], "q@example.com", "tok_visa", nyAddress), header("Idempotency-Key", "q-0")).want(t, 201); r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %v", r.Header)
		}
		if n := e.charges(t); n != 4 {
			t.Fatalf("%d captured charges, want 4 (the holder's and 3 queued)", n)
		}
		for sample, want := range map[string]float64{
			`shopd_checkout_admitted_total{via="direct"}`:                   3, // the 413, the holder and the replay
			`shopd_checkout_admitted_total{via="queue"}`:                    3,
			`shopd_checkout_queue_tickets_total`:                            3,
			`shopd_checkout_queue_rejected_total{reason="queue_full"}`:      1,
			`shopd_checkout_queue_rejected_total{reason="ticket_mismatch"}`: 1,
			`shopd_checkout_queue_length`:                                   0,
			`shopd_checkout_in_flight`:                                      0,
			`shopd_checkout_capacity`:                                       1,
			`shopd_checkout_queue_wait_seconds_count`:                       3,
		} {
			if got := e.metric(t, sample); got != want {
				t.Errorf("%s = %v, want %v", sample, got, want)
			}
		}
	})
}

// TestCheckoutQueueSoldOut: once a checkout fails out of stock, a queued
// cart of only that SKU is answered 409 out-of-stock at its next poll
// without being admitted; after a restock the same cart buys once the
// sold-out confirmation lapses.
func TestCheckoutQueueSoldOut(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.withAdmission(httpapi.AdmissionConfig{CheckoutCapacity: 1})
		variant := e.dropShop(t, 0, map[string]int{"east": 1})
		first, second := e.cart(t, "us", variant, 1), e.cart(t, "us", variant, 1)
		release := e.occupy(t, variant) // buys the only unit
		var q1, q2 queueTicket
		e.do("POST", "/v1/checkouts", checkoutBody(first, "a@example.com", "tok_visa", nyAddress)).want(t, 202).JSON(t, &q1)
		e.do("POST", "/v1/checkouts", checkoutBody(second, "b@example.com", "tok_visa", nyAddress)).want(t, 202).JSON(t, &q2)
		release()
		e.do("POST", "/v1/checkouts", checkoutBody(first, "a@example.com", "tok_visa", nyAddress),
			header(httpapi.QueueTicketHeader, q1.Ticket)).wantProblem(t, 409, "out-of-stock")
		e.do("POST", "/v1/checkouts", checkoutBody(second, "b@example.com", "tok_visa", nyAddress),
			header(httpapi.QueueTicketHeader, q2.Ticket)).wantProblem(t, 409, "out-of-stock")
		if got := e.metric(t, `shopd_checkout_admitted_total{via="queue"}`); got != 1 {
			t.Fatalf("%v admitted from the line, want 1: the second was told sold out without a checkout", got)
		}
		if got := e.metric(t, `shopd_checkout_queue_rejected_total{reason="sold_out"}`); got != 1 {
			t.Fatalf("sold_out rejections %v, want 1", got)
		}
		if got := e.metric(t, `shopd_checkout_queue_length`); got != 0 {
			t.Fatalf("queue length %v, want 0", got)
		}
		// The stock read that confirmed "sold out" stands for a quarter
		// second (one read answers a drop's thousands of late shoppers): a
		// restock is seen after it.
		e.do("POST", "/v1/admin/stock/receive", map[string]any{"warehouse": "east", "sku": "DROP-1", "quantity": 3}, as(e.keys[staff.RoleAdmin])).want(t, 200)
		e.do("POST", "/v1/checkouts", checkoutBody(second, "b@example.com", "tok_visa", nyAddress),
			header(httpapi.QueueTicketHeader, q2.Ticket)).wantProblem(t, 409, "out-of-stock")
		e.clock.Advance(250 * time.Millisecond)
		e.do("POST", "/v1/checkouts", checkoutBody(second, "b@example.com", "tok_visa", nyAddress),
			header(httpapi.QueueTicketHeader, q2.Ticket)).want(t, 201)
	})
}

// TestRateLimits: login per address and per email, checkout per address
// and per customer, each answered 429 rate-limited with Retry-After; exempt
// addresses (here through a trusted proxy's header) are never limited per
// address; buckets refill with time.
func TestRateLimits(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := accountEnv(t, db)
		limit := func(s string) admission.Limit {
			l, err := admission.ParseLimit(s)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		e.withAdmission(httpapi.AdmissionConfig{
			LoginPerIP: limit("5/1m"), LoginPerEmail: limit("2/1m"),
			CheckoutPerIP: limit("3/1m"), CheckoutPerCustomer: limit("2/1m"),
			ExemptIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, ClientIPHeader: "X-Forwarded-For",
		})
		ana := e.signUp(t, "ana@example.com", "correct horse")
		e.do("POST", "/v1/sessions", `{"email":"`+strings.Repeat("a", 2<<20)+`"}`, from("192.0.2.200:1")).wantProblem(t, 413, "body-too-large")
		login := func(email string, opts ...opt) *resp {
			return e.do("POST", "/v1/sessions", map[string]string{"email": email, "password": "wrong horse"}, opts...)
		}
		login("ana@example.com").wantProblem(t, 401, "invalid-credentials")
		login(" ANA@example.com").wantProblem(t, 401, "invalid-credentials")
		r := login("ana@example.com").wantProblem(t, 429, "rate-limited")
		if r.Header.Get("Retry-After") != "30" {
			t.Fatalf("Retry-After %q, want 30 (2 a minute)", r.Header.Get("Retry-After"))
		}
		login("bo@example.com").wantProblem(t, 401, "invalid-credentials")
		login("cy@example.com").wantProblem(t, 401, "invalid-credentials")
		login("di@example.com").wantProblem(t, 429, "rate-limited") // the address's 5 are spent
		login("di@example.com", from("198.51.100.9:4000")).wantProblem(t, 401, "invalid-credentials")
		for i := range 10 { // exempt: the proxy says the client is 10.1.2.3
			login("ed"+strconv.Itoa(i)+"@example.com", header("X-Forwarded-For", "203.0.113.50, 10.1.2.3")).wantProblem(t, 401, "invalid-credentials")
		}
		e.clock.Advance(30 * time.Second)
		e.do("POST", "/v1/sessions", map[string]string{"email": "ana@example.com", "password": "correct horse"}, from("198.51.100.9:4000")).want(t, 201)

		variant := e.dropShop(t, 0, map[string]int{"east": 20})
		for range 3 {
			e.do("POST", "/v1/checkouts", checkoutBody(e.cart(t, "us", variant, 1), "g@example.com", "tok_visa", nyAddress), from("192.0.2.77:1")).want(t, 201)
		}
		e.do("POST", "/v1/checkouts", checkoutBody(e.cart(t, "us", variant, 1), "g@example.com", "tok_visa", nyAddress), from("192.0.2.77:1")).wantProblem(t, 429, "rate-limited")
		e.do("POST", "/v1/checkouts", checkoutBody(e.cart(t, "us", variant, 1), "g@example.com", "tok_visa", nyAddress), from("[2001:db8::1]:1")).want(t, 201)
		// Ana checks out from three addresses: her own limit is 2.
		me := as(ana.Session.Token)
		for i, addr := range []string{"198.51.100.1:1", "198.51.100.2:1", "198.51.100.3:1"} {
			r := e.do("POST", "/v1/checkouts", checkoutBody(e.cart(t, "us", variant, 1, me), "", "tok_visa", nyAddress), me, from(addr))
			if i < 2 {
				r.want(t, 201)
			} else {
				r.wantProblem(t, 429, "rate-limited")
			}
		}
		for sample, want := range map[string]float64{
			`shopd_rate_limited_total{by="email",route="POST /v1/sessions"}`:     1,
			`shopd_rate_limited_total{by="ip",route="POST /v1/sessions"}`:        1,
			`shopd_rate_limited_total{by="ip",route="POST /v1/checkouts"}`:       1,
			`shopd_rate_limited_total{by="customer",route="POST /v1/checkouts"}`: 1,
		} {
			if got := e.metric(t, sample); got != want {
				t.Errorf("%s = %v, want %v", sample, got, want)
			}
		}
	})
}
