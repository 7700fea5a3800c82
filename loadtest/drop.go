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

// runDrop lets cfg.Shoppers shoppers arrive evenly over cfg.Ramp, each
// reading the product, creating a cart, adding one unit and (unless it
// abandons) checking out as a guest with tok_visa. At most cfg.Connections
// shoppers are served at once; a shopper who arrives when all are busy
// waits, and the wait counts in its first request's latency. A shopper
// given a queue ticket (202 with Queue-Ticket) or told 429 steps aside
// while it waits the Retry-After, then comes back with its ticket.
func runDrop(ctx context.Context, cl *client, cfg Config, fx *fixture) (*Report, error) {
	n := cfg.Shoppers
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	leaves := make([]bool, n)
	for i := range leaves {
		leaves[i] = rng.Float64() < cfg.Abandon
	}
	shoppers := make([]shopper, n)
	start := time.Now().Add(50 * time.Millisecond)
	rec := newRecorder(start, "product", "cart", "line", "checkout", "queue")
	stop := rec.progress(cfg.Progress)
	slots := make(chan struct{}, cfg.Connections) // shoppers being served; a blocked send waits in FIFO order
	var wg sync.WaitGroup
	var waitMu sync.Mutex
	var wait Histogram // from arrival until a connection is free for the shopper
	for i := range n {
		due := start.Add(cfg.Ramp * time.Duration(i) / time.Duration(n))
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
			wait.Record(time.Since(due))
			waitMu.Unlock()
			v := &visit{ctx: ctx, cl: cl, fx: fx, rec: rec, cfg: cfg, slots: slots, held: true}
			shoppers[i] = v.shop(i, due, leaves[i])
			if v.held {
				<-slots
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	stop()
	rep := rec.report(cfg, fx, elapsed)
	w := wait.Summary()
	rep.WaitMS = &w
	out := &Outcomes{Shoppers: n}
	q := &Queue{}
	var queueWait Histogram
	var done, queuedDone []completion
	var gone []int
	var last time.Duration
	orders := map[string]bool{} // the run's orders, paid or pending
	var paid []string
	for i, s := range shoppers {
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
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	// The read-back runs even if the run's context ended with the schedule.
	if err := readBack(context.WithoutCancel(ctx), cl, fx, rep, orders, paid); err != nil {
		return rep, fmt.Errorf("reading the results back: %w", err)
	}
	return rep, nil
}

// visit is what one shopper's goroutine needs.
type visit struct {
	ctx   context.Context
	cl    *client
	fx    *fixture
	rec   *recorder
	cfg   Config
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
	a := cl.do(ctx, "GET", "/v1/products/"+fx.handle+"?market="+Market, nil, false)
	if ctx.Err() != nil {
		return shopper{}
	}
	ok := a.err == nil && a.status == http.StatusOK
	rec.record("product", a, time.Since(due), ok)
	if !ok {
		return shopper{outcome: failed, queuedAt: -1}
	}

	sent := time.Now()
	a = cl.do(ctx, "POST", "/v1/carts", map[string]string{"market": Market}, false)
	if ctx.Err() != nil {
		return shopper{}
	}
	var cart struct{ ID string }
	ok = a.err == nil && a.status == http.StatusCreated && json.Unmarshal(a.body, &cart) == nil && cart.ID != ""
	rec.record("cart", a, time.Since(sent), ok)
	if !ok {
		return shopper{outcome: failed, queuedAt: -1}
	}

	sent = time.Now()
	a = cl.do(ctx, "POST", "/v1/carts/"+url.PathEscape(cart.ID)+"/lines", map[string]any{"variant_id": fx.variantID, "quantity": 1}, false)
	if ctx.Err() != nil {
		return shopper{}
	}
	ok = a.err == nil && a.status == http.StatusOK
	rec.record("line", a, time.Since(sent), ok)
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
		"ship_to": map[string]string{"name": "Load Test", "line1": "1 Main St", "city": "New York", "region": "NY", "postal_code": "10001", "country": "US"},
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
					s.queuedAt = sent.Sub(rec.start)
				}
			} else {
				ticket = ""
				s.turnedOff++
			}
			if time.Now().Add(retry).After(giveUp) {
				s.outcome, s.done = gaveUp, time.Since(rec.start)
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
		s.done = time.Since(rec.start)
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

// readBack fills the invariants from what shopd says after the run: the
// stock row of the run's SKU and the test gateway's ledger of charges.
func readBack(ctx context.Context, cl *client, fx *fixture, rep *Report, orders map[string]bool, paid []string) error {
	var stock struct {
		Data []struct {
			OnHand    int64 `json:"on_hand"`
			Reserved  int64 `json:"reserved"`
			Available int64 `json:"available"`
		} `json:"data"`
	}
	if _, err := cl.admin(ctx, "GET", "/v1/admin/stock?limit=100&sku="+url.QueryEscape(fx.sku), nil, &stock); err != nil {
		return err
	}
	var below int64 // units short in rows that went negative
	rep.OnHandAfter, rep.ReservedAfter = 0, 0
	for _, s := range stock.Data {
		rep.OnHandAfter += s.OnHand
		rep.ReservedAfter += s.Reserved
		below += max(0, -s.OnHand) + max(0, -s.Available)
	}
	rep.UnitsSold = fx.onHand - rep.OnHandAfter
	rep.Oversell = max(0, rep.Orders-rep.Stock, rep.UnitsSold-rep.Stock, below)

	charges, err := chargesSince(ctx, cl, fx.since)
	if err != nil {
		return err
	}
	perOrder := map[string]int64{}
	strangers := map[string]int64{} // charged orders no shopper was answered with
	for _, c := range charges {
		if orders[c.Reference] {
			perOrder[c.Reference]++
			rep.ChargesCaptured++
		} else {
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
			continue // not an order: another kind of payment
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
			return nil, errors.New("the server has no test gateway; the drop scenario pays with it and reads its ledger")
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
