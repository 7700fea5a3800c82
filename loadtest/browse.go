package loadtest

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// browseMix is the storefront traffic the browse scenario sends, in tenths:
// product pages (4), the same with the ETag a browser or CDN kept (3), a
// filtered list (2) and the same list revalidated (1).
var browseMix = [10]string{"product", "product", "product", "product", "product_304", "product_304", "product_304", "list", "list", "list_304"}

// runBrowse sends cfg.Rate requests a second for cfg.Duration, open loop:
// request i is due at start + i/rate whether or not earlier ones have come
// back, and its latency counts from then.
func runBrowse(ctx context.Context, cl *client, cfg Config, fx *fixture) (*Report, error) {
	total := int64(float64(cfg.Rate) * cfg.Duration.Seconds())
	interval := time.Second / time.Duration(cfg.Rate)
	if cfg.Rate > int(time.Second) {
		interval = 1
	}
	start := time.Now().Add(50 * time.Millisecond)
	rec := newRecorder(start, "product", "product_304", "list", "list_304")
	stop := rec.progress(cfg.Progress)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range cfg.Connections {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= total {
					return
				}
				due := start.Add(time.Duration(i) * interval)
				if !sleepUntil(ctx, due) {
					return
				}
				step := browseMix[i%int64(len(browseMix))]
				var a answer
				switch step {
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
				rec.record(step, a, time.Since(due), a.err == nil && (a.status == http.StatusOK || a.status == http.StatusNotModified))
			}
		})
	}
	wg.Wait()
	stop()
	return rec.report(cfg, fx, time.Since(start)), ctx.Err()
}
