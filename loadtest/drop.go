package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// outcome is how a drop shopper ended.
type outcome uint8

const (
	unanswered outcome = iota // never finished: the run was cut short
	ordered
	pending
	soldOut
	declined
	abandoned
	gaveUp // still queued (or turned away) when its patience ran out
	failed
)

// shopper is one virtual shopper's result; each is written by the one
// goroutine that runs the shopper and read after all have finished.
type shopper struct {
	outcome outcome
	order   string
	done    time.Duration // since the start, when the checkout was answered
	// Queue: when the first queue ticket came (since the start; -1 if
	// never), polls answered 202 with a ticket, and 429 answers.
	queuedAt  time.Duration
	polls     int
	turnedOff int
}

// checkoutAttempts bounds the tries of one checkout when shopd does not
// answer; the Idempotency-Key makes a retry safe.
const checkoutAttempts = 3

// dropSteps are a drop shopper's steps, in the order it takes them.
var dropSteps = []string{"product", "cart", "checkout", "queue"}

// dropLoad is the drop's shoppers: cfg.Shoppers arrive evenly over
// cfg.Ramp from start, each reading the product, creating a cart with one
// unit in it and (unless it abandons) checking out as a guest with
// tok_visa. At most cfg.Connections shoppers are served at once; a
// shopper who arrives when all are busy waits, and the wait counts in its
// first request's latency. A shopper given a queue ticket (202 with
// Queue-Ticket) or told 429 steps aside while it waits the Retry-After,
// then comes back with its ticket. The drop scenario runs it alone, mixed
// beside the browse load and a billing run.
type dropLoad struct {
	cl    *client
	cfg   Config
	fx    *fixture
	rec   *recorder
	start time.Time

	// Filled by run.
	shoppers []shopper
	wait     Histogram // from arrival until a connection is free for the shopper
}

// run lets the shoppers arrive and waits until each has finished.
func (d *dropLoad) run(ctx context.Context) {
	n, cfg := d.cfg.Shoppers, d.cfg
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	leaves := make([]bool, n)
	for i := range leaves {
		leaves[i] = rng.Float64() < cfg.Abandon
	}
	d.shoppers = make([]shopper, n)
	slots := make(chan struct{}, cfg.Connections) // shoppers being served; a blocked send waits in FIFO order
	var wg sync.WaitGroup
	var waitMu sync.Mutex
	for i := range n {
		due := d.start.Add(cfg.Ramp * time.Duration(i) / time.Duration(n))
		if !sleepUntil(ctx, due) {
			break
		}
		wg.Go(func() {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			waitMu.Lock()
			d.wait.Record(time.Since(due))
			waitMu.Unlock()
			v := &visit{ctx: ctx, cl: d.cl, fx: d.fx, rec: d.rec, cfg: cfg, start: d.start, slots: slots, held: true}
			d.shoppers[i] = v.shop(i, due, leaves[i])
			if v.held {
				<-slots
			}
		})
	}
	wg.Wait()
}

// runDrop runs the drop's shoppers and reads the invariants back.
func runDrop(ctx context.Context, cl *client, cfg Config, fx *fixture) (*Report, error) {
	d := &dropLoad{cl: cl, cfg: cfg, fx: fx, start: time.Now().Add(50 * time.Millisecond)}
	d.rec = newRecorder(d.start, dropSteps...)
	stop := d.rec.progress(cfg.Progress)
	d.run(ctx)
	elapsed := time.Since(d.start)
	stop()
	rep := d.rec.report(cfg, fx, elapsed)
	orders, paid := d.results(rep)
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	// The read-back runs even if the run's context ended with the schedule.
	rctx := context.WithoutCancel(ctx)
	charges, err := chargesSince(rctx, cl, fx.since)
	if err == nil {
		err = readBack(rctx, cl, fx, rep, orders, paid, charges)
	}
	if err != nil {
		return rep, fmt.Errorf("reading the results back: %w", err)
	}
	return rep, nil
}

