package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The catalog scenario measures the storefront's reads against the floor of
// any Go HTTP service on the same machine: a bare net/http handler that
// answers a fixed 1 KB JSON document (Reference), run as a process of its
// own like shopd. Each phase sends one kind of request closed loop — every
// connection sends its next request as soon as its last is answered — so
// its rate is what the server can answer. The kinds take turns, twice, so
// that a machine that slows down during the run slows each of them alike,
// and the report gives each kind's rate and p99 as ratios to the
// reference's.

// catalogKinds are the catalog scenario's kinds of request, in the order
// their phases run in each round.
var catalogKinds = []string{"reference", "product", "list"}

// catalogRounds is how many times each kind's phase runs.
const catalogRounds = 2

// ReferenceBody is the reference handler's answer: a product-like JSON
// document of exactly 1,024 bytes, newline included.
var ReferenceBody = referenceBody()

func referenceBody() []byte {
	head := `{"id":"prd_reference","handle":"reference","title":"Reference product","status":"active","description":"`
	tail := `","price":{"amount":2500,"currency":"USD"}}` + "\n"
	return []byte(head + strings.Repeat("x", 1024-len(head)-len(tail)) + tail)
}

// Reference is the bare handler the catalog scenario compares shopd with:
// no routing, no store, no encoding; the same bytes for every request.
func Reference() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(ReferenceBody)
	})
}

// Catalog is what the catalog scenario measured: each kind's rate over its
// phases, and product's and list's rate and p99 as ratios to the
// reference's (the launch-day targets: rate ≥ 0.70, p99 ≤ 1.5).
type Catalog struct {
	Reference       string             `json:"reference"` // the reference server's URL
	Rounds          int                `json:"rounds"`
	PhaseS          float64            `json:"phase_s"` // each phase's length
	RPS             map[string]float64 `json:"rps"`     // per kind, over its phases
	ProductRatio    float64            `json:"product_ratio"`
	ListRatio       float64            `json:"list_ratio"`
	ProductP99Ratio float64            `json:"product_p99_ratio"`
	ListP99Ratio    float64            `json:"list_p99_ratio"`
	// CPUPerRequestUS is the whole machine's busy CPU time (load generator,
	// servers, database: /proc/stat) per answer of each kind, in µs; absent
	// where /proc/stat cannot be read.
	CPUPerRequestUS map[string]float64 `json:"cpu_us_per_request,omitempty"`
}

// runCatalog runs the phases: a short unrecorded warm-up of each kind, then
// catalogRounds rounds of a phase per kind, each cfg.Duration divided among
// them.
func runCatalog(ctx context.Context, cl *client, cfg Config, fx *fixture) (*Report, error) {
	ref := newClient(Config{Target: cfg.Reference, Connections: cfg.Connections, Timeout: cfg.Timeout})
	defer ref.hc.CloseIdleConnections()
	phase := cfg.Duration / time.Duration(catalogRounds*len(catalogKinds))
	urls := map[string]string{
		"reference": ref.base + "/",
		"product":   cl.reads.base + "/v1/products/" + fx.handle + "?market=" + Market,
		"list":      cl.reads.base + fx.listQuery,
	}
	clients := map[string]*http.Client{"reference": ref.hc, "product": cl.reads.hc, "list": cl.reads.hc}
	run := func(kind string, d time.Duration, rec *recorder) time.Duration {
		return closedLoop(ctx, cfg.Connections, d, clients[kind], urls[kind], func(s []sample) { rec.add(kind, s) })
	}
	warm := newRecorder(time.Now(), catalogKinds...)
	for _, kind := range catalogKinds {
		run(kind, min(phase/4, time.Second), warm)
	}
	start := time.Now()
	rec := newRecorder(start, catalogKinds...)
	stop := rec.progress(cfg.Progress)
	spent := map[string]time.Duration{}
	cpu := map[string]time.Duration{}
	for range catalogRounds {
		for _, kind := range catalogKinds {
			before, ok := machineBusy()
			spent[kind] += run(kind, phase, rec)
			if after, ok2 := machineBusy(); ok && ok2 {
				cpu[kind] += after - before
			}
		}
	}
	stop()
	rep := rec.report(cfg, fx, time.Since(start))
	c := &Catalog{Reference: cfg.Reference, Rounds: catalogRounds, PhaseS: round2(phase.Seconds()), RPS: map[string]float64{}}
	for _, kind := range catalogKinds {
		st := rep.Steps[kind]
		if spent[kind] > 0 {
			st.RPS = round2(float64(st.Requests) / spent[kind].Seconds())
		}
		rep.Steps[kind] = st
		c.RPS[kind] = st.RPS
		if cpu[kind] > 0 && st.Requests > 0 {
			if c.CPUPerRequestUS == nil {
				c.CPUPerRequestUS = map[string]float64{}
			}
			c.CPUPerRequestUS[kind] = round2(float64(cpu[kind].Microseconds()) / float64(st.Requests))
		}
	}
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return round2(a / b)
	}
	c.ProductRatio, c.ListRatio = ratio(c.RPS["product"], c.RPS["reference"]), ratio(c.RPS["list"], c.RPS["reference"])
	refP99 := rep.LatencyMS["reference"].P99
	c.ProductP99Ratio, c.ListP99Ratio = ratio(rep.LatencyMS["product"].P99, refP99), ratio(rep.LatencyMS["list"].P99, refP99)
	rep.Catalog = c
	return rep, ctx.Err()
}

