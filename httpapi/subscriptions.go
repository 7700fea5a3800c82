package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/payment/stripe"
	"github.com/shopd/shopd/payment/testgateway"
	"github.com/shopd/shopd/subscription"
)

// errNoSubscriptions answers subscription routes on a server built without
// the subscription service.
var errNoSubscriptions = shopd.TypedErrorf(shopd.EUNAVAILABLE, "subscriptions-unavailable", "Subscriptions are not enabled on this server.")

// planJSON is a plan as staff see it: prices in every market.
type planJSON struct {
	ID        string                  `json:"id"`
	Name      string                  `json:"name"`
	Interval  subscription.Interval   `json:"interval"`
	Prices    map[string]moneyJSON    `json:"prices"`
	TrialDays int                     `json:"trial_days"`
	Kind      subscription.Kind       `json:"kind"`
	BoxSize   int                     `json:"box_size,omitempty"`
	Items     []subscription.PlanItem `json:"items,omitempty"`
	Status    subscription.PlanStatus `json:"status"`
	CreatedAt time.Time               `json:"created_at"`
	UpdatedAt time.Time               `json:"updated_at"`
}

// publicPlanJSON is an active plan as shoppers see it in one market.
type publicPlanJSON struct {
	ID        string                  `json:"id"`
	Name      string                  `json:"name"`
	Interval  subscription.Interval   `json:"interval"`
	Market    string                  `json:"market"`
	Price     moneyJSON               `json:"price"`
	TrialDays int                     `json:"trial_days"`
	Kind      subscription.Kind       `json:"kind"`
	BoxSize   int                     `json:"box_size,omitempty"`
	Items     []subscription.PlanItem `json:"items,omitempty"`
}

func (s *Server) planOut(ctx context.Context, p subscription.Plan) planJSON {
	locales := s.locales(ctx)
	j := planJSON{ID: p.ID, Name: p.Name, Interval: p.Interval, Prices: make(map[string]moneyJSON, len(p.Prices)), TrialDays: p.TrialDays,
		Kind: p.Kind, BoxSize: p.BoxSize, Items: p.Items, Status: p.Status, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	for code, m := range p.Prices {
		j.Prices[code] = moneyOut(m, locales.of(code))
	}
	return j
}

// listPlans serves GET /v1/plans: the active plans sold in the market, each
// with its price there only.
func (s *Server) listPlans(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	code := r.URL.Query().Get("market")
	if code == "" {
		code = s.DefaultMarket
	}
	m, ps, err := s.Subscriptions.MarketPlans(r.Context(), code)
	if err != nil {
		return err
	}
	out := List[publicPlanJSON]{Data: make([]publicPlanJSON, 0, len(ps))}
	for _, p := range ps {
		out.Data = append(out.Data, publicPlanJSON{ID: p.ID, Name: p.Name, Interval: p.Interval, Market: m.Code,
			Price: moneyOut(p.Prices[m.Code], m.DefaultLocale), TrialDays: p.TrialDays, Kind: p.Kind, BoxSize: p.BoxSize, Items: p.Items})
	}
	w.Header().Set("Cache-Control", "no-store")
	return respond(w, http.StatusOK, out)
}

// adminListPlans serves GET /v1/admin/plans.
func (s *Server) adminListPlans(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	ps, err := s.Subscriptions.Plans(r.Context(), subscription.PlanFilter{Status: subscription.PlanStatus(r.URL.Query().Get("status"))})
	if err != nil {
		return err
	}
	out := List[planJSON]{Data: make([]planJSON, 0, len(ps))}
	for _, p := range ps {
		out.Data = append(out.Data, s.planOut(r.Context(), p))
	}
	return respond(w, http.StatusOK, out)
}

// createPlan serves POST /v1/admin/plans.
func (s *Server) createPlan(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	var in subscription.NewPlan
	if err := decode(r, &in); err != nil {
		return err
	}
	p, err := s.Subscriptions.CreatePlan(r.Context(), in)
	if err != nil {
		return err
	}
	return created(w, "/v1/admin/plans/"+p.ID, s.planOut(r.Context(), p))
}

// getPlan serves GET /v1/admin/plans/{plan}.
func (s *Server) getPlan(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	p, err := s.Subscriptions.Plan(r.Context(), r.PathValue("plan"))
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, s.planOut(r.Context(), p))
}

