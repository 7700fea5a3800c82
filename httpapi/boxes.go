package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/box"
	"github.com/shopd/shopd/boxalloc"
)

// errNoBoxes answers box routes on a server built without the box service.
var errNoBoxes = shopd.TypedErrorf(shopd.EUNAVAILABLE, "boxes-unavailable", "Box allocation is not enabled on this server.")

// points shows micro-points as points.
func points(p boxalloc.Points) float64 { return float64(p) / boxalloc.PointScale }

type boxItemJSON struct {
	VariantID string  `json:"variant_id"`
	ProductID string  `json:"product_id"`
	SKU       string  `json:"sku"`
	Title     string  `json:"title"`
	Score     float64 `json:"score"`
	Price     float64 `json:"price"`
}

type boxJSON struct {
	ID             string        `json:"id"`
	RunID          string        `json:"run_id"`
	PlanID         string        `json:"plan_id"`
	Period         string        `json:"period"`
	SubscriptionID string        `json:"subscription_id"`
	CustomerID     string        `json:"customer_id"`
	InvoiceID      string        `json:"invoice_id"`
	WarehouseID    string        `json:"warehouse_id"`
	OrderID        string        `json:"order_id,omitempty"` // once ordered
	Status         box.Status    `json:"status"`
	Score          float64       `json:"score"`
	Items          []boxItemJSON `json:"items"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
}

func boxOut(b box.Box) boxJSON {
	j := boxJSON{ID: b.ID, RunID: b.RunID, PlanID: b.PlanID, Period: b.Period, SubscriptionID: b.SubscriptionID, CustomerID: b.CustomerID,
		InvoiceID: b.InvoiceID, WarehouseID: b.WarehouseID, Status: b.Status, Score: points(b.Score), Items: make([]boxItemJSON, len(b.Items)),
		CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt}
	if b.Status == box.StatusOrdered {
		j.OrderID = b.OrderID
	}
	for i, it := range b.Items {
		j.Items[i] = boxItemJSON{VariantID: it.VariantID, ProductID: it.ProductID, SKU: it.SKU, Title: it.Title, Score: points(it.Score), Price: points(it.Price)}
	}
	return j
}

type usageJSON struct {
	Product   string  `json:"variant_id"`
	Warehouse string  `json:"warehouse_id"`
	Used      int     `json:"used"`
	Stock     int     `json:"stock"`
	Price     float64 `json:"price"`
}

type reportJSON struct {
	Subscribers int                 `json:"subscribers"`
	Boxes       int                 `json:"boxes"`
	Objective   float64             `json:"objective"`
	Bound       float64             `json:"bound"`
	Gap         float64             `json:"gap"`
	Greedy      float64             `json:"greedy_objective"`
	Unfilled    []boxalloc.Unfilled `json:"unfilled"`
	Usage       []usageJSON         `json:"usage"`
	ElapsedMS   int64               `json:"elapsed_ms"`
}

type runOptionsJSON struct {
	Market         string            `json:"market"`
	CategoryLimit  int               `json:"category_limit"`
	CategoryLimits map[string]int    `json:"category_limits,omitempty"`
	ValueFloor     int64             `json:"value_floor"`
	History        int               `json:"history"`
	Weights        *boxalloc.Weights `json:"weights,omitempty"`
	Seed           int64             `json:"seed"`
	HoldDays       int               `json:"hold_days"`
}

type runJSON struct {
	ID        string         `json:"id,omitempty"` // none for a dry run
	PlanID    string         `json:"plan_id"`
	Period    string         `json:"period"`
	Market    string         `json:"market"`
	Status    box.RunStatus  `json:"status"` // "dry_run", or "nothing_to_allocate" when every paid subscriber has a box
	Options   runOptionsJSON `json:"options"`
	Report    reportJSON     `json:"report"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

const day = 24 * time.Hour

// BoxRunJSON is a run as the API shows it (`shopd allocate --json`).
func BoxRunJSON(r box.Run) any { return runOut(r) }

func runOut(r box.Run) runJSON {
	o := r.Options
	j := runJSON{ID: r.ID, PlanID: r.PlanID, Period: r.Period, Market: r.Market, Status: r.Status, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Options: runOptionsJSON{Market: o.Market, CategoryLimit: o.CategoryLimit, CategoryLimits: o.CategoryLimits, ValueFloor: o.ValueFloor,
			History: o.History, Weights: o.Weights, Seed: o.Seed, HoldDays: int(o.Hold / day)}}
	rep := r.Report
	j.Report = reportJSON{Subscribers: rep.Subscribers, Boxes: rep.Boxes, Objective: points(rep.Objective), Bound: points(rep.Bound),
		Gap: rep.Gap, Greedy: points(rep.Greedy), Unfilled: rep.Unfilled, Usage: make([]usageJSON, len(rep.Usage)), ElapsedMS: rep.Elapsed.Milliseconds()}
	if j.Report.Unfilled == nil {
		j.Report.Unfilled = []boxalloc.Unfilled{}
	}
	for i, u := range rep.Usage {
		j.Report.Usage[i] = usageJSON{Product: u.Product, Warehouse: u.Warehouse, Used: u.Used, Stock: u.Stock, Price: points(u.Price)}
	}
	return j
}

// getPool serves GET /v1/admin/plans/{plan}/pools/{period}.
func (s *Server) getPool(w http.ResponseWriter, r *http.Request) error {
	if s.Boxes == nil {
		return errNoBoxes
	}
	p, err := s.Boxes.Pool(r.Context(), r.PathValue("plan"), r.PathValue("period"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return respond(w, http.StatusOK, p)
}

// setPool serves PUT /v1/admin/plans/{plan}/pools/{period}: the products
// offered in the period, replaced as a whole.
func (s *Server) setPool(w http.ResponseWriter, r *http.Request) error {
	if s.Boxes == nil {
		return errNoBoxes
	}
	var in struct {
		Items []box.PoolItem `json:"items"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	p, err := s.Boxes.SetPool(r.Context(), r.PathValue("plan"), r.PathValue("period"), in.Items)
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, p)
}

// runAllocation serves POST /v1/admin/box-runs: allocate a plan's period
// in a market (201 with the proposed run), or with dry_run compute and
// report only (200).
func (s *Server) runAllocation(w http.ResponseWriter, r *http.Request) error {
	if s.Boxes == nil {
		return errNoBoxes
	}
	var in struct {
		PlanID string `json:"plan_id"`
		Period string `json:"period"`
		DryRun bool   `json:"dry_run"`
		runOptionsJSON
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	var v shopd.Validation
	v.Check(in.HoldDays >= 0 && in.HoldDays <= int(box.MaxHold/day), "hold_days", "must be between 0 and 90")
	if err := v.Err(); err != nil {
		return err
	}
	opt := box.Options{Market: in.Market, CategoryLimit: in.CategoryLimit, CategoryLimits: in.CategoryLimits, ValueFloor: in.ValueFloor,
		History: in.History, Weights: in.Weights, Seed: in.Seed, Hold: time.Duration(in.HoldDays) * day}
	run, err := s.Boxes.Allocate(r.Context(), in.PlanID, in.Period, opt, in.DryRun, nil)
	if err != nil {
		return err
	}
	out := runOut(run)
	if run.ID != "" {
		return respond(w, http.StatusCreated, out)
	}
	out.Status = "nothing_to_allocate"
	if in.DryRun {
		out.Status = "dry_run"
	}
	return respond(w, http.StatusOK, out)
}

// listRuns serves GET /v1/admin/box-runs?plan=&period=.
func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) error {
	if s.Boxes == nil {
		return errNoBoxes
	}
	q := r.URL.Query()
	return respondPage(w, r, func(limit int) ([]box.Run, error) {
		return s.Boxes.Runs(r.Context(), box.RunFilter{PlanID: q.Get("plan"), Period: q.Get("period"), Before: q.Get("cursor"), Limit: limit})
	}, func(run box.Run) string { return run.ID }, runOut)
}

// respondPage answers a page of a newest-first list: list is asked for one
// more than the page to learn whether another follows; the cursor is the
// last item's ID.
func respondPage[T, J any](w http.ResponseWriter, r *http.Request, list func(limit int) ([]T, error), id func(T) string, view func(T) J) error {
	limit, err := queryInt(r, "limit", 20, 1, box.MaxPageSize)
	if err != nil {
		return err
	}
	items, err := list(limit + 1)
	if err != nil {
		return err
	}
	out := List[J]{Data: []J{}}
	if len(items) > limit {
		items, out.NextCursor = items[:limit], id(items[limit-1])
	}
	for _, it := range items {
		out.Data = append(out.Data, view(it))
	}
	w.Header().Set("Cache-Control", "no-store")
	return respond(w, http.StatusOK, out)
}

// getRun serves GET /v1/admin/box-runs/{run}.
func (s *Server) getRun(w http.ResponseWriter, r *http.Request) error {
	if s.Boxes == nil {
		return errNoBoxes
	}
	run, err := s.Boxes.Run(r.Context(), r.PathValue("run"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return respond(w, http.StatusOK, runOut(run))
}

// approveRun serves POST /v1/admin/box-runs/{run}/approve.
func (s *Server) approveRun(w http.ResponseWriter, r *http.Request) error {
	return s.closeRun(w, r, (*box.Service).Approve)
}

// discardRun serves POST /v1/admin/box-runs/{run}/discard.
func (s *Server) discardRun(w http.ResponseWriter, r *http.Request) error {
	return s.closeRun(w, r, (*box.Service).Discard)
}

func (s *Server) closeRun(w http.ResponseWriter, r *http.Request, close func(*box.Service, context.Context, string) (box.Run, error)) error {
	if s.Boxes == nil {
		return errNoBoxes
	}
	run, err := close(s.Boxes, r.Context(), r.PathValue("run"))
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, runOut(run))
}

// respondBoxes answers a page of boxes.
func (s *Server) respondBoxes(w http.ResponseWriter, r *http.Request, list func(f box.BoxFilter) ([]box.Box, error)) error {
	if s.Boxes == nil {
		return errNoBoxes
	}
	q := r.URL.Query()
	return respondPage(w, r, func(limit int) ([]box.Box, error) {
		return list(box.BoxFilter{Status: box.Status(q.Get("status")), Before: q.Get("cursor"), Limit: limit})
	}, func(b box.Box) string { return b.ID }, boxOut)
}

// listRunBoxes serves GET /v1/admin/box-runs/{run}/boxes.
func (s *Server) listRunBoxes(w http.ResponseWriter, r *http.Request) error {
	return s.respondBoxes(w, r, func(f box.BoxFilter) ([]box.Box, error) {
		if _, err := s.Boxes.Run(r.Context(), r.PathValue("run")); err != nil {
			return nil, err
		}
		f.RunID = r.PathValue("run")
		return s.Boxes.Boxes(r.Context(), f)
	})
}

// listMyBoxes serves GET /v1/subscriptions/{subscription}/boxes: the
// customer's own subscription's boxes, the upcoming one first.
func (s *Server) listMyBoxes(w http.ResponseWriter, r *http.Request) error {
	return s.respondBoxes(w, r, func(f box.BoxFilter) ([]box.Box, error) {
		return s.Boxes.CustomerBoxes(r.Context(), callerFrom(r).session.CustomerID, r.PathValue("subscription"), f)
	})
}