// results fills the report's drop figures from how the shoppers ended
// (outcomes, orders, fairness, the waiting room, the wait for a
// connection, the sell-out time) and returns the orders shoppers were
// answered with, paid or pending, and the paid ones, for readBack.
func (d *dropLoad) results(rep *Report) (orders map[string]bool, paid []string) {
	n := d.cfg.Shoppers
	w := d.wait.Summary()
	rep.WaitMS = &w
	out := &Outcomes{Shoppers: n}
	q := &Queue{}
	var queueWait Histogram
	var done, queuedDone []completion
	var gone []int
	var last time.Duration
	orders = map[string]bool{}
	for i, s := range d.shoppers {
		switch s.outcome {
		case unanswered:
			out.NoAnswer++
		case ordered:
			out.Ordered++
			done = append(done, completion{arrival: i, done: s.done})
			last = max(last, s.done)
			orders[s.order] = true
			paid = append(paid, s.order)
		case pending:
			out.Pending++
			orders[s.order] = true
		case soldOut:
			out.SoldOut++
			gone = append(gone, i)
		case declined:
			out.Declined++
		case abandoned:
			out.Abandoned++
		case gaveUp:
			out.GaveUp++
		case failed:
			out.Failed++
		}
		q.Polls += int64(s.polls)
		q.Rejected429 += int64(s.turnedOff)
		if s.queuedAt < 0 || s.outcome == unanswered {
			continue
		}
		q.Queued++
		queueWait.Record(s.done - s.queuedAt)
		switch s.outcome {
		case ordered:
			q.Ordered++
			queuedDone = append(queuedDone, completion{arrival: int(s.queuedAt), done: s.done})
		case soldOut:
			q.SoldOut++
		case gaveUp:
			q.GaveUp++
		}
	}
	out.Answered = int64(n) - out.Failed - out.NoAnswer
	rep.Shoppers = out
	rep.Orders = out.Ordered
	f := fairness(done, gone)
	rep.Fairness = &f
	if q.Queued > 0 || q.Rejected429 > 0 {
		wl := queueWait.Summary()
		q.WaitMS = wl
		// Arrival in line is the time of the first ticket: fairness ranks it.
		qf := fairness(queuedDone, nil)
		q.Fairness = &qf
		rep.Queue = q
	}
	rep.SellOutS = round2(last.Seconds())
	if last > 0 {
		rep.OrdersPerS = round2(float64(rep.Orders) / last.Seconds())
	}
	return orders, paid
}

// visit is what one shopper's goroutine needs.
type visit struct {
	ctx   context.Context
	cl    *client
	fx    *fixture
	rec   *recorder
	cfg   Config
	start time.Time     // of the drop: outcomes are timed from it
	slots chan struct{} // the shopper holds one while it is served
	held  bool
}

// stepAside gives the shopper's slot to another while it waits d, and
// takes one again; it reports false if the run ended meanwhile.
func (v *visit) stepAside(d time.Duration) bool {
	if d <= 0 {
		return v.ctx.Err() == nil
	}
	<-v.slots
	v.held = false
	if !sleepUntil(v.ctx, time.Now().Add(d)) {
		return false
	}
	select {
	case v.slots <- struct{}{}:
		v.held = true
		return true
	case <-v.ctx.Done():
		return false
	}
}

// shop runs one shopper who arrived at due.
func (v *visit) shop(i int, due time.Time, leaves bool) shopper {
	ctx, cl, fx, rec := v.ctx, v.cl, v.fx, v.rec
	a := cl.reads.do(ctx, "GET", "/v1/products/"+fx.handle+"?market="+Market, nil, false)
	if ctx.Err() != nil {
		return shopper{}
	}
	ok := a.err == nil && a.status == http.StatusOK
	rec.record("product", a, time.Since(due), ok)
	if !ok {
		return shopper{outcome: failed, queuedAt: -1}
	}

	sent := time.Now()
	// "Add to cart" makes the cart with its line, for the shipping region,
	// as a storefront that asks for it up front does: checkout then only
	// reads it.
	a = cl.do(ctx, "POST", "/v1/carts", map[string]any{"market": Market, "region": shipTo["region"],
		"lines": []map[string]any{{"variant_id": fx.variantID, "quantity": 1}}}, false)
	if ctx.Err() != nil {
		return shopper{}
	}
	var cart struct{ ID string }
	ok = a.err == nil && a.status == http.StatusCreated && json.Unmarshal(a.body, &cart) == nil && cart.ID != ""
	rec.record("cart", a, time.Since(sent), ok)
	if !ok {
		return shopper{outcome: failed, queuedAt: -1}
	}
	if leaves {
		return shopper{outcome: abandoned, queuedAt: -1}
	}
	return v.checkout(i, cart.ID)
}

