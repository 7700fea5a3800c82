package subscription

import (
	"context"
	"strconv"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/payment"
)

// Store is what Service needs from storage. Its methods return ENOTFOUND
// for an unknown plan or subscription.
type Store interface {
	// CreatePlan stores a new plan.
	CreatePlan(ctx context.Context, p Plan) error
	// Plan returns one plan.
	Plan(ctx context.Context, id string) (Plan, error)
	// Plans lists plans, oldest first.
	Plans(ctx context.Context, f PlanFilter) ([]Plan, error)
	// UpdatePlan runs fn on the locked plan and stores it if fn returns nil.
	UpdatePlan(ctx context.Context, id string, fn func(p *Plan) error) (Plan, error)
	// DeletePlan removes a plan; ECONFLICT `plan-in-use` if any
	// subscription refers to it.
	DeletePlan(ctx context.Context, id string) error

	// CreateSubscription stores a new subscription with its
	// subscription.created event, in one transaction.
	CreateSubscription(ctx context.Context, s Subscription) error
	// Subscription returns one subscription.
	Subscription(ctx context.Context, id string) (Subscription, error)
	// Subscriptions lists subscriptions newest first.
	Subscriptions(ctx context.Context, f Filter) ([]Subscription, error)
	// UpdateSubscription runs fn on the locked subscription and its open
	// invoice (locked too; nil if it has none). If fn returns a Change with
	// an event type, the subscription is stored and the event (the
	// subscription and the change's data) appended in the same
	// transaction, and so is the invoice with its event if the change has
	// one; an empty type stores nothing (the call changed nothing).
	UpdateSubscription(ctx context.Context, id string, fn func(s *Subscription, open *Invoice) (Change, error)) (Subscription, error)

	// Invoice returns one invoice; ENOTFOUND `invoice-not-found`.
	Invoice(ctx context.Context, id string) (Invoice, error)
	// Invoices lists invoices newest first.
	Invoices(ctx context.Context, f InvoiceFilter) ([]Invoice, error)
}

// Change is what one update did: the outbox event type ("" for no change)
// and extra data for the event beside the subscription, and the open
// invoice's event if the update changed it too.
type Change struct {
	Event        string
	Data         map[string]any
	InvoiceEvent string
}

// Markets looks markets up (market.Service implements it).
type Markets interface {
	Market(ctx context.Context, code string) (market.Market, error)
}

// Variants looks variants up (catalog.Service implements it).
type Variants interface {
	VariantsInMarket(ctx context.Context, market string, ids []string) ([]catalog.MarketVariant, error)
}

// Service manages plans and subscriptions.
type Service struct {
	store    Store
	clock    shopd.Clock
	markets  Markets
	variants Variants
	// CutoffDay is the day of the month before a box period after which
	// changes apply to the period after; 0 means BoxCutoffDay. It must be
	// 1–28, so that every month has it.
	CutoffDay int
}

// NewService returns a Service on store; markets validate prices and time
// zones, variants the items of replenishment plans.
func NewService(store Store, clock shopd.Clock, markets Markets, variants Variants) *Service {
	return &Service{store: store, clock: clock, markets: markets, variants: variants}
}

func (s *Service) cutoffDay() int {
	if s.CutoffDay == 0 {
		return BoxCutoffDay
	}
	return s.CutoffDay
}

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

var (
	errPlanNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "plan-not-found", "No such plan.")
	errNotFound     = shopd.TypedErrorf(shopd.ENOTFOUND, "subscription-not-found", "No such subscription.")
)

// CreatePlan validates and stores a new active plan. It returns EINVALID
// for bad fields, `unknown-market` for a price in a market that does not
// exist, `currency-mismatch` for a price not in its market's currency, and
// `unknown-variant` for an item whose variant does not exist.
func (s *Service) CreatePlan(ctx context.Context, np NewPlan) (Plan, error) {
	now := s.now()
	p := Plan{ID: shopd.NewID("pln"), Name: np.Name, Interval: np.Interval, Prices: np.Prices, TrialDays: np.TrialDays,
		Kind: np.Kind, BoxSize: np.BoxSize, Items: np.Items, Status: PlanActive, CreatedAt: now, UpdatedAt: now}
	if err := s.checkPlan(ctx, &p); err != nil {
		return Plan{}, err
	}
	if err := s.store.CreatePlan(ctx, p); err != nil {
		return Plan{}, err
	}
	return p, nil
}

