package platform

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"GET /v1/products/glow-serum", "GET /v1/products/glow-serum"},
		{"/v1/carts/crt_06H0HB4JMST472619FWYW5Z8F4/lines", "/v1/carts/crt_06H0HB4JMST472619FWYW5Z8F4/lines"},
		{"key sk_71YTGMMEXS267TATSTAQD385DSTKAEX2BWMQF2N53KG81Q5RZ1Z0 denied", "key sk_[redacted] denied"},
		{"/v1/x/cs_5911RNGDMR23569RECEG2M4EPTVNBFT0J0BJK8SQ5SXTKKD10AYG", "/v1/x/cs_[redacted]"},
		{"stripe sk_live_51Habcdefghijklmnop", "stripe sk_[redacted]"},
		{"token tok_1NabcdEFGH12345678 declined", "token tok_[redacted] declined"},
		{"test token tok_visa", "test token tok_visa"}, // too short to be a real token
		{"Authorization: Bearer abc.def.ghi", "Authorization: Bearer [redacted]"},
		{"duplicate email ana.maria+box@example.com.br", "duplicate email [email]"},
		{"dial postgres://shopd:s3cr3t@db:5432/shopd?sslmode=require", "dial postgres://shopd:xxxxx@db:5432/shopd?sslmode=require"},
		{"dial postgres://shopd@db:5432/shopd", "dial postgres://shopd@db:5432/shopd"},
		{"card 4111111111111111 x", "card [number] x"},
		{"card 4111 1111 1111 1111.", "card [number]."},
		{"card 5500-0000-0000-0004", "card [number]"},
		{"qty 12 of 1234567890123 and 42", "qty 12 of [number] and 42"},
		{"short 123456789012 and 2026-11-23", "short 123456789012 and 2026-11-23"},
		{"/v1/x/4111111111111111/y?n=4111111111111111", "/v1/x/[number]/y?n=[number]"},
		{"trace_id 4bf92f3577b34da6a3ce9290123456789012e473", "trace_id 4bf92f3577b34da6a3ce9290123456789012e473"},
		{"id ord_06H0HB4JMST4726190123456789012", "id ord_06H0HB4JMST4726190123456789012"},
		{"", ""},
	} {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

// TestLoggerRedacts checks that every way a string reaches a log line — the
// message, attributes, groups, errors, Stringers, LogValuers and attributes
// bound with With — is redacted, in both formats.
func TestLoggerRedacts(t *testing.T) {
	const key, email, card = "sk_71YTGMMEXS267TATSTAQD385DSTKAEX2BWMQF2N53KG81Q5RZ1Z0", "ana@example.com", "4242424242424242"
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		log, err := NewLogger(&buf, format, "debug")
		if err != nil {
			t.Fatal(err)
		}
		log.With(slog.String("bound", key), slog.Group("g", slog.String("email", email))).
			WithGroup("req").
			Debug("lookup "+email,
				slog.String("path", "/v1/x/"+key),
				slog.Any("error", errors.New("no card "+card)),
				slog.Any("who", stringer(email)),
				slog.Any("valuer", slog.StringValue(card)),
				slog.Group("nested", slog.String("auth", "Bearer "+key), slog.Int("n", 7)),
				slog.Any("map", map[string]string{"e": email}),
				slog.Attr{}) // empty: dropped, as without redaction
		out := buf.String()
		for _, secret := range []string{key, email, card, "71YTGMMEX"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s: %q leaked: %s", format, secret, out)
			}
		}
		if strings.Contains(out, "nil") || strings.Contains(out, `""`) || strings.Contains(out, " =") {
			t.Errorf("%s: the empty attribute was written: %s", format, out)
		}
		for _, kept := range []string{"sk_[redacted]", "[email]", "[number]", "lookup", "7"} {
			if !strings.Contains(out, kept) {
				t.Errorf("%s: %q missing: %s", format, kept, out)
			}
		}
	}
}

func BenchmarkRedactCleanPath(b *testing.B) {
	for b.Loop() {
		Redact("/v1/carts/crt_06H0HB4JMST472619FWYW5Z8F4/lines")
	}
}
