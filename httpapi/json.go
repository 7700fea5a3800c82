package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/shopd/shopd"
)

// decode reads one JSON object from the request body into v. Unknown fields,
// trailing data, wrong types and bodies over the size limit are client errors
// with a clear problem.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSON(ct) {
		return shopd.TypedErrorf(shopd.EINVALID, "unsupported-media-type", "Send the body as application/json (got %q).", ct)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return bodyError(err)
		}
		return shopd.TypedErrorf(shopd.EINVALID, "malformed-json", "The body must hold exactly one JSON object.")
	}
	return nil
}

func isJSON(ct string) bool {
	return len(ct) >= 16 && (ct[:16] == "application/json" || bytes.HasSuffix([]byte(ct[:min(len(ct), 40)]), []byte("+json")))
}

// bodyError turns a decoding error into a client error.
func bodyError(err error) error {
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &maxErr):
		return shopd.TypedErrorf(shopd.ETOOLARGE, "body-too-large", "The request body is larger than %d bytes.", maxErr.Limit)
	case errors.Is(err, io.EOF):
		return shopd.TypedErrorf(shopd.EINVALID, "malformed-json", "The request body is empty; send a JSON object.")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "(body)"
		}
		return &shopd.Error{Code: shopd.EINVALID, Type: "validation", Message: "The request has invalid fields.",
			Fields: []shopd.FieldError{{Field: field, Message: fmt.Sprintf("must be %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)}}}
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return shopd.TypedErrorf(shopd.EINVALID, "malformed-json", "The request body is not valid JSON: %v.", err)
	default:
		// encoding/json reports unknown fields only as text.
		if msg := err.Error(); len(msg) > 20 && msg[:20] == "json: unknown field " {
			field, _ := strconv.Unquote(msg[20:])
			return &shopd.Error{Code: shopd.EINVALID, Type: "validation", Message: "The request has invalid fields.",
				Fields: []shopd.FieldError{{Field: field, Message: "unknown field"}}}
		}
		return shopd.TypedErrorf(shopd.EINVALID, "malformed-json", "The request body could not be read: %v.", err)
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	default:
		return "an object"
	}
}

// respond writes v as JSON with the status.
func respond(w http.ResponseWriter, status int, v any) error {
	writeJSON(w, "application/json", status, v)
	return nil
}

func writeJSON(w http.ResponseWriter, contentType string, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"type":"` + ProblemTypeBase + `internal","title":"Internal Server Error","status":500}`)
		contentType, status = "application/problem+json", http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// created writes v with 201 Created and a Location header.
func created(w http.ResponseWriter, location string, v any) error {
	w.Header().Set("Location", location)
	return respond(w, http.StatusCreated, v)
}

// noContent writes 204 No Content.
func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// queryInt reads an integer query parameter within [lo, hi], or def if it
// is absent.
func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, &shopd.Error{Code: shopd.EINVALID, Type: "validation", Message: "The request has invalid query parameters.",
			Fields: []shopd.FieldError{{Field: name, Message: fmt.Sprintf("must be an integer from %d to %d", lo, hi)}}}
	}
	return n, nil
}

// List is the envelope of every paginated list: the items and, when more
// follow, the cursor for the next page.
type List[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}
