package loadtest

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"
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

// TestMachineBusy: on Linux the machine's busy time is read and grows
// while a goroutine spins.
func TestMachineBusy(t *testing.T) {
	before, ok := machineBusy()
	if !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("no /proc/stat on Linux")
		}
		t.Skip("no /proc/stat here")
	}
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
	}
	if after, _ := machineBusy(); after-before < 100*time.Millisecond {
		t.Errorf("busy %v → %v over 300 ms of spinning", before, after)
	}
}
