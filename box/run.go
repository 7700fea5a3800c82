package box

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/boxalloc"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/subscription"
)

// Reasons a subscriber found by the run has no box, beside boxalloc's.
const (
	ReasonStockChanged = "stock changed while the run was computing (a top-up run will try again)"
	ReasonBoxExists    = "already has a box for the period"
)

// period is a run's input: the instance and what its IDs stand for.
type period struct {
	instance    boxalloc.Instance
	subscribers map[string]Subscriber
	pool        map[string]poolEntry // by variant ID
}

type poolEntry struct {
	item  PoolItem
	title string
}

// Allocate allocates the boxes of a plan's period in a market for every
// paid subscriber who has none yet. With dryRun it only computes and
// reports; otherwise it writes each box with its stock held at the
// warehouse that will pack it, and leaves the run proposed for approval.
// A period with no one left to allocate returns a report of zero
// subscribers and writes nothing. progress, if not nil, sees the
// allocator's passes.
func (s *Service) Allocate(ctx context.Context, planID, periodName string, opt Options, dryRun bool, progress func(boxalloc.Progress)) (Run, error) {
	plan, err := s.boxPlan(ctx, planID)
	if err != nil {
		return Run{}, err
	}
	if _, _, err := ParsePeriod(periodName); err != nil {
		return Run{}, err
	}
	if err := checkOptions(plan, &opt); err != nil {
		return Run{}, err
	}
	if !dryRun {
		if r, err := s.store.PendingRun(ctx, plan.ID, periodName, opt.Market); err == nil {
			return Run{}, errRunPending(r)
		} else if shopd.ErrorCode(err) != shopd.ENOTFOUND {
			return Run{}, err
		}
	}
	p, err := s.load(ctx, plan, periodName, opt)
	if err != nil {
		return Run{}, err
	}
	now := s.now()
	run := Run{ID: shopd.NewID("brn"), PlanID: plan.ID, Period: periodName, Market: opt.Market, Status: RunAllocating,
		Options: opt, CreatedAt: now, UpdatedAt: now}
	run.Report.Subscribers = len(p.instance.Subscribers)
	run.Report.Unfilled = []boxalloc.Unfilled{}
	run.Report.Usage = []boxalloc.Usage{}
	if len(p.instance.Subscribers) == 0 {
		run.ID, run.Status = "", ""
		return run, nil
	}
	start := time.Now()
	res, err := boxalloc.Allocate(ctx, &p.instance, boxalloc.Options{Seed: opt.Seed, Workers: s.Workers, Progress: progress})
	if err != nil {
		return Run{}, err
	}
	greedy, err := boxalloc.Greedy(ctx, &p.instance, boxalloc.Options{Seed: opt.Seed})
	if err != nil {
		return Run{}, err
	}
	run.Report.Objective, run.Report.Bound, run.Report.Gap = res.Objective, res.Bound, res.Gap
	run.Report.Greedy = greedy.Objective
	run.Report.Unfilled = append(run.Report.Unfilled, res.Unfilled...)
	run.Report.Usage = append(run.Report.Usage, res.Usage...)
	run.Report.Boxes = len(res.Boxes)
	run.Report.Elapsed = time.Since(start)
	if dryRun {
		run.ID, run.Status = "", ""
		return run, nil
	}
	if err := s.store.InsertRun(ctx, run); err != nil {
		return Run{}, err
	}
	written, unfilled, err := s.writeBoxes(ctx, run, p, res.Boxes)
	if err != nil {
		return run, err // the run stays allocating: approve or discard it
	}
	run.Report.Boxes = written
	run.Report.Unfilled = append(run.Report.Unfilled, unfilled...)
	err = s.store.InTx(ctx, func(tx Tx) error {
		r, err := tx.LockRun(ctx, run.ID)
		if err != nil {
			return err
		}
		if r.Status != RunAllocating {
			return shopd.TypedErrorf(shopd.ECONFLICT, "box-run-closed", "Run %s was %s while it was allocating.", r.ID, r.Status)
		}
		r.Status, r.Report, r.Boxes, r.UpdatedAt = RunProposed, run.Report, written, s.now()
		run = r
		return tx.SaveRun(ctx, r, EventRunProposed)
	})
	return run, err
}

