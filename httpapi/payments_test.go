package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/httpapi"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/payment/stripe"
	"github.com/shopd/shopd/payment/testgateway"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/staff"
	"github.com/stripe/stripe-go/v85/webhook"
)

const webhookSecret = "whsec_test_secret"

// withPayments gives the env's server a payment service on the gateways.
func (e *env) withPayments(gws ...payment.Gateway) *payment.Service {
	e.t.Helper()
	var opts []payment.Option
	for _, g := range gws {
		opts = append(opts, payment.WithGateway(g))
	}
	svc := payment.NewService(e.db.Payments(), e.clock, opts...)
	d := e.srv.Deps
	d.Payments = svc
	srv, err := httpapi.NewServer(d)
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv = srv
	return svc
}

func stripeGateway(t *testing.T, clock shopd.Clock) *stripe.Gateway {
	// No API call is made in these tests: webhooks only. The URL is closed.
	g, err := stripe.New(stripe.Config{SecretKey: "sk_test_x", WebhookSecret: webhookSecret, URL: "http://127.0.0.1:1", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

type paymentOut struct {
	ID        string
	Reference string
	Amount    struct {
		Amount    int64
		Currency  string
		Formatted string
	}
	Status   string
	Gateway  string
	ChargeID string `json:"charge_id"`
	Captured struct{ Amount int64 }
	Refunded struct {
		Amount    int64
		Formatted string
	}
	PaymentMethod struct{ Brand, Last4 string } `json:"payment_method"`
	Failure       *struct {
		Type string
		Hard bool
	}
	Attempts  int
	SettledAt string `json:"settled_at"`
	Refunds   []struct {
		ID     string
		Status string
		Amount struct{ Amount int64 }
	}
}

type paymentPage struct {
	Data       []paymentOut
	NextCursor string `json:"next_cursor"`
}

func TestPaymentsAPI(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		ctx := context.Background()

		svc := e.withPayments(testgateway.New(db.TestGatewayLedger(), testgateway.Options{Clock: e.clock}))
		pay := func(token string, amount int64, currency string) payment.Payment {
			t.Helper()
			p, err := svc.Create(ctx, payment.Request{Reference: shopd.NewID("ord"), Amount: shopd.Money{Amount: amount, Currency: currency},
				Capture: true, Method: payment.Method{Token: token, Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2034}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Execute(ctx, p.ID); err != nil && !errors.As(err, new(*payment.DeclineError)) {
				t.Fatal(err)
			}
			return p
		}
		p1 := pay("tok_visa", 1999, "USD")
		p2 := pay("tok_stolen", 500, "USD")
		p3, err := svc.Create(ctx, payment.Request{Reference: "ord_pending", Amount: shopd.Money{Amount: 100, Currency: "INR"}, Capture: true,
			Method: payment.Method{Token: "tok_visa"}})
		if err != nil {
			t.Fatal(err)
		}
		p4 := pay("tok_visa", 12_345, "BRL")
		if _, err := svc.Refund(ctx, p4.ID, shopd.Money{Amount: 2345, Currency: "BRL"}, "damaged"); err != nil {
			t.Fatal(err)
		}

		support := as(e.keys[staff.RoleSupport])
		var page paymentPage
		e.do("GET", "/v1/admin/payments", nil, support).want(t, 200).JSON(t, &page)
		if len(page.Data) != 4 || page.Data[0].ID != p4.ID || page.Data[3].ID != p1.ID || page.NextCursor != "" {
			t.Fatalf("list %+v", page)
		}
		got := page.Data[0]
		if got.Status != "succeeded" || got.Amount.Formatted != (shopd.Money{Amount: 12_345, Currency: "BRL"}).Format("pt-BR") || got.Refunded.Amount != 2345 || got.Captured.Amount != 12_345 ||
			got.Gateway != "test" || got.ChargeID == "" || got.PaymentMethod.Last4 != "4242" || got.Attempts != 1 || got.SettledAt == "" {
			t.Fatalf("p4 = %+v", got)
		}
		if pend := page.Data[1]; pend.ID != p3.ID || pend.Status != "pending" || pend.SettledAt != "" || pend.Attempts != 0 {
			t.Fatalf("p3 = %+v", pend)
		}
		// Filters and pages.
		page = paymentPage{}
		e.do("GET", "/v1/admin/payments?status=failed", nil, support).want(t, 200).JSON(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != p2.ID || page.Data[0].Failure == nil || page.Data[0].Failure.Type != "stolen-card" || !page.Data[0].Failure.Hard {
			t.Fatalf("failed = %+v", page)
		}
		page = paymentPage{}
		e.do("GET", "/v1/admin/payments?reference="+p1.Reference, nil, support).want(t, 200).JSON(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != p1.ID || page.Data[0].Amount.Formatted != "$19.99" {
			t.Fatalf("by reference = %+v", page)
		}
		page = paymentPage{}
		e.do("GET", "/v1/admin/payments?limit=3", nil, support).want(t, 200).JSON(t, &page)
		if len(page.Data) != 3 || page.NextCursor != page.Data[2].ID {
			t.Fatalf("page 1 = %+v", page)
		}
		cursor := page.NextCursor
		page = paymentPage{}
		e.do("GET", "/v1/admin/payments?limit=3&cursor="+cursor, nil, support).want(t, 200).JSON(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != p1.ID || page.NextCursor != "" {
			t.Fatalf("page 2 = %+v", page)
		}

		// One payment, with its refunds.
		var one paymentOut
		e.do("GET", "/v1/admin/payments/"+p4.ID, nil, support).want(t, 200).JSON(t, &one)
		if len(one.Refunds) != 1 || one.Refunds[0].Status != "succeeded" || one.Refunds[0].Amount.Amount != 2345 || one.Refunded.Formatted != (shopd.Money{Amount: 2345, Currency: "BRL"}).Format("pt-BR") {
			t.Fatalf("p4 = %+v", one)
		}

		// The test gateway's ledger and counts.
		var ledger struct {
			Data []struct {
				ID, Reference, Status, Token string
				Refunded                     int64
			}
			Counts testgateway.Counts
		}
		e.do("GET", "/v1/admin/test-gateway/charges", nil, as(e.keys[staff.RoleReadOnly])).want(t, 200).JSON(t, &ledger)
		if len(ledger.Data) != 3 || ledger.Counts != (testgateway.Counts{Attempts: 3, Captured: 2, Declined: 1, Refunds: 1}) {
			t.Fatalf("ledger = %+v", ledger)
		}
		e.do("GET", "/v1/admin/test-gateway/charges?status=declined&limit=1", nil, as(e.keys[staff.RoleReadOnly])).want(t, 200).JSON(t, &ledger)
		if len(ledger.Data) != 1 || ledger.Data[0].Reference != p2.Reference || ledger.Data[0].Token != "tok_stolen" {
			t.Fatalf("declined = %+v", ledger)
		}

		// Bad input, missing things, and callers who may not look.
		for _, c := range []struct {
			path   string
			opt    opt
			status int
			typ    string
		}{
			{"/v1/admin/payments?status=bogus", support, 400, "validation"},
			{"/v1/admin/payments?limit=0", support, 400, "validation"},
			{"/v1/admin/payments?limit=101", support, 400, "validation"},
			{"/v1/admin/payments?limit=x", support, 400, "validation"},
			{"/v1/admin/test-gateway/charges?status=bogus", support, 400, "validation"},
			{"/v1/admin/test-gateway/charges?limit=501", support, 400, "validation"},
			{"/v1/admin/payments/pay_missing", support, 404, "payment-not-found"},
			{"/v1/admin/payments", nil, 401, "unauthorized"},
			{"/v1/admin/payments", as(e.keys[staff.RoleReadOnly]), 403, "insufficient-role"},
			{"/v1/admin/payments/" + p1.ID, as("sk_not_a_key"), 401, "invalid-api-key"},
			{"/v1/admin/test-gateway/charges", nil, 401, "unauthorized"},
		} {
			var opts []opt
			if c.opt != nil {
				opts = append(opts, c.opt)
			}
			e.do("GET", c.path, nil, opts...).wantProblem(t, c.status, c.typ)
		}
		_, tok := e.register("shopper@example.com")
		e.do("GET", "/v1/admin/payments", nil, as(tok)).wantProblem(t, 403, "forbidden")
		e.do("GET", "/v1/admin/test-gateway/charges", nil, as(tok)).wantProblem(t, 403, "forbidden")

		// Without the test gateway its ledger is not there.
		e.withPayments(stripeGateway(t, e.clock))
		e.do("GET", "/v1/admin/test-gateway/charges", nil, support).wantProblem(t, 404, "test-gateway-disabled")
	})
}

// stripeEvent is a signed Stripe event about a PaymentIntent.
func stripeEvent(t *testing.T, secret, typ, status, paymentID string, at time.Time) (string, opt) {
	t.Helper()
	body := fmt.Sprintf(`{"id":"evt_%s","object":"event","type":%q,"data":{"object":{"id":"pi_%s","object":"payment_intent",
		"amount":2500,"amount_received":2500,"currency":"usd","status":%q,"metadata":{"shopd_payment":%q},
		"last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Insufficient funds."}}}}`,
		paymentID, typ, paymentID, status, paymentID)
	sig := webhook.ComputeSignature(at, []byte(body), secret)
	return body, header("Stripe-Signature", fmt.Sprintf("t=%d,v1=%x", at.Unix(), sig))
}

func TestStripeWebhook(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		// The webhook's signature is checked against the real time.
		now := time.Now()
		svc := e.withPayments(stripeGateway(t, e.clock), testgateway.New(db.TestGatewayLedger(), testgateway.Options{Clock: e.clock}))
		create := func() payment.Payment {
			p, err := svc.Create(ctx, payment.Request{Reference: shopd.NewID("ord"), Amount: shopd.Money{Amount: 2500, Currency: "USD"},
				Capture: true, Method: payment.Method{Token: "pm_card_visa"}})
			if err != nil {
				t.Fatal(err)
			}
			if p.Gateway != "stripe" {
				t.Fatalf("gateway %q", p.Gateway)
			}
			return p
		}
		get := func(id string) paymentOut {
			var p paymentOut
			e.do("GET", "/v1/admin/payments/"+id, nil, as(e.keys[staff.RoleSupport])).want(t, 200).JSON(t, &p)
			return p
		}
		paid, declined, untouched := create(), create(), create()

		// A succeeded event settles its payment once.
		body, sig := stripeEvent(t, webhookSecret, "payment_intent.succeeded", "succeeded", paid.ID, now)
		var ack struct{ Received bool }
		e.do("POST", "/v1/webhooks/stripe", body, sig).want(t, 200).JSON(t, &ack)
		if !ack.Received {
			t.Fatal("not acknowledged")
		}
		if p := get(paid.ID); p.Status != "succeeded" || p.ChargeID != "pi_"+paid.ID || p.Captured.Amount != 2500 {
			t.Fatalf("paid = %+v", p)
		}
		// Stripe delivers at least once: a repeat changes nothing.
		e.do("POST", "/v1/webhooks/stripe", body, sig).want(t, 200)
		evs, err := e.svc.events.Events(ctx, event.Filter{Type: "payment.succeeded", Subject: paid.ID, Limit: 10})
		if err != nil || len(evs) != 1 {
			t.Fatalf("payment.succeeded events: %d, %v", len(evs), err)
		}

		// A failed event fails it with the decline.
		body, sig = stripeEvent(t, webhookSecret, "payment_intent.payment_failed", "requires_payment_method", declined.ID, now)
		e.do("POST", "/v1/webhooks/stripe", body, sig).want(t, 200)
		if p := get(declined.ID); p.Status != "failed" || p.Failure == nil || p.Failure.Type != "insufficient-funds" || p.Failure.Hard {
			t.Fatalf("declined = %+v", p)
		}

		// Bad signatures change nothing.
		good, _ := stripeEvent(t, webhookSecret, "payment_intent.succeeded", "succeeded", untouched.ID, now)
		_, wrongSecret := stripeEvent(t, "whsec_other", "payment_intent.succeeded", "succeeded", untouched.ID, now)
		_, stale := stripeEvent(t, webhookSecret, "payment_intent.succeeded", "succeeded", untouched.ID, now.Add(-time.Hour))
		for _, c := range []struct {
			name string
			opts []opt
		}{
			{"wrong secret", []opt{wrongSecret}},
			{"stale", []opt{stale}},
			{"missing", nil},
			{"garbage", []opt{header("Stripe-Signature", "t=1,v1=zz")}},
		} {
			r := e.do("POST", "/v1/webhooks/stripe", good, c.opts...)
			if r.Status != 400 || r.Problem() != "bad-signature" {
				t.Fatalf("%s: %d %s", c.name, r.Status, r.Body)
			}
		}
		if p := get(untouched.ID); p.Status != "pending" {
			t.Fatalf("untouched = %+v", p)
		}
		// Events about other things, or unknown payments, are acknowledged.
		body, sig = stripeEvent(t, webhookSecret, "customer.created", "succeeded", untouched.ID, now)
		e.do("POST", "/v1/webhooks/stripe", body, sig).want(t, 200)
		body, sig = stripeEvent(t, webhookSecret, "payment_intent.succeeded", "succeeded", "pay_unknown", now)
		e.do("POST", "/v1/webhooks/stripe", body, sig).want(t, 200)
		if p := get(untouched.ID); p.Status != "pending" {
			t.Fatalf("untouched = %+v", p)
		}
		// An Idempotency-Key replays the first answer.
		body, sig = stripeEvent(t, webhookSecret, "payment_intent.succeeded", "succeeded", untouched.ID, now)
		e.do("POST", "/v1/webhooks/stripe", body, sig, header("Idempotency-Key", "wh-1")).want(t, 200)
		r := e.do("POST", "/v1/webhooks/stripe", body, sig, header("Idempotency-Key", "wh-1")).want(t, 200)
		if r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("no replay: %v", r.Header)
		}
		e.do("POST", "/v1/webhooks/stripe", good+" ", sig, header("Idempotency-Key", "wh-1")).wantProblem(t, 422, "idempotency-key-reused")

		// Without a Stripe gateway, or without a webhook secret: 404.
		e.withPayments(testgateway.New(db.TestGatewayLedger(), testgateway.Options{}))
		e.do("POST", "/v1/webhooks/stripe", body, sig).wantProblem(t, 404, "webhook-not-configured")
		noSecret, err := stripe.New(stripe.Config{SecretKey: "sk_test_x"})
		if err != nil {
			t.Fatal(err)
		}
		e.withPayments(noSecret)
		e.do("POST", "/v1/webhooks/stripe", body, sig).wantProblem(t, 404, "webhook-not-configured")
		e.do("POST", "/v1/webhooks/stripe", body, sig, header("Content-Type", "text/plain")).want(t, http.StatusNotFound)
	})
}
