package loadtest

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// Histogram records durations in log-spaced buckets, like HdrHistogram: values
// below 128 ns are exact, larger ones fall in one of 64 buckets per power of
// two, so a percentile is off by less than 1/64 (1.6 %) of its value. The
// maximum is kept exactly. The zero value is empty and ready; it is not safe
// for concurrent use.
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
	max    int64
}

const (
	subBits    = 6
	subCount   = 1 << subBits // buckets per power of two
	exactBelow = 2 * subCount
	numBuckets = exactBelow + (63-subBits-1)*subCount // durations are below 1<<63
)

// bucketOf returns the bucket index of v nanoseconds.
func bucketOf(v int64) int {
	if v < exactBelow {
		return int(max(v, 0))
	}
	u := uint64(v)
	shift := bits.Len64(u) - (subBits + 1) // u>>shift is in [subCount, 2*subCount)
	return exactBelow + (shift-1)*subCount + int(u>>shift) - subCount
}

// bucketHigh returns the largest value that falls in bucket i.
func bucketHigh(i int) int64 {
	if i < exactBelow {
		return int64(i)
	}
	j := i - exactBelow
	shift := j/subCount + 1
	m := uint64(j%subCount + subCount)
	return int64((m+1)<<shift - 1)
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	h.counts[bucketOf(v)]++
	h.n++
	h.max = max(h.max, v)
}

// Merge adds every value recorded in o.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest value recorded.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Quantile returns the value at quantile q (0 < q ≤ 1): the smallest bucket
// bound at or below which a share q of the values lies, never above the
// maximum. It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketHigh(i), h.max))
		}
	}
	return time.Duration(h.max)
}

// Latency is a step's latency summary in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// Summary returns the histogram's p50, p95, p99 and max.
func (h *Histogram) Summary() Latency {
	return Latency{P50: ms(h.Quantile(0.50)), P95: ms(h.Quantile(0.95)), P99: ms(h.Quantile(0.99)), Max: ms(h.Max())}
}

// Fairness says how far the order in which shoppers got their orders strays
// from the order in which they arrived, among the shoppers who got one.
type Fairness struct {
	// Shoppers is the number of shoppers with an order.
	Shoppers int `json:"shoppers"`
	// KendallTau is 1 − 2·D/P for D discordant pairs out of P = n(n−1)/2:
	// 1 when orders complete exactly in arrival order, 0 when unrelated,
	// −1 when reversed.
	KendallTau float64 `json:"kendall_tau"`
	// MeanDisplacement is the mean of |arrival rank − completion rank|.
	MeanDisplacement float64 `json:"mean_rank_displacement"`
	// MaxDisplacement is the largest such difference.
	MaxDisplacement int `json:"max_rank_displacement"`
	// PassedOver counts shoppers told "sold out" although a shopper who
	// arrived after them got an order.
	PassedOver int `json:"passed_over"`
}

// completion is one shopper's order: when it arrived (its index in the
// arrival schedule) and when its order was answered.
type completion struct {
	arrival int
	done    time.Duration
}

// fairness computes the Fairness of the shoppers who got an order, given
// the arrival indexes of those told "sold out".
func fairness(orders []completion, soldOut []int) Fairness {
	f := Fairness{Shoppers: len(orders), KendallTau: 1}
	if len(orders) == 0 {
		return f
	}
	byDone := slices.Clone(orders)
	slices.SortStableFunc(byDone, func(a, b completion) int {
		return cmp.Or(cmp.Compare(a.done, b.done), cmp.Compare(a.arrival, b.arrival))
	})
	seq := make([]int, len(byDone)) // arrival indexes in completion order
	for i, c := range byDone {
		seq[i] = c.arrival
	}
	arrivals := slices.Clone(seq)
	slices.Sort(arrivals)
	n := len(seq)
	if n > 1 {
		pairs := float64(n) * float64(n-1) / 2
		f.KendallTau = 1 - 2*float64(inversions(slices.Clone(seq)))/pairs
	}
	var sum int
	for rank, a := range seq {
		arrivalRank, _ := slices.BinarySearch(arrivals, a)
		d := rank - arrivalRank
		if d < 0 {
			d = -d
		}
		sum += d
		f.MaxDisplacement = max(f.MaxDisplacement, d)
	}
	f.MeanDisplacement = math.Round(float64(sum)/float64(n)*100) / 100
	f.KendallTau = math.Round(f.KendallTau*1e4) / 1e4
	last := arrivals[n-1]
	for _, a := range soldOut {
		if a < last {
			f.PassedOver++
		}
	}
	return f
}