// checkPlan validates a plan and checks its markets and variants, filling
// in the items' SKUs.
func (s *Service) checkPlan(ctx context.Context, p *Plan) error {
	if err := p.Validate(); err != nil {
		return err
	}
	var unknown, mismatch []shopd.FieldError
	for _, code := range sortedMarkets(p.Prices) {
		m, err := s.markets.Market(ctx, code)
		if shopd.ErrorCode(err) == shopd.ENOTFOUND {
			unknown = append(unknown, shopd.FieldError{Field: "prices." + code, Message: "unknown market"})
			continue
		}
		if err != nil {
			return err
		}
		if p.Prices[code].Currency != m.Currency {
			mismatch = append(mismatch, shopd.FieldError{Field: "prices." + code + ".currency", Message: "must be " + m.Currency + ", the currency of market " + code})
		}
	}
	switch {
	case len(unknown) > 0:
		return &shopd.Error{Code: shopd.EINVALID, Type: "unknown-market", Message: "A price names a market that does not exist.", Fields: unknown}
	case len(mismatch) > 0:
		return &shopd.Error{Code: shopd.EINVALID, Type: "currency-mismatch", Message: "A price must be in its market's currency.", Fields: mismatch}
	}
	if len(p.Items) == 0 {
		return nil
	}
	ids := make([]string, len(p.Items))
	for i, it := range p.Items {
		ids[i] = it.VariantID
	}
	found, err := s.variants.VariantsInMarket(ctx, "", ids)
	if err != nil {
		return err
	}
	sku := map[string]string{}
	for _, mv := range found {
		sku[mv.Variant.ID] = mv.Variant.SKU
	}
	var missing []shopd.FieldError
	for i := range p.Items {
		it := &p.Items[i]
		if code, ok := sku[it.VariantID]; ok {
			it.SKU = code
		} else {
			missing = append(missing, shopd.FieldError{Field: "items[" + strconv.Itoa(i) + "].variant_id", Message: "no such variant"})
		}
	}
	if len(missing) > 0 {
		return &shopd.Error{Code: shopd.EINVALID, Type: "unknown-variant", Message: "An item names a variant that does not exist.", Fields: missing}
	}
	return nil
}

// Plan returns any plan; ENOTFOUND if there is none with the ID.
func (s *Service) Plan(ctx context.Context, id string) (Plan, error) {
	if !shopd.HasIDPrefix(id, "pln") {
		return Plan{}, errPlanNotFound
	}
	return s.store.Plan(ctx, id)
}

// Plans lists plans, oldest first; EINVALID for an unknown status.
func (s *Service) Plans(ctx context.Context, f PlanFilter) ([]Plan, error) {
	if f.Status != "" && f.Status != PlanActive && f.Status != PlanArchived {
		var v shopd.Validation
		v.Addf("status", "must be active or archived")
		return nil, v.Err()
	}
	return s.store.Plans(ctx, f)
}

// MarketPlans lists the active plans sold in a market; EINVALID
// `unknown-market` if the market does not exist.
func (s *Service) MarketPlans(ctx context.Context, code string) (market.Market, []Plan, error) {
	m, err := s.lookupMarket(ctx, code)
	if err != nil {
		return market.Market{}, nil, err
	}
	all, err := s.store.Plans(ctx, PlanFilter{Status: PlanActive})
	if err != nil {
		return market.Market{}, nil, err
	}
	out := []Plan{}
	for _, p := range all {
		if pr, ok := p.Prices[m.Code]; ok && pr.Currency == m.Currency {
			out = append(out, p)
		}
	}
	return m, out, nil
}