// updatePlan serves PATCH /v1/admin/plans/{plan}; archiving is
// {"status": "archived"}.
func (s *Server) updatePlan(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	var in subscription.PlanUpdate
	if err := decode(r, &in); err != nil {
		return err
	}
	p, err := s.Subscriptions.UpdatePlan(r.Context(), r.PathValue("plan"), in)
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, s.planOut(r.Context(), p))
}

// deletePlan serves DELETE /v1/admin/plans/{plan}: only a plan no
// subscription refers to; 409 plan-in-use otherwise.
func (s *Server) deletePlan(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	if err := s.Subscriptions.DeletePlan(r.Context(), r.PathValue("plan")); err != nil {
		return err
	}
	return noContent(w)
}

// methodInput is a payment method as a client sends it: a gateway token and
// optional card display fields. Responses show only the display fields.
type methodInput struct {
	Token    string `json:"token"`
	Brand    string `json:"brand"`
	Last4    string `json:"last4"`
	ExpMonth int    `json:"exp_month"`
	ExpYear  int    `json:"exp_year"`
}

func (m methodInput) method() payment.Method {
	return payment.Method{Token: m.Token, Brand: m.Brand, Last4: m.Last4, ExpMonth: m.ExpMonth, ExpYear: m.ExpYear}
}

// subscriptionJSON is a subscription as the API shows it.
type subscriptionJSON struct {
	ID                 string                `json:"id"`
	CustomerID         string                `json:"customer_id"`
	PlanID             string                `json:"plan_id"`
	Market             string                `json:"market"`
	Price              moneyJSON             `json:"price"`
	TimeZone           string                `json:"time_zone"`
	Interval           subscription.Interval `json:"interval"`
	Kind               subscription.Kind     `json:"kind"`
	Status             subscription.Status   `json:"status"`
	Anchor             time.Time             `json:"anchor"`
	TrialEnd           time.Time             `json:"trial_end,omitzero"`
	PeriodIndex        int                   `json:"period_index"`
	CurrentPeriodStart time.Time             `json:"current_period_start"`
	CurrentPeriodEnd   time.Time             `json:"current_period_end"`
	NextPeriod         int                   `json:"next_period"`
	NextBillingAt      time.Time             `json:"next_billing_at,omitzero"`
	CancelAtPeriodEnd  bool                  `json:"cancel_at_period_end"`
	CanceledAt         time.Time             `json:"canceled_at,omitzero"`
	PausedUntil        time.Time             `json:"paused_until,omitzero"`
	SkipPeriod         *int                  `json:"skip_period,omitempty"`
	PendingPlan        *pendingPlanJSON      `json:"pending_plan,omitempty"`
	Adjustment         moneyJSON             `json:"adjustment"`
	PaymentMethod      paymentMethodJSON     `json:"payment_method"`
	ShipTo             order.Address         `json:"ship_to"`
	CreatedAt          time.Time             `json:"created_at"`
	UpdatedAt          time.Time             `json:"updated_at"`
	PlanChange         *planChangeJSON       `json:"plan_change,omitempty"`
}

type pendingPlanJSON struct {
	PlanID string    `json:"plan_id"`
	Price  moneyJSON `json:"price"`
}

// planChangeJSON reports a plan change in the response that made it.
type planChangeJSON struct {
	Effective subscription.Effective `json:"effective"`
	Credit    moneyJSON              `json:"credit"`
	Charge    moneyJSON              `json:"charge"`
	Net       moneyJSON              `json:"net"`
	Note      string                 `json:"note"`
}

func (s *Server) subscriptionOut(ctx context.Context, subs ...subscription.Subscription) []subscriptionJSON {
	locales := s.locales(ctx)
	out := make([]subscriptionJSON, 0, len(subs))
	for _, sub := range subs {
		loc := locales.of(sub.Market)
		pm := sub.PaymentMethod
		j := subscriptionJSON{ID: sub.ID, CustomerID: sub.CustomerID, PlanID: sub.PlanID, Market: sub.Market, Price: moneyOut(sub.Price, loc),
			TimeZone: sub.TimeZone, Interval: sub.Interval, Kind: sub.Kind, Status: sub.Status, Anchor: sub.Anchor, TrialEnd: sub.TrialEnd,
			PeriodIndex: sub.PeriodIndex, CurrentPeriodStart: sub.CurrentPeriodStart, CurrentPeriodEnd: sub.CurrentPeriodEnd,
			NextPeriod: sub.NextPeriod, NextBillingAt: sub.NextBillingAt, CancelAtPeriodEnd: sub.CancelAtPeriodEnd, CanceledAt: sub.CanceledAt,
			PausedUntil: sub.PausedUntil, Adjustment: moneyOut(sub.Adjustment, loc),
			PaymentMethod: paymentMethodJSON{Brand: pm.Brand, Last4: pm.Last4, ExpMonth: pm.ExpMonth, ExpYear: pm.ExpYear},
			ShipTo:        sub.ShipTo, CreatedAt: sub.CreatedAt, UpdatedAt: sub.UpdatedAt}
		if sub.SkipPeriod != subscription.NoPeriod {
			n := sub.SkipPeriod
			j.SkipPeriod = &n
		}
		if sub.PendingPlanID != "" {
			j.PendingPlan = &pendingPlanJSON{PlanID: sub.PendingPlanID, Price: moneyOut(sub.PendingPlanPrice, loc)}
		}
		out = append(out, j)
	}
	return out
}

