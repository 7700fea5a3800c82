package httpapi

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/payment/testgateway"
)

// paymentJSON is a payment as staff see it: never the gateway token.
type paymentJSON struct {
	ID            string            `json:"id"`
	Reference     string            `json:"reference"`
	CustomerID    string            `json:"customer_id,omitempty"`
	Amount        moneyJSON         `json:"amount"`
	Capture       bool              `json:"capture"`
	Status        payment.Status    `json:"status"`
	Gateway       string            `json:"gateway"`
	ChargeID      string            `json:"charge_id,omitempty"`
	Captured      moneyJSON         `json:"captured"`
	Refunded      moneyJSON         `json:"refunded"`
	PaymentMethod paymentMethodJSON `json:"payment_method"`
	Failure       *failureJSON      `json:"failure,omitempty"`
	Attempts      int               `json:"attempts"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	SettledAt     *time.Time        `json:"settled_at,omitempty"`
	Refunds       []refundJSON      `json:"refunds,omitempty"`
}

type paymentMethodJSON struct {
	Brand    string `json:"brand,omitempty"`
	Last4    string `json:"last4,omitempty"`
	ExpMonth int    `json:"exp_month,omitempty"`
	ExpYear  int    `json:"exp_year,omitempty"`
}

type failureJSON struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Hard    bool   `json:"hard"`
}

type refundJSON struct {
	ID        string               `json:"id"`
	Amount    moneyJSON            `json:"amount"`
	Reason    string               `json:"reason,omitempty"`
	Status    payment.RefundStatus `json:"status"`
	GatewayID string               `json:"gateway_id,omitempty"`
	Failure   *failureJSON         `json:"failure,omitempty"`
	CreatedAt time.Time            `json:"created_at"`
	UpdatedAt time.Time            `json:"updated_at"`
}

// currencyLocales formats amounts with the default locale of the first
// market that uses the currency ("en" otherwise): a payment has no market.
type currencyLocales map[string]string

func (s *Server) currencyLocales(ctx context.Context) (currencyLocales, error) {
	out := currencyLocales{}
	if s.Markets == nil {
		return out, nil
	}
	ms, err := s.Markets.Markets(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if _, ok := out[m.Currency]; !ok {
			out[m.Currency] = m.DefaultLocale
		}
	}
	return out, nil
}

func (l currencyLocales) money(m shopd.Money) moneyJSON {
	loc := l[m.Currency]
	if loc == "" {
		loc = "en"
	}
	return moneyOut(m, loc)
}

func (l currencyLocales) payment(p payment.Payment, refunds []payment.Refund) paymentJSON {
	out := paymentJSON{
		ID: p.ID, Reference: p.Reference, CustomerID: p.CustomerID, Amount: l.money(p.Amount), Capture: p.Capture,
		Status: p.Status, Gateway: p.Gateway, ChargeID: p.ChargeID,
		Captured:      l.money(shopd.Money{Amount: p.Captured, Currency: p.Amount.Currency}),
		Refunded:      l.money(shopd.Money{Amount: p.Refunded, Currency: p.Amount.Currency}),
		PaymentMethod: paymentMethodJSON{Brand: p.Method.Brand, Last4: p.Method.Last4, ExpMonth: p.Method.ExpMonth, ExpYear: p.Method.ExpYear},
		Attempts:      p.Attempts, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	if p.FailureType != "" {
		out.Failure = &failureJSON{Type: p.FailureType, Message: p.FailureMessage, Hard: p.HardDecline}
	}
	if !p.SettledAt.IsZero() {
		t := p.SettledAt
		out.SettledAt = &t
	}
	for _, r := range refunds {
		rj := refundJSON{ID: r.ID, Amount: l.money(r.Amount), Reason: r.Reason, Status: r.Status, GatewayID: r.GatewayID,
			CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
		if r.FailureType != "" {
			rj.Failure = &failureJSON{Type: r.FailureType, Message: r.FailureMessage}
		}
		out.Refunds = append(out.Refunds, rj)
	}
	return out
}

// paymentsService returns the payment service, or EUNAVAILABLE if the
// server was built without one.
func (s *Server) paymentsService() (*payment.Service, error) {
	if s.Payments == nil {
		return nil, shopd.TypedErrorf(shopd.EUNAVAILABLE, "payments-not-configured", "Payments are not configured on this server.")
	}
	return s.Payments, nil
}

// listPayments lists payments newest first; ?cursor=<next_cursor> pages on.
func (s *Server) listPayments(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.paymentsService()
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 20, 1, 100)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ps, err := svc.Payments(r.Context(), payment.Filter{Status: payment.Status(q.Get("status")), Reference: q.Get("reference"),
		Before: q.Get("cursor"), Limit: limit + 1})
	if err != nil {
		return err
	}
	locs, err := s.currencyLocales(r.Context())
	if err != nil {
		return err
	}
	page := List[paymentJSON]{Data: []paymentJSON{}}
	for i, p := range ps {
		if i == limit {
			page.NextCursor = ps[limit-1].ID
			break
		}
		page.Data = append(page.Data, locs.payment(p, nil))
	}
	return respond(w, http.StatusOK, page)
}

// getPayment shows a payment with its refunds.
func (s *Server) getPayment(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.paymentsService()
	if err != nil {
		return err
	}
	p, err := svc.Payment(r.Context(), r.PathValue("payment"))
	if err != nil {
		return err
	}
	refunds, err := svc.Refunds(r.Context(), p.ID)
	if err != nil {
		return err
	}
	locs, err := s.currencyLocales(r.Context())
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, locs.payment(p, refunds))
}

// testGatewayChargesJSON is a page of the test gateway's ledger with counts
// over all of it.
type testGatewayChargesJSON struct {
	Data       []testgateway.Entry `json:"data"`
	NextCursor string              `json:"next_cursor,omitempty"`
	Counts     testgateway.Counts  `json:"counts"`
}

// listTestGatewayCharges lists the test gateway's ledger, so tests and load
// runs can count real charges and compare them with paid orders.
func (s *Server) listTestGatewayCharges(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.paymentsService()
	if err != nil {
		return err
	}
	gw, _ := svc.Gateway(testgateway.Name)
	tg, ok := gw.(*testgateway.Gateway)
	if !ok {
		return shopd.TypedErrorf(shopd.ENOTFOUND, "test-gateway-disabled", "The test gateway is not enabled on this server.")
	}
	limit, err := queryInt(r, "limit", 100, 1, 500)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	status := payment.ChargeStatus(q.Get("status"))
	switch status {
	case "", payment.ChargeAuthorized, payment.ChargeCaptured, payment.ChargeDeclined, payment.ChargeVoided:
	default:
		return &shopd.Error{Code: shopd.EINVALID, Type: "validation", Message: "The request has invalid query parameters.",
			Fields: []shopd.FieldError{{Field: "status", Message: "must be authorized, captured, declined or voided"}}}
	}
	entries, counts, err := tg.Charges(r.Context(), testgateway.Filter{Reference: q.Get("reference"), Status: status, Before: q.Get("cursor"), Limit: limit + 1})
	if err != nil {
		return err
	}
	page := testGatewayChargesJSON{Data: entries, Counts: counts}
	if len(entries) > limit {
		page.Data = entries[:limit]
		page.NextCursor = entries[limit-1].ID
	}
	return respond(w, http.StatusOK, page)
}

// stripeWebhook applies a signed Stripe event to its payment. A bad
// signature is 400; an event about nothing shopd knows is acknowledged.
func (s *Server) stripeWebhook(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.paymentsService()
	if err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyError(err)
	}
	if err := svc.HandleWebhook(r.Context(), "stripe", body, r.Header); err != nil {
		return err
	}
	return respond(w, http.StatusOK, map[string]bool{"received": true})
}
