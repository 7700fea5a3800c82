package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/shopd/shopd"
)

// ProblemTypeBase prefixes every problem type URI. A type never changes once
// published: clients may switch on it.
const ProblemTypeBase = "https://shopd.dev/problems/"

// statusOf maps each error code to its HTTP status, in one place.
var statusOf = map[string]int{
	shopd.EINVALID:       http.StatusBadRequest,
	shopd.EUNAUTHORIZED:  http.StatusUnauthorized,
	shopd.EPAYMENT:       http.StatusPaymentRequired,
	shopd.EFORBIDDEN:     http.StatusForbidden,
	shopd.ENOTFOUND:      http.StatusNotFound,
	shopd.ECONFLICT:      http.StatusConflict,
	shopd.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	shopd.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	shopd.ERATELIMITED:   http.StatusTooManyRequests,
	shopd.EINTERNAL:      http.StatusInternalServerError,
	shopd.EUNAVAILABLE:   http.StatusServiceUnavailable,
}

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type      string             `json:"type"`
	Title     string             `json:"title"`
	Status    int                `json:"status"`
	Detail    string             `json:"detail,omitempty"`
	Instance  string             `json:"instance,omitempty"`
	RequestID string             `json:"request_id,omitempty"`
	Errors    []shopd.FieldError `json:"errors,omitempty"`
}

// problemFor turns any error into the problem the client sees. Errors that
// are not *shopd.Error are internal: the client sees a generic message and
// the details go to the log.
func problemFor(err error) Problem {
	var e *shopd.Error
	if !errors.As(err, &e) {
		e = &shopd.Error{Code: shopd.EINTERNAL, Message: "An internal error occurred; it has been logged."}
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	typ := e.Type
	if typ == "" {
		typ = strings.ReplaceAll(e.Code, "_", "-")
	}
	return Problem{
		Type:   ProblemTypeBase + typ,
		Title:  http.StatusText(status),
		Status: status,
		Detail: e.Message,
		Errors: e.Fields,
	}
}

// writeError writes err as application/problem+json and logs server errors.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	info := requestInfoFrom(r.Context())
	p.Instance = r.URL.Path
	p.RequestID = info.id
	if p.Status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", slog.String("request_id", info.id), slog.String("error", err.Error()))
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="shopd"`)
	}
	writeJSON(w, "application/problem+json", p.Status, p)
}