func (s *Server) respondSubscription(w http.ResponseWriter, r *http.Request, status int, sub subscription.Subscription) error {
	w.Header().Set("Cache-Control", "no-store")
	return respond(w, status, s.subscriptionOut(r.Context(), sub)[0])
}

// respondSubscriptions writes a page of subscriptions; a full page names the
// cursor of the next one.
func (s *Server) respondSubscriptions(w http.ResponseWriter, r *http.Request, f subscription.Filter) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	limit, err := queryInt(r, "limit", 20, 1, subscription.MaxPageSize)
	if err != nil {
		return err
	}
	f.Before, f.Limit = r.URL.Query().Get("cursor"), limit+1
	subs, err := s.Subscriptions.Subscriptions(r.Context(), f)
	if err != nil {
		return err
	}
	next := ""
	if len(subs) > limit {
		subs, next = subs[:limit], subs[limit-1].ID
	}
	w.Header().Set("Cache-Control", "no-store")
	return respond(w, http.StatusOK, List[subscriptionJSON]{Data: s.subscriptionOut(r.Context(), subs...), NextCursor: next})
}

// subscribeRequest is the body of POST /v1/subscriptions.
type subscribeRequest struct {
	Plan          string        `json:"plan"`
	Market        string        `json:"market"`
	PaymentMethod methodInput   `json:"payment_method"`
	ShipTo        order.Address `json:"ship_to"`
}

// readNoCard decodes a body that may carry a payment method, rejecting
// anything that looks like a card number before it is parsed.
func readNoCard(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyError(err)
	}
	if payment.ContainsCardNumber(body) {
		return errCardNumber
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return decode(r, v)
}

// subscribe serves POST /v1/subscriptions: the customer subscribes to a
// plan in a market (default: the shop's).
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	var in subscribeRequest
	if err := readNoCard(r, &in); err != nil {
		return err
	}
	if in.Market == "" {
		in.Market = s.DefaultMarket
	}
	sub, err := s.Subscriptions.Subscribe(r.Context(), subscription.NewSubscription{CustomerID: callerFrom(r).session.CustomerID,
		PlanID: in.Plan, Market: in.Market, PaymentMethod: in.PaymentMethod.method(), ShipTo: in.ShipTo})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/subscriptions/"+sub.ID)
	return s.respondSubscription(w, r, http.StatusCreated, sub)
}

// owner is whose subscriptions a request may act on: the customer's own
// on /v1/subscriptions, any on /v1/admin/subscriptions.
func owner(r *http.Request) subscription.Owner {
	if c := callerFrom(r); c.session.CustomerID != "" {
		return subscription.Owner(c.session.CustomerID)
	}
	return ""
}

// listMySubscriptions serves GET /v1/subscriptions.
func (s *Server) listMySubscriptions(w http.ResponseWriter, r *http.Request) error {
	return s.respondSubscriptions(w, r, subscription.Filter{CustomerID: callerFrom(r).session.CustomerID})
}

// getMySubscription serves GET /v1/subscriptions/{subscription}; another
// customer's is 404.
func (s *Server) getMySubscription(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	sub, err := s.Subscriptions.CustomerSubscription(r.Context(), callerFrom(r).session.CustomerID, r.PathValue("subscription"))
	if err != nil {
		return err
	}
	return s.respondSubscription(w, r, http.StatusOK, sub)
}

// adminListSubscriptions serves GET /v1/admin/subscriptions.
func (s *Server) adminListSubscriptions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	return s.respondSubscriptions(w, r, subscription.Filter{Status: subscription.Status(q.Get("status")), CustomerID: q.Get("customer"), PlanID: q.Get("plan")})
}