// lookupMarket returns the enabled market with the code, or EINVALID
// "unknown-market".
func (s *Service) lookupMarket(ctx context.Context, code string) (market.Market, error) {
	unknown := shopd.TypedErrorf(shopd.EINVALID, "unknown-market", "There is no market %q.", code)
	if code == "" || len(code) > 8 {
		return market.Market{}, unknown
	}
	m, err := s.markets.Market(ctx, code)
	if shopd.ErrorCode(err) == shopd.ENOTFOUND || err == nil && !m.Enabled {
		return market.Market{}, unknown // a disabled market sells nothing
	}
	return m, err
}

// UpdatePlan changes a plan (see PlanUpdate) under the same checks as
// CreatePlan; ENOTFOUND for an unknown plan.
func (s *Service) UpdatePlan(ctx context.Context, id string, u PlanUpdate) (Plan, error) {
	if !shopd.HasIDPrefix(id, "pln") {
		return Plan{}, errPlanNotFound
	}
	now := s.now()
	apply := func(p *Plan) {
		if u.Name != nil {
			p.Name = *u.Name
		}
		if u.Prices != nil {
			p.Prices = u.Prices
		}
		if u.TrialDays != nil {
			p.TrialDays = *u.TrialDays
		}
		if u.BoxSize != nil {
			p.BoxSize = *u.BoxSize
		}
		if u.Items != nil {
			p.Items = *u.Items
		}
		if u.Status != nil {
			p.Status = *u.Status
		}
		p.UpdatedAt = now
	}
	// Markets and variants are checked on the plan as it is now, outside
	// the transaction; the locked plan is then changed the same way.
	cur, err := s.store.Plan(ctx, id)
	if err != nil {
		return Plan{}, err
	}
	apply(&cur)
	if err := s.checkPlan(ctx, &cur); err != nil {
		return Plan{}, err
	}
	return s.store.UpdatePlan(ctx, id, func(p *Plan) error {
		apply(p)
		if u.Items != nil {
			p.Items = cur.Items // with their SKUs
		}
		return p.Validate()
	})
}

// DeletePlan removes a plan that no subscription ever used; ECONFLICT
// `plan-in-use` otherwise (archive it instead).
func (s *Service) DeletePlan(ctx context.Context, id string) error {
	if !shopd.HasIDPrefix(id, "pln") {
		return errPlanNotFound
	}
	return s.store.DeletePlan(ctx, id)
}

// NewSubscription is what a customer sends to subscribe.
type NewSubscription struct {
	CustomerID    string
	PlanID        string
	Market        string
	PaymentMethod payment.Method
	ShipTo        order.Address
}

// Subscribe starts a subscription (see Subscription.Start). It returns
// EINVALID for bad input (a card number instead of a token, an address
// outside the market), `unknown-market`, `plan-not-found` (ENOTFOUND) for an
// unknown plan, ECONFLICT `plan-archived`, and EINVALID
// `plan-not-in-market` if the plan has no price in the market.
func (s *Service) Subscribe(ctx context.Context, ns NewSubscription) (Subscription, error) {
	var v shopd.Validation
	ns.PaymentMethod.Validate(&v, "payment_method")
	order.CheckAddress(&v, &ns.ShipTo)
	v.Check(ns.PlanID != "", "plan", "is required")
	v.Check(ns.CustomerID != "", "customer", "is required")
	if err := v.Err(); err != nil {
		return Subscription{}, err
	}
	m, err := s.lookupMarket(ctx, ns.Market)
	if err != nil {
		return Subscription{}, err
	}
	if ns.ShipTo.Country != m.Country {
		return Subscription{}, &shopd.Error{Code: shopd.EINVALID, Type: "validation", Message: "The address is outside the market.",
			Fields: []shopd.FieldError{{Field: "ship_to.country", Message: "must be " + m.Country + ", the market's country"}}}
	}
	p, err := s.Plan(ctx, ns.PlanID)
	if err != nil {
		return Subscription{}, err
	}
	if p.Status != PlanActive {
		return Subscription{}, shopd.TypedErrorf(shopd.ECONFLICT, "plan-archived", "The plan is archived and takes no new subscriptions.")
	}
	price, ok := p.Price(m.Code)
	if !ok || price.Currency != m.Currency {
		return Subscription{}, shopd.TypedErrorf(shopd.EINVALID, "plan-not-in-market", "The plan is not sold in market %s.", m.Code)
	}
	loc, err := time.LoadLocation(m.TimeZone)
	if err != nil || m.TimeZone == "" {
		return Subscription{}, shopd.Errorf(shopd.EINTERNAL, "market %s has no usable time zone %q", m.Code, m.TimeZone)
	}
	sub := Subscription{ID: shopd.NewID("sub"), CustomerID: ns.CustomerID, PlanID: p.ID, Market: m.Code, Price: price,
		TimeZone: m.TimeZone, Interval: p.Interval, Kind: p.Kind, PendingPlanPrice: shopd.Zero(price.Currency),
		Adjustment: shopd.Zero(price.Currency), PaymentMethod: ns.PaymentMethod, ShipTo: ns.ShipTo}
	sub.Start(p.TrialDays, s.now(), loc)
	if err := s.store.CreateSubscription(ctx, sub); err != nil {
		return Subscription{}, err
	}
	return sub, nil
}

