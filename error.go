package shopd

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error codes. Every error a client can cause carries one of these; httpapi
// maps each to an HTTP status and a problem+json type in one place.
const (
	ECONFLICT      = "conflict"      // the resource exists or changed under the caller
	EFORBIDDEN     = "forbidden"     // authenticated, but not allowed
	EINTERNAL      = "internal"      // a bug or an outage; details are logged, not shown
	EINVALID       = "invalid"       // the input is wrong; Fields says where
	ENOTFOUND      = "not_found"     // no such resource, or not the caller's
	EPAYMENT       = "payment"       // the payment was declined or failed
	ETOOLARGE      = "too_large"     // the request body is over the limit
	EUNAUTHORIZED  = "unauthorized"  // missing or bad credentials
	EUNAVAILABLE   = "unavailable"   // try again later (overload, dependency down)
	ERATELIMITED   = "rate_limited"  // too many requests from this caller
	EUNPROCESSABLE = "unprocessable" // well-formed but cannot be applied (e.g. idempotency key reused with other parameters)
)

// Error is a domain error with a stable code, an optional more specific
// stable type (a slug such as "email-taken"), a message safe to show to the
// client, and per-field details for validation errors.
type Error struct {
	Code    string
	Type    string
	Message string
	Fields  []FieldError
}

// FieldError says what is wrong with one input field. Field is a JSON path
// such as "variants[0].sku".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("shopd: %s: %s (%s: %s)", e.Code, e.Message, e.Fields[0].Field, e.Fields[0].Message)
	}
	return fmt.Sprintf("shopd: %s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// TypedErrorf returns an *Error with a code and a specific stable type slug.
func TypedErrorf(code, typ, format string, args ...any) *Error {
	return &Error{Code: code, Type: typ, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorType returns the stable type slug of the first *Error in err's chain
// ("" if it has none or err is not an *Error).
func ErrorType(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Type
	}
	return ""
}

// Validation collects field errors while checking input. The zero value is
// ready to use.
type Validation struct {
	fields []FieldError
}

// Addf records a problem with a field.
func (v *Validation) Addf(field, format string, args ...any) {
	v.fields = append(v.fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Check records msg for field when ok is false, and returns ok.
func (v *Validation) Check(ok bool, field, msg string) bool {
	if !ok {
		v.fields = append(v.fields, FieldError{Field: field, Message: msg})
	}
	return ok
}

// Text checks one line of free text from outside: present if required,
// valid UTF-8, at most max characters, no control characters. It records
// the first problem for field and reports whether s passed.
func (v *Validation) Text(field, s string, max int, required bool) bool {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.Addf(field, "is required")
	case !utf8.ValidString(s):
		v.Addf(field, "must be valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		v.Addf(field, "must be at most %d characters", max)
	case strings.ContainsFunc(s, unicode.IsControl):
		v.Addf(field, "must not contain control characters")
	default:
		return true
	}
	return false
}

// Err returns nil if no problem was recorded, or an EINVALID *Error listing them.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Type: "validation", Message: "The request has invalid fields.", Fields: v.fields}
}
