package main

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopd/shopd/httpapi"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// TestDisasterRecoveryDrill is the drill of docs/operations.md on a real
// shopd: checkouts run from 8 goroutines, `shopd backup` runs in the middle
// of them, shopd is killed with SIGKILL, the store is deleted, `shopd
// restore` restores the backup into an empty store, and shopd starts again.
// Every order answered 201 before the backup started must be there with the
// same total and status; a second restore over the live store is refused.
// It logs the backup and restore times and how many acknowledged orders the
// backup could not hold (those acknowledged after it started: the RPO).
func TestDisasterRecoveryDrill(t *testing.T) {
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			db := dbArgs(t, d)
			flags := append([]string{"--log-level", "warn"}, db...)
			out, err := exec.Command(bin, append([]string{"admin", "create-key", "--role", "owner"}, db...)...).Output()
			if err != nil {
				t.Fatal(err)
			}
			key := strings.TrimSpace(string(out))
			p := startServe(t, bin, flags...)
			variant := setUpDrop(t, p.url, key, 100_000)

			// Carts are made first: the load goroutines must not stop the
			// test when shopd dies under them, and tryCheckout does not.
			const workers, perWorker, backupAfter, thenAtLeast = 8, 40, 80, 24
			carts := make([][]string, workers)
			for w := range carts {
				for range perWorker {
					carts[w] = append(carts[w], newCart(t, p.url, variant))
				}
			}

			var mu sync.Mutex
			backupStarted := false
			var acked []map[string]any // answered 201 before the backup started
			ackedAfter := 0
			var wg sync.WaitGroup
			for w, list := range carts {
				wg.Go(func() {
					for i, cart := range list {
						status, body, err := tryCheckout(p.url, cart, fmt.Sprintf("dr%d-%d@example.com", w, i))
						if err != nil {
							return // shopd was killed
						}
						if status != 201 {
							t.Errorf("checkout answered %d: %v", status, body)
							continue
						}
						mu.Lock()
						if backupStarted {
							ackedAfter++
						} else {
							acked = append(acked, body)
						}
						mu.Unlock()
					}
				})
			}
			loadDone := make(chan struct{})
			go func() { wg.Wait(); close(loadDone) }()
			// waitFor polls until cond holds or the load has run out of carts.
			waitFor := func(cond func() bool) {
				for {
					mu.Lock()
					ok := cond()
					mu.Unlock()
					if ok {
						return
					}
					select {
					case <-loadDone:
						return
					case <-time.After(2 * time.Millisecond):
					}
				}
			}

			waitFor(func() bool { return len(acked) >= backupAfter })
			mu.Lock()
			backupStarted = true
			before := len(acked)
			mu.Unlock()
			file := filepath.Join(t.TempDir(), "shopd.backup")
			start := time.Now()
			bout, err := exec.Command(bin, append([]string{"backup", "--to", file}, db...)...).CombinedOutput()
			backupTime := time.Since(start)
			if err != nil {
				t.Fatalf("backup: %v\n%s", err, bout)
			}
			backedUp := countIn(t, `backup verified: migration \d+, \d+ tables: (\d+) orders`, string(bout))
			// Keep the load going after the backup, then kill shopd mid-load.
			waitFor(func() bool { return ackedAfter >= thenAtLeast })
			p.cmd.Process.Signal(syscall.SIGKILL)
			p.waitKilled(t)
			<-loadDone
			if before < backupAfter {
				t.Fatalf("only %d checkouts succeeded before the backup", before)
			}

			deleteStore(t, d, db)
			start = time.Now()
			rout, err := exec.Command(bin, append([]string{"restore", "--from", file}, db...)...).CombinedOutput()
			restoreTime := time.Since(start)
			if err != nil {
				t.Fatalf("restore: %v\n%s", err, rout)
			}
			restored := countIn(t, `restore verified: (\d+) orders, \d+ payments, \d+ products`, string(rout))
			if restored != backedUp || restored < before {
				t.Errorf("restore verified %d orders; the backup held %d and %d were acknowledged before it started", restored, backedUp, before)
			}
			start = time.Now()
			p = startServe(t, bin, flags...)
			startTime := time.Since(start)
			defer p.stop(t)

			for _, want := range acked {
				id := want["id"].(string)
				status, got := call(t, "GET", p.url+"/v1/admin/orders/"+id, key, nil)
				if status != 200 {
					t.Errorf("order %s, acknowledged before the backup, is missing after the restore: %d %v", id, status, got)
					continue
				}
				for _, field := range []string{"status", "total", "subtotal", "tax", "shipping", "email", "payment_id", "created_at"} {
					if g, w := fmt.Sprint(got[field]), fmt.Sprint(want[field]); g != w {
						t.Errorf("order %s: %s is %s after the restore, was %s", id, field, g, w)
					}
				}
			}
			if n := len(adminList(t, p.url, key, "/v1/admin/orders?limit=100")); n != restored {
				t.Errorf("the restored shop lists %d orders; restore verified %d", n, restored)
			}

			// The restored store is live now: restoring again must not touch it.
			again := exec.Command(bin, append([]string{"restore", "--from", file}, db...)...)
			aout, err := again.CombinedOutput()
			if err == nil || again.ProcessState.ExitCode() != 1 || !strings.Contains(string(aout), "restore only into an empty") {
				t.Errorf("restore over the live store: %v\n%s", err, aout)
			}
			if n := len(adminList(t, p.url, key, "/v1/admin/orders?limit=100")); n != restored {
				t.Errorf("after the refused restore the shop lists %d orders, want %d", n, restored)
			}
			t.Logf("%s drill: %d orders acknowledged before the backup, %d after it started (lost with the store: %d); backup %v (%d orders), restore %v, start to ready %v",
				d, before, ackedAfter, before+ackedAfter-restored, backupTime.Round(time.Millisecond), backedUp, restoreTime.Round(time.Millisecond), startTime.Round(time.Millisecond))
		})
	}
}

