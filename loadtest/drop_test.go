package loadtest

import (
	"net/http"
	"testing"
	"time"
)

// TestQueueAnswer: a 202 with a queue ticket is told from the 202 of a
// pending order, retry_after_ms wins over Retry-After, and 429 queue-full
// or rate-limited is retried without a ticket.
func TestQueueAnswer(t *testing.T) {
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	for _, c := range []struct {
		name   string
		a      answer
		retry  time.Duration
		ticket string
		ok     bool
	}{
		{"queued", answer{status: 202, header: h("Queue-Ticket", "qt_a", "Retry-After", "2"), body: []byte(`{"ticket":"qt_a","retry_after_ms":1500}`)}, 1500 * time.Millisecond, "qt_a", true},
		{"queued, hold", answer{status: 202, header: h("Queue-Ticket", "qt_a", "Retry-After", "0"), body: []byte(`{"ticket":"qt_a","retry_after_ms":0}`)}, 0, "qt_a", true},
		{"queued, header only", answer{status: 202, header: h("Queue-Ticket", "qt_b", "Retry-After", "3"), body: []byte(`{"ticket":"qt_b"}`)}, 3 * time.Second, "qt_b", true},
		{"pending order", answer{status: 202, header: h("Location", "/v1/orders/ord_1"), body: []byte(`{"id":"ord_1"}`)}, 0, "", false},
		{"queue full", answer{status: 429, problem: "queue-full", header: h("Retry-After", "4")}, 4 * time.Second, "", true},
		{"rate limited, no header", answer{status: 429, problem: "rate-limited", header: h()}, time.Second, "", true},
		{"other 429", answer{status: 429, problem: "something-else", header: h("Retry-After", "4")}, 0, "", false},
		{"order", answer{status: 201, header: h()}, 0, "", false},
	} {
		retry, ticket, ok := queueAnswer(c.a)
		if retry != c.retry || ticket != c.ticket || ok != c.ok {
			t.Errorf("%s: %v %q %v; want %v %q %v", c.name, retry, ticket, ok, c.retry, c.ticket, c.ok)
		}
	}
}