// inversions counts the pairs i < j with s[i] > s[j] by merge sort; it sorts s.
func inversions(s []int) int64 {
	if len(s) < 2 {
		return 0
	}
	mid := len(s) / 2
	left, right := slices.Clone(s[:mid]), slices.Clone(s[mid:])
	n := inversions(left) + inversions(right)
	i, j, k := 0, 0, 0
	for i < len(left) && j < len(right) {
		if left[i] <= right[j] {
			s[k] = left[i]
			i++
		} else {
			s[k] = right[j]
			n += int64(len(left) - i)
			j++
		}
		k++
	}
	k += copy(s[k:], left[i:])
	copy(s[k:], right[j:])
	return n
}

// Step is what one kind of request did.
type Step struct {
	Requests int64   `json:"requests"`
	RPS      float64 `json:"rps"`
	// Statuses counts answers by HTTP status; 0 is no answer (a transport error).
	Statuses map[int]int64 `json:"statuses"`
	// Problems counts problem+json answers by their type.
	Problems map[string]int64 `json:"problems,omitempty"`
}

// Outcomes is how each drop shopper ended.
type Outcomes struct {
	Shoppers  int   `json:"shoppers"`
	Ordered   int64 `json:"ordered"`    // 201: a paid order
	Pending   int64 `json:"pending"`    // 202: an order whose payment is being settled
	SoldOut   int64 `json:"sold_out"`   // 409 out-of-stock
	Declined  int64 `json:"declined"`   // 402
	Abandoned int64 `json:"abandoned"`  // left after the cart, by design
	GaveUp    int64 `json:"gave_up"`    // still queued or turned away (429) when --patience ran out
	Failed    int64 `json:"failed"`     // anything else: no answer, 5xx, unexpected problem
	Answered  int64 `json:"answered"`   // every outcome but failed
	NoAnswer  int64 `json:"unanswered"` // shoppers that never finished (the run was cut short)
}

// Queue is what the shoppers saw of the checkout waiting room.
type Queue struct {
	// Queued counts shoppers who got at least one queue ticket (202 with
	// Queue-Ticket); Ordered, SoldOut and GaveUp how they ended.
	Queued  int64 `json:"queued"`
	Ordered int64 `json:"ordered"`
	SoldOut int64 `json:"sold_out"`
	GaveUp  int64 `json:"gave_up"`
	// Polls counts 202 queue answers; Rejected429 the 429 queue-full and
	// rate-limited answers.
	Polls       int64 `json:"polls"`
	Rejected429 int64 `json:"rejected_429"`
	// WaitMS is each queued shopper's time from its first ticket to its
	// final answer.
	WaitMS Latency `json:"wait_ms"`
	// Fairness ranks queued shoppers who got an order by the time of their
	// first ticket against the order in which their orders were answered.
	Fairness *Fairness `json:"fairness,omitempty"`
}

// Phase is what the browse load saw over part of a run; a request belongs
// to the phase its intended send time falls in.
type Phase struct {
	Seconds   float64 `json:"seconds"`
	Requests  int64   `json:"requests"`
	RPS       float64 `json:"rps"`
	Errors    int64   `json:"errors"` // answers other than 200 and 304
	LatencyMS Latency `json:"latency_ms"`
}

// Storefront compares the storefront's browse latency before the work
// (billing run, drop) started with its latency while the work ran, in the
// same run at the same --rate.
type Storefront struct {
	Rate   int   `json:"rate"` // requests per second sent
	Before Phase `json:"before"`
	During Phase `json:"during"`
	// P99Ratio is During's p99 over Before's (0 when either has none).
	P99Ratio float64 `json:"p99_ratio"`
}

// BillingRun is shopd's answer to the billing run (POST
// /v1/admin/billing/runs): what the run did to every subscription due,
// the run's and any other.
type BillingRun struct {
	Invoiced int64 `json:"invoiced"` // periods invoiced
	Retried  int64 `json:"retried"`  // dunning retries started
	Charged  int64 `json:"charged"`  // charges that succeeded
	Declined int64 `json:"declined"`
	Unknown  int64 `json:"unknown"` // charges whose outcome the reconciler settles
	Free     int64 `json:"free"`
	Skipped  int64 `json:"skipped"`
	Canceled int64 `json:"canceled"`
	GaveUp   int64 `json:"gave_up"`
	Calls    int   `json:"calls"` // requests the run took: shopd answers within a time budget, saying if more is due
}

