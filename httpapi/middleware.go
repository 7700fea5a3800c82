package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/customer"
	"github.com/shopd/shopd/idempotency"
	"github.com/shopd/shopd/staff"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// handlerFunc is an endpoint: it writes a response or returns an error that
// the server writes as a problem.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// access says who may call a route.
type access struct {
	customer bool       // a logged-in customer
	role     staff.Role // a staff key with at least this role
}

var (
	public       = access{}
	customerOnly = access{customer: true}
)

func staffRole(r staff.Role) access { return access{role: r} }

// caller is who made a request.
type caller struct {
	session  customer.Session // set for a customer
	staffKey staff.Key        // set for a staff key
}

// scope names the caller for idempotency keys.
func (c caller) scope() string {
	switch {
	case c.staffKey.ID != "":
		return c.staffKey.ID
	case c.session.CustomerID != "":
		return c.session.CustomerID
	default:
		return "guest"
	}
}

// requestInfo is what the server learns about a request while serving it;
// the outermost middleware logs it at the end.
type requestInfo struct {
	id     string
	route  string
	caller caller
	status int
	bytes  int64
}

type requestInfoKey struct{}

func requestInfoFrom(ctx context.Context) *requestInfo {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{}
}

// callerFrom returns the authenticated caller of the request.
func callerFrom(r *http.Request) caller { return requestInfoFrom(r.Context()).caller }

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	info *requestInfo
}

func (w *statusWriter) WriteHeader(code int) {
	if w.info.status == 0 {
		w.info.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.info.status == 0 {
		w.info.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.info.bytes += int64(n)
	return n, err
}

// observe assigns a request ID, bounds the body, recovers panics and logs
// one line per request. It never logs query strings, bodies or credentials.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{id: r.Header.Get("X-Request-ID")}
		if !validRequestID(info.id) {
			info.id = shopd.NewID("req")
		}
		w.Header().Set("X-Request-ID", info.id)
		// A server span per request, continuing the caller's trace if a
		// traceparent header names one (no-op unless tracing is on).
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
		r = r.WithContext(context.WithValue(ctx, requestInfoKey{}, info))
		r.Body = http.MaxBytesReader(w, r.Body, s.MaxBodyBytes)
		sw := &statusWriter{ResponseWriter: w, info: info}
		var done func(method, route string, status int, d time.Duration)
		if s.Metrics != nil {
			done = s.Metrics.Begin()
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.writeError(sw, r, fmt.Errorf("panic: %v", p))
			}
			if done != nil {
				done(r.Method, info.route, info.status, time.Since(start))
			}
			endSpan(span, r, info)
			level := slog.LevelInfo
			if info.status >= 500 {
				level = slog.LevelError
			}
			s.log.LogAttrs(r.Context(), level, "request",
				slog.String("request_id", info.id),
				traceAttr(span),
				slog.String("method", r.Method),
				slog.String("route", info.route),
				slog.String("path", r.URL.Path),
				slog.Int("status", info.status),
				slog.Int64("bytes", info.bytes),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.String("caller", info.caller.scope()),
			)
		}()
		next.ServeHTTP(sw, r)
	})
}

var tracer = otel.Tracer("github.com/shopd/shopd/httpapi")

// endSpan names the request's span after its route and records the outcome.
func endSpan(span trace.Span, r *http.Request, info *requestInfo) {
	if info.route != "" {
		span.SetName(info.route)
	}
	span.SetAttributes(
		attribute.String("http.request.method", r.Method),
		attribute.String("http.route", strings.TrimPrefix(info.route, r.Method+" ")),
		attribute.String("url.path", r.URL.Path),
		attribute.Int("http.response.status_code", info.status),
		attribute.String("shopd.request_id", info.id),
	)
	if info.status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(info.status))
	}
	span.End()
}

// traceAttr is the trace_id of a log line; an empty attribute, which the
// handlers drop, when not tracing.
func traceAttr(span trace.Span) slog.Attr {
	if sc := span.SpanContext(); sc.HasTraceID() {
		return slog.String("trace_id", sc.TraceID().String())
	}
	return slog.Attr{}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// endpoint wraps a route's handler with authentication, authorization,
// idempotency (POST) and audit (staff writes).
func (s *Server) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := requestInfoFrom(r.Context())
		info.route = rt.method + " " + rt.pattern
		err := s.authorize(r, rt.access, info)
		if err == nil {
			if rt.method == http.MethodPost && r.Header.Get("Idempotency-Key") != "" && !returnsSecret[info.route] {
				err = s.idempotent(w, r, info, rt.handle)
			} else {
				err = rt.handle(w, r)
			}
		}
		if err != nil {
			s.writeError(w, r, err)
		}
		if key := info.caller.staffKey; key.ID != "" && rt.method != http.MethodGet {
			s.audit(r, rt, info)
		}
	})
}