func errRunPending(r Run) error {
	return shopd.TypedErrorf(shopd.ECONFLICT, "box-run-pending",
		"Run %s of plan %s for %s in %s is %s and holds stock: approve or discard it first.", r.ID, r.PlanID, r.Period, r.Market, r.Status)
}

// load reads a run's input: the pool with the market's prices, the paid
// subscribers without a box, their profiles and recent products, and the
// stock of the market's warehouses.
func (s *Service) load(ctx context.Context, plan subscription.Plan, periodName string, opt Options) (period, error) {
	pool, err := s.store.Pool(ctx, plan.ID, periodName)
	if err != nil {
		return period{}, err
	}
	m, err := s.markets.Market(ctx, opt.Market)
	if err != nil {
		return period{}, err
	}
	ids := make([]string, len(pool.Items))
	for i, it := range pool.Items {
		ids[i] = it.VariantID
	}
	mvs, err := s.variants.VariantsInMarket(ctx, m.Code, ids)
	if err != nil {
		return period{}, err
	}
	p := period{subscribers: map[string]Subscriber{}, pool: map[string]poolEntry{}}
	in := &p.instance
	in.BoxSize, in.CategoryLimit, in.CategoryLimits, in.ValueFloor = plan.BoxSize, opt.CategoryLimit, opt.CategoryLimits, opt.ValueFloor
	in.Weights = boxalloc.DefaultWeights()
	if opt.Weights != nil {
		in.Weights = *opt.Weights
	}
	byVariant := make(map[string]PoolItem, len(pool.Items))
	for _, it := range pool.Items {
		byVariant[it.VariantID] = it
	}
	byProduct := map[string]string{} // product ID → the pool's variant of it
	skus := make([]string, 0, len(mvs))
	for _, mv := range mvs {
		it := byVariant[mv.Variant.ID]
		if mv.Product.Status == catalog.StatusArchived {
			continue // archived since the pool was set: not offered
		}
		prod := productOf(mv.Product.Attributes)
		prod.ID, prod.Boost, prod.Cost = mv.Variant.ID, it.Boost, it.Cost
		if pr, ok := mv.Price(m.Code, m.Currency); ok {
			prod.RetailValue = pr.Amount.Amount
		}
		in.Products = append(in.Products, prod)
		title := mv.Product.Title
		if mv.Variant.Title != "" {
			title += " / " + mv.Variant.Title
		}
		p.pool[mv.Variant.ID] = poolEntry{item: PoolItem{VariantID: mv.Variant.ID, ProductID: mv.Product.ID, SKU: mv.Variant.SKU, Cost: it.Cost, Boost: it.Boost}, title: title}
		byProduct[mv.Product.ID] = mv.Variant.ID
		skus = append(skus, mv.Variant.SKU)
	}
	slices.SortFunc(in.Products, func(a, b boxalloc.Product) int { return strings.Compare(a.ID, b.ID) })

	stock, err := s.store.Stock(ctx, m.Code, skus)
	if err != nil {
		return period{}, err
	}
	in.Warehouses = stock.Warehouses
	warehouses := make([]string, len(stock.Warehouses))
	for i, w := range stock.Warehouses {
		warehouses[i] = w.ID
	}
	variantOfSKU := make(map[string]string, len(p.pool))
	for id, e := range p.pool {
		variantOfSKU[e.item.SKU] = id
	}
	for _, l := range stock.Levels {
		if l.Available > 0 {
			in.Stock = append(in.Stock, boxalloc.StockLevel{Product: variantOfSKU[l.SKU], Warehouse: l.WarehouseID, Quantity: int(min(l.Available, 1<<30))})
		}
	}

	y, mo, _ := ParsePeriod(periodName)
	from := time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC).Add(-15 * time.Hour) // every time zone is within 14 h of UTC
	to := time.Date(y, mo+1, 1, 0, 0, 0, 0, time.UTC).Add(15 * time.Hour)
	subs, err := s.store.Subscribers(ctx, SubscriberQuery{PlanID: plan.ID, Market: m.Code, Period: periodName,
		HistoryFrom: shiftPeriod(periodName, -opt.History), From: from, To: to})
	if err != nil {
		return period{}, err
	}
	slices.SortFunc(subs, func(a, b Subscriber) int { return strings.Compare(a.SubscriptionID, b.SubscriptionID) })
	for _, sub := range subs {
		if periodOf(sub.PeriodStart, sub.TimeZone) != periodName {
			continue
		}
		if _, dup := p.subscribers[sub.SubscriptionID]; dup {
			continue // two paid periods start in the month (a shorter interval): one box
		}
		p.subscribers[sub.SubscriptionID] = sub
		bs := boxalloc.Subscriber{ID: sub.SubscriptionID, Profile: sub.Profile, Warehouses: warehouses}
		for _, prodID := range sub.Recent {
			if v, ok := byProduct[prodID]; ok {
				bs.Recent = append(bs.Recent, v)
			}
		}
		in.Subscribers = append(in.Subscribers, bs)
	}
	return p, nil
}

