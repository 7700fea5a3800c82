package loadtest

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"testing"
)

// TestReference: the reference handler answers 1,024 bytes of JSON.
func TestReference(t *testing.T) {
	w := httptest.NewRecorder()
	Reference().ServeHTTP(w, httptest.NewRequest("GET", "/anything", nil))
	body, _ := io.ReadAll(w.Result().Body)
	var v map[string]any
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || len(body) != 1024 || json.Unmarshal(body, &v) != nil || v["handle"] != "reference" {
		t.Errorf("status %d, type %q, %d bytes: %.80s", w.Code, w.Header().Get("Content-Type"), len(body), body)
	}
}
