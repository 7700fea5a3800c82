package stripe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/payment"
	stripeapi "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"
)

var ctx = context.Background()

// stripeMock starts stripe-mock on a free loopback port once per test
// binary and returns its URL. A missing stripe-mock is installed with
// scripts/stripe-mock.sh; if that fails the test fails (never skips), so CI
// cannot pass without running the Stripe tests.
func stripeMock(t *testing.T) string {
	t.Helper()
	mockOnce.Do(func() { mockURL, mockErr = startStripeMock() })
	if mockErr != nil {
		t.Fatalf("stripe-mock: %v", mockErr)
	}
	return mockURL
}

// TestMain stops stripe-mock when the tests end.
func TestMain(m *testing.M) {
	code := m.Run()
	if mockProc != nil {
		mockProc.Kill()
	}
	os.Exit(code)
}

var (
	mockProc *os.Process
	mockOnce sync.Once
	mockURL  string
	mockErr  error
)

func startStripeMock() (string, error) {
	out, err := exec.Command("sh", filepath.Join("..", "..", "scripts", "stripe-mock.sh")).Output()
	if err != nil {
		return "", fmt.Errorf("scripts/stripe-mock.sh could not find or install stripe-mock: %v", err)
	}
	bin := strings.TrimSpace(string(out))
	// stripe-mock serves HTTP and HTTPS; both get free loopback ports.
	var addrs []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addrs = append(addrs, ln.Addr().String())
		ln.Close()
	}
	addr := addrs[0]
	cmd := exec.Command(bin, "-http-addr", addr, "-https-addr", addrs[1])
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return "", err
	}
	mockProc = cmd.Process
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr, nil
		}
	}
	cmd.Process.Kill()
	return "", fmt.Errorf("did not listen on %s within 20s", addr)
}

func request(key string) payment.AuthorizeRequest {
	return payment.AuthorizeRequest{Key: key, PaymentID: "pay_1", Reference: "ord_1", Amount: shopd.Money{Amount: 1999, Currency: "USD"},
		Token: "pm_card_visa", Capture: true, Description: "Order ord_1", Since: time.Now()}
}

// TestStripeMock runs every call against stripe-mock, which checks each
// request against Stripe's OpenAPI specification and answers with fixtures.
func TestStripeMock(t *testing.T) {
	g, err := New(Config{SecretKey: "sk_test_123", URL: stripeMock(t)})
	if err != nil {
		t.Fatal(err)
	}
	// The fixture PaymentIntent is requires_payment_method with a
	// non-card last error: not final, so the outcome is unknown — but the
	// requests themselves were valid (a rejected request says so).
	notFinal := func(what string, err error) {
		t.Helper()
		if !payment.IsUnknownOutcome(err) || !strings.Contains(err.Error(), "is requires_payment_method") {
			t.Fatalf("%s: err = %v, want the fixture's non-final status", what, err)
		}
	}
	_, err = g.Authorize(ctx, request("shopd_pay_1"))
	notFinal("authorize", err)
	_, err = g.Lookup(ctx, request("shopd_pay_1"))
	notFinal("lookup", err)
	_, err = g.Capture(ctx, payment.CaptureRequest{Key: "shopd_pay_1_capture", ChargeID: "pi_123", Amount: shopd.Money{Amount: 1000, Currency: "USD"}})
	notFinal("capture", err)
	r, err := g.Refund(ctx, payment.RefundRequest{Key: "shopd_ref_1", RefundID: "ref_1", ChargeID: "pi_123", Amount: shopd.Money{Amount: 500, Currency: "USD"}})
	if err != nil || !strings.HasPrefix(r.ID, "re_") || r.Key != "shopd_ref_1" {
		t.Fatalf("refund = %+v, %v", r, err)
	}
	// stripe-mock's refunds carry no shopd metadata: not found.
	if _, err := g.LookupRefund(ctx, payment.RefundRequest{Key: "shopd_ref_1", ChargeID: "pi_123"}); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("lookup refund: %v", err)
	}
	// A request Stripe rejects is an unknown outcome, never a decline.
	bad := request("k")
	bad.Amount.Currency = "not a currency with spaces"
	bad.Token = ""
	if _, err := g.Authorize(ctx, bad); payment.IsHardDecline(err) || !payment.IsUnknownOutcome(err) {
		t.Fatalf("bad request: %v", err)
	}
}

