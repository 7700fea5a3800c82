package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// rotation is the load balancer of TestRollingRestart: round-robin over the
// backends whose /readyz answered 200 at the last poll, polled every
// 100 ms, as a Kubernetes Service follows its endpoints.
type rotation struct {
	mu       sync.Mutex
	backends []*backend
	next     int
	// Outbound connections the proxy's transport took more than once for
	// one request: a retry by net/http, which the test forbids.
	retries atomic.Int64
	// Requests the proxy could not place or pass on.
	noBackend, proxyErrors atomic.Int64
	errs                   chan string
}

type backend struct {
	url   *url.URL
	ready atomic.Bool
	stop  chan struct{}
	done  chan struct{}
}

func (r *rotation) add(t *testing.T, raw string) *backend {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{url: u, stop: make(chan struct{}), done: make(chan struct{})}
	r.mu.Lock()
	r.backends = append(r.backends, b)
	r.mu.Unlock()
	go b.poll()
	return b
}

func (r *rotation) remove(b *backend) {
	close(b.stop)
	<-b.done
	r.mu.Lock()
	r.backends = slices.DeleteFunc(r.backends, func(x *backend) bool { return x == b })
	r.mu.Unlock()
}

func (b *backend) poll() {
	defer close(b.done)
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(b.url.String() + "/readyz")
		ok := err == nil && resp.StatusCode == 200
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		b.ready.Store(ok)
		select {
		case <-b.stop:
			return
		case <-tick.C:
		}
	}
}

// waitReady waits until the rotation sends traffic to b.
func (b *backend) waitReady(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !b.ready.Load(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never entered the rotation", b.url)
		}
	}
}

func (r *rotation) pick() *backend {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range r.backends {
		b := r.backends[r.next%len(r.backends)]
		r.next++
		if b.ready.Load() {
			return b
		}
	}
	return nil
}

func (r *rotation) handler() http.Handler {
	transport := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(pr.In.Context().Value(backendKey{}).(*backend).url)
			var conns atomic.Int64
			pr.Out = pr.Out.WithContext(httptrace.WithClientTrace(pr.Out.Context(), &httptrace.ClientTrace{
				GotConn: func(httptrace.GotConnInfo) {
					if conns.Add(1) == 2 {
						r.retries.Add(1)
					}
				},
			}))
		},
		Transport: transport,
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			r.proxyErrors.Add(1)
			select {
			case r.errs <- fmt.Sprintf("proxy %s %s → %s: %v", req.Method, req.URL.Path, req.Context().Value(backendKey{}).(*backend).url.Host, err):
			default:
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b := r.pick()
		if b == nil {
			r.noBackend.Add(1)
			http.Error(w, "no backend ready", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), backendKey{}, b)))
	})
}

type backendKey struct{}

// TestRollingRestart runs two `shopd serve --role api` processes on one
// PostgreSQL database behind a round-robin proxy that follows /readyz, drives
// steady load (catalog reads, cart creation and cart lines with
// Idempotency-Keys, no retries), and replaces every process twice, one at a
// time: start a new one, wait until it is in the rotation, SIGTERM the old
// one (it fails /readyz for --drain-delay, then drains), wait for its exit.
// Every request must succeed.
func TestRollingRestart(t *testing.T) {
	if !slices.Contains(storetest.Engines(t), sqlstore.Postgres) {
		t.Skip("needs PostgreSQL (SHOPD_TEST_DATABASE_URL): SQLite serves one process")
	}
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	db := dbArgs(t, sqlstore.Postgres)
	out, err := exec.Command(bin, append([]string{"admin", "create-key", "--role", "owner"}, db...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(out))
	// The drain delay must outlast the proxy noticing /readyz fail (one
	// 100 ms poll plus its request), as a preStop sleep must outlast
	// endpoint propagation in Kubernetes.
	flags := append([]string{"--role", "api", "--log-level", "warn", "--drain-delay", "1s", "--drain-timeout", "10s"}, db...)

	rot := &rotation{errs: make(chan string, 20)}
	front := httptest.NewServer(rot.handler())
	defer front.Close()

	procs := []*process{startServe(t, bin, flags...), startServe(t, bin, flags...)}
	backends := []*backend{rot.add(t, procs[0].url), rot.add(t, procs[1].url)}
	for _, b := range backends {
		b.waitReady(t)
	}
	variant := setUpDrop(t, front.URL, key, 1_000_000)

	// Load: 8 clients, each looping over a catalog list, a product read, a
	// cart creation and a cart line, every write with its own
	// Idempotency-Key. A transport error or an unexpected status is a
	// failure; nothing is retried.
	var (
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		requests atomic.Int64
		failures atomic.Int64
		failLog  = make(chan string, 20)
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second}
	do := func(method, path string, body any, want int, out any) bool {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, front.URL+path, rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", fmt.Sprintf("roll-%d", time.Now().UnixNano()))
		}
		requests.Add(1)
		resp, err := client.Do(req)
		if err == nil {
			defer resp.Body.Close()
			if resp.StatusCode == want {
				if out != nil {
					err = json.NewDecoder(resp.Body).Decode(out)
				} else {
					_, err = io.Copy(io.Discard, resp.Body)
				}
				if err == nil {
					return true
				}
			} else {
				b, _ := io.ReadAll(resp.Body)
				err = fmt.Errorf("status %d: %s", resp.StatusCode, b)
			}
		}
		failures.Add(1)
		select {
		case failLog <- fmt.Sprintf("%s %s: %v", method, path, err):
		default:
		}
		return false
	}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				do("GET", "/v1/products?market=us", nil, 200, nil)
				do("GET", "/v1/products/crash-tee?market=us", nil, 200, nil)
				var cart struct{ ID string }
				if do("POST", "/v1/carts", map[string]string{"market": "us"}, 201, &cart) {
					do("POST", "/v1/carts/"+cart.ID+"/lines", map[string]any{"variant_id": variant, "quantity": 1}, 200, nil)
				}
			}
		}()
	}

	waitFor := func(n int64) { // a few hundred requests between steps, not a timed wait
		for target := requests.Load() + n; requests.Load() < target && failures.Load() == 0; time.Sleep(5 * time.Millisecond) {
		}
	}
	waitFor(200)
	replaced := 0
	for range 2 {
		for i := range procs {
			next := startServe(t, bin, flags...)
			nb := rot.add(t, next.url)
			nb.waitReady(t)
			waitFor(100)     // the new process takes traffic
			procs[i].stop(t) // SIGTERM; fails unless the drain ends cleanly (exit 0)
			rot.remove(backends[i])
			procs[i], backends[i] = next, nb
			replaced++
			waitFor(100)
		}
	}
	waitFor(200)
	close(stop)
	wg.Wait()
	for _, p := range procs {
		p.stop(t)
	}
	close(failLog)
	for msg := range failLog {
		t.Errorf("failed: %s", msg)
	}
	close(rot.errs)
	for msg := range rot.errs {
		t.Errorf("%s", msg)
	}
	n, failed := requests.Load(), failures.Load()
	t.Logf("%d processes replaced under load: %d requests, %d failed; proxy: %d without a ready backend, %d backend errors, %d transport retries",
		replaced, n, failed, rot.noBackend.Load(), rot.proxyErrors.Load(), rot.retries.Load())
	if failed != 0 || rot.retries.Load() != 0 {
		t.Errorf("%d of %d requests failed, %d were retried by the proxy's transport; want none", failed, n, rot.retries.Load())
	}
	if n < 1000 {
		t.Errorf("only %d requests: the load did not run through the restarts", n)
	}
}
