package shopd

import (
	"os"
	"strings"
	"sync"
)

// crashPoints is the set named by SHOPD_CRASH_AT, read once.
var crashPoints = sync.OnceValue(func() map[string]bool {
	set := map[string]bool{}
	for p := range strings.SplitSeq(os.Getenv("SHOPD_CRASH_AT"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			set[p] = true
		}
	}
	return set
})

// CrashPoint kills the process at once, as `kill -9` would, when the
// SHOPD_CRASH_AT environment variable names point. Crash tests use it to
// stop a real shopd at an exact step of a protocol (checkout, payment) and
// prove that a restart loses nothing and charges nothing twice. Without
// SHOPD_CRASH_AT it is a map lookup; never set it in production.
func CrashPoint(point string) {
	if !crashPoints()[point] {
		return
	}
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Kill() // SIGKILL: no deferred function, no flush, no goodbye
	}
	select {} // the kill is asynchronous; never run past the point
}
