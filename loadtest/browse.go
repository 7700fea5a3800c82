package loadtest

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// browseMix is the storefront traffic the browse load sends, in tenths:
// product pages (4), the same with the ETag a browser or CDN kept (3), a
// filtered list (2) and the same list revalidated (1).
var browseMix = [10]string{"product", "product", "product", "product", "product_304", "product_304", "product_304", "list", "list", "list_304"}

// browseKinds are the browse mix's kinds of request, in report order.
var browseKinds = []string{"product", "product_304", "list", "list_304"}

// browse is the open-loop browse load: request i is due at start + i/rate
// whether or not earlier ones have come back, and its latency counts from
// then. The browse scenario runs it alone; renewals and mixed run it
// beside their work.
type browse struct {
	cl    *client
	fx    *fixture // the product and list it reads
	rec   *recorder
	rate  int
	conns int // requests in flight at most
	start time.Time
	// prefix goes before the step names: "browse_" tells them from a
	// drop shopper's "product" in mixed.
	prefix string
	// over reports whether request i, due at due, is past the end of the
	// load; it is asked before waiting for due and again after.
	over func(i int64, due time.Time) bool
	// seen, if not nil, is told of every recorded request: when it was
	// due, its latency and whether its answer was expected.
	seen func(due time.Time, latency time.Duration, ok bool)
	// pace, if not nil, bounds the waits for due times (else run's ctx
	// does): ending it once over has turned stops the load at once,
	// without cutting the requests in flight.
	pace context.Context
}

// steps returns the load's step names, for newRecorder.
func (b *browse) steps() []string {
	out := make([]string, len(browseKinds))
	for i, k := range browseKinds {
		out[i] = b.prefix + k
	}
	return out
}

// run sends the load until over says it is done or ctx ends.
func (b *browse) run(ctx context.Context) {
	interval := time.Second / time.Duration(b.rate)
	if b.rate > int(time.Second) {
		interval = 1
	}
	fx, cl := b.fx, b.cl
	pace := b.pace
	if pace == nil {
		pace = ctx
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range b.conns {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				due := b.start.Add(time.Duration(i) * interval)
				// A wait cut short by pace still sends a request due
				// before the end.
				if b.over(i, due) || !sleepUntil(pace, due) && ctx.Err() != nil || b.over(i, due) {
					return
				}
				kind := browseMix[i%int64(len(browseMix))]
				var a answer
				switch kind {
				case "product":
					a = cl.do(ctx, "GET", "/v1/products/"+fx.handle+"?market="+Market, nil, false)
				case "product_304":
					a = cl.do(ctx, "GET", "/v1/products/"+fx.handle+"?market="+Market, nil, false, "If-None-Match", fx.etag)
				case "list":
					a = cl.do(ctx, "GET", fx.listQuery, nil, false)
				case "list_304":
					a = cl.do(ctx, "GET", fx.listQuery, nil, false, "If-None-Match", fx.listETag)
				}
				if ctx.Err() != nil {
					return
				}
				latency := time.Since(due)
				ok := a.err == nil && (a.status == http.StatusOK || a.status == http.StatusNotModified)
				b.rec.record(b.prefix+kind, a, latency, ok)
				if b.seen != nil {
					b.seen(due, latency, ok)
				}
			}
		})
	}
	wg.Wait()
}

// runBrowse sends cfg.Rate requests a second for cfg.Duration.
func runBrowse(ctx context.Context, cl *client, cfg Config, fx *fixture) (*Report, error) {
	total := int64(float64(cfg.Rate) * cfg.Duration.Seconds())
	b := &browse{cl: cl.reads, fx: fx, rate: cfg.Rate, conns: cfg.Connections, start: time.Now().Add(50 * time.Millisecond),
		over: func(i int64, _ time.Time) bool { return i >= total }}
	b.rec = newRecorder(b.start, b.steps()...)
	stop := b.rec.progress(cfg.Progress)
	b.run(ctx)
	stop()
	return b.rec.report(cfg, fx, time.Since(b.start)), ctx.Err()
}

// underLoad runs the browse load alone for baseline, then runs work beside
// it and stops it when work returns: the storefront before the work and
// during it, in the same run at the same rate. b's over, seen and pace are
// set here.
func underLoad(ctx context.Context, b *browse, baseline time.Duration, work func(ctx context.Context)) *Storefront {
	loadAt := b.start.Add(baseline)
	var ended atomic.Int64 // when work returned (Unix ns); 0 until then
	b.over = func(_ int64, due time.Time) bool {
		e := ended.Load()
		return e != 0 && due.UnixNano() > e
	}
	var before, during phaseRecord
	b.seen = func(due time.Time, latency time.Duration, ok bool) {
		p := &during
		if due.Before(loadAt) {
			p = &before
		}
		p.add(latency, ok)
	}
	pace, halt := context.WithCancel(ctx)
	defer halt()
	b.pace = pace
	var wg sync.WaitGroup
	wg.Go(func() { b.run(ctx) })
	if sleepUntil(ctx, loadAt) {
		work(ctx)
	}
	end := time.Now()
	ended.Store(end.UnixNano())
	halt()
	wg.Wait()
	sf := &Storefront{Rate: b.rate, Before: before.phase(baseline), During: during.phase(end.Sub(loadAt))}
	if sf.Before.LatencyMS.P99 > 0 && sf.During.Requests > 0 {
		sf.P99Ratio = round2(sf.During.LatencyMS.P99 / sf.Before.LatencyMS.P99)
	}
	return sf
}

// phaseRecord tallies the browse requests of a phase; it is safe for
// concurrent use.
type phaseRecord struct {
	mu   sync.Mutex
	hist Histogram
	errs int64
}

func (p *phaseRecord) add(latency time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hist.Record(latency)
	if !ok {
		p.errs++
	}
}

// phase summarises the requests of a phase that lasted d.
func (p *phaseRecord) phase(d time.Duration) Phase {
	p.mu.Lock()
	defer p.mu.Unlock()
	ph := Phase{Seconds: round2(d.Seconds()), Requests: int64(p.hist.Count()), Errors: p.errs, LatencyMS: p.hist.Summary()}
	if d > 0 {
		ph.RPS = round2(float64(ph.Requests) / d.Seconds())
	}
	return ph
}