// adminGetSubscription serves GET /v1/admin/subscriptions/{subscription}.
func (s *Server) adminGetSubscription(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	sub, err := s.Subscriptions.Subscription(r.Context(), r.PathValue("subscription"))
	if err != nil {
		return err
	}
	return s.respondSubscription(w, r, http.StatusOK, sub)
}

// pauseSubscription serves POST …/{subscription}/pause {until}.
func (s *Server) pauseSubscription(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	var in struct {
		Until time.Time `json:"until"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Until.IsZero() {
		var v shopd.Validation
		v.Addf("until", "is required: an RFC 3339 time such as 2027-03-01T00:00:00Z")
		return v.Err()
	}
	sub, err := s.Subscriptions.Pause(r.Context(), owner(r), r.PathValue("subscription"), in.Until)
	if err != nil {
		return err
	}
	return s.respondSubscription(w, r, http.StatusOK, sub)
}

// resumeSubscription serves POST …/{subscription}/resume.
func (s *Server) resumeSubscription(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	if err := decodeOptional(r, &struct{}{}); err != nil {
		return err
	}
	sub, err := s.Subscriptions.Resume(r.Context(), owner(r), r.PathValue("subscription"))
	if err != nil {
		return err
	}
	return s.respondSubscription(w, r, http.StatusOK, sub)
}

// skipSubscription serves POST …/{subscription}/skip.
func (s *Server) skipSubscription(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	if err := decodeOptional(r, &struct{}{}); err != nil {
		return err
	}
	sub, err := s.Subscriptions.Skip(r.Context(), owner(r), r.PathValue("subscription"))
	if err != nil {
		return err
	}
	return s.respondSubscription(w, r, http.StatusOK, sub)
}

// cancelSubscription serves POST …/{subscription}/cancel {at_period_end}.
func (s *Server) cancelSubscription(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	var in struct {
		AtPeriodEnd bool `json:"at_period_end"`
	}
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	sub, err := s.Subscriptions.Cancel(r.Context(), owner(r), r.PathValue("subscription"), in.AtPeriodEnd)
	if err != nil {
		return err
	}
	return s.respondSubscription(w, r, http.StatusOK, sub)
}

// changeSubscriptionPlan serves POST …/{subscription}/change-plan {plan,
// effective}. The response's plan_change says what the change costs: for
// "now", the prorated net amount the next billing run charges (or credits).
func (s *Server) changeSubscriptionPlan(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	var in struct {
		Plan      string                 `json:"plan"`
		Effective subscription.Effective `json:"effective"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Plan == "" {
		var v shopd.Validation
		v.Addf("plan", "is required")
		return v.Err()
	}
	ch, err := s.Subscriptions.ChangePlan(r.Context(), owner(r), r.PathValue("subscription"), in.Plan, in.Effective)
	if err != nil {
		return err
	}
	out := s.subscriptionOut(r.Context(), ch.Subscription)[0]
	loc := s.locales(r.Context()).of(ch.Subscription.Market)
	p := ch.Proration
	pc := &planChangeJSON{Effective: ch.Effective, Credit: moneyOut(p.Credit, loc), Charge: moneyOut(p.Charge, loc), Net: moneyOut(p.Net, loc)}
	switch {
	case ch.Effective == subscription.EffectiveNextPeriod:
		pc.Note = "The new plan and its price apply from the next period; nothing is prorated."
	case p.Net.Amount > 0:
		pc.Note = "The new plan applies now. The prorated difference, " + pc.Net.Formatted + ", is charged with the next billing run."
	case p.Net.Amount < 0:
		pc.Note = "The new plan applies now. The prorated difference is credited against the next billing run."
	default:
		pc.Note = "The new plan applies now; the current period was not billed yet, so nothing is prorated."
	}
	out.PlanChange = pc
	w.Header().Set("Cache-Control", "no-store")
	return respond(w, http.StatusOK, out)
}

// updateSubscriptionPaymentMethod serves POST
// …/{subscription}/payment-method with a gateway token (never a card
// number).
func (s *Server) updateSubscriptionPaymentMethod(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	var in struct {
		PaymentMethod methodInput `json:"payment_method"`
	}
	if err := readNoCard(r, &in); err != nil {
		return err
	}
	sub, err := s.Subscriptions.UpdatePaymentMethod(r.Context(), owner(r), r.PathValue("subscription"), in.PaymentMethod.method())
	if err != nil {
		return err
	}
	if sub.Status == subscription.StatusPastDue && s.Biller != nil {
		if sub, err = s.retryWithNewMethod(r.Context(), sub); err != nil {
			return err
		}
	}
	return s.respondSubscription(w, r, http.StatusOK, sub)
}

// retryWithNewMethod charges a past_due subscription's open invoice at once
// with the payment method just saved, and returns the subscription as the
// charge left it (active again if it succeeded). A decline is no error: the
// invoice stays open on the dunning schedule. An error (the store failing)
// leaves the new method saved; sending the request again retries the charge.
func (s *Server) retryWithNewMethod(ctx context.Context, sub subscription.Subscription) (subscription.Subscription, error) {
	inv, ok, err := s.Subscriptions.OpenInvoice(ctx, sub.ID)
	if err != nil || !ok {
		return sub, err
	}
	if _, err := s.Biller.RetryInvoice(ctx, inv.ID); err != nil {
		return sub, err
	}
	return s.Subscriptions.Subscription(ctx, sub.ID)
}

// invoiceJSON is an invoice as the API shows it, money formatted for the
// subscription's market.
type invoiceJSON struct {
	ID                    string                     `json:"id"`
	SubscriptionID        string                     `json:"subscription_id"`
	CustomerID            string                     `json:"customer_id"`
	PlanID                string                     `json:"plan_id"`
	Market                string                     `json:"market"`
	Period                int                        `json:"period"`
	PeriodStart           time.Time                  `json:"period_start"`
	PeriodEnd             time.Time                  `json:"period_end"`
	Price                 moneyJSON                  `json:"price"`
	Adjustment            moneyJSON                  `json:"adjustment"`
	Tax                   moneyJSON                  `json:"tax"`
	TaxIncluded           bool                       `json:"tax_included"`
	Total                 moneyJSON                  `json:"total"`
	Status                subscription.InvoiceStatus `json:"status"`
	Attempts              int                        `json:"attempts"`
	FirstFailedAt         time.Time                  `json:"first_failed_at,omitzero"`
	NextAttemptAt         time.Time                  `json:"next_attempt_at,omitzero"`
	AwaitingPaymentMethod bool                       `json:"awaiting_payment_method"`
	LastDecline           string                     `json:"last_decline,omitempty"`
	PaymentID             string                     `json:"payment_id,omitempty"`
	OrderID               string                     `json:"order_id,omitempty"`
	CreatedAt             time.Time                  `json:"created_at"`
	UpdatedAt             time.Time                  `json:"updated_at"`
}

// invoiceOut renders invoices. An invoice names its subscription, not its
// market, so each subscription is looked up once per response.
func (s *Server) invoiceOut(ctx context.Context, invs ...subscription.Invoice) ([]invoiceJSON, error) {
	locales := s.locales(ctx)
	markets := map[string]string{}
	out := make([]invoiceJSON, 0, len(invs))
	for _, inv := range invs {
		code, ok := markets[inv.SubscriptionID]
		if !ok {
			sub, err := s.Subscriptions.Subscription(ctx, inv.SubscriptionID)
			if err != nil {
				return nil, err
			}
			code, markets[inv.SubscriptionID] = sub.Market, sub.Market
		}
		loc := locales.of(code)
		out = append(out, invoiceJSON{ID: inv.ID, SubscriptionID: inv.SubscriptionID, CustomerID: inv.CustomerID, PlanID: inv.PlanID,
			Market: code, Period: inv.Period, PeriodStart: inv.PeriodStart, PeriodEnd: inv.PeriodEnd, Price: moneyOut(inv.Price, loc),
			Adjustment: moneyOut(inv.Adjustment, loc), Tax: moneyOut(inv.Tax, loc), TaxIncluded: inv.TaxIncluded, Total: moneyOut(inv.Total, loc), Status: inv.Status, Attempts: inv.Attempts,
			FirstFailedAt: inv.FirstFailedAt, NextAttemptAt: inv.NextAttemptAt, AwaitingPaymentMethod: inv.AwaitingMethod,
			LastDecline: inv.LastDecline, PaymentID: inv.PaymentID, OrderID: inv.OrderID, CreatedAt: inv.CreatedAt, UpdatedAt: inv.UpdatedAt})
	}
	return out, nil
}

// respondInvoices writes a page of invoices listed by list; a full page
// names the cursor of the next one.
func (s *Server) respondInvoices(w http.ResponseWriter, r *http.Request, list func(f subscription.InvoiceFilter) ([]subscription.Invoice, error)) error {
	limit, err := queryInt(r, "limit", 20, 1, subscription.MaxPageSize)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	invs, err := list(subscription.InvoiceFilter{Status: subscription.InvoiceStatus(q.Get("status")), Before: q.Get("cursor"), Limit: limit + 1})
	if err != nil {
		return err
	}
	next := ""
	if len(invs) > limit {
		invs, next = invs[:limit], invs[limit-1].ID
	}
	data, err := s.invoiceOut(r.Context(), invs...)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return respond(w, http.StatusOK, List[invoiceJSON]{Data: data, NextCursor: next})
}

// listMyInvoices serves GET /v1/subscriptions/{subscription}/invoices: the
// invoices of the customer's own subscription; another customer's is 404.
func (s *Server) listMyInvoices(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	return s.respondInvoices(w, r, func(f subscription.InvoiceFilter) ([]subscription.Invoice, error) {
		return s.Subscriptions.CustomerInvoices(r.Context(), callerFrom(r).session.CustomerID, r.PathValue("subscription"), f)
	})
}

// adminListInvoices serves GET /v1/admin/invoices?subscription=&customer=&status=.
func (s *Server) adminListInvoices(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	q := r.URL.Query()
	return s.respondInvoices(w, r, func(f subscription.InvoiceFilter) ([]subscription.Invoice, error) {
		f.SubscriptionID, f.CustomerID = q.Get("subscription"), q.Get("customer")
		return s.Subscriptions.Invoices(r.Context(), f)
	})
}

// adminGetInvoice serves GET /v1/admin/invoices/{invoice}.
func (s *Server) adminGetInvoice(w http.ResponseWriter, r *http.Request) error {
	if s.Subscriptions == nil {
		return errNoSubscriptions
	}
	inv, err := s.Subscriptions.Invoice(r.Context(), r.PathValue("invoice"))
	if err != nil {
		return err
	}
	out, err := s.invoiceOut(r.Context(), inv)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return respond(w, http.StatusOK, out[0])
}

// billingRunJSON is what a billing run did, as of when it ran.
type billingRunJSON struct {
	Now time.Time `json:"now"`
	subscription.RunResult
}

var (
	errNoBilling = shopd.TypedErrorf(shopd.EUNAVAILABLE, "billing-unavailable", "Billing runs are not enabled on this server.")
	// Billing ahead of time charges subscribers early; only test payments may.
	errTestClockLive = shopd.TypedErrorf(shopd.ECONFLICT, "test-clock-needs-test-gateway",
		"A billing run ahead of the server clock charges subscribers early; it needs the test gateway (--payment-gateway test).")
)

// Time budgets of a billing run through the API: it answers well within the
// server's 60 s write timeout, saying if more is due (the caller runs again).
const (
	defaultBillingRunSeconds = 20
	maxBillingRunSeconds     = 50
)

// runBilling serves POST /v1/admin/billing/runs {now, max_seconds}: the
// renewals and dunning retries due as of now (default: the server clock),
// as `shopd bill --now` runs them, for at most max_seconds (then `more` is
// true). A time ahead of the server clock is the test clock: it needs the
// test gateway.
func (s *Server) runBilling(w http.ResponseWriter, r *http.Request) error {
	if s.Biller == nil {
		return errNoBilling
	}
	var in struct {
		Now        time.Time `json:"now"`
		MaxSeconds *int      `json:"max_seconds"`
	}
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	budget := defaultBillingRunSeconds
	if in.MaxSeconds != nil {
		budget = *in.MaxSeconds
	}
	var v shopd.Validation
	v.Check(budget >= 1 && budget <= maxBillingRunSeconds, "max_seconds", "must be from 1 to 50")
	if err := v.Err(); err != nil {
		return err
	}
	clock := s.Clock.Now().UTC()
	now := clock
	if !in.Now.IsZero() {
		now = in.Now.UTC()
	}
	if now.After(clock) && !s.testPaymentsOnly() {
		return errTestClockLive
	}
	res, err := s.Biller.RunAtFor(r.Context(), now, time.Duration(budget)*time.Second)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return respond(w, http.StatusOK, billingRunJSON{Now: now, RunResult: res})
}

// testPaymentsOnly reports whether every payment goes to the test gateway:
// it is configured and Stripe is not.
func (s *Server) testPaymentsOnly() bool {
	if s.Payments == nil {
		return false
	}
	gw, _ := s.Payments.Gateway(testgateway.Name)
	_, test := gw.(*testgateway.Gateway)
	_, live := s.Payments.Gateway(stripe.Name)
	return test && !live
}
