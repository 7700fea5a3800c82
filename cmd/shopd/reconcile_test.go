package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/shopd/shopd/sqlstore/storetest"
)

// TestReconcileOnTestClock simulates billing a month ahead: `shopd bill
// --now` leaves charges that never answered in doubt, with leases on its
// clock. The reconciler on the real clock must leave them alone (their
// leases have not run out in real time), and on the same test clock
// (`--now`) settles every one of them from the gateway's ledger.
func TestReconcileOnTestClock(t *testing.T) {
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			st := openBillStore(t, d)
			start := time.Now().UTC().Add(30 * 24 * time.Hour).Truncate(time.Second)
			storetest.SeedDueSubscriptions(t, st.db, 20, []string{"tok_visa", "tok_timeout"}, start)
			now := start.Add(time.Hour).Format(time.RFC3339)
			res := billJSON(t, bin, nil, append([]string{"--now", now, "--payment-call-timeout", "200ms"}, st.flags...)...)
			if res["charged"] != 10 || res["unknown"] != 10 {
				t.Fatalf("bill: %v", res)
			}
			inDoubt := func() int {
				t.Helper()
				var n int
				if err := mainPool(st.db).QueryRow(`SELECT COUNT(*) FROM payments WHERE status NOT IN ('succeeded', 'failed', 'canceled')`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			reconcile := func(args ...string) string {
				t.Helper()
				cmd := exec.Command(bin, append(append([]string{"payments", "reconcile", "--older-than", "0s"}, args...), st.flags...)...)
				cmd.Env = os.Environ()
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("reconcile %v: %v\n%s", args, err, out)
				}
				return string(out)
			}
			if out := reconcile(); !strings.Contains(out, "settled 0 ") || inDoubt() != 10 {
				t.Fatalf("on the real clock: %s; %d in doubt", out, inDoubt())
			}
			later := start.Add(2 * time.Hour).Format(time.RFC3339)
			if out := reconcile("--now", later); !strings.Contains(out, "settled 10 ") || inDoubt() != 0 {
				t.Fatalf("on the test clock: %s; %d in doubt", out, inDoubt())
			}
		})
	}
}
