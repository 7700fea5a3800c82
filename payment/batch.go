package payment

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/event"
)

// A Batch executes many payments — a billing run's renewals — as Execute
// executes one, with the same protocol and the same guarantees, in fewer
// transactions: payments are claimed (leased) a group at a time, just
// before their gateway calls start, in one transaction per group; the
// gateway is called for each, at most Concurrency at once and no faster
// than the gateway's rate limit; and the outcomes that arrive together are
// recorded together, in one transaction that settles them, appends their
// events and runs the settle hooks over all of them (BatchSettleHook). If
// that transaction fails, each outcome is recorded alone, as Execute does.
//
// A crash at any point leaves what a crash of Execute leaves: payments
// pending (never called, or called and not recorded) or in doubt, which
// Reconcile settles by Lookup when their leases run out. A lease covers
// the call and the wait for the rate limit, so no payment is looked up
// while its call can still be running.

// DefaultBatchConcurrency bounds a Batch's gateway calls in flight when
// BatchOptions.Concurrency is zero.
const DefaultBatchConcurrency = 64

// maxRecordBatch bounds the outcomes one transaction records.
const maxRecordBatch = 256

// BatchOptions tune a Batch.
type BatchOptions struct {
	// Concurrency bounds the gateway calls in flight at once
	// (DefaultBatchConcurrency if zero).
	Concurrency int
	// Rate bounds the gateway calls per second (all of the batch's calls to
	// one gateway). Zero takes the gateway's published limit (RateLimited),
	// or none if it publishes none.
	Rate float64
	// Unlimited calls the gateway as payments come, as Execute does, for
	// payments a shopper waits for (checkouts); Rate is ignored.
	Unlimited bool
	// Failed, if set, is told of a group of n outcomes whose transaction
	// failed with err, before each is recorded alone: a store error, which
	// should be rare; if it keeps coming, every payment costs a
	// transaction of its own.
	Failed func(n int, err error)
}

// RateLimited is a Gateway that publishes how many calls per second it
// accepts from one account; a Batch stays under it.
type RateLimited interface {
	RateLimit() float64 // calls per second; 0 for no limit
}

// Batch executes payments in bulk; see NewBatch.
type Batch struct {
	s       *Service
	ctx     context.Context
	opts    BatchOptions
	report  func(Payment, error)
	queue   chan []submission
	results chan callResult
	slots   chan struct{}
	calls   sync.WaitGroup
	done    chan struct{}

	mu       sync.Mutex
	limiters map[string]*limiter
}

// callResult is what one gateway call (or a lookup) gave.
type callResult struct {
	p      Payment
	charge Charge
	err    error
	final  bool // p and err are the outcome, already recorded (a lookup, or a failure before the call)
}

// NewBatch starts executing payments in bulk: each payment passed to Submit
// is executed as Execute would (a pending one is charged, an in-doubt one
// looked up, a settled or leased one left alone), and report is called with
// what Execute would have returned for it, once its outcome is recorded.
// report is called from one goroutine at a time. As with Execute, the
// calls and the recording are not cut short when ctx is canceled.
func (s *Service) NewBatch(ctx context.Context, opts BatchOptions, report func(Payment, error)) *Batch {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultBatchConcurrency
	}
	b := &Batch{
		s: s, ctx: context.WithoutCancel(ctx), opts: opts, report: report,
		queue: make(chan []submission, 1), results: make(chan callResult, opts.Concurrency),
		slots: make(chan struct{}, opts.Concurrency), done: make(chan struct{}), limiters: map[string]*limiter{},
	}
	go b.dispatch()
	go b.record()
	return b
}

// Submit queues committed payments for execution. It blocks while the
// batch is busy with the payments submitted before (at most one group
// waits), which paces the caller to the gateway.
func (b *Batch) Submit(ids []string) {
	subs := make([]submission, len(ids))
	for i, id := range ids {
		subs[i] = submission{id: id}
	}
	b.submit(subs)
}

// SubmitLeased is Submit for payments committed with their lease taken
// (Service.Leased): they are called with no claim transaction of their
// own, if their lease still covers a call as a fresh claim's would (less
// half its margin, the time the payment took to be committed); else they
// are claimed as Submit's are, which fails while the lease lasts (the
// reconciler settles them once it lapses).
func (b *Batch) SubmitLeased(ps []Payment) {
	subs := make([]submission, len(ps))
	for i := range ps {
		subs[i] = submission{id: ps[i].ID, leased: &ps[i]}
	}
	b.submit(subs)
}

// submission is a payment to execute: its ID, or the payment itself if it
// was committed leased.
type submission struct {
	id     string
	leased *Payment
}

func (b *Batch) submit(subs []submission) {
	if len(subs) > 0 {
		b.queue <- subs
	}
}

// Close waits until every submitted payment is reported, and ends the batch.
func (b *Batch) Close() {
	close(b.queue)
	<-b.done
}

