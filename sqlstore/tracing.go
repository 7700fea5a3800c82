package sqlstore

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Database calls are traced as client spans of the request that makes
// them (statement text only, never arguments). A call outside a recording
// span — tracing off, or a sampled-out request — starts none, so the hot
// path pays one context lookup.

var tracer = otel.Tracer("github.com/shopd/shopd/sqlstore")

// maxSpanQuery bounds the statement text kept on a span (bulk inserts).
const maxSpanQuery = 2048

// startSpan starts the span of one statement, or returns ctx's own
// non-recording span when ctx is not being traced.
func startSpan(ctx context.Context, system, query string) (context.Context, trace.Span) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, trace.SpanFromContext(ctx)
	}
	name, _, _ := strings.Cut(strings.TrimSpace(query), " ")
	return tracer.Start(ctx, system+" "+strings.ToUpper(name), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system", system), attribute.String("db.query.text", truncated(query))))
}

// truncated bounds a statement's text kept on a span (bulk inserts).
func truncated(query string) string {
	if len(query) > maxSpanQuery {
		return query[:maxSpanQuery]
	}
	return query
}

// endSpan ends a statement's span with its error, if any.
func endSpan(span trace.Span, err error) {
	if !span.IsRecording() {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "database error")
	}
	span.End()
}

// pgTracer traces PostgreSQL statements through pgx's tracer hook.
type pgTracer struct{}

func (pgTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	ctx, _ = startSpan(ctx, "postgresql", d.SQL)
	return ctx
}

func (pgTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	endSpan(trace.SpanFromContext(ctx), d.Err)
}

// TraceBatchStart starts the span of a pipelined batch (Tx.Pipeline): one
// round trip, however many statements it carries.
func (pgTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	ctx, span := startSpan(ctx, "postgresql", "BATCH")
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("db.operation.batch.size", d.Batch.Len()))
	}
	return ctx
}

// TraceBatchQuery records a failed statement of a batch on its span.
func (pgTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	if span := trace.SpanFromContext(ctx); d.Err != nil && span.IsRecording() {
		span.RecordError(d.Err, trace.WithAttributes(attribute.String("db.query.text", truncated(d.SQL))))
	}
}

// TraceBatchEnd ends a batch's span.
func (pgTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchEndData) {
	endSpan(trace.SpanFromContext(ctx), d.Err)
}