// closedLoop GETs url over conns connections for d, each connection its
// next request as soon as its last is answered, hands the answers to add
// in batches and returns how long the phase took (until its last answer).
// The phases measure the server, so a request costs the load generator as
// little as it can: one request reused, the body read and dropped, no lock
// but once per 256 answers.
func closedLoop(ctx context.Context, conns int, d time.Duration, hc *http.Client, url string, add func([]sample)) time.Duration {
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
			if err != nil {
				add([]sample{answer{err: err}.sample(0, false)})
				return
			}
			batch := make([]sample, 0, 256)
			for ctx.Err() == nil && time.Now().Before(end) {
				sent := time.Now()
				a := get(hc, req)
				if ctx.Err() != nil {
					break
				}
				batch = append(batch, a.sample(time.Since(sent), a.err == nil && a.status == http.StatusOK))
				if len(batch) == cap(batch) {
					add(batch)
					batch = batch[:0]
				}
			}
			add(batch)
		})
	}
	wg.Wait()
	return time.Since(start)
}

// machineBusy returns the CPU time the machine has spent busy since boot,
// all cores together (Linux's /proc/stat: user, nice, system, irq,
// softirq and steal; not idle or iowait), and false where it cannot.
func machineBusy() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, false
	}
	var ticks int64
	for i, name := range f[1:9] {
		n, err := strconv.ParseInt(name, 10, 64)
		if err != nil {
			return 0, false
		}
		if i != 3 && i != 4 { // idle, iowait
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / 100, true // USER_HZ is 100 on Linux
}

// get sends req and reads its answer to the end without keeping it.
func get(hc *http.Client, req *http.Request) answer {
	resp, err := hc.Do(req)
	if err != nil {
		return answer{err: err}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return answer{err: err}
	}
	return answer{status: resp.StatusCode}
}

// writeText writes the catalog part of the text report.
func (c *Catalog) writeText(w io.Writer) {
	fmt.Fprintf(w, "\ncatalog against the reference (%s), %d rounds of %.2f s phases:\n", c.Reference, c.Rounds, c.PhaseS)
	for _, kind := range catalogKinds {
		fmt.Fprintf(w, "  %-9s %9.0f req/s", kind, c.RPS[kind])
		if us, ok := c.CPUPerRequestUS[kind]; ok {
			fmt.Fprintf(w, ", %6.1f µs of the machine's CPU each", us)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  product ÷ reference: rate %.2f, p99 %.2f\n", c.ProductRatio, c.ProductP99Ratio)
	fmt.Fprintf(w, "  list ÷ reference:    rate %.2f, p99 %.2f\n", c.ListRatio, c.ListP99Ratio)
}