// dispatch claims queued payments as call slots free up and starts their
// calls.
func (b *Batch) dispatch() {
	for subs := range b.queue {
		subs = b.gather(subs)
		for len(subs) > 0 {
			b.slots <- struct{}{} // one free slot at least
			n := 1
		more:
			for n < len(subs) {
				select {
				case b.slots <- struct{}{}:
					n++
				default:
					break more
				}
			}
			b.start(subs[:n])
			subs = subs[n:]
		}
	}
	b.calls.Wait()
	close(b.results)
}

// gather adds the payments of Submits waiting now, so that many callers
// submitting a payment each (checkouts) are claimed together.
func (b *Batch) gather(subs []submission) []submission {
	for len(subs) < maxRecordBatch {
		select {
		case more, ok := <-b.queue:
			if !ok {
				return subs
			}
			subs = append(slices.Clip(subs), more...)
		default:
			return subs
		}
	}
	return subs
}

// start claims payments, one slot held for each, and calls the gateway for
// those it leased and those committed leased.
func (b *Batch) start(subs []submission) {
	now := b.s.clock.Now()
	// The lease covers the wait for the rate limit too: behind at most
	// every other call in flight.
	until := now.Add(b.s.lease() + b.rateWait(cap(b.slots)))
	var ready []Payment
	var ids []string
	for _, s := range subs {
		if s.leased != nil && !s.leased.LockedUntil.Before(until.Add(-leaseMargin/2)) {
			ready = append(ready, *s.leased)
		} else {
			ids = append(ids, s.id)
		}
	}
	var err error
	if len(ids) > 0 {
		var claimed []Payment
		err = b.s.store.InTx(b.ctx, func(tx Tx) (err error) {
			claimed, err = tx.ClaimPayments(b.ctx, ids, now, until, true)
			return err
		})
		ready = append(ready, claimed...)
	}
	called := make(map[string]bool, len(ready))
	for _, p := range ready {
		called[p.ID] = true
		b.calls.Add(1)
		go func() {
			defer func() { <-b.slots; b.calls.Done() }()
			b.results <- b.call(p)
		}()
	}
	for _, id := range ids {
		if called[id] {
			continue
		}
		<-b.slots
		b.calls.Add(1)
		go func() {
			defer b.calls.Done()
			b.results <- b.unclaimed(id, err)
		}()
	}
}

// unclaimed is the outcome of a payment the batch could not lease: as
// Execute answers, the payment as it stands and its outcome, or
// ErrInProgress.
func (b *Batch) unclaimed(id string, claimErr error) callResult {
	if claimErr != nil {
		return callResult{p: Payment{ID: id}, err: claimErr, final: true}
	}
	p, err := b.s.store.Payment(b.ctx, id)
	switch {
	case err != nil:
	case p.Status.Settled():
		err = outcomeErr(p)
	default:
		err = ErrInProgress
	}
	return callResult{p: known(p, Payment{ID: id}), err: err, final: true}
}

// call makes a leased payment's gateway call: Authorize for a pending one,
// a lookup (recorded at once) for one in doubt.
func (b *Batch) call(p Payment) callResult {
	if p.Status == StatusInDoubt {
		got, err := b.s.settleFromLookup(b.ctx, p)
		return callResult{p: known(got, p), err: err, final: true}
	}
	gw, ok := b.s.gateways[p.Gateway]
	if !ok {
		return callResult{p: p, final: true,
			err: shopd.TypedErrorf(shopd.EUNAVAILABLE, "gateway-unavailable", "Payment gateway %q is not configured.", p.Gateway)}
	}
	b.limiter(gw).wait()
	callCtx, cancel := context.WithTimeout(b.ctx, b.s.callTimeout)
	ch, gerr := gw.Authorize(callCtx, authorizeRequest(p))
	cancel()
	if gerr == nil {
		shopd.CrashPoint("payment.charged") // the gateway took the money; nothing is recorded yet
	}
	return callResult{p: p, charge: ch, err: gerr}
}

// record records outcomes as they arrive, those that arrive together in
// one transaction, and reports them.
func (b *Batch) record() {
	defer close(b.done)
	group := make([]callResult, 0, maxRecordBatch)
	for r := range b.results {
		group = append(group[:0], r)
	drain:
		for len(group) < maxRecordBatch {
			select {
			case r, ok := <-b.results:
				if !ok {
					break drain
				}
				group = append(group, r)
			default:
				break drain
			}
		}
		b.recordGroup(group)
	}
}