// fakeStripe is a scripted Stripe API that records the idempotency keys and
// bodies it receives.
type fakeStripe struct {
	mu       sync.Mutex
	calls    []string // "METHOD PATH KEY"
	bodies   map[string]string
	statuses map[string]string // path suffix → PaymentIntent status to answer
	lastErr  string            // last_payment_error JSON for requires_payment_method
}

func (f *fakeStripe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	key := r.Header.Get("Idempotency-Key")
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path+" "+key)
	if prev, ok := f.bodies[key]; ok && prev != string(b) {
		f.mu.Unlock()
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}`)
		return
	}
	f.bodies[key] = string(b)
	status := "requires_confirmation"
	for suffix, s := range f.statuses {
		if strings.HasSuffix(r.URL.Path, suffix) {
			status = s
		}
	}
	lastErr := "null"
	if status == "requires_payment_method" {
		lastErr = f.lastErr
	}
	f.mu.Unlock()
	form, _ := url.ParseQuery(string(b))
	fmt.Fprintf(w, `{"id":"pi_1","object":"payment_intent","amount":1999,"amount_received":%d,"currency":"usd","status":%q,
		"metadata":{"shopd_key":%q,"shopd_payment":"pay_1"},"last_payment_error":%s}`,
		map[bool]int{true: 1999}[status == "succeeded"], status, form.Get("metadata[shopd_key]"), lastErr)
}

func TestAuthorizeAndLookupKeys(t *testing.T) {
	for _, c := range []struct {
		name       string
		confirm    string // status after confirm
		lastErr    string
		wantStatus payment.ChargeStatus
		wantDecl   string
		wantHard   bool
	}{
		{"captured", "succeeded", "", payment.ChargeCaptured, "", false},
		{"authorized", "requires_capture", "", payment.ChargeAuthorized, "", false},
		{"insufficient funds", "requires_payment_method", `{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"no"}`, payment.ChargeDeclined, "insufficient-funds", false},
		{"stolen", "requires_payment_method", `{"type":"card_error","code":"card_declined","decline_code":"stolen_card"}`, payment.ChargeDeclined, "stolen-card", true},
		{"3ds", "requires_action", "", payment.ChargeDeclined, "authentication-required", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeStripe{bodies: map[string]string{}, statuses: map[string]string{"/confirm": c.confirm}, lastErr: c.lastErr}
			srv := httptest.NewServer(f)
			defer srv.Close()
			g, err := New(Config{SecretKey: "sk_test_x", URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			ch, err := g.Authorize(ctx, request("shopd_pay_1"))
			d, declined := payment.DeclineOf(err)
			if c.wantDecl == "" && err != nil || c.wantDecl != "" && (!declined || d.Type != c.wantDecl || d.Hard != c.wantHard) {
				t.Fatalf("authorize err = %v (decline %+v), want %q hard=%v", err, d, c.wantDecl, c.wantHard)
			}
			if ch.Status != c.wantStatus || ch.ID != "pi_1" {
				t.Fatalf("charge = %+v", ch)
			}
			// Lookup replays the create call with the same key and body,
			// then reads the status it reports.
			f.statuses = map[string]string{"/v1/payment_intents": c.confirm}
			got, err := g.Lookup(ctx, request("shopd_pay_1"))
			if err != nil || got.Status != c.wantStatus {
				t.Fatalf("lookup = %+v, %v", got, err)
			}
			want := []string{"POST /v1/payment_intents shopd_pay_1_create", "POST /v1/payment_intents/pi_1/confirm shopd_pay_1_confirm",
				"POST /v1/payment_intents shopd_pay_1_create"}
			if strings.Join(f.calls, "\n") != strings.Join(want, "\n") {
				t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(f.calls, "\n"), strings.Join(want, "\n"))
			}
			form, _ := url.ParseQuery(f.bodies["shopd_pay_1_create"])
			for k, v := range map[string]string{"amount": "1999", "currency": "usd", "confirm": "false", "capture_method": "automatic",
				"payment_method": "pm_card_visa", "metadata[shopd_key]": "shopd_pay_1", "metadata[shopd_payment]": "pay_1"} {
				if form.Get(k) != v {
					t.Errorf("create %s = %q, want %q", k, form.Get(k), v)
				}
			}
		})
	}

	// A PaymentIntent never confirmed: Lookup cancels it and reports no charge.
	f := &fakeStripe{bodies: map[string]string{}, statuses: map[string]string{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	g, _ := New(Config{SecretKey: "sk_test_x", URL: srv.URL})
	if _, err := g.Lookup(ctx, request("shopd_pay_2")); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("lookup unconfirmed: %v", err)
	}
	if last := f.calls[len(f.calls)-1]; last != "POST /v1/payment_intents/pi_1/cancel shopd_pay_2_lookup_cancel" {
		t.Fatalf("last call %q, want the cancel", last)
	}
	// Too old for Stripe's key memory: unknown, and no call is made.
	n := len(f.calls)
	old := request("shopd_pay_3")
	old.Since = time.Now().Add(-MaxLookupAge - time.Minute)
	if _, err := g.Lookup(ctx, old); !payment.IsUnknownOutcome(err) || len(f.calls) != n {
		t.Fatalf("old lookup: %v, %d calls", err, len(f.calls)-n)
	}
	// A server error is an unknown outcome.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		fmt.Fprint(w, `{"error":{"type":"api_error","message":"boom"}}`)
	}))
	defer down.Close()
	g, _ = New(Config{SecretKey: "sk_test_x", URL: down.URL})
	if _, err := g.Authorize(ctx, request("shopd_pay_4")); !payment.IsUnknownOutcome(err) {
		t.Fatalf("5xx: %v", err)
	}
	if _, err := New(Config{}); shopd.ErrorCode(err) != shopd.EINVALID {
		t.Fatalf("no key: %v", err)
	}
}

func TestMapError(t *testing.T) {
	for _, c := range []struct {
		err     error
		decline string
		hard    bool
	}{
		{&stripeapi.Error{Type: stripeapi.ErrorTypeCard, Code: "card_declined", DeclineCode: "generic_decline"}, "card-declined", false},
		{&stripeapi.Error{Type: stripeapi.ErrorTypeCard, Code: "card_declined", DeclineCode: "insufficient_funds"}, "insufficient-funds", false},
		{&stripeapi.Error{Type: stripeapi.ErrorTypeCard, Code: "card_declined", DeclineCode: "lost_card"}, "lost-card", true},
		{&stripeapi.Error{Type: stripeapi.ErrorTypeCard, Code: "card_declined", DeclineCode: "fraudulent"}, "fraudulent", true},
		{&stripeapi.Error{Type: stripeapi.ErrorTypeCard, Code: "expired_card"}, "expired-card", true},
		{&stripeapi.Error{Type: stripeapi.ErrorTypeCard, Code: "incorrect_cvc"}, "incorrect-cvc", false},
		{&stripeapi.Error{Type: stripeapi.ErrorTypeAPI, HTTPStatusCode: 500}, "", false},
		{&stripeapi.Error{Type: stripeapi.ErrorTypeInvalidRequest, HTTPStatusCode: 400}, "", false},
		{&stripeapi.Error{Type: stripeapi.ErrorTypeIdempotency, HTTPStatusCode: 400}, "", false},
		{errors.New("connection reset"), "", false},
	} {
		err := mapError(c.err)
		d, declined := payment.DeclineOf(err)
		switch {
		case c.decline == "" && (declined || !payment.IsUnknownOutcome(err)):
			t.Errorf("%v → %v, want unknown outcome", c.err, err)
		case c.decline != "" && (!declined || d.Type != c.decline || d.Hard != c.hard || shopd.ErrorCode(err) != shopd.EPAYMENT):
			t.Errorf("%v → %+v, want %s hard=%v", c.err, d, c.decline, c.hard)
		}
	}
}

func signed(t *testing.T, payload []byte, secret string, at time.Time) http.Header {
	t.Helper()
	sig := webhook.ComputeSignature(at, payload, secret)
	h := http.Header{}
	h.Set("Stripe-Signature", fmt.Sprintf("t=%d,v1=%x", at.Unix(), sig))
	return h
}

func TestParseWebhook(t *testing.T) {
	const secret = "whsec_test"
	g, _ := New(Config{SecretKey: "sk_test_x", WebhookSecret: secret})
	event := func(typ, status, paymentID string) []byte {
		return []byte(fmt.Sprintf(`{"id":"evt_1","object":"event","api_version":"2020-08-27","type":%q,"data":{"object":{"id":"pi_9","object":"payment_intent",
			"amount":500,"amount_received":500,"currency":"brl","status":%q,"metadata":{"shopd_payment":%q,"shopd_key":"shopd_%s"},
			"last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"stolen_card"}}}}`, typ, status, paymentID, paymentID))
	}
	now := time.Now()
	ok := event("payment_intent.succeeded", "succeeded", "pay_9")
	w, found, err := g.ParseWebhook(ok, signed(t, ok, secret, now))
	if err != nil || !found || w.PaymentID != "pay_9" || w.Charge.Status != payment.ChargeCaptured || w.Charge.Captured != 500 ||
		w.Charge.Amount != (shopd.Money{Amount: 500, Currency: "BRL"}) || w.EventID != "evt_1" {
		t.Fatalf("succeeded = %+v, %v, %v", w, found, err)
	}
	failed := event("payment_intent.payment_failed", "requires_payment_method", "pay_8")
	w, found, err = g.ParseWebhook(failed, signed(t, failed, secret, now))
	if err != nil || !found || w.Charge.Status != payment.ChargeDeclined || w.Charge.Decline == nil || !w.Charge.Decline.Hard {
		t.Fatalf("failed = %+v, %v, %v", w, found, err)
	}
	for _, c := range []struct {
		name    string
		payload []byte
		header  http.Header
		found   bool
		errType string
	}{
		{"wrong secret", ok, signed(t, ok, "whsec_other", now), false, "bad-signature"},
		{"tampered", append([]byte(" "), ok...), signed(t, ok, secret, now), false, "bad-signature"},
		{"stale", ok, signed(t, ok, secret, now.Add(-time.Hour)), false, "bad-signature"},
		{"no header", ok, http.Header{}, false, "bad-signature"},
		{"other event", event("charge.refunded", "succeeded", "pay_9"), nil, false, ""},
		{"not shopd's", event("payment_intent.succeeded", "succeeded", ""), nil, false, ""},
		{"not final", event("payment_intent.succeeded", "processing", "pay_9"), nil, false, ""},
	} {
		h := c.header
		if h == nil {
			h = signed(t, c.payload, secret, now)
		}
		_, found, err := g.ParseWebhook(c.payload, h)
		var se *shopd.Error
		gotType := ""
		if errors.As(err, &se) {
			gotType = se.Type
		}
		if found != c.found || gotType != c.errType || (c.errType == "" && err != nil) {
			t.Errorf("%s: found=%v err=%v, want found=%v type %q", c.name, found, err, c.found, c.errType)
		}
	}
	noSecret, _ := New(Config{SecretKey: "sk_test_x"})
	if _, _, err := noSecret.ParseWebhook(ok, signed(t, ok, secret, now)); shopd.ErrorCode(err) != shopd.ENOTFOUND {
		t.Fatalf("no secret: %v", err)
	}
}