// checkout checks the cart out, following the waiting room: a 202 with a
// Queue-Ticket is polled with the ticket after its retry_after_ms (else
// its Retry-After), a 429 queue-full or rate-limited is retried without a
// ticket after its Retry-After, until cfg.Patience has passed.
func (v *visit) checkout(i int, cartID string) shopper {
	ctx, cl, fx, rec := v.ctx, v.cl, v.fx, v.rec
	body := map[string]any{
		"cart_id": cartID,
		"email":   "shopper-" + strconv.Itoa(i) + "@example.com",
		"ship_to": shipTo,
		"payment": map[string]string{"token": "tok_visa"},
	}
	key := "loadtest-" + fx.run + "-" + strconv.Itoa(i)
	s := shopper{queuedAt: -1}
	giveUp := time.Now().Add(v.cfg.Patience)
	ticket := ""
	for attempt := 1; ; {
		headers := []string{"Idempotency-Key", key}
		if ticket != "" {
			headers = append(headers, queueTicketHeader, ticket)
		}
		sent := time.Now()
		a := cl.do(ctx, "POST", "/v1/checkouts", body, false, headers...)
		if ctx.Err() != nil {
			return shopper{}
		}
		if retry, queued, ok := queueAnswer(a); ok {
			rec.record("queue", a, time.Since(sent), true)
			if queued != "" {
				ticket = queued
				s.polls++
				if s.queuedAt < 0 {
					s.queuedAt = sent.Sub(v.start)
				}
			} else {
				ticket = ""
				s.turnedOff++
			}
			if time.Now().Add(retry).After(giveUp) {
				s.outcome, s.done = gaveUp, time.Since(v.start)
				return s
			}
			if !v.stepAside(retry) {
				return shopper{}
			}
			continue
		}
		switch {
		case a.err != nil:
			s.outcome = failed
		case a.status == http.StatusCreated || a.status == http.StatusAccepted:
			var o struct{ ID string }
			if json.Unmarshal(a.body, &o) != nil || o.ID == "" {
				s.outcome = failed
				break
			}
			s.order, s.outcome = o.ID, ordered
			if a.status == http.StatusAccepted {
				s.outcome = pending
			}
		case a.status == http.StatusConflict && a.problem == "out-of-stock":
			s.outcome = soldOut
		case a.status == http.StatusPaymentRequired:
			s.outcome = declined
		default:
			s.outcome = failed
		}
		s.done = time.Since(v.start)
		rec.record("checkout", a, time.Since(sent), s.outcome != failed)
		if s.outcome == ordered {
			rec.orders.Add(1)
		}
		if a.err == nil || attempt == checkoutAttempts {
			return s
		}
		attempt++
		time.Sleep(100 * time.Millisecond)
	}
}

// queueTicketHeader is shopd's header of checkout queue tickets.
const queueTicketHeader = "Queue-Ticket"

// queueAnswer tells a waiting-room answer: a 202 with a queue ticket
// (ticket set) or a 429 queue-full or rate-limited (ticket empty), with
// when to come back.
func queueAnswer(a answer) (retry time.Duration, ticket string, ok bool) {
	switch {
	case a.err != nil:
		return 0, "", false
	case a.status == http.StatusAccepted && a.header.Get(queueTicketHeader) != "":
		var q struct {
			Ticket       string `json:"ticket"`
			RetryAfterMS *int64 `json:"retry_after_ms"`
		}
		if json.Unmarshal(a.body, &q) != nil || q.Ticket == "" {
			return 0, "", false
		}
		if q.RetryAfterMS != nil {
			return time.Duration(*q.RetryAfterMS) * time.Millisecond, q.Ticket, true
		}
		return retryAfter(a), q.Ticket, true
	case a.status == http.StatusTooManyRequests && (a.problem == "queue-full" || a.problem == "rate-limited"):
		return retryAfter(a), "", true
	}
	return 0, "", false
}

// retryAfter reads a Retry-After header in seconds (1 s if absent or bad).
func retryAfter(a answer) time.Duration {
	n, err := strconv.Atoi(a.header.Get("Retry-After"))
	if err != nil || n < 0 {
		return time.Second
	}
	return time.Duration(n) * time.Second
}