// recordGroup records a group of gateway answers in one transaction; if
// it fails, each answer is recorded alone, as Execute records it.
func (b *Batch) recordGroup(group []callResult) {
	now := b.s.clock.Now()
	var sts []PaymentSettlement
	var doubt []string
	pending := map[string]callResult{}
	for _, r := range group {
		if r.final {
			b.report(r.p, r.err)
			continue
		}
		pending[r.p.ID] = r
		if st, ok := settlementFrom(r.charge, r.err, now); ok {
			sts = append(sts, PaymentSettlement{ID: r.p.ID, Settlement: st})
		} else {
			doubt = append(doubt, r.p.ID)
		}
	}
	if len(pending) == 0 {
		return
	}
	var settled []Payment
	err := b.s.inSettleTx(b.ctx, func(tx Tx) (err error) {
		settled = nil
		if err := tx.MarkPaymentsInDoubt(b.ctx, doubt, now); err != nil {
			return err
		}
		if settled, err = tx.SettlePayments(b.ctx, sts); err != nil || len(settled) == 0 {
			return err
		}
		es := make([]event.Event, len(settled))
		for i, p := range settled {
			if es[i], err = event.New(settledEvents[p.Status], p.ID, eventOf(p), p.UpdatedAt); err != nil {
				return err
			}
		}
		if err := tx.AppendEvents(b.ctx, es); err != nil {
			return err
		}
		return b.s.runHooks(b.ctx, tx, settled)
	})
	if err != nil {
		if b.opts.Failed != nil {
			b.opts.Failed(len(pending), err)
		}
		for _, r := range pending {
			p, err := b.s.recordCharge(b.ctx, r.p, r.charge, r.err)
			b.report(known(p, r.p), err)
		}
		return
	}
	for _, p := range settled {
		delete(pending, p.ID)
		b.report(p, outcomeErr(p))
	}
	for _, id := range doubt {
		r := pending[id]
		delete(pending, id)
		r.p.Status, r.p.LockedUntil, r.p.UpdatedAt = StatusInDoubt, time.Time{}, now
		err := r.err
		if err == nil {
			err = errors.New("payment: gateway reported a charge in an unknown status")
		}
		if !IsUnknownOutcome(err) {
			err = Unknown(err)
		}
		b.report(r.p, err)
	}
	for id, r := range pending { // settled by another caller first
		p, err := b.s.store.Payment(b.ctx, id)
		if err == nil {
			err = outcomeErr(p)
		}
		b.report(known(p, r.p), err)
	}
}

// known is got, or was if got is empty (an error lost it): every report
// names its payment, so a caller waiting for one hears of it.
func known(got, was Payment) Payment {
	if got.ID == "" {
		return was
	}
	return got
}

// settlementFrom is the settlement of a gateway's answer to Authorize, as
// recordCharge makes it; ok is false if the outcome is unknown.
func settlementFrom(ch Charge, gerr error, now time.Time) (Settlement, bool) {
	if d, declined := DeclineOf(gerr); declined {
		return Settlement{Status: StatusFailed, ChargeID: ch.ID, FailureType: d.Type, FailureMessage: d.Message, HardDecline: d.Hard, At: now}, true
	}
	if gerr != nil {
		return Settlement{}, false
	}
	st, err := settlementOf(ch, now)
	return st, err == nil
}

// rateWait is how long n calls may wait for the rate limit.
func (b *Batch) rateWait(n int) time.Duration {
	if b.opts.Unlimited {
		return 0
	}
	rate := b.opts.Rate
	if rate <= 0 {
		for _, gw := range b.s.gateways {
			if rl, ok := gw.(RateLimited); ok && rl.RateLimit() > 0 && (rate <= 0 || rl.RateLimit() < rate) {
				rate = rl.RateLimit()
			}
		}
	}
	if rate <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(float64(n)/rate*float64(time.Second))) + time.Second
}

// limiter returns the rate limiter of the batch's calls to gw.
func (b *Batch) limiter(gw Gateway) *limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.limiters[gw.Name()]
	if !ok {
		rate := b.opts.Rate
		if rl, isRL := gw.(RateLimited); rate <= 0 && isRL && !b.opts.Unlimited {
			rate = rl.RateLimit()
		}
		l = newLimiter(rate)
		b.limiters[gw.Name()] = l
	}
	return l
}

// limiter spaces calls evenly at a rate, with a burst of a tenth of a
// second's calls.
type limiter struct {
	mu       sync.Mutex
	interval time.Duration // 0: no limit
	burst    time.Duration
	next     time.Time
}

func newLimiter(rate float64) *limiter {
	if rate <= 0 {
		return &limiter{}
	}
	interval := time.Duration(float64(time.Second) / rate)
	return &limiter{interval: interval, burst: max(interval, 100*time.Millisecond)}
}

// wait blocks until a call may start.
func (l *limiter) wait() {
	if l.interval == 0 {
		return
	}
	l.mu.Lock()
	now := time.Now()
	if floor := now.Add(-l.burst); l.next.Before(floor) {
		l.next = floor
	}
	at := l.next
	l.next = l.next.Add(l.interval)
	l.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		time.Sleep(d)
	}
}