// productOf describes a product to the scoring from its catalog attributes.
func productOf(attrs map[string][]string) boxalloc.Product {
	first := func(k string) string {
		if v := attrs[k]; len(v) > 0 {
			return strings.ToLower(v[0])
		}
		return ""
	}
	all := func(k string) []string {
		out := make([]string, len(attrs[k]))
		for i, v := range attrs[k] {
			out[i] = strings.ToLower(v)
		}
		return out
	}
	return boxalloc.Product{Category: first("category"), Brand: first("brand"), Ingredients: all("ingredients"),
		SkinTypes: all("skin_types"), SkinTones: all("skin_tones"), HairTypes: all("hair_types"), Concerns: all("concerns"), Tags: all("tags")}
}

// writeBoxes writes the allocation's boxes, a batch per transaction, each
// box with its stock reserved under its order's ID at its warehouse. A box
// whose stock is gone (sold meanwhile) or whose subscriber got a box from
// another run is left out and reported.
func (s *Service) writeBoxes(ctx context.Context, run Run, p period, boxes []boxalloc.Box) (int, []boxalloc.Unfilled, error) {
	var unfilled []boxalloc.Unfilled
	written := 0
	for chunk := range slices.Chunk(boxes, s.batch()) {
		var lost []boxalloc.Unfilled
		n := 0
		err := s.store.InTx(ctx, func(tx Tx) error {
			lost, n = lost[:0], 0
			if r, err := tx.LockRun(ctx, run.ID); err != nil {
				return err
			} else if r.Status != RunAllocating {
				return shopd.TypedErrorf(shopd.ECONFLICT, "box-run-closed", "Run %s was %s while it was allocating.", r.ID, r.Status)
			}
			now := s.now()
			for _, ab := range chunk {
				b := s.newBox(run, p, ab, now)
				err := tx.Savepoint(ctx, func() error {
					if err := tx.InsertBox(ctx, b); err != nil {
						return err
					}
					req := inventory.ReserveRequest{Reference: b.OrderID, Market: run.Market, Warehouse: b.WarehouseID, ExpiresAt: now.Add(run.Options.Hold)}
					for _, it := range b.Items {
						req.Lines = append(req.Lines, inventory.Line{SKU: it.SKU, Quantity: 1})
					}
					_, err := tx.ReserveStock(ctx, req)
					return err
				})
				switch {
				case err == nil:
					n++
				case shopd.ErrorType(err) == "box-exists":
					lost = append(lost, boxalloc.Unfilled{Subscriber: ab.Subscriber, Reason: ReasonBoxExists})
				case shopd.ErrorCode(err) == shopd.ECONFLICT:
					lost = append(lost, boxalloc.Unfilled{Subscriber: ab.Subscriber, Reason: ReasonStockChanged})
				default:
					return err
				}
			}
			return nil
		})
		if err != nil {
			return written, unfilled, err
		}
		shopd.CrashPoint("box.allocated") // some boxes written, the run allocating
		written += n
		unfilled = append(unfilled, lost...)
	}
	return written, unfilled, nil
}

func (s *Service) newBox(run Run, p period, ab boxalloc.Box, now time.Time) Box {
	sub := p.subscribers[ab.Subscriber]
	b := Box{ID: shopd.NewID("box"), RunID: run.ID, PlanID: run.PlanID, Period: run.Period, SubscriptionID: sub.SubscriptionID,
		CustomerID: sub.CustomerID, InvoiceID: sub.InvoiceID, WarehouseID: ab.Warehouse, OrderID: shopd.NewID("ord"),
		Status: StatusAllocated, Score: ab.Score, CreatedAt: now, UpdatedAt: now}
	for _, it := range ab.Items {
		e := p.pool[it.Product]
		b.Items = append(b.Items, Item{VariantID: e.item.VariantID, ProductID: e.item.ProductID, SKU: e.item.SKU, Title: e.title,
			Score: it.Score, Price: it.Price})
	}
	return b
}