// Renewals is what the billing run of the renewals (or mixed) scenario did,
// and what was read back after it about the run's subscriptions.
type Renewals struct {
	Plan          string `json:"plan"`
	Kind          string `json:"kind"` // the plan's: replenishment or box
	SKU           string `json:"sku"`  // a replenishment plan's one item: a unit each period
	Customers     int    `json:"customers"`
	Subscriptions int    `json:"subscriptions"`
	// SetupS is the time spent registering the customers and subscribing,
	// before the run.
	SetupS float64 `json:"setup_s"`
	// BilledAt is the test clock the run billed as of: the latest trial
	// end among the run's subscriptions.
	BilledAt time.Time `json:"billed_at"`
	// RunS is the billing run's request, from sent to answered; PerS is
	// the periods it invoiced per second of it.
	RunS float64    `json:"run_s"`
	PerS float64    `json:"renewals_per_s"`
	Run  BillingRun `json:"run"`
	// Invoices of the run's subscriptions, by status; Orders the paid
	// periods' orders.
	Invoices     int64 `json:"invoices"`
	InvoicesPaid int64 `json:"invoices_paid"`
	InvoicesOpen int64 `json:"invoices_open"`
	InvoicesVoid int64 `json:"invoices_void"`
	Orders       int64 `json:"orders"`
	// Stock of the plan's SKU received before the run, its units sold and
	// the stock row after the run.
	Stock         int64 `json:"stock"`
	UnitsSold     int64 `json:"units_sold"`
	Oversell      int64 `json:"oversell"`
	OnHandAfter   int64 `json:"on_hand_after"`
	ReservedAfter int64 `json:"reserved_after"`
	// ChargesCaptured counts the test gateway's captured charges for the
	// run's invoices; DoubleCharges the extra ones (an invoice charged more
	// than once, a period paid by more than one invoice);
	// UnchargedInvoices the paid invoices it has no charge for.
	ChargesCaptured   int64 `json:"charges_captured"`
	DoubleCharges     int64 `json:"double_charges"`
	UnchargedInvoices int64 `json:"uncharged_invoices"`
}

// Report is the result of a run. The top-level fields through LatencyMS are
// the ones the launch-day issue names; tools may rely on them. They count
// everything the run sold and charged: in mixed, the drop's and the
// renewals' together (each also on its own, in Shoppers and Renewals).
// OrdersPerS is orders over the time they took: for drop from the first
// arrival to the last order, for renewals the billing run, for mixed the
// loaded phase (Storefront.During).
type Report struct {
	Scenario      string             `json:"scenario"`
	DurationS     float64            `json:"duration_s"`
	Requests      int64              `json:"requests"`
	Orders        int64              `json:"orders"`
	UnitsSold     int64              `json:"units_sold"`
	Stock         int64              `json:"stock"`
	Oversell      int64              `json:"oversell"`
	DoubleCharges int64              `json:"double_charges"`
	Errors5xx     int64              `json:"errors_5xx"`
	RPS           float64            `json:"rps"`
	OrdersPerS    float64            `json:"orders_per_s"`
	LatencyMS     map[string]Latency `json:"latency_ms"`

	Target      string           `json:"target"`
	SKU         string           `json:"sku"`
	Product     string           `json:"product"`
	Connections int              `json:"connections"`
	Steps       map[string]Step  `json:"steps"`
	Errors      map[string]int64 `json:"errors"` // unexpected answers by problem type ("transport", "http-500", …)
	NotModified int64            `json:"not_modified"`
	// SellOutS is the time from the first arrival to the last order answered.
	SellOutS float64 `json:"sell_out_s,omitempty"`
	// WaitMS is how long drop shoppers waited after arriving for one of the
	// --connections to be free; it is part of the product step's latency.
	WaitMS   *Latency  `json:"wait_ms,omitempty"`
	Shoppers *Outcomes `json:"shoppers,omitempty"`
	Fairness *Fairness `json:"fairness,omitempty"`
	// Queue is what the checkout waiting room did, when it did anything.
	Queue *Queue `json:"queue,omitempty"`
	// ChargesCaptured counts the test gateway's captured charges for the
	// run's orders; UnchargedOrders the paid orders it has no charge for.
	ChargesCaptured int64 `json:"charges_captured"`
	UnchargedOrders int64 `json:"uncharged_orders"`
	// OnHandAfter and ReservedAfter are the stock row read back after the run.
	OnHandAfter   int64 `json:"on_hand_after"`
	ReservedAfter int64 `json:"reserved_after"`
	// Storefront compares browsing before and during the work (renewals,
	// mixed); Renewals is the billing run (renewals, mixed).
	Storefront *Storefront `json:"storefront,omitempty"`
	Renewals   *Renewals   `json:"renewals,omitempty"`
	// Drop is the drop's own part of the totals, in mixed.
	Drop *DropSales `json:"drop,omitempty"`
	// Catalog compares the storefront's reads with the reference (catalog).
	Catalog *Catalog `json:"catalog,omitempty"`

	steps []string // step names in the order a shopper takes them
}