// readBack fills the drop's invariants from what shopd says after the
// run: the stock row of the run's SKU, and charges, the test gateway's
// ledger since the run began.
func readBack(ctx context.Context, cl *client, fx *fixture, rep *Report, orders map[string]bool, paid []string, charges []charge) error {
	st, err := readStock(ctx, cl, fx)
	if err != nil {
		return err
	}
	rep.OnHandAfter, rep.ReservedAfter = st.onHand, st.reserved
	rep.UnitsSold = fx.onHand - st.onHand
	rep.Oversell = max(0, rep.Orders-rep.Stock, rep.UnitsSold-rep.Stock, st.below)

	perOrder := map[string]int64{}
	strangers := map[string]int64{} // charged orders no shopper was answered with
	for _, c := range charges {
		switch {
		case orders[c.Reference]:
			perOrder[c.Reference]++
			rep.ChargesCaptured++
		case strings.HasPrefix(c.Reference, orderPrefix):
			strangers[c.Reference]++
		}
	}
	for _, n := range perOrder {
		rep.DoubleCharges += max(0, n-1)
	}
	for _, id := range paid {
		if perOrder[id] == 0 {
			rep.UnchargedOrders++
		}
	}
	// A charge for an order of the run's SKU that no shopper was answered
	// with took money from someone who was not told: it counts as well.
	if len(strangers) > 1000 {
		return fmt.Errorf("%d orders charged since the run started are not the run's; is the server shared?", len(strangers))
	}
	for id, n := range strangers {
		var o struct {
			Lines []struct{ SKU string } `json:"lines"`
		}
		status, err := cl.admin(ctx, "GET", "/v1/admin/orders/"+url.PathEscape(id), nil, &o)
		if status == http.StatusNotFound {
			continue // not an order after all
		}
		if err != nil {
			return err
		}
		for _, l := range o.Lines {
			if l.SKU == fx.sku {
				rep.DoubleCharges += n
				rep.ChargesCaptured += n
				break
			}
		}
	}
	return nil
}

// orderPrefix starts the ID of an order; the ledger's other references
// (invoices of subscription renewals) are never a drop's.
const orderPrefix = "ord_"

// stockAfter is the run's SKU in every warehouse, read back after the run.
type stockAfter struct {
	onHand, reserved int64
	below            int64 // units short in rows that went negative
}

// readStock reads the stock rows of the fixture's SKU.
func readStock(ctx context.Context, cl *client, fx *fixture) (stockAfter, error) {
	var stock struct {
		Data []struct {
			OnHand    int64 `json:"on_hand"`
			Reserved  int64 `json:"reserved"`
			Available int64 `json:"available"`
		} `json:"data"`
	}
	var st stockAfter
	if _, err := cl.admin(ctx, "GET", "/v1/admin/stock?limit=100&sku="+url.QueryEscape(fx.sku), nil, &stock); err != nil {
		return st, err
	}
	for _, s := range stock.Data {
		st.onHand += s.OnHand
		st.reserved += s.Reserved
		st.below += max(0, -s.OnHand) + max(0, -s.Available)
	}
	return st, nil
}

// charge is an entry of the test gateway's ledger.
type charge struct {
	Reference string    `json:"reference"`
	CreatedAt time.Time `json:"created_at"`
}

// chargesSince pages through the captured charges, newest first, back to
// the first made before since.
func chargesSince(ctx context.Context, cl *client, since time.Time) ([]charge, error) {
	var all []charge
	cursor := ""
	for {
		var page struct {
			Data       []charge `json:"data"`
			NextCursor string   `json:"next_cursor"`
		}
		path := "/v1/admin/test-gateway/charges?status=captured&limit=500"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		status, err := cl.admin(ctx, "GET", path, nil, &page)
		if status == http.StatusNotFound {
			return nil, errors.New("the server has no test gateway; the load test pays with it and reads its ledger")
		}
		if err != nil {
			return nil, err
		}
		for _, c := range page.Data {
			if c.CreatedAt.Before(since) {
				return all, nil
			}
			all = append(all, c)
		}
		if page.NextCursor == "" {
			return all, nil
		}
		cursor = page.NextCursor
	}
}

// shipTo is where a drop's shoppers ship.
var shipTo = map[string]string{"name": "Load Test", "line1": "1 Main St", "city": "New York", "region": "NY", "postal_code": "10001", "country": "US"}