// Subscription returns any subscription (staff); ENOTFOUND if unknown.
func (s *Service) Subscription(ctx context.Context, id string) (Subscription, error) {
	if !shopd.HasIDPrefix(id, "sub") {
		return Subscription{}, errNotFound
	}
	return s.store.Subscription(ctx, id)
}

// CustomerSubscription returns a customer's own subscription; ENOTFOUND for
// an unknown one and for another customer's, so IDs reveal nothing.
func (s *Service) CustomerSubscription(ctx context.Context, customerID, id string) (Subscription, error) {
	sub, err := s.Subscription(ctx, id)
	if err != nil {
		return Subscription{}, err
	}
	if customerID == "" || sub.CustomerID != customerID {
		return Subscription{}, errNotFound
	}
	return sub, nil
}

// MaxPageSize bounds a page of subscriptions.
const MaxPageSize = 100

// Subscriptions lists subscriptions newest first; the limit is clamped to
// 1..MaxPageSize+1 (one more than a page tells whether another follows).
func (s *Service) Subscriptions(ctx context.Context, f Filter) ([]Subscription, error) {
	var v shopd.Validation
	v.Check(f.Status == "" || f.Status.Valid(), "status", "must be a known subscription status")
	v.Check(len(f.CustomerID) <= 64 && len(f.PlanID) <= 64 && len(f.Before) <= 64, "filter", "is too long")
	if err := v.Err(); err != nil {
		return nil, err
	}
	f.Limit = min(max(f.Limit, 1), MaxPageSize+1)
	return s.store.Subscriptions(ctx, f)
}

// Owner restricts an action to one customer's subscriptions ("" for staff,
// who may act on any).
type Owner string

// update runs fn on a subscription of owner under its row lock.
func (s *Service) update(ctx context.Context, owner Owner, id string, fn func(sub *Subscription, open *Invoice, now time.Time, loc *time.Location) (Change, error)) (Subscription, error) {
	if !shopd.HasIDPrefix(id, "sub") {
		return Subscription{}, errNotFound
	}
	now := s.now()
	return s.store.UpdateSubscription(ctx, id, func(sub *Subscription, open *Invoice) (Change, error) {
		if owner != "" && sub.CustomerID != string(owner) {
			return Change{}, errNotFound
		}
		loc, err := sub.Location()
		if err != nil {
			return Change{}, err
		}
		return fn(sub, open, now, loc)
	})
}

// Pause pauses a subscription until a time (see Subscription.Pause).
func (s *Service) Pause(ctx context.Context, owner Owner, id string, until time.Time) (Subscription, error) {
	return s.update(ctx, owner, id, func(sub *Subscription, _ *Invoice, now time.Time, loc *time.Location) (Change, error) {
		if err := sub.Pause(until, now, loc); err != nil {
			return Change{}, err
		}
		return Change{Event: EventPaused, Data: map[string]any{"until": sub.PausedUntil}}, nil
	})
}