// DropSales are a drop's own orders, stock and charges: the top-level
// figures of a drop run, kept apart in mixed, whose top-level figures add
// the renewals' to them.
type DropSales struct {
	Orders          int64   `json:"orders"`
	OrdersPerS      float64 `json:"orders_per_s"` // from the first arrival to the last order
	UnitsSold       int64   `json:"units_sold"`
	Stock           int64   `json:"stock"`
	Oversell        int64   `json:"oversell"`
	DoubleCharges   int64   `json:"double_charges"`
	ChargesCaptured int64   `json:"charges_captured"`
	UnchargedOrders int64   `json:"uncharged_orders"`
	OnHandAfter     int64   `json:"on_hand_after"`
	ReservedAfter   int64   `json:"reserved_after"`
}

// dropSales returns the drop's own figures: Drop if set, else the
// top-level ones.
func (r *Report) dropSales() DropSales {
	if r.Drop != nil {
		return *r.Drop
	}
	return DropSales{Orders: r.Orders, OrdersPerS: r.OrdersPerS, UnitsSold: r.UnitsSold, Stock: r.Stock, Oversell: r.Oversell,
		DoubleCharges: r.DoubleCharges, ChargesCaptured: r.ChargesCaptured, UnchargedOrders: r.UnchargedOrders,
		OnHandAfter: r.OnHandAfter, ReservedAfter: r.ReservedAfter}
}

// addRenewals adds the renewals' orders, units, stock and charges to the
// report's totals.
func (r *Report) addRenewals(rn *Renewals) {
	r.Renewals = rn
	r.Orders += rn.Orders
	r.UnitsSold += rn.UnitsSold
	r.Stock += rn.Stock
	r.Oversell += rn.Oversell
	r.DoubleCharges += rn.DoubleCharges
	r.ChargesCaptured += rn.ChargesCaptured
	r.UnchargedOrders += rn.UnchargedInvoices
	r.OnHandAfter += rn.OnHandAfter
	r.ReservedAfter += rn.ReservedAfter
}

