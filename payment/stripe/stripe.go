// Package stripe is shopd's Stripe gateway, on PaymentIntents.
//
// # Idempotency and lookup
//
// Authorize is two calls, each with an idempotency key derived from the
// payment's key: create the PaymentIntent unconfirmed ("<key>_create"; this
// never moves money), then confirm it ("<key>_confirm"). The PaymentIntent
// carries the payment's ID and key in its metadata.
//
// Lookup replays the create call with the same key and the same parameters.
// Stripe answers an idempotent replay with the PaymentIntent the first call
// made, or makes an unconfirmed one if there was none; neither moves money.
// Its status then tells what happened: succeeded or requires_capture is a
// charge; requires_payment_method with a last_payment_error is a decline;
// requires_confirmation means it was never confirmed, so Lookup cancels it
// (a late confirm can then never charge) and reports ErrNotFound. This is
// exact and immediate, unlike the Search API, which lags by up to a minute.
// Stripe keeps idempotency keys for 24 hours, so Lookup refuses (unknown
// outcome) payments older than MaxLookupAge: settle those by hand in the
// Stripe dashboard. shopd's reconciler runs every minute, far inside it.
//
// Refunds carry their key in metadata; LookupRefund lists the
// PaymentIntent's refunds and finds it, which has no 24-hour limit.
package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/payment"
	stripeapi "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"
)

// Name is the gateway's name in payment rows.
const Name = "stripe"

// MaxLookupAge is how old a payment may be for Lookup to trust Stripe's
// idempotent replay (Stripe keeps keys for 24 hours).
const MaxLookupAge = 23 * time.Hour

// Config configures the adapter.
type Config struct {
	SecretKey     string        // sk_live_… or sk_test_…; required
	WebhookSecret string        // whsec_…; webhooks are refused without it
	URL           string        // API base URL; Stripe's if empty (tests point it at stripe-mock)
	HTTPClient    *http.Client  // optional
	Clock         shopd.Clock   // SystemClock if nil
	Tolerance     time.Duration // webhook signature age limit; 5 minutes if zero
	// RateLimit is the calls per second the account may make
	// (payment.RateLimited), which bulk callers such as billing runs stay
	// under; Stripe's published default if zero: 100 in live mode, 25 in
	// test mode (sandboxes). Set it when Stripe has raised the account's.
	RateLimit float64
}

// Gateway is the Stripe adapter. It is safe for concurrent use.
type Gateway struct {
	client *stripeapi.Client
	cfg    Config
}

var _ payment.WebhookGateway = (*Gateway)(nil)

