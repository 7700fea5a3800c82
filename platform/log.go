package platform

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
)

// NewLogger returns a slog logger writing "json" (the default, for
// production) or "text" lines at a level ("debug", "info", "warn", "error").
// Every string it writes passes through Redact, so a secret or an email that
// reaches a log line by accident (a raw path, an error message quoting
// input) is masked.
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(redactHandler{slog.NewJSONHandler(w, opts)}), nil
	case "text":
		return slog.New(redactHandler{slog.NewTextHandler(w, opts)}), nil
	default:
		return nil, fmt.Errorf("log format %q: use json or text", format)
	}
}

var (
	// API keys and session tokens (sk_…, cs_…), gateway secrets and
	// payment-method tokens: the prefix stays, so a line still says what
	// kind of credential was there.
	secretPattern  = regexp.MustCompile(`\b(sk|cs|rk|whsec|tok|pm|src|card|seti|pi)_[0-9A-Za-z_]{8,}`)
	secretPrefixes = []string{"sk_", "cs_", "rk_", "whsec_", "tok_", "pm_", "src_", "card_", "seti_", "pi_"}
	bearerPattern  = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[^\s",]+`)
	emailPattern   = regexp.MustCompile(`[0-9A-Za-z.!#$%&'*+/=?^_{|}~-]+@([0-9A-Za-z-]+\.)+[A-Za-z]{2,}\b`)
	// A URL's userinfo password (postgres://user:password@host).
	urlPassPattern = regexp.MustCompile(`([A-Za-z][0-9A-Za-z+.-]*://[^:/@\s]*):[^@\s/]*@`)
)

// Redact masks credentials and personal data in s: API keys and tokens,
// Authorization header values, emails, URL passwords, and anything that
// looks like a card number (13 or more digits, alone or in groups separated
// by single spaces or dashes). Cheap checks skip the patterns a string
// cannot match, so clean strings cost little.
func Redact(s string) string {
	for _, p := range secretPrefixes {
		if strings.Contains(s, p) {
			s = secretPattern.ReplaceAllString(s, "${1}_[redacted]")
			break
		}
	}
	if strings.Contains(s, " ") {
		s = bearerPattern.ReplaceAllString(s, "${1} [redacted]")
	}
	if strings.Contains(s, "@") {
		s = urlPassPattern.ReplaceAllString(s, "${1}:xxxxx@")
		s = emailPattern.ReplaceAllString(s, "[email]")
	}
	return redactDigits(s)
}

// redactDigits replaces every chain of digit groups (joined by one space or
// dash) holding 13 or more digits, not inside a word, with "[number]". Card numbers are 13–19
// digits; a longer chain may hide one, and masking a harmless long number
// in a log line costs nothing.
func redactDigits(s string) string {
	var b strings.Builder
	done := 0 // s[:done] is in b
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		start, digits, end := i, 0, i
		for j := i; j < len(s) && isDigit(s[j]); {
			for j < len(s) && isDigit(s[j]) {
				j++
				digits++
			}
			end = j
			if j+1 < len(s) && (s[j] == ' ' || s[j] == '-') && isDigit(s[j+1]) {
				j++
			}
		}
		// Only a chain standing alone counts: digits inside a word (a hex
		// trace ID, an ID) are part of that word.
		if digits >= 13 && (start == 0 || !isWordByte(s[start-1])) && (end == len(s) || !isWordByte(s[end])) {
			b.WriteString(s[done:start])
			b.WriteString("[number]")
			done = end
		}
		i = end
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isWordByte(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

// redactHandler passes records to h with every string redacted: the message,
// string attributes, errors and other values printed as text, in groups too.
type redactHandler struct{ h slog.Handler }

func (r redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

func (r redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redactAttr(a)
	}
	return redactHandler{r.h.WithAttrs(red)}
}

func (r redactHandler) WithGroup(name string) slog.Handler { return redactHandler{r.h.WithGroup(name)} }

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, ga := range g {
			red[i] = redactAttr(ga)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		// Errors, Stringers and structs would be printed as text (or JSON);
		// print them here so the text can be redacted. An empty attribute
		// (which handlers drop) and nil stay as they are.
		switch x := v.Any().(type) {
		case nil:
			return slog.Attr{Key: a.Key, Value: v}
		case error:
			return slog.String(a.Key, Redact(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, Redact(x.String()))
		default:
			return slog.String(a.Key, Redact(fmt.Sprintf("%+v", x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
