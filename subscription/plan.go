package subscription

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopd/shopd"
)

// Kind says what a plan ships each period.
type Kind string

// Plan kinds.
const (
	KindBox           Kind = "box"           // BoxSize products picked per subscriber each period
	KindReplenishment Kind = "replenishment" // the same fixed Items every period
)

// PlanStatus is whether new subscriptions may start on a plan.
type PlanStatus string

// Plan statuses. An archived plan keeps its subscriptions but takes no new
// ones (a plan that has subscriptions is never deleted).
const (
	PlanActive   PlanStatus = "active"
	PlanArchived PlanStatus = "archived"
)

// Limits of a plan.
const (
	MaxTrialDays     = 730
	MaxBoxSize       = 50
	MaxPlanItems     = 50
	MaxItemQuantity  = 1000
	MaxPlanNameChars = 200
	MaxPlanPrice     = 1_000_000_000_000 // minor units
)

// PlanItem is one fixed line of a replenishment plan.
type PlanItem struct {
	VariantID string `json:"variant_id"`
	SKU       string `json:"sku"` // filled in from the catalog
	Quantity  int64  `json:"quantity"`
}

// Plan is what a subscriber signs up for: an interval, a price in each
// market it is sold in, an optional trial, and what ships each period.
type Plan struct {
	ID        string                 `json:"id"` // "pln_…"
	Name      string                 `json:"name"`
	Interval  Interval               `json:"interval"`
	Prices    map[string]shopd.Money `json:"prices"` // market code → price in the market's currency
	TrialDays int                    `json:"trial_days"`
	Kind      Kind                   `json:"kind"`
	BoxSize   int                    `json:"box_size,omitempty"` // box plans only
	Items     []PlanItem             `json:"items,omitempty"`    // replenishment plans only
	Status    PlanStatus             `json:"status"`
	CreatedAt time.Time              `json:"created_at"`
	UpdatedAt time.Time              `json:"updated_at"`
}

// NewPlan is the input that creates a plan.
type NewPlan struct {
	Name      string                 `json:"name"`
	Interval  Interval               `json:"interval"`
	Prices    map[string]shopd.Money `json:"prices"`
	TrialDays int                    `json:"trial_days"`
	Kind      Kind                   `json:"kind"`
	BoxSize   int                    `json:"box_size"`
	Items     []PlanItem             `json:"items"`
}

// PlanUpdate changes a plan; nil fields stay. Interval and kind never
// change: existing subscriptions' periods and shipments depend on them.
// Prices, when given, replace the whole map; they apply to new
// subscriptions and plan changes (a subscription keeps the price it took).
type PlanUpdate struct {
	Name      *string                `json:"name"`
	Prices    map[string]shopd.Money `json:"prices"`
	TrialDays *int                   `json:"trial_days"`
	BoxSize   *int                   `json:"box_size"`
	Items     *[]PlanItem            `json:"items"`
	Status    *PlanStatus            `json:"status"`
}

// PlanFilter selects plans.
type PlanFilter struct {
	Status PlanStatus // "" for every status
}

// Validate checks a plan's own fields (not whether its markets and variants
// exist: the Service checks those against the stores). It trims the name
// and returns EINVALID with every problem.
func (p *Plan) Validate() error {
	var v shopd.Validation
	p.Name = strings.TrimSpace(p.Name)
	v.Text("name", p.Name, MaxPlanNameChars, true)
	addFields(&v, p.Interval.Validate())
	v.Check(p.TrialDays >= 0 && p.TrialDays <= MaxTrialDays, "trial_days", "must be between 0 and 730")
	if v.Check(len(p.Prices) > 0, "prices", "must give a price in at least one market") {
		for _, code := range sortedMarkets(p.Prices) {
			m := p.Prices[code]
			v.Check(m.Amount >= 0 && m.Amount <= MaxPlanPrice, "prices."+code+".amount", "must be between 0 and 1000000000000 minor units")
			v.Check(shopd.ValidCurrency(m.Currency), "prices."+code+".currency", "must be an ISO 4217 currency code")
		}
	}
	v.Check(p.Status == PlanActive || p.Status == PlanArchived, "status", "must be active or archived")
	switch p.Kind {
	case KindBox:
		v.Check(p.BoxSize >= 1 && p.BoxSize <= MaxBoxSize, "box_size", "must be between 1 and 50 for a box plan")
		v.Check(len(p.Items) == 0, "items", "must be empty for a box plan (the box is picked per subscriber)")
	case KindReplenishment:
		v.Check(p.BoxSize == 0, "box_size", "must be 0 for a replenishment plan")
		if v.Check(len(p.Items) >= 1 && len(p.Items) <= MaxPlanItems, "items", "must list 1 to 50 items for a replenishment plan") {
			seen := map[string]bool{}
			for i, it := range p.Items {
				f := "items[" + strconv.Itoa(i) + "]"
				if v.Check(it.VariantID != "" && len(it.VariantID) <= 64, f+".variant_id", "is required") {
					v.Check(!seen[it.VariantID], f+".variant_id", "is listed twice")
					seen[it.VariantID] = true
				}
				v.Check(it.Quantity >= 1 && it.Quantity <= MaxItemQuantity, f+".quantity", "must be between 1 and 1000")
			}
		}
	default:
		v.Addf("kind", "must be box or replenishment")
	}
	return v.Err()
}

// Price returns the plan's price in a market, and false if the plan is not
// sold there.
func (p Plan) Price(market string) (shopd.Money, bool) {
	m, ok := p.Prices[market]
	return m, ok
}

func sortedMarkets(m map[string]shopd.Money) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// addFields copies the field errors of a nested check into v.
func addFields(v *shopd.Validation, err error) {
	var e *shopd.Error
	if errors.As(err, &e) {
		for _, f := range e.Fields {
			v.Addf(f.Field, "%s", f.Message)
		}
	}
}
