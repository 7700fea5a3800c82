package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// StartTracing exports OpenTelemetry traces by OTLP over HTTP (JSON
// encoding) when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_EXPORTER_OTLP_ENDPOINT is set, with the headers of
// OTEL_EXPORTER_OTLP_HEADERS, and does nothing otherwise: spans then go to
// the global no-op tracer and cost next to nothing. W3C trace context is
// taken from and passed on in traceparent headers either way. shutdown
// flushes the spans still buffered.
//
// The exporter is ours, on the standard library, because the
// official OTLP exporters import gRPC through the protobuf stubs, which
// made the binary 17.5 MB (54 %) larger; every OTLP receiver (the
// OpenTelemetry Collector, Jaeger, Tempo, vendors) accepts OTLP/HTTP JSON.
func StartTracing(ctx context.Context, env Env, service, version string) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	endpoint := env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if endpoint == "" && env("OTEL_EXPORTER_OTLP_ENDPOINT") != "" {
		endpoint = strings.TrimSuffix(env("OTEL_EXPORTER_OTLP_ENDPOINT"), "/") + "/v1/traces"
	}
	if endpoint == "" {
		return func(context.Context) error { return nil }, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracing: OTLP endpoint %q is not an http(s) URL", endpoint)
	}
	headers, err := parseOTLPHeaders(env("OTEL_EXPORTER_OTLP_HEADERS"))
	if err != nil {
		return nil, err
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", service), attribute.String("service.version", version)))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	exp := &otlpExporter{url: u.String(), headers: headers, client: &http.Client{Timeout: 10 * time.Second}}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// parseOTLPHeaders reads "key1=value1,key2=value2" (values URL-encoded).
func parseOTLPHeaders(s string) (map[string]string, error) {
	h := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		val, err := url.QueryUnescape(strings.TrimSpace(v))
		if !ok || strings.TrimSpace(k) == "" || err != nil {
			return nil, fmt.Errorf("tracing: OTEL_EXPORTER_OTLP_HEADERS: want key=value pairs separated by commas")
		}
		h[strings.TrimSpace(k)] = val
	}
	return h, nil
}

// otlpExporter posts spans as OTLP/HTTP JSON.
type otlpExporter struct {
	url     string
	headers map[string]string
	client  *http.Client
}

func (e *otlpExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	body, err := json.Marshal(otlpRequest(spans))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range e.headers {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("tracing: export: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("tracing: export: %s answered %s", e.url, resp.Status)
	}
	return nil
}

func (e *otlpExporter) Shutdown(context.Context) error { return nil }

// otlpRequest is an ExportTraceServiceRequest in OTLP's JSON mapping: IDs
// in hex, 64-bit integers as strings, enums as numbers.
func otlpRequest(spans []sdktrace.ReadOnlySpan) map[string]any {
	var scopes []instrumentation.Scope
	byScope := map[instrumentation.Scope][]any{}
	for _, s := range spans {
		sc := s.InstrumentationScope()
		if _, ok := byScope[sc]; !ok {
			scopes = append(scopes, sc)
		}
		byScope[sc] = append(byScope[sc], otlpSpan(s))
	}
	scopeSpans := make([]any, 0, len(scopes))
	for _, sc := range scopes {
		scopeSpans = append(scopeSpans, map[string]any{
			"scope": map[string]any{"name": sc.Name, "version": sc.Version}, "spans": byScope[sc]})
	}
	return map[string]any{"resourceSpans": []any{map[string]any{
		"resource":   map[string]any{"attributes": otlpAttributes(spans[0].Resource().Attributes())},
		"scopeSpans": scopeSpans,
	}}}
}

func otlpSpan(s sdktrace.ReadOnlySpan) map[string]any {
	sc := s.SpanContext()
	span := map[string]any{
		"traceId":           sc.TraceID().String(),
		"spanId":            sc.SpanID().String(),
		"name":              s.Name(),
		"kind":              int(s.SpanKind()), // the SDK's numbering is OTLP's
		"startTimeUnixNano": strconv.FormatInt(s.StartTime().UnixNano(), 10),
		"endTimeUnixNano":   strconv.FormatInt(s.EndTime().UnixNano(), 10),
		"attributes":        otlpAttributes(s.Attributes()),
		"status":            map[string]any{"code": otlpStatus[s.Status().Code], "message": s.Status().Description},
	}
	if p := s.Parent(); p.HasSpanID() {
		span["parentSpanId"] = p.SpanID().String()
	}
	var events []any
	for _, ev := range s.Events() {
		events = append(events, map[string]any{"name": ev.Name, "timeUnixNano": strconv.FormatInt(ev.Time.UnixNano(), 10),
			"attributes": otlpAttributes(ev.Attributes)})
	}
	if events != nil {
		span["events"] = events
	}
	return span
}

// otlpStatus maps the API's status codes (Unset, Error, Ok) to OTLP's
// (UNSET 0, OK 1, ERROR 2).
var otlpStatus = map[codes.Code]int{codes.Unset: 0, codes.Ok: 1, codes.Error: 2}

func otlpAttributes(kvs []attribute.KeyValue) []any {
	out := make([]any, 0, len(kvs))
	for _, kv := range kvs {
		var v map[string]any
		switch kv.Value.Type() {
		case attribute.BOOL:
			v = map[string]any{"boolValue": kv.Value.AsBool()}
		case attribute.INT64:
			v = map[string]any{"intValue": strconv.FormatInt(kv.Value.AsInt64(), 10)}
		case attribute.FLOAT64:
			v = map[string]any{"doubleValue": kv.Value.AsFloat64()}
		default:
			v = map[string]any{"stringValue": kv.Value.String()}
		}
		out = append(out, map[string]any{"key": string(kv.Key), "value": v})
	}
	return out
}