// Failed says why the run broke an invariant, or "" if it did not.
func (r *Report) Failed() string {
	var why []string
	if r.Oversell > 0 {
		why = append(why, fmt.Sprintf("oversell %d", r.Oversell))
	}
	if r.DoubleCharges > 0 {
		why = append(why, fmt.Sprintf("double charges %d", r.DoubleCharges))
	}
	if r.Errors5xx > 0 {
		why = append(why, fmt.Sprintf("%d answers were 5xx", r.Errors5xx))
	}
	return strings.Join(why, ", ")
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "scenario %s against %s (%d connections), %.2f s\n", r.Scenario, r.Target, r.Connections, r.DurationS)
	fmt.Fprintf(w, "requests %d (%.0f/s)", r.Requests, r.RPS)
	if r.NotModified > 0 {
		fmt.Fprintf(w, ", %d answered 304", r.NotModified)
	}
	fmt.Fprintln(w)
	width := 10
	for _, name := range r.steps {
		width = max(width, len(name))
	}
	fmt.Fprintf(w, "\n%-*s %9s %9s %9s %9s %9s %9s\n", width, "step", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms")
	for _, name := range r.steps {
		s, l := r.Steps[name], r.LatencyMS[name]
		fmt.Fprintf(w, "%-*s %9d %9.0f %9.2f %9.2f %9.2f %9.2f\n", width, name, s.Requests, s.RPS, l.P50, l.P95, l.P99, l.Max)
	}
	if l := r.WaitMS; l != nil {
		fmt.Fprintf(w, "%-*s %9s %9s %9.2f %9.2f %9.2f %9.2f  (arrival until a connection was free; in product's latency)\n", width, "wait", "", "", l.P50, l.P95, l.P99, l.Max)
	}
	for _, name := range r.steps {
		s := r.Steps[name]
		var parts []string
		for _, code := range sortedKeys(s.Statuses) {
			parts = append(parts, fmt.Sprintf("%d×%d", s.Statuses[code], code))
		}
		for _, t := range sortedKeys(s.Problems) {
			parts = append(parts, fmt.Sprintf("%d×%s", s.Problems[t], t))
		}
		fmt.Fprintf(w, "  %s: %s\n", name, strings.Join(parts, " "))
	}
	if len(r.Errors) > 0 {
		fmt.Fprint(w, "\nerrors:")
		for _, t := range sortedKeys(r.Errors) {
			fmt.Fprintf(w, " %d×%s", r.Errors[t], t)
		}
		fmt.Fprintln(w)
	}
	if o := r.Shoppers; o != nil {
		fmt.Fprintf(w, "\nshoppers %d: %d ordered, %d pending, %d sold out, %d declined, %d abandoned, %d gave up, %d failed, %d unanswered\n",
			o.Shoppers, o.Ordered, o.Pending, o.SoldOut, o.Declined, o.Abandoned, o.GaveUp, o.Failed, o.NoAnswer)
		d := r.dropSales()
		fmt.Fprintf(w, "orders %d in %.2f s (%.0f/s from the first arrival to the last order)\n", d.Orders, r.SellOutS, d.OrdersPerS)
		fmt.Fprintf(w, "stock %d, units sold %d (on hand after %d, reserved %d), oversell %d\n",
			d.Stock, d.UnitsSold, d.OnHandAfter, d.ReservedAfter, d.Oversell)
		fmt.Fprintf(w, "test gateway: %d captured charges for the run's orders, double charges %d, paid orders without a charge %d\n",
			d.ChargesCaptured, d.DoubleCharges, d.UnchargedOrders)
	}
	if f := r.Fairness; f != nil {
		fmt.Fprintf(w, "fairness over %d orders: Kendall tau %.4f, mean rank displacement %.2f (max %d), %d sold out before a later arrival got an order\n",
			f.Shoppers, f.KendallTau, f.MeanDisplacement, f.MaxDisplacement, f.PassedOver)
	}
	if q := r.Queue; q != nil {
		fmt.Fprintf(w, "waiting room: %d shoppers queued (%d ordered, %d sold out, %d gave up), %d queue answers, %d answered 429\n",
			q.Queued, q.Ordered, q.SoldOut, q.GaveUp, q.Polls, q.Rejected429)
		fmt.Fprintf(w, "  wait in line ms: p50 %.2f, p95 %.2f, p99 %.2f, max %.2f\n", q.WaitMS.P50, q.WaitMS.P95, q.WaitMS.P99, q.WaitMS.Max)
		if f := q.Fairness; f != nil {
			fmt.Fprintf(w, "  fairness over %d queued orders (first ticket → order): Kendall tau %.4f, mean rank displacement %.2f (max %d)\n",
				f.Shoppers, f.KendallTau, f.MeanDisplacement, f.MaxDisplacement)
		}
	}
	if rn := r.Renewals; rn != nil {
		fmt.Fprintf(w, "\nrenewals: %d subscriptions of %d customers to a %s plan (set up in %.2f s), billed as of %s\n",
			rn.Subscriptions, rn.Customers, rn.Kind, rn.SetupS, rn.BilledAt.Format(time.RFC3339))
		fmt.Fprintf(w, "billing run %.2f s: %d invoiced (%.0f renewals/s), %d charged, %d declined, %d unknown\n",
			rn.RunS, rn.Run.Invoiced, rn.PerS, rn.Run.Charged, rn.Run.Declined, rn.Run.Unknown)
		fmt.Fprintf(w, "invoices %d: %d paid, %d open, %d void; %d orders\n", rn.Invoices, rn.InvoicesPaid, rn.InvoicesOpen, rn.InvoicesVoid, rn.Orders)
		fmt.Fprintf(w, "stock %d, units sold %d (on hand after %d, reserved %d), oversell %d\n",
			rn.Stock, rn.UnitsSold, rn.OnHandAfter, rn.ReservedAfter, rn.Oversell)
		fmt.Fprintf(w, "test gateway: %d captured charges for the run's invoices, double charges %d, paid invoices without a charge %d\n",
			rn.ChargesCaptured, rn.DoubleCharges, rn.UnchargedInvoices)
	}
	if c := r.Catalog; c != nil {
		c.writeText(w)
	}
	if sf := r.Storefront; sf != nil {
		fmt.Fprintf(w, "\nstorefront at %d requests/s:\n", sf.Rate)
		for _, p := range []struct {
			name  string
			phase Phase
		}{{"before", sf.Before}, {"during", sf.During}} {
			l := p.phase.LatencyMS
			fmt.Fprintf(w, "  %-6s %6.2f s %7d requests (%.0f/s), %d errors; ms p50 %.2f, p95 %.2f, p99 %.2f, max %.2f\n",
				p.name, p.phase.Seconds, p.phase.Requests, p.phase.RPS, p.phase.Errors, l.P50, l.P95, l.P99, l.Max)
		}
		fmt.Fprintf(w, "  p99 during / before: %.2f\n", sf.P99Ratio)
	}
	fmt.Fprintf(w, "5xx answers %d\n", r.Errors5xx)
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