// Resume ends a pause or takes back a cancellation at period end (see
// Subscription.Resume).
func (s *Service) Resume(ctx context.Context, owner Owner, id string) (Subscription, error) {
	return s.update(ctx, owner, id, func(sub *Subscription, _ *Invoice, now time.Time, loc *time.Location) (Change, error) {
		if err := sub.Resume(now, loc); err != nil {
			return Change{}, err
		}
		return Change{Event: EventResumed}, nil
	})
}

// Cancel cancels a subscription now or at period end (see
// Subscription.Cancel).
func (s *Service) Cancel(ctx context.Context, owner Owner, id string, atPeriodEnd bool) (Subscription, error) {
	return s.update(ctx, owner, id, func(sub *Subscription, open *Invoice, now time.Time, loc *time.Location) (Change, error) {
		changed, voided, err := sub.Cancel(atPeriodEnd, open, now)
		if err != nil || !changed {
			return Change{}, err
		}
		ch := Change{Event: EventCanceled, Data: map[string]any{"at_period_end": atPeriodEnd}}
		if voided {
			ch.InvoiceEvent = EventInvoiceVoided
		}
		return ch, nil
	})
}

// Skip skips the next period, or the one after for a box past its cutoff
// (see Subscription.Skip).
func (s *Service) Skip(ctx context.Context, owner Owner, id string) (Subscription, error) {
	return s.update(ctx, owner, id, func(sub *Subscription, _ *Invoice, now time.Time, loc *time.Location) (Change, error) {
		n, changed, err := sub.Skip(now, loc, s.cutoffDay())
		if err != nil || !changed {
			return Change{}, err
		}
		start, end := Period(sub.Anchor, loc, sub.Interval, n)
		return Change{Event: EventSkipped, Data: map[string]any{"period": n, "period_start": start, "period_end": end}}, nil
	})
}

// Effective says when a plan change applies.
type Effective string

// When plan changes apply.
const (
	EffectiveNextPeriod Effective = "next_period"
	EffectiveNow        Effective = "now"
)

// PlanChange is the outcome of ChangePlan.
type PlanChange struct {
	Subscription Subscription
	Effective    Effective
	// Proration is what the change costs now (effective now only): Net is
	// added to the subscription's Adjustment, which the next billing run
	// charges or credits.
	Proration Proration
}

// ChangePlan moves a subscription to another active plan with the same
// interval and a price in its market, at the next period or now (see
// Subscription.ChangePlan). It returns EINVALID for a bad effective value,
// `plan-not-in-market`, `interval-mismatch` or `same-plan`; ENOTFOUND
// `plan-not-found`; ECONFLICT `plan-archived` or `invalid-transition`.
func (s *Service) ChangePlan(ctx context.Context, owner Owner, id, planID string, eff Effective) (PlanChange, error) {
	if eff == "" {
		eff = EffectiveNextPeriod
	}
	if eff != EffectiveNow && eff != EffectiveNextPeriod {
		var v shopd.Validation
		v.Addf("effective", "must be next_period or now")
		return PlanChange{}, v.Err()
	}
	p, err := s.Plan(ctx, planID)
	if err != nil {
		return PlanChange{}, err
	}
	if p.Status != PlanActive {
		return PlanChange{}, shopd.TypedErrorf(shopd.ECONFLICT, "plan-archived", "The plan is archived and takes no new subscriptions.")
	}
	var pr Proration
	sub, err := s.update(ctx, owner, id, func(sub *Subscription, _ *Invoice, now time.Time, loc *time.Location) (Change, error) {
		price, ok := p.Price(sub.Market)
		switch {
		case !ok || price.Currency != sub.Price.Currency:
			return Change{}, shopd.TypedErrorf(shopd.EINVALID, "plan-not-in-market", "The plan is not sold in market %s.", sub.Market)
		case p.Interval != sub.Interval:
			return Change{}, shopd.TypedErrorf(shopd.EINVALID, "interval-mismatch", "The plan bills every %s; the subscription every %s. Subscribe to it separately.", p.Interval, sub.Interval)
		case p.ID == sub.PlanID:
			return Change{}, shopd.TypedErrorf(shopd.EINVALID, "same-plan", "The subscription is on this plan already.")
		}
		from := sub.PlanID
		pr, err = sub.ChangePlan(p.ID, price, eff == EffectiveNow, now, loc)
		if err != nil {
			return Change{}, err
		}
		if eff == EffectiveNow {
			sub.Kind = p.Kind // a next-period change takes the kind with the plan then
		}
		return Change{Event: EventPlanChanged, Data: map[string]any{"from_plan": from, "to_plan": p.ID, "effective": eff, "proration": pr}}, nil
	})
	if err != nil {
		return PlanChange{}, err
	}
	return PlanChange{Subscription: sub, Effective: eff, Proration: pr}, nil
}

