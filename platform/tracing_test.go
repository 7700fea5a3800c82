package platform

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// TestOTLPExport checks the JSON mapping of OTLP/HTTP that the exporter
// writes: hex IDs, the parent, kinds and status codes in OTLP's numbering,
// 64-bit integers as strings, the configured headers.
func TestOTLPExport(t *testing.T) {
	got := make(chan map[string]any, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if r.URL.Path != "/v1/traces" || r.Header.Get("Authorization") != "Bearer t=1" || json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, "bad", 400)
			return
		}
		got <- body
	}))
	defer srv.Close()
	env := Env(tracingEnv{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL + "/", "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20t%3D1"}.get)
	shutdown, err := StartTracing(context.Background(), env, "shopd", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer otel.SetTracerProvider(noop.NewTracerProvider())
	ctx, parent := otel.Tracer("t").Start(context.Background(), "parent", trace.WithSpanKind(trace.SpanKindServer))
	_, child := otel.Tracer("t").Start(ctx, "child", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attribute.Int("rows", 3)))
	child.SetStatus(codes.Error, "boom")
	child.End()
	parent.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	body := <-got
	spans := body["resourceSpans"].([]any)[0].(map[string]any)["scopeSpans"].([]any)[0].(map[string]any)["spans"].([]any)
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	c, p := spans[0].(map[string]any), spans[1].(map[string]any)
	want := map[string]any{"name": "child", "kind": 3.0, "traceId": parent.SpanContext().TraceID().String(), "parentSpanId": parent.SpanContext().SpanID().String()}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("child %s = %v, want %v", k, c[k], v)
		}
	}
	if st := c["status"].(map[string]any); st["code"] != 2.0 || st["message"] != "boom" {
		t.Errorf("child status %v, want ERROR (2) boom", st)
	}
	if a := c["attributes"].([]any)[0].(map[string]any); a["key"] != "rows" || a["value"].(map[string]any)["intValue"] != "3" {
		t.Errorf("child attribute %v", a)
	}
	if p["kind"] != 2.0 || p["parentSpanId"] != nil {
		t.Errorf("parent %v", p)
	}
}

type tracingEnv map[string]string

func (m tracingEnv) get(k string) string { return m[k] }