// New returns a Stripe gateway. It returns EINVALID if the secret key is
// missing.
func New(cfg Config) (*Gateway, error) {
	if cfg.SecretKey == "" {
		return nil, shopd.Errorf(shopd.EINVALID, "stripe: a secret key is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = shopd.SystemClock{}
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = webhook.DefaultTolerance
	}
	bc := &stripeapi.BackendConfig{
		HTTPClient: cfg.HTTPClient,
		// Retries reuse the idempotency key, so they are safe; one is enough
		// inside shopd's own call timeout.
		MaxNetworkRetries: stripeapi.Int64(1),
		LeveledLogger:     &stripeapi.LeveledLogger{Level: stripeapi.LevelNull},
	}
	if cfg.URL != "" {
		bc.URL = stripeapi.String(strings.TrimSuffix(cfg.URL, "/"))
	}
	client := stripeapi.NewClient(cfg.SecretKey, stripeapi.WithBackends(stripeapi.NewBackendsWithConfig(bc)))
	return &Gateway{client: client, cfg: cfg}, nil
}

// Name implements payment.Gateway.
func (g *Gateway) Name() string { return Name }

var _ payment.RateLimited = (*Gateway)(nil)

// RateLimit implements payment.RateLimited: Config.RateLimit, or Stripe's
// published default for the key's mode. Stripe counts every request, and
// a charge makes two (create, confirm), so bulk callers get half of it.
func (g *Gateway) RateLimit() float64 {
	limit := g.cfg.RateLimit
	if limit <= 0 {
		limit = 25
		if strings.HasPrefix(g.cfg.SecretKey, "sk_live_") || strings.HasPrefix(g.cfg.SecretKey, "rk_live_") {
			limit = 100
		}
	}
	return limit / 2
}

// createParams are the parameters of the create call; Lookup must send
// exactly the same ones.
func createParams(req payment.AuthorizeRequest) *stripeapi.PaymentIntentCreateParams {
	capture := "automatic"
	if !req.Capture {
		capture = "manual"
	}
	p := &stripeapi.PaymentIntentCreateParams{
		Amount:             stripeapi.Int64(req.Amount.Amount),
		Currency:           stripeapi.String(strings.ToLower(req.Amount.Currency)),
		PaymentMethod:      stripeapi.String(req.Token),
		PaymentMethodTypes: []*string{stripeapi.String("card")},
		CaptureMethod:      stripeapi.String(capture),
		Confirm:            stripeapi.Bool(false),
	}
	if req.Description != "" {
		p.Description = stripeapi.String(req.Description)
	}
	p.AddMetadata("shopd_payment", req.PaymentID)
	p.AddMetadata("shopd_key", req.Key)
	p.AddMetadata("shopd_reference", req.Reference)
	p.SetIdempotencyKey(req.Key + "_create")
	return p
}

// Authorize implements payment.Gateway.
func (g *Gateway) Authorize(ctx context.Context, req payment.AuthorizeRequest) (payment.Charge, error) {
	pi, err := g.client.V1PaymentIntents.Create(ctx, createParams(req))
	if err != nil {
		return payment.Charge{}, mapError(err)
	}
	cp := &stripeapi.PaymentIntentConfirmParams{}
	cp.SetIdempotencyKey(req.Key + "_confirm")
	confirmed, err := g.client.V1PaymentIntents.Confirm(ctx, pi.ID, cp)
	if err != nil {
		if d, ok := payment.DeclineOf(mapError(err)); ok {
			return payment.Charge{ID: pi.ID, Key: req.Key, Status: payment.ChargeDeclined, Amount: req.Amount, Decline: &d}, d.Err()
		}
		return payment.Charge{}, mapError(err)
	}
	return chargeOf(confirmed, req.Key)
}

// Lookup implements payment.Gateway; see the package documentation.
func (g *Gateway) Lookup(ctx context.Context, req payment.AuthorizeRequest) (payment.Charge, error) {
	if !req.Since.IsZero() && g.cfg.Clock.Now().Sub(req.Since) > MaxLookupAge {
		return payment.Charge{}, payment.Unknown(fmt.Errorf("stripe: payment %s is older than %v; Stripe no longer remembers its key, settle it in the dashboard", req.PaymentID, MaxLookupAge))
	}
	pi, err := g.client.V1PaymentIntents.Create(ctx, createParams(req))
	if err != nil {
		return payment.Charge{}, mapError(err)
	}
	if pi.Status == stripeapi.PaymentIntentStatusRequiresConfirmation {
		p := &stripeapi.PaymentIntentCancelParams{}
		p.SetIdempotencyKey(req.Key + "_lookup_cancel")
		if _, err := g.client.V1PaymentIntents.Cancel(ctx, pi.ID, p); err != nil {
			return payment.Charge{}, mapError(err)
		}
		return payment.Charge{}, payment.ErrNotFound
	}
	ch, err := chargeOf(pi, req.Key)
	if _, declined := payment.DeclineOf(err); declined {
		return ch, nil // Lookup reports a decline as a found charge
	}
	return ch, err
}

// Capture implements payment.Gateway.
func (g *Gateway) Capture(ctx context.Context, req payment.CaptureRequest) (payment.Charge, error) {
	p := &stripeapi.PaymentIntentCaptureParams{AmountToCapture: stripeapi.Int64(req.Amount.Amount)}
	p.SetIdempotencyKey(req.Key)
	pi, err := g.client.V1PaymentIntents.Capture(ctx, req.ChargeID, p)
	if err != nil {
		return payment.Charge{}, mapError(err)
	}
	return chargeOf(pi, "")
}

// Void implements payment.Gateway.
func (g *Gateway) Void(ctx context.Context, req payment.VoidRequest) (payment.Charge, error) {
	p := &stripeapi.PaymentIntentCancelParams{}
	p.SetIdempotencyKey(req.Key)
	pi, err := g.client.V1PaymentIntents.Cancel(ctx, req.ChargeID, p)
	if err != nil {
		return payment.Charge{}, mapError(err)
	}
	return chargeOf(pi, "")
}

// Refund implements payment.Gateway.
func (g *Gateway) Refund(ctx context.Context, req payment.RefundRequest) (payment.GatewayRefund, error) {
	p := &stripeapi.RefundCreateParams{PaymentIntent: stripeapi.String(req.ChargeID), Amount: stripeapi.Int64(req.Amount.Amount)}
	p.AddMetadata("shopd_refund", req.RefundID)
	p.AddMetadata("shopd_key", req.Key)
	p.SetIdempotencyKey(req.Key)
	r, err := g.client.V1Refunds.Create(ctx, p)
	if err != nil {
		return payment.GatewayRefund{}, mapError(err)
	}
	return refundOf(r, req), nil
}

// LookupRefund implements payment.Gateway: it lists the PaymentIntent's
// refunds and finds the one whose metadata carries the key.
func (g *Gateway) LookupRefund(ctx context.Context, req payment.RefundRequest) (payment.GatewayRefund, error) {
	list := g.client.V1Refunds.List(ctx, &stripeapi.RefundListParams{PaymentIntent: stripeapi.String(req.ChargeID)})
	for r, err := range list.All(ctx) {
		if err != nil {
			return payment.GatewayRefund{}, mapError(err)
		}
		if r.Metadata["shopd_key"] == req.Key {
			return refundOf(r, req), nil
		}
	}
	return payment.GatewayRefund{}, payment.ErrNotFound
}

func refundOf(r *stripeapi.Refund, req payment.RefundRequest) payment.GatewayRefund {
	return payment.GatewayRefund{ID: r.ID, Key: req.Key, ChargeID: req.ChargeID,
		Amount: shopd.Money{Amount: r.Amount, Currency: strings.ToUpper(string(r.Currency))}}
}

// chargeOf maps a PaymentIntent to a charge. A status that is not final
// (processing) is an unknown outcome for now.
func chargeOf(pi *stripeapi.PaymentIntent, key string) (payment.Charge, error) {
	if key == "" {
		key = pi.Metadata["shopd_key"]
	}
	c := payment.Charge{ID: pi.ID, Key: key, Amount: shopd.Money{Amount: pi.Amount, Currency: strings.ToUpper(string(pi.Currency))}}
	if pm := pi.PaymentMethod; pm != nil && pm.Card != nil {
		c.Method = payment.Method{Token: pm.ID, Brand: string(pm.Card.Brand), Last4: pm.Card.Last4, ExpMonth: int(pm.Card.ExpMonth), ExpYear: int(pm.Card.ExpYear)}
	}
	switch pi.Status {
	case stripeapi.PaymentIntentStatusSucceeded:
		c.Status, c.Captured = payment.ChargeCaptured, pi.AmountReceived
		if c.Captured == 0 {
			c.Captured = pi.Amount
		}
		return c, nil
	case stripeapi.PaymentIntentStatusRequiresCapture:
		c.Status = payment.ChargeAuthorized
		return c, nil
	case stripeapi.PaymentIntentStatusCanceled:
		c.Status = payment.ChargeVoided
		return c, nil
	case stripeapi.PaymentIntentStatusRequiresAction:
		// shopd confirms server-side and cannot take the shopper through 3-D
		// Secure here: a soft decline, the checkout may ask for another card.
		c.Status, c.Decline = payment.ChargeDeclined, payment.NewDecline("authentication-required", "The card needs authentication.", "requires_action")
		return c, c.Decline.Err()
	case stripeapi.PaymentIntentStatusRequiresPaymentMethod:
		// Declined by the card; any other last error leaves it unknown.
		if pi.LastPaymentError != nil {
			if d, ok := payment.DeclineOf(mapError(pi.LastPaymentError)); ok {
				c.Status, c.Decline = payment.ChargeDeclined, &d
				return c, d.Err()
			}
		}
	}
	return c, payment.Unknown(fmt.Errorf("stripe: PaymentIntent %s is %s", pi.ID, pi.Status))
}

// declineTypes maps Stripe decline and error codes to shopd's stable types.
var declineTypes = map[string]string{
	"insufficient_funds":                "insufficient-funds",
	"stolen_card":                       "stolen-card",
	"lost_card":                         "lost-card",
	"fraudulent":                        "fraudulent",
	"merchant_blacklist":                "fraudulent",
	"pickup_card":                       "stolen-card",
	"restricted_card":                   "stolen-card",
	"security_violation":                "fraudulent",
	"account_closed":                    "account-closed",
	"new_account_information_available": "account-closed",
	"expired_card":                      "expired-card",
	"incorrect_cvc":                     "incorrect-cvc",
	"invalid_cvc":                       "incorrect-cvc",
	"processing_error":                  "processing-error",
	"try_again_later":                   "try-again-later",
	"authentication_required":           "authentication-required",
	"card_not_supported":                "card-not-supported",
	"currency_not_supported":            "card-not-supported",
	"invalid_number":                    "invalid-payment-method",
	"incorrect_number":                  "invalid-payment-method",
	"invalid_account":                   "account-closed",
}

// mapError turns a Stripe error into shopd's: a card error is a decline;
// anything else (5xx, network, rate limit, idempotency conflicts, bad
// requests) leaves the outcome unknown, for Lookup to settle.
func mapError(err error) error {
	var se *stripeapi.Error
	if !errors.As(err, &se) {
		return payment.Unknown(err)
	}
	if se.Type == stripeapi.ErrorTypeCard {
		code := string(se.DeclineCode)
		if code == "" {
			code = string(se.Code)
		}
		typ, ok := declineTypes[code]
		if !ok {
			typ = "card-declined"
		}
		return payment.NewDecline(typ, se.Msg, code).Err()
	}
	return payment.Unknown(fmt.Errorf("stripe: %d %s %s: %s", se.HTTPStatusCode, se.Type, se.Code, se.Msg))
}

// ParseWebhook implements payment.WebhookGateway: it checks the
// Stripe-Signature header (HMAC-SHA256 with the webhook secret, within the
// tolerance) and reports payment_intent.* events about shopd payments.
func (g *Gateway) ParseWebhook(payload []byte, header http.Header) (payment.Webhook, bool, error) {
	if g.cfg.WebhookSecret == "" {
		return payment.Webhook{}, false, shopd.TypedErrorf(shopd.ENOTFOUND, "webhook-not-configured", "No Stripe webhook secret is configured.")
	}
	ev, err := webhook.ConstructEventWithOptions(payload, header.Get("Stripe-Signature"), g.cfg.WebhookSecret,
		webhook.ConstructEventOptions{Tolerance: g.cfg.Tolerance, IgnoreAPIVersionMismatch: true})
	if err != nil {
		return payment.Webhook{}, false, shopd.TypedErrorf(shopd.EINVALID, "bad-signature", "The Stripe-Signature header does not match the payload.")
	}
	switch ev.Type {
	case "payment_intent.succeeded", "payment_intent.amount_capturable_updated", "payment_intent.payment_failed", "payment_intent.canceled":
	default:
		return payment.Webhook{}, false, nil
	}
	if ev.Data == nil {
		return payment.Webhook{}, false, shopd.TypedErrorf(shopd.EINVALID, "malformed-event", "The event has no data.")
	}
	var pi stripeapi.PaymentIntent
	if err := json.Unmarshal(ev.Data.Raw, &pi); err != nil {
		return payment.Webhook{}, false, shopd.TypedErrorf(shopd.EINVALID, "malformed-event", "The event's PaymentIntent cannot be read.")
	}
	id := pi.Metadata["shopd_payment"]
	if id == "" {
		return payment.Webhook{}, false, nil // not made by shopd
	}
	ch, err := chargeOf(&pi, "")
	if _, declined := payment.DeclineOf(err); err != nil && !declined {
		return payment.Webhook{}, false, nil // not final yet
	}
	return payment.Webhook{EventID: ev.ID, PaymentID: id, Charge: ch}, true, nil
}