// UpdatePaymentMethod replaces a subscription's payment method; EINVALID
// for a bad method (never a card number).
func (s *Service) UpdatePaymentMethod(ctx context.Context, owner Owner, id string, m payment.Method) (Subscription, error) {
	var v shopd.Validation
	m.Validate(&v, "payment_method")
	if err := v.Err(); err != nil {
		return Subscription{}, err
	}
	return s.update(ctx, owner, id, func(sub *Subscription, _ *Invoice, now time.Time, loc *time.Location) (Change, error) {
		if err := sub.UpdatePaymentMethod(m, now); err != nil {
			return Change{}, err
		}
		return Change{Event: EventPaymentMethodUpdated, Data: map[string]any{"brand": m.Brand, "last4": m.Last4}}, nil
	})
}

// InvoiceFilter selects invoices; empty fields match any.
type InvoiceFilter struct {
	SubscriptionID string
	CustomerID     string
	Status         InvoiceStatus
	Before         string // an invoice ID: older ones only (cursor)
	Limit          int
}

var errInvoiceNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "invoice-not-found", "No such invoice.")

// Invoices lists invoices newest first; the limit is clamped to
// 1..MaxPageSize+1 as for Subscriptions. EINVALID for an unknown status.
func (s *Service) Invoices(ctx context.Context, f InvoiceFilter) ([]Invoice, error) {
	var v shopd.Validation
	switch f.Status {
	case "", InvoiceOpen, InvoicePaid, InvoiceVoid:
	default:
		v.Addf("status", "must be open, paid or void")
	}
	v.Check(len(f.SubscriptionID) <= 64 && len(f.CustomerID) <= 64 && len(f.Before) <= 64, "filter", "is too long")
	if err := v.Err(); err != nil {
		return nil, err
	}
	f.Limit = min(max(f.Limit, 1), MaxPageSize+1)
	return s.store.Invoices(ctx, f)
}

// CustomerInvoices lists the invoices of a customer's own subscription
// (f.SubscriptionID and f.CustomerID are set from the arguments); ENOTFOUND
// `subscription-not-found` for an unknown subscription and for another
// customer's.
func (s *Service) CustomerInvoices(ctx context.Context, customerID, subscriptionID string, f InvoiceFilter) ([]Invoice, error) {
	if _, err := s.CustomerSubscription(ctx, customerID, subscriptionID); err != nil {
		return nil, err
	}
	f.SubscriptionID, f.CustomerID = subscriptionID, customerID
	return s.Invoices(ctx, f)
}

// Invoice returns any invoice (staff); ENOTFOUND `invoice-not-found`.
func (s *Service) Invoice(ctx context.Context, id string) (Invoice, error) {
	if !shopd.HasIDPrefix(id, InvoicePrefix) {
		return Invoice{}, errInvoiceNotFound
	}
	return s.store.Invoice(ctx, id)
}

// OpenInvoice returns the subscription's open invoice, the one dunning
// chases; ok is false if there is none. A subscription has at most one:
// it is not renewed again until its open invoice is paid or void.
func (s *Service) OpenInvoice(ctx context.Context, subscriptionID string) (inv Invoice, ok bool, err error) {
	invs, err := s.store.Invoices(ctx, InvoiceFilter{SubscriptionID: subscriptionID, Status: InvoiceOpen, Limit: 1})
	if err != nil || len(invs) == 0 {
		return Invoice{}, false, err
	}
	return invs[0], true, nil
}