// countIn returns the number captured by re in out.
func countIn(t *testing.T, re, out string) int {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q in:\n%s", re, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// deleteStore destroys the store of dbArgs: the SQLite data directory, or
// the PostgreSQL database, which is created again empty.
func deleteStore(t *testing.T, d sqlstore.Dialect, db []string) {
	t.Helper()
	if d == sqlstore.SQLite {
		if err := os.RemoveAll(db[1]); err != nil {
			t.Fatal(err)
		}
		return
	}
	u, err := url.Parse(db[1])
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin, err := sql.Open("pgx", os.Getenv("SHOPD_TEST_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, stmt := range []string{`DROP DATABASE ` + name + ` WITH (FORCE)`, `CREATE DATABASE ` + name + ` TEMPLATE template0`} {
		if _, err := admin.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// pendingMetrics are the gauges and counters the alert rules use that shopd
// does not export yet (none now).
var pendingMetrics = map[string]bool{}

// TestAlertRulesUseExportedMetrics checks the PrometheusRule template
// against a real shopd: every shopd_* metric its rules read is on /metrics
// (or listed in pendingMetrics), and every route they match exists.
func TestAlertRulesUseExportedMetrics(t *testing.T) {
	rules, err := os.ReadFile("../../deploy/helm/shopd/templates/prometheusrule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	p := startServe(t, bin, "--log-level", "warn", "--data-dir", t.TempDir())
	defer p.stop(t)
	// Counters and histograms appear once a request has been counted.
	if status, _ := call(t, "GET", p.url+"/v1/products", "", nil); status != 200 {
		t.Fatalf("GET /v1/products: %d", status)
	}
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	exported := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^(shopd_\w+?)(?:\{| )`).FindAllStringSubmatch(string(body), -1) {
		exported[m[1]] = true
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bshopd_\w+`).FindAllString(string(rules), -1) {
		used[m] = true
	}
	if len(used) < 5 {
		t.Fatalf("the rules read only %v", used)
	}
	for name := range used {
		switch {
		case exported[name]:
		case pendingMetrics[name]:
			t.Logf("%s: not exported yet (pending)", name)
		default:
			t.Errorf("the alert rules read %s, which /metrics does not export", name)
		}
	}
	routes := map[string]bool{}
	for _, r := range httpapi.Routes() {
		routes[r] = true
	}
	for _, m := range regexp.MustCompile(`route="([^"]+)"`).FindAllStringSubmatch(string(rules), -1) {
		if !routes[m[1]] {
			t.Errorf("the alert rules match route %q, which shopd does not serve", m[1])
		}
	}
}