// authorize authenticates the bearer token, if any, and checks the route's
// access rule. A token that is present but invalid is always rejected.
func (s *Server) authorize(r *http.Request, a access, info *requestInfo) error {
	token, hasToken, err := bearerToken(r)
	if err != nil {
		return err
	}
	if hasToken {
		if strings.HasPrefix(token, staff.KeyPrefix+"_") {
			key, err := s.Staff.Authenticate(r.Context(), token)
			if err != nil {
				return err
			}
			info.caller.staffKey = key
		} else {
			sess, err := s.Customers.Authenticate(r.Context(), token)
			if err != nil {
				return err
			}
			info.caller.session = sess
		}
	}
	c := info.caller
	switch {
	case a.role != "" && c.staffKey.ID == "":
		if c.session.CustomerID != "" {
			return shopd.Errorf(shopd.EFORBIDDEN, "This endpoint needs a staff API key.")
		}
		return shopd.Errorf(shopd.EUNAUTHORIZED, "This endpoint needs a staff API key (Authorization: Bearer sk_…).")
	case a.role != "" && !c.staffKey.Role.Includes(a.role):
		return shopd.TypedErrorf(shopd.EFORBIDDEN, "insufficient-role", "This endpoint needs the %s role or higher; the key has %s.", a.role, c.staffKey.Role)
	case a.customer && c.session.CustomerID == "":
		if c.staffKey.ID != "" {
			return shopd.Errorf(shopd.EFORBIDDEN, "This endpoint is for customers; staff use /v1/admin.")
		}
		return shopd.Errorf(shopd.EUNAUTHORIZED, "Log in first (POST /v1/sessions) and send Authorization: Bearer <token>.")
	}
	return nil
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (token string, ok bool, err error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false, nil
	}
	scheme, token, _ := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" || len(token) > 256 {
		return "", false, shopd.Errorf(shopd.EUNAUTHORIZED, "The Authorization header must be \"Bearer <token>\".")
	}
	return token, true, nil
}

// audit records a staff write in the audit log. A failure to record is
// logged loudly; the action itself has already happened.
func (s *Server) audit(r *http.Request, rt route, info *requestInfo) {
	key := info.caller.staffKey
	e := staff.AuditEntry{
		ID: shopd.NewID("aud"), KeyID: key.ID, KeyName: key.Name, Role: key.Role,
		Action: info.route, Path: r.URL.Path, Status: info.status, RequestID: info.id, CreatedAt: s.Clock.Now(),
	}
	if err := s.Staff.Record(context.WithoutCancel(r.Context()), e); err != nil {
		s.log.ErrorContext(r.Context(), "audit log write failed", slog.String("request_id", info.id), slog.String("error", err.Error()))
	}
}

// claimsKeyInTx lists the operations whose Idempotency-Key is claimed in
// the transaction of their first write (see idempotency.Pending): one
// commit less per checkout, and the key commits with the order or not at
// all.
var claimsKeyInTx = map[string]bool{
	"POST /v1/checkouts": true,
}

// idempotent runs a POST under its Idempotency-Key: the first response is
// stored and replayed for the same caller, key and request; see package
// idempotency for the rules.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, info *requestInfo, h handlerFunc) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyError(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.New()
	fmt.Fprintf(sum, "%s %s?%s\n", r.Method, r.URL.Path, r.URL.RawQuery)
	sum.Write(body)
	hash := hex.EncodeToString(sum.Sum(nil))

	scope, key := info.caller.scope(), r.Header.Get("Idempotency-Key")
	var pending *idempotency.Pending
	var stored *idempotency.Record
	if claimsKeyInTx[info.route] {
		pending, stored, err = s.Idempotency.Pending(r.Context(), scope, key, hash)
		if pending != nil {
			r = r.WithContext(idempotency.WithPending(r.Context(), pending))
		}
	} else {
		stored, err = s.Idempotency.Begin(r.Context(), scope, key, hash)
	}
	if err != nil {
		return err
	}
	if stored != nil {
		return replay(w, stored)
	}

	rec := &bufferedWriter{header: http.Header{}}
	herr := h(rec, r)
	if rp := (*idempotency.Replay)(nil); errors.As(herr, &rp) {
		return replay(w, &rp.Record) // a twin request claimed the key first
	}
	if herr != nil {
		s.writeError(rec, r, herr)
	}
	ctx := context.WithoutCancel(r.Context())
	switch {
	case pending != nil && !pending.Claimed:
		// The request wrote nothing (its transaction failed or never ran):
		// nothing to keep, a retry runs afresh.
	case rec.status >= 500 && pending == nil:
		// The client may retry a server error; let the retry run afresh.
		if err := s.Idempotency.Release(ctx, scope, key); err != nil {
			s.log.ErrorContext(ctx, "idempotency release failed", slog.String("request_id", info.id), slog.String("error", err.Error()))
		}
	default:
		// A claim committed with the request's effects is kept even on a
		// server error: running the request again would repeat them.
		if err := s.Idempotency.Complete(ctx, scope, key, rec.status, rec.header.Get("Content-Type"), rec.header.Get("Location"), rec.body.Bytes()); err != nil {
			return err
		}
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, err = w.Write(rec.body.Bytes())
	return err
}

// replay answers with a stored response.
func replay(w http.ResponseWriter, stored *idempotency.Record) error {
	if stored.ContentType != "" {
		w.Header().Set("Content-Type", stored.ContentType)
	}
	if stored.Location != "" {
		w.Header().Set("Location", stored.Location)
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.WriteHeader(stored.Status)
	_, err := w.Write(stored.Body)
	return err
}

// bufferedWriter holds a response until it has been stored for replay.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