// Approve turns every allocated box of a pending run into the period's
// paid order, priced from the box's invoice, selling the stock the box
// holds (or, if its hold lapsed, stock reserved again at its warehouse; a
// shortage leaves the order paid with an order.out_of_stock event). It
// works in batches, so a crash leaves some boxes ordered and the rest
// allocated, and approving again finishes the work.
func (s *Service) Approve(ctx context.Context, runID string) (Run, error) {
	return s.drain(ctx, runID, RunApproved, EventRunApproved, func(tx Tx, run Run) (int, error) {
		ins, err := tx.ToOrder(ctx, run.ID, s.batch())
		if err != nil || len(ins) == 0 {
			return 0, err
		}
		now := s.now()
		orders := make([]order.Order, len(ins))
		boxes := make([]Box, len(ins))
		ids := make([]string, len(ins))
		for i, in := range ins {
			o, err := subscription.NewPeriodOrder(in.Box.OrderID, in.Subscription, in.Invoice, in.Email, orderLines(in.Box), now)
			if err != nil {
				return 0, err
			}
			orders[i], boxes[i], ids[i] = o, in.Box, o.ID
		}
		events, err := order.Events(orders, subscription.PaidOrderEvents...)
		if err != nil {
			return 0, err
		}
		if err := tx.InsertOrders(ctx, orders); err != nil {
			return 0, err
		}
		if err := tx.AppendEvents(ctx, events); err != nil {
			return 0, err
		}
		lapsed, err := tx.CommitReservations(ctx, ids)
		if err != nil {
			return 0, err
		}
		for _, id := range lapsed { // the box's hold lapsed: sell what its warehouse has now
			i := slices.Index(ids, id)
			if err := subscription.SellStock(ctx, tx, orders[i], boxes[i].WarehouseID, false); err != nil {
				return 0, err
			}
		}
		if err := tx.SetOrdered(ctx, boxes); err != nil {
			return 0, err
		}
		shopd.CrashPoint("box.ordering") // inside the batch's transaction
		return len(ins), nil
	})
}

// Discard deletes every allocated box of a pending run and releases the
// stock they hold, so that staff can change the pool or the options and
// run again. A run whose approval has begun cannot be discarded.
func (s *Service) Discard(ctx context.Context, runID string) (Run, error) {
	return s.drain(ctx, runID, RunDiscarded, EventRunDiscarded, func(tx Tx, run Run) (int, error) {
		bs, err := tx.DeleteBoxes(ctx, run.ID, s.batch())
		for _, b := range bs {
			if err == nil {
				_, err = tx.ReleaseReservation(ctx, b.OrderID)
			}
		}
		return len(bs), err
	})
}

// drain closes a pending run: it runs step on batches of the run's
// allocated boxes, a transaction each with the run locked, until step
// finds none; in that transaction the run takes its final status. The
// run's lock orders the batches after any of its allocation's writes, so
// no box is written into a closed run. Closing a run that already has the
// status answers with the run as it is.
func (s *Service) drain(ctx context.Context, runID string, status RunStatus, event string, step func(tx Tx, run Run) (int, error)) (Run, error) {
	if !shopd.HasIDPrefix(runID, "brn") {
		return Run{}, ErrRunNotFound
	}
	for {
		var run Run
		done := false
		err := s.store.InTx(ctx, func(tx Tx) error {
			r, err := tx.LockRun(ctx, runID)
			if err != nil {
				return err
			}
			run = r
			if r.Status == status {
				done = true
				return nil
			}
			if !r.Status.Pending() {
				return shopd.TypedErrorf(shopd.ECONFLICT, "box-run-closed", "Run %s is %s.", r.ID, r.Status)
			}
			n, err := step(tx, r)
			if err != nil || n > 0 {
				return err
			}
			done = true
			run.Status, run.UpdatedAt = status, s.now()
			return tx.SaveRun(ctx, run, event)
		})
		if err != nil || done {
			return run, err
		}
		shopd.CrashPoint("box.closing") // a batch approved or discarded, the run still pending
	}
}
