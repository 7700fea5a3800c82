package platform

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestHelpHidesEnvironment: a flag takes its value from the environment,
// but help shows only the built-in default: the environment may hold a
// secret, and help output ends up in logs.
func TestHelpHidesEnvironment(t *testing.T) {
	env := map[string]string{"SHOPD_KEY": "sk_live_SECRET", "SHOPD_N": "7", "SHOPD_ON": "true", "SHOPD_WAIT": "9s"}
	f := NewFlags("test", func(k string) string { return env[k] })
	key := f.String("key", "SHOPD_KEY", "", "a secret")
	n := f.Int("n", "SHOPD_N", 3, "a number")
	on := f.Bool("on", "SHOPD_ON", false, "a switch")
	wait := f.Duration("wait", "SHOPD_WAIT", time.Second, "a wait")
	if err := f.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if *key != "sk_live_SECRET" || *n != 7 || !*on || *wait != 9*time.Second {
		t.Fatalf("values %q %d %v %v, want the environment's", *key, *n, *on, *wait)
	}
	var help bytes.Buffer
	f.SetOutput(&help)
	f.PrintDefaults()
	for _, leak := range []string{"SECRET", "default 7", "default 9s"} {
		if strings.Contains(help.String(), leak) {
			t.Errorf("help shows %q:\n%s", leak, help.String())
		}
	}
	for _, want := range []string{"(default 3)", "(default 1s)"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("help lacks the built-in %q:\n%s", want, help.String())
		}
	}
}
