package box

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/subscription"
)

// Subscriptions reads plans and customers' subscriptions
// (subscription.Service).
type Subscriptions interface {
	Plan(ctx context.Context, id string) (subscription.Plan, error)
	CustomerSubscription(ctx context.Context, customerID, id string) (subscription.Subscription, error)
}

// Variants reads variants with their products and market prices
// (catalog.Service).
type Variants interface {
	VariantsInMarket(ctx context.Context, market string, ids []string) ([]catalog.MarketVariant, error)
}

// Markets reads markets (market.Service).
type Markets interface {
	Market(ctx context.Context, code string) (market.Market, error)
}

// Service manages period pools, allocation runs and boxes.
type Service struct {
	store    Store
	plans    Subscriptions
	variants Variants
	markets  Markets
	clock    shopd.Clock
	// Batch is the number of boxes written, ordered or deleted per
	// transaction; 0 means 200.
	Batch int
	// Workers is the allocator's goroutines; 0 means GOMAXPROCS.
	Workers int
}

// NewService returns a box service.
func NewService(store Store, plans Subscriptions, variants Variants, markets Markets, clock shopd.Clock) *Service {
	return &Service{store: store, plans: plans, variants: variants, markets: markets, clock: clock}
}

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) batch() int {
	if s.Batch > 0 {
		return s.Batch
	}
	return 200
}

var periodPattern = regexp.MustCompile(`^(20[0-9]{2})-(0[1-9]|1[0-2])$`)

