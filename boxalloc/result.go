package boxalloc

import (
	"fmt"
	"strings"
	"time"
)

// Result is an allocation and its report. Greedy and Exact return the same
// shape as Allocate, so a report can show them side by side.
type Result struct {
	Method     string        `json:"method"` // "lagrangian", "greedy" or "exact"
	Objective  Points        `json:"objective"`
	Bound      Points        `json:"bound"` // upper bound on the optimum; 0 when the method gives none
	Gap        float64       `json:"gap"`   // (Bound − Objective) / Bound; 0 without a bound
	Boxes      []Box         `json:"boxes"` // one per filled subscriber, in instance order
	Unfilled   []Unfilled    `json:"unfilled"`
	Usage      []Usage       `json:"usage"` // per product × warehouse with stock
	Iterations int           `json:"iterations"`
	Elapsed    time.Duration `json:"elapsed"`
}

// Box is one subscriber's box: k items from one warehouse.
type Box struct {
	Subscriber string `json:"subscriber"`
	Warehouse  string `json:"warehouse"`
	Score      Points `json:"score"` // the sum of the items' scores
	Items      []Item `json:"items"`
}

// Item is one product in a box, with the score it earned and the price of
// its product at the box's warehouse that steered the choice (0 for a
// product in plentiful supply; greedy and exact set no prices).
type Item struct {
	Product string `json:"product"`
	Score   Points `json:"score"`
	Price   Points `json:"price"`
}

// Unfilled names a subscriber who gets no box, and why.
type Unfilled struct {
	Subscriber string `json:"subscriber"`
	Reason     string `json:"reason"`
}

// Usage is the use of a product at a warehouse against its stock.
type Usage struct {
	Product   string `json:"product"`
	Warehouse string `json:"warehouse"`
	Used      int    `json:"used"`
	Stock     int    `json:"stock"`
	Price     Points `json:"price"`
}

// GapTo is the gap of this result's objective to a bound from another run
// (e.g. the greedy baseline against the allocator's bound).
func (r *Result) GapTo(bound Points) float64 {
	if bound <= 0 {
		return 0
	}
	return float64(bound-r.Objective) / float64(bound)
}

// Explain says why the box holds what it holds, one item per line.
func (b *Box) Explain() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s from %s: score %s\n", b.Subscriber, b.Warehouse, b.Score)
	for _, it := range b.Items {
		fmt.Fprintf(&sb, "  %s: score %s, price %s, net %s\n", it.Product, it.Score, it.Price, it.Score-it.Price)
	}
	return sb.String()
}

// result turns an assignment into a Result; reasons names the subscribers
// without a full box.
func (m *model) result(method string, as *assignment, reasons map[int]string) *Result {
	r := &Result{Method: method, Objective: Points(as.objective())}
	filled := as.filled()
	r.Boxes = make([]Box, 0, filled)
	items := make([]Item, 0, filled*m.k)
	for s, n := range as.n {
		if int(n) != m.k {
			reason := reasons[s]
			if reason == "" {
				reason = "no box could be formed from the stock left"
			}
			r.Unfilled = append(r.Unfilled, Unfilled{Subscriber: m.in.Subscribers[s].ID, Reason: reason})
			continue
		}
		w := int(as.w[s])
		box := Box{Subscriber: m.in.Subscribers[s].ID, Warehouse: m.in.Warehouses[w].ID}
		start := len(items)
		for j, p := range as.box(s) {
			score := Points(as.scores[s*m.k+j])
			items = append(items, Item{Product: m.in.Products[p].ID, Score: score, Price: Points(as.prices[m.pw(int(p), w)])})
			box.Score += score
		}
		box.Items = items[start:len(items):len(items)]
		r.Boxes = append(r.Boxes, box)
	}
	for pw, stock := range m.stock {
		if stock > 0 {
			p, w := pw%m.nP, pw/m.nP
			r.Usage = append(r.Usage, Usage{Product: m.in.Products[p].ID, Warehouse: m.in.Warehouses[w].ID,
				Used: int(stock - as.free[pw]), Stock: int(stock), Price: Points(as.prices[pw])})
		}
	}
	return r
}

// setBound records a bound and the gap to it.
func (r *Result) setBound(bound Points) {
	r.Bound = bound
	r.Gap = r.GapTo(bound)
}
