package platform

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMetrics(t *testing.T) {
	m := NewMetrics("v1.2.3")
	end := m.Begin()
	end("GET", "GET /v1/products/{product}", 200, 3*time.Millisecond)
	m.Begin()("POST", "", 404, time.Millisecond)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`shopd_http_requests_total{method="GET",route="GET /v1/products/{product}",status="200"} 1`,
		`shopd_http_requests_total{method="POST",route="unmatched",status="404"} 1`,
		`shopd_http_request_duration_seconds_bucket{method="GET",route="GET /v1/products/{product}",le="0.005"} 1`,
		`shopd_http_requests_in_flight 0`,
		`shopd_build_info{goversion="go`, `version="v1.2.3"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