// ParsePeriod checks a period ("2026-12": the month a box ships) and
// returns its year and month.
func ParsePeriod(period string) (int, time.Month, error) {
	m := periodPattern.FindStringSubmatch(period)
	if m == nil {
		var v shopd.Validation
		v.Addf("period", "must be a month as YYYY-MM, e.g. 2026-12")
		return 0, 0, v.Err()
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	return y, time.Month(mo), nil
}

// shiftPeriod returns the period n months after (or before, n < 0) a valid
// period.
func shiftPeriod(period string, n int) string {
	y, m, _ := ParsePeriod(period)
	return time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
}

// periodOf returns the period of a time in a time zone (UTC if the zone
// is unknown); it runs once per subscriber of a run, so zones are cached.
func periodOf(t time.Time, tz string) string {
	loc, err := subscription.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01")
}

// boxPlan returns the plan if it is a box plan.
func (s *Service) boxPlan(ctx context.Context, planID string) (subscription.Plan, error) {
	p, err := s.plans.Plan(ctx, planID)
	if err != nil {
		return p, err
	}
	if p.Kind != subscription.KindBox {
		return p, shopd.TypedErrorf(shopd.EINVALID, "not-a-box-plan", "Plan %s is a %s plan; only box plans have pools and allocations.", p.ID, p.Kind)
	}
	return p, nil
}

// anyMarket returns one of the plan's markets (a pool is the same in
// every market; its prices are read per run).
func anyMarket(p subscription.Plan) string {
	for code := range p.Prices {
		return code
	}
	return ""
}

// SetPool replaces the products offered in a plan's period. Each item is
// a variant of a different product, and the product must name its
// category (attribute "category"), which the category limit counts.
func (s *Service) SetPool(ctx context.Context, planID, period string, items []PoolItem) (Pool, error) {
	plan, err := s.boxPlan(ctx, planID)
	if err != nil {
		return Pool{}, err
	}
	if _, _, err := ParsePeriod(period); err != nil {
		return Pool{}, err
	}
	var v shopd.Validation
	v.Check(len(items) > 0, "items", "must offer at least one product")
	v.Check(len(items) <= MaxPoolItems, "items", fmt.Sprintf("must offer at most %d products", MaxPoolItems))
	if err := v.Err(); err != nil {
		return Pool{}, err
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.VariantID
	}
	mvs, err := s.variants.VariantsInMarket(ctx, anyMarket(plan), ids)
	if err != nil {
		return Pool{}, err
	}
	byID := make(map[string]catalog.MarketVariant, len(mvs))
	for _, mv := range mvs {
		byID[mv.Variant.ID] = mv
	}
	seenVariant, seenProduct := map[string]bool{}, map[string]bool{}
	out := Pool{PlanID: plan.ID, Period: period, Items: make([]PoolItem, len(items)), UpdatedAt: s.now()}
	for i, it := range items {
		f := fmt.Sprintf("items[%d]", i)
		mv, ok := byID[it.VariantID]
		switch {
		case !ok:
			v.Addf(f+".variant_id", "no such variant")
		case seenVariant[it.VariantID]:
			v.Addf(f+".variant_id", "is offered twice")
		case seenProduct[mv.Product.ID]:
			v.Addf(f+".variant_id", "is a second variant of product %s: a box never holds the same product twice", mv.Product.ID)
		case mv.Product.Status == catalog.StatusArchived:
			v.Addf(f+".variant_id", "belongs to an archived product")
		case len(mv.Product.Attributes["category"]) == 0:
			v.Addf(f+".variant_id", "belongs to product %s, which has no \"category\" attribute", mv.Product.ID)
		}
		v.Check(it.Cost >= 0 && it.Cost <= MaxCost, f+".cost", fmt.Sprintf("must be between 0 and %d", int64(MaxCost)))
		v.Check(!math.IsNaN(it.Boost) && it.Boost >= 0 && it.Boost <= MaxBoost, f+".boost", fmt.Sprintf("must be between 0 and %d points", MaxBoost))
		seenVariant[it.VariantID] = true
		if ok {
			seenProduct[mv.Product.ID] = true
			it.ProductID, it.SKU = mv.Product.ID, mv.Variant.SKU
		}
		out.Items[i] = it
	}
	if err := v.Err(); err != nil {
		return Pool{}, err
	}
	return out, s.store.SavePool(ctx, out)
}

// Pool returns a plan's period pool; ENOTFOUND "box-pool-not-found" if
// staff have not set it.
func (s *Service) Pool(ctx context.Context, planID, period string) (Pool, error) {
	if _, err := s.boxPlan(ctx, planID); err != nil {
		return Pool{}, err
	}
	if _, _, err := ParsePeriod(period); err != nil {
		return Pool{}, err
	}
	return s.store.Pool(ctx, planID, period)
}

// Run returns a run.
func (s *Service) Run(ctx context.Context, id string) (Run, error) {
	if !shopd.HasIDPrefix(id, "brn") {
		return Run{}, ErrRunNotFound
	}
	return s.store.Run(ctx, id)
}

// Pending returns the run of a plan's period in a market that is
// allocating or proposed; ENOTFOUND if there is none.
func (s *Service) Pending(ctx context.Context, planID, period, market string) (Run, error) {
	return s.store.PendingRun(ctx, planID, period, market)
}

// Runs lists runs, newest first.
func (s *Service) Runs(ctx context.Context, f RunFilter) ([]Run, error) {
	if f.Period != "" {
		if _, _, err := ParsePeriod(f.Period); err != nil {
			return nil, err
		}
	}
	f.Limit = clampLimit(f.Limit)
	return s.store.Runs(ctx, f)
}

// Boxes lists boxes, newest first.
func (s *Service) Boxes(ctx context.Context, f BoxFilter) ([]Box, error) {
	f.Limit = clampLimit(f.Limit)
	return s.store.Boxes(ctx, f)
}

// CustomerBoxes lists a subscription's boxes, the upcoming one first, if
// the customer owns it, and ENOTFOUND if not (another customer's
// subscription looks like a missing one).
func (s *Service) CustomerBoxes(ctx context.Context, customerID, subscriptionID string, f BoxFilter) ([]Box, error) {
	if _, err := s.plans.CustomerSubscription(ctx, customerID, subscriptionID); err != nil {
		return nil, err
	}
	f.CustomerID, f.SubscriptionID = customerID, subscriptionID
	return s.Boxes(ctx, f)
}

// MaxPageSize bounds a page of runs or boxes.
const MaxPageSize = 100

// clampLimit bounds a list's limit; callers may ask for one more than a
// page to learn whether another page follows.
func clampLimit(n int) int {
	if n <= 0 {
		return 20
	}
	return min(n, MaxPageSize+1)
}

// checkOptions validates a run's options against its plan.
func checkOptions(plan subscription.Plan, o *Options) error {
	var v shopd.Validation
	if _, ok := plan.Prices[o.Market]; !ok {
		v.Addf("market", "plan %s is not sold in market %q", plan.ID, o.Market)
	}
	v.Check(o.CategoryLimit >= 0 && o.CategoryLimit <= subscription.MaxBoxSize, "category_limit", fmt.Sprintf("must be between 0 and %d", subscription.MaxBoxSize))
	v.Check(len(o.CategoryLimits) <= MaxPoolItems, "category_limits", fmt.Sprintf("must name at most %d categories", MaxPoolItems))
	for c, n := range o.CategoryLimits {
		v.Check(len(c) <= catalog.MaxAttributeValueLen && n >= 0 && n <= subscription.MaxBoxSize, "category_limits", "limits must be between 0 and the box size")
	}
	v.Check(o.ValueFloor >= 0 && o.ValueFloor <= MaxCost, "value_floor", "must not be negative")
	v.Check(o.History >= 0 && o.History <= MaxHistoryPeriods, "history", fmt.Sprintf("must be between 0 and %d periods", MaxHistoryPeriods))
	v.Check(o.Hold >= 0 && o.Hold <= MaxHold, "hold", "must be between 0 and 90 days")
	if o.Weights != nil {
		if err := o.Weights.Validate(); err != nil {
			v.Addf("weights", "%v", err)
		}
	}
	if o.History == 0 {
		o.History = DefaultHistory
	}
	if o.Hold == 0 {
		o.Hold = DefaultHold
	}
	return v.Err()
}
