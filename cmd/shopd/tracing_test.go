package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// TestTracing runs a real shopd with OTEL_EXPORTER_OTLP_ENDPOINT pointing at
// an OTLP receiver in the test, sends a request that carries a W3C
// traceparent, and checks that the request's server span and its database
// spans arrive in the caller's trace and that the request's log line names
// the trace.
func TestTracing(t *testing.T) {
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			var mu sync.Mutex
			spans := map[string]string{} // span name -> trace ID
			parents := map[string]bool{} // names of spans with a parent
			receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var req struct { // OTLP/HTTP JSON
					ResourceSpans []struct {
						ScopeSpans []struct {
							Spans []struct{ TraceID, ParentSpanID, Name string }
						}
					}
				}
				if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&req) != nil {
					http.Error(w, "bad export", http.StatusBadRequest)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, rs := range req.ResourceSpans {
					for _, ss := range rs.ScopeSpans {
						for _, s := range ss.Spans {
							spans[s.Name], parents[s.Name] = s.TraceID, s.ParentSpanID != ""
						}
					}
				}
				w.Write([]byte("{}"))
			}))
			defer receiver.Close()

			p := startServeEnv(t, bin, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + receiver.URL, "OTEL_BSP_SCHEDULE_DELAY=50"}, dbArgs(t, d)...)
			const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
			req, _ := http.NewRequest("GET", p.url+"/v1/products?market=us", nil)
			req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()

			db := "sqlite SELECT"
			if d == sqlstore.Postgres {
				db = "postgresql SELECT"
			}
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				mu.Lock()
				server, query := spans["GET /v1/products"], spans[db]
				ok := server == traceID && query == traceID && parents["GET /v1/products"] && parents[db]
				mu.Unlock()
				if ok {
					break
				}
				if time.Now().After(deadline) {
					mu.Lock()
					t.Fatalf("spans received: %v; want %q and %q in trace %s, both with parents", spans, "GET /v1/products", db, traceID)
				}
			}
			p.stop(t)
			if !strings.Contains(p.stderr.String(), `"trace_id":"`+traceID+`"`) {
				t.Errorf("no log line names trace %s:\n%s", traceID, p.stderr)
			}
		})
	}
}
