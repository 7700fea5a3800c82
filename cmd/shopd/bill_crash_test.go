package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// billCrashPoints are the steps of a billing run where TestBillCrashes
// kills `shopd bill`, plus "random": a kill after a random delay.
var billCrashPoints = []string{"billing.renewing", "billing.invoiced", "payment.charged", "billing.settling", "random"}

// billTokens are the subscribers' cards, in turn: most succeed; the others
// decline, fail before or after charging, or never answer.
var billTokens = []string{"tok_visa", "tok_visa", "tok_visa", "tok_declined", "tok_error", "tok_error_after_charge", "tok_timeout"}

// billStore is a fresh store for shopd processes, open in the test too.
type billStore struct {
	db    *sqlstore.DB
	flags []string // --data-dir or --database-url
}

func openBillStore(t testing.TB, d sqlstore.Dialect) billStore {
	t.Helper()
	src := storetest.URL(t, d)
	db, err := sqlstore.Open(context.Background(), src, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d == sqlstore.SQLite {
		return billStore{db: db, flags: []string{"--data-dir", filepath.Dir(src)}}
	}
	return billStore{db: db, flags: []string{"--database-url", src}}
}

// billJSON runs `shopd bill --json` to its end and returns what it did.
func billJSON(t *testing.T, bin string, env []string, args ...string) map[string]float64 {
	t.Helper()
	res, err := runBill(bin, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// runBill is billJSON for any goroutine.
func runBill(bin string, env []string, args ...string) (map[string]float64, error) {
	cmd := exec.Command(bin, append([]string{"bill", "--json"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("bill: %v\n%s", err, stderr.Bytes())
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("bill printed %q: %v", out, err)
	}
	nums := map[string]float64{}
	for k, v := range res {
		if f, ok := v.(float64); ok {
			nums[k] = f
		}
	}
	return nums, nil
}

// TestBillCrashes kills `shopd bill` with SIGKILL at every step of a
// billing run and at random moments, 32 times per engine, each time with
// 200 more subscriptions due (cards that succeed, decline, fail before or
// after charging, or time out); after each kill `shopd payments reconcile`
// settles what was left in doubt, and the next run picks up what is due.
// Afterwards bill and reconcile run until nothing is due, and: every
// subscription has one invoice per due period, none missed; no payment is
// left unsettled; the test gateway captured exactly one charge per paid
// invoice and none for anything else.
func TestBillCrashes(t *testing.T) {
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	const runs, perRun = 32, 200
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			s := openBillStore(t, d)
			// Started 60 days ago and billed as of 20 days ago: periods 0 and 1
			// are due, 2 is not. Payment leases (on the --now clock) have long
			// run out for the reconciler, which runs on the real clock.
			at := time.Now().UTC().Add(-60 * 24 * time.Hour).Truncate(time.Second)
			now := at.Add(40 * 24 * time.Hour)
			billArgs := append([]string{"--now", now.Format(time.RFC3339), "--payment-call-timeout", "300ms"}, s.flags...)
			reconcile := func() {
				t.Helper()
				out, err := exec.Command(bin, append([]string{"payments", "reconcile", "--older-than", "0s", "--payment-call-timeout", "300ms"}, s.flags...)...).CombinedOutput()
				if err != nil {
					t.Fatalf("reconcile: %v\n%s", err, out)
				}
			}
			tokens := map[string]string{} // subscription → card
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
			killed := 0
			for run := range runs {
				for i, id := range storetest.SeedDueSubscriptions(t, s.db, perRun, billTokens, at) {
					tokens[id] = billTokens[i%len(billTokens)]
				}
				point := billCrashPoints[run%len(billCrashPoints)]
				cmd := exec.Command(bin, append([]string{"bill"}, billArgs...)...)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if point != "random" {
					cmd.Env = append(os.Environ(), "SHOPD_CRASH_AT="+point)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				if point == "random" {
					delay := time.Duration(rng.IntN(3000)) * time.Millisecond
					timer := time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
					defer timer.Stop()
				}
				err := cmd.Wait()
				var exit *exec.ExitError
				switch {
				case err == nil && point == "random":
					// The run finished before the kill: a clean run is fine too.
				case errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
					killed++
				default:
					t.Fatalf("run %d (%s): bill ended with %v instead of SIGKILL\n%s", run, point, err, out.Bytes())
				}
				reconcile()
			}
			// Bill and reconcile until nothing is due.
			for i := 0; ; i++ {
				if i == 10 {
					t.Fatal("still billing after 10 clean runs")
				}
				res := billJSON(t, bin, nil, billArgs...)
				reconcile()
				if res["invoiced"] == 0 && res["retried"] == 0 {
					break
				}
			}
			sum := checkBilled(t, s.db, tokens, now, 2)
			t.Logf("%d runs (%d killed), %d subscriptions: %s", runs, killed, len(tokens), sum)
		})
	}
}

// checkBilled checks a store after billing runs as of now, when periods
// periods of each subscription were due: every subscription in tokens (ID →
// card) has one invoice for each period up to its last, all of them paid if
// it is active, none is still due, every payment is settled, and the test
// gateway's captured charges are exactly the paid invoices' payments. It
// returns a summary.
func checkBilled(t *testing.T, db *sqlstore.DB, tokens map[string]string, now time.Time, periods int) string {
	t.Helper()
	pool := mainPool(db)
	query := func(q string, scan func(*sql.Rows) error) {
		t.Helper()
		rows, err := pool.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}

	type inv struct {
		id, sub, status, payment string
		period                   int
		total                    int64
	}
	bySub := map[string][]inv{} // subscription → invoices by period
	invoices := map[string]inv{}
	query(`SELECT id, subscription_id, period, status, total, payment_id FROM invoices ORDER BY subscription_id, period`, func(r *sql.Rows) error {
		var i inv
		err := r.Scan(&i.id, &i.sub, &i.period, &i.status, &i.total, &i.payment)
		bySub[i.sub] = append(bySub[i.sub], i)
		invoices[i.id] = i
		return err
	})
	type pay struct{ id, ref, status, key string }
	payments := map[string]pay{}
	query(`SELECT id, reference, status, idempotency_key FROM payments`, func(r *sql.Rows) error {
		var p pay
		err := r.Scan(&p.id, &p.ref, &p.status, &p.key)
		payments[p.id] = p
		return err
	})
	captured := map[string]int64{}  // idempotency key → amount captured
	capturedRef := map[string]int{} // invoice → captured charges
	query(`SELECT idempotency_key, reference, captured FROM test_gateway_charges WHERE status = 'captured'`, func(r *sql.Rows) error {
		var key, ref string
		var amount int64
		err := r.Scan(&key, &ref, &amount)
		captured[key] = amount
		capturedRef[ref]++
		return err
	})
	failedEvents := map[string]bool{} // invoices with an invoice.payment_failed event
	query(`SELECT subject FROM events WHERE type = 'invoice.payment_failed'`, func(r *sql.Rows) error {
		var id string
		err := r.Scan(&id)
		failedEvents[id] = true
		return err
	})
	statuses := map[string]int{}
	due := 0
	nowMicros := now.UnixMicro()
	query(`SELECT id, status, COALESCE(next_billing_at, 0) FROM subscriptions`, func(r *sql.Rows) error {
		var id, status string
		var next int64
		err := r.Scan(&id, &status, &next)
		statuses[status]++
		if (status == "active" || status == "trialing" || status == "paused") && next != 0 && next <= nowMicros {
			due++
			t.Errorf("subscription %s (%s, %s) is still due: billed as of now, it was missed", id, status, tokens[id])
		}
		invs := bySub[id]
		if len(invs) == 0 {
			t.Errorf("subscription %s (%s) was never invoiced", id, tokens[id])
			return err
		}
		for n, i := range invs {
			if i.period != n {
				t.Errorf("subscription %s: invoices for periods %v; want one each for 0 to %d", id, invs, len(invs)-1)
				break
			}
		}
		last := invs[len(invs)-1]
		switch {
		case status == "active" && (len(invs) != periods || last.status != "paid"):
			t.Errorf("active subscription %s (%s): invoices %v; want %d periods, all paid", id, tokens[id], invs, periods)
		case status == "past_due" && last.status != "open", status == "paused" && last.status != "void":
			t.Errorf("%s subscription %s (%s): last invoice %v", status, id, tokens[id], last)
		case tokens[id] == "tok_declined" && last.status == "paid":
			t.Errorf("subscription %s paid with a declining card: %v", id, invs)
		case tokens[id] == "tok_visa" && status != "active":
			// A crash before the gateway call must not count as a decline.
			t.Errorf("subscription %s with a good card is %s: %v", id, status, invs)
		}
		for _, i := range invs {
			if tokens[id] == "tok_visa" && failedEvents[i.id] {
				t.Errorf("invoice %s of a good card has an invoice.payment_failed event", i.id)
			}
		}
		return err
	})
	if len(tokens) != statuses["active"]+statuses["past_due"]+statuses["paused"]+statuses["canceled"]+statuses["trialing"] {
		t.Errorf("%d subscriptions seeded, statuses %v", len(tokens), statuses)
	}

	paid, paidTotal, capturedTotal := 0, int64(0), int64(0)
	for _, i := range invoices {
		p := payments[i.payment]
		if i.status == "paid" {
			paid++
			paidTotal += i.total
			if p.status != "succeeded" || captured[p.key] != i.total {
				t.Errorf("paid invoice %s: payment %+v, gateway captured %d of %d", i.id, p, captured[p.key], i.total)
			}
		}
		if capturedRef[i.id] > 1 {
			t.Errorf("invoice %s: the gateway captured %d charges", i.id, capturedRef[i.id])
		}
	}
	succeeded := map[string]int{} // invoice → succeeded payments
	for _, p := range payments {
		switch p.status {
		case "pending", "in_doubt":
			t.Errorf("payment %s still %s after reconcile", p.id, p.status)
		case "succeeded":
			succeeded[p.ref]++
			if succeeded[p.ref] > 1 {
				t.Errorf("invoice %s has %d succeeded payments", p.ref, succeeded[p.ref])
			}
			if invoices[p.ref].payment != p.id || invoices[p.ref].status != "paid" {
				t.Errorf("payment %s succeeded but its invoice is %+v", p.id, invoices[p.ref])
			}
		}
		if _, ok := captured[p.key]; ok && p.status != "succeeded" {
			t.Errorf("the gateway captured payment %s, recorded as %s", p.id, p.status)
		}
	}
	for _, amount := range captured {
		capturedTotal += amount
	}
	if len(captured) != paid || capturedTotal != paidTotal {
		t.Errorf("the gateway captured %d charges (%d) for %d paid invoices (%d)", len(captured), capturedTotal, paid, paidTotal)
	}
	return fmt.Sprintf("%d invoices, %d paid, %d payments, %d captured, statuses %v", len(invoices), paid, len(payments), len(captured), statuses)
}

// TestBillConcurrentProcesses runs two `shopd bill` processes at once on
// one PostgreSQL database over 10,000 due subscriptions (a quarter with a
// declining card): they share the work through SKIP LOCKED, and together
// they invoice every subscription's period exactly once and charge each
// paid invoice exactly once.
func TestBillConcurrentProcesses(t *testing.T) {
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(storetest.Engines(t), sqlstore.Postgres) {
		t.Skip("PostgreSQL only (SHOPD_TEST_DATABASE_URL): SQLite has one writer")
	}
	const n = 10000
	s := openBillStore(t, sqlstore.Postgres)
	at := time.Now().UTC().Add(-60 * 24 * time.Hour).Truncate(time.Second)
	now := at.Add(time.Hour) // period 0 is due
	cards := []string{"tok_visa", "tok_visa", "tok_visa", "tok_declined"}
	tokens := map[string]string{}
	for i, id := range storetest.SeedDueSubscriptions(t, s.db, n, cards, at) {
		tokens[id] = cards[i%len(cards)]
	}
	args := append([]string{"--now", now.Format(time.RFC3339)}, s.flags...)
	results := make([]map[string]float64, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = runBill(bin, nil, args...)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	var invoiced, charged, declined float64
	for _, r := range results {
		invoiced, charged, declined = invoiced+r["invoiced"], charged+r["charged"], declined+r["declined"]
	}
	if invoiced != n || charged != n*3/4 || declined != n/4 {
		t.Errorf("together: %v invoiced, %v charged, %v declined; want %d, %d, %d", invoiced, charged, declined, n, n*3/4, n/4)
	}
	if res := billJSON(t, bin, nil, args...); res["invoiced"] != 0 || res["retried"] != 0 {
		t.Errorf("a third run found work: %v", res)
	}
	sum := checkBilled(t, s.db, tokens, now, 1)
	t.Logf("processes invoiced %v and %v in %.1fs and %.1fs; %s", results[0]["invoiced"], results[1]["invoiced"],
		results[0]["seconds"], results[1]["seconds"], sum)
}

// BenchmarkBillCommand measures `shopd bill` end to end over n due
// subscriptions (SHOPD_BENCH_SUBSCRIPTIONS, default 10,000) paying with
// tok_visa, on each engine: renewals/s is n over the run's own seconds (as
// bill --json reports them: open, migrate check and process start left
// out), wall-renewals/s over the process's whole life. Seeding is not
// timed. Run with -benchtime=1x.
func BenchmarkBillCommand(b *testing.B) {
	bin, err := buildShopd()
	if err != nil {
		b.Fatal(err)
	}
	n := 10000
	if v := os.Getenv("SHOPD_BENCH_SUBSCRIPTIONS"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("SHOPD_BENCH_SUBSCRIPTIONS=%q: want a positive number", v)
		}
	}
	for _, d := range storetest.Engines(b) {
		b.Run(fmt.Sprintf("%s/n=%d", d, n), func(b *testing.B) {
			var seconds, wall float64
			for range b.N {
				b.StopTimer()
				src := storetest.URL(b, d)
				db, err := sqlstore.Open(context.Background(), src, sqlstore.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := db.Migrate(context.Background()); err != nil {
					b.Fatal(err)
				}
				// SHOPD_BENCH_PG_PARAMS (e.g. pool_max_conns=32) tunes shopd's pool.
				url := src
				if params := os.Getenv("SHOPD_BENCH_PG_PARAMS"); params != "" {
					url += map[bool]string{true: "&", false: "?"}[strings.Contains(url, "?")] + params
				}
				flags := []string{"--database-url", url}
				if d == sqlstore.SQLite {
					flags = []string{"--data-dir", filepath.Dir(src)}
				}
				at := time.Now().UTC().Add(-60 * 24 * time.Hour).Truncate(time.Second)
				storetest.SeedDueSubscriptions(b, db, n, []string{"tok_visa"}, at)
				db.Close()
				b.StartTimer()
				start := time.Now()
				res, err := runBill(bin, nil, append([]string{"--now", at.Add(time.Hour).Format(time.RFC3339)}, flags...)...)
				wall += time.Since(start).Seconds()
				b.StopTimer()
				if err != nil || res["invoiced"] != float64(n) || res["charged"] != float64(n) {
					b.Fatalf("bill: %v %v; want %d invoiced and charged", res, err, n)
				}
				seconds += res["seconds"]
			}
			b.ReportMetric(float64(n*b.N)/seconds, "renewals/s")
			b.ReportMetric(float64(n*b.N)/wall, "wall-renewals/s")
		})
	}
}
