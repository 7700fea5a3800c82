package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopd/shopd/sqlstore/storetest"
)

// crashPoints are the steps of checkout where a crash test kills shopd,
// plus "random": concurrent checkouts and a kill at a random moment.
var crashPoints = []string{"checkout.reserving", "checkout.committed", "payment.charged", "random"}

// TestCheckoutCrashes kills a real shopd with SIGKILL at every step of
// checkout, over many runs on one store, then restarts it and reconciles.
// Afterwards: every payment is settled; the test gateway captured exactly
// one charge per paid order and none for any other; every order answered
// 201 is paid; no stock is left reserved and on hand + sold = initial.
func TestCheckoutCrashes(t *testing.T) {
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	const runs, initial = 52, 1000
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			db := dbArgs(t, d)
			// A short gateway call timeout keeps the payment lease short (call
			// timeout + 10 s), so reconciliation can run soon after the crashes.
			flags := append([]string{"--payment-call-timeout", "2s", "--log-level", "warn"}, db...)
			out, err := exec.Command(bin, append([]string{"admin", "create-key", "--role", "owner"}, db...)...).Output()
			if err != nil {
				t.Fatal(err)
			}
			key := strings.TrimSpace(string(out))

			p := startServe(t, bin, flags...)
			variant := setUpDrop(t, p.url, key, initial)
			p.stop(t)

			var acknowledged []string // orders answered 201
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
			for run := range runs {
				point := crashPoints[run%len(crashPoints)]
				if point == "random" {
					p := startServe(t, bin, flags...)
					acknowledged = append(acknowledged, killDuringCheckouts(t, p, variant, 8, time.Duration(rng.IntN(250))*time.Millisecond)...)
					continue
				}
				p := startServeEnv(t, bin, []string{"SHOPD_CRASH_AT=" + point}, flags...)
				cart := newCart(t, p.url, variant)
				if status, body, err := tryCheckout(p.url, cart, fmt.Sprintf("crash%d@example.com", run)); err == nil {
					t.Fatalf("run %d (%s): shopd answered %d %s instead of crashing", run, point, status, body)
				}
				p.waitKilled(t)
			}

			// Let the crashed callers' payment leases lapse, then reconcile.
			time.Sleep(12500 * time.Millisecond)
			rec, err := exec.Command(bin, append([]string{"payments", "reconcile", "--older-than", "0s", "--payment-call-timeout", "2s"}, db...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("reconcile: %v\n%s", err, rec)
			}

			p = startServe(t, bin, flags...)
			defer p.stop(t)
			for _, status := range []string{"pending", "in_doubt"} {
				if n := len(adminList(t, p.url, key, "/v1/admin/payments?limit=100&status="+status)); n != 0 {
					t.Errorf("%d payments still %s after reconcile", n, status)
				}
			}
			if n := len(adminList(t, p.url, key, "/v1/admin/orders?limit=100&status=pending_payment")); n != 0 {
				t.Errorf("%d orders still pending_payment", n)
			}
			paid := map[string]bool{}
			for _, o := range adminList(t, p.url, key, "/v1/admin/orders?limit=100&status=paid") {
				paid[o["id"].(string)] = true
			}
			for _, id := range acknowledged {
				if !paid[id] {
					t.Errorf("order %s was answered 201 but is not paid after the crashes", id)
				}
			}
			var ledger struct {
				Counts struct{ Captured, Attempts int }
			}
			getJSON(t, p.url+"/v1/admin/test-gateway/charges?limit=1", key, &ledger)
			if ledger.Counts.Captured != len(paid) {
				t.Errorf("the gateway captured %d charges for %d paid orders", ledger.Counts.Captured, len(paid))
			}
			stock := adminList(t, p.url, key, "/v1/admin/stock?sku=CRASH-1")
			var onHand, reserved float64
			for _, s := range stock {
				onHand += s["on_hand"].(float64)
				reserved += s["reserved"].(float64)
			}
			if int(onHand) != initial-len(paid) || reserved != 0 {
				t.Errorf("on hand %v, reserved %v; want %d and 0 (%d paid orders)", onHand, reserved, initial-len(paid), len(paid))
			}
			t.Logf("%d runs: %d orders paid (%d answered 201), %d gateway attempts, %d captured", runs, len(paid), len(acknowledged), ledger.Counts.Attempts, ledger.Counts.Captured)
		})
	}
}

// setUpDrop makes a warehouse, a product with SKU CRASH-1 and its stock;
// it returns the variant ID.
func setUpDrop(t *testing.T, url, key string, stock int) string {
	t.Helper()
	if status, body := call(t, "POST", url+"/v1/admin/warehouses", key, map[string]any{"code": "main", "name": "Main", "markets": []string{"us"}, "priority": 1}); status != 201 {
		t.Fatalf("warehouse: %d %v", status, body)
	}
	status, body := call(t, "POST", url+"/v1/admin/products", key, map[string]any{"title": "Crash Tee", "status": "active",
		"variants": []map[string]any{{"sku": "CRASH-1", "prices": map[string]any{"us": map[string]any{"amount": map[string]any{"amount": 2000, "currency": "USD"}}}}}})
	if status != 201 {
		t.Fatalf("product: %d %v", status, body)
	}
	if status, body := call(t, "POST", url+"/v1/admin/stock/receive", key, map[string]any{"warehouse": "main", "sku": "CRASH-1", "quantity": stock}); status != 200 {
		t.Fatalf("stock: %d %v", status, body)
	}
	return body["variants"].([]any)[0].(map[string]any)["id"].(string)
}

// newCart makes a guest cart with one unit.
func newCart(t *testing.T, url, variant string) string {
	t.Helper()
	status, c := call(t, "POST", url+"/v1/carts", "", map[string]string{"market": "us"})
	if status != 201 {
		t.Fatalf("cart: %d %v", status, c)
	}
	id := c["id"].(string)
	if status, body := call(t, "POST", url+"/v1/carts/"+id+"/lines", "", map[string]any{"variant_id": variant, "quantity": 1}); status != 200 {
		t.Fatalf("cart line: %d %v", status, body)
	}
	return id
}

// tryCheckout checks a cart out; err is set when shopd gave no answer.
func tryCheckout(url, cart, email string) (int, map[string]any, error) {
	b, _ := json.Marshal(map[string]any{"cart_id": cart, "email": email, "payment": map[string]string{"token": "tok_visa"},
		"ship_to": map[string]string{"name": "Ana", "line1": "1 Main St", "city": "Austin", "region": "TX", "country": "US"}})
	resp, err := http.Post(url+"/v1/checkouts", "application/json", strings.NewReader(string(b)))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, body, nil
}

// killDuringCheckouts starts n checkouts at once, kills shopd with SIGKILL
// after delay, and returns the IDs of the orders answered 201 before that.
func killDuringCheckouts(t *testing.T, p *process, variant string, n int, delay time.Duration) []string {
	t.Helper()
	carts := make([]string, n)
	for i := range carts {
		carts[i] = newCart(t, p.url, variant)
	}
	var mu sync.Mutex
	var ids []string
	var wg sync.WaitGroup
	for i, c := range carts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body, err := tryCheckout(p.url, c, fmt.Sprintf("random%d-%d@example.com", time.Now().UnixNano(), i))
			if err == nil && status == 201 {
				mu.Lock()
				ids = append(ids, body["id"].(string))
				mu.Unlock()
			} else if err == nil && status >= 500 {
				t.Errorf("checkout answered %d: %v", status, body)
			}
		}()
	}
	time.Sleep(delay)
	p.cmd.Process.Signal(syscall.SIGKILL)
	wg.Wait()
	p.waitKilled(t)
	return ids
}

// waitKilled waits for a process that was killed (by itself or the test).
func (p *process) waitKilled(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.done:
		if err == nil {
			t.Fatalf("shopd exited cleanly; expected SIGKILL\n%s", p.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("shopd did not die\n%s", p.stderr)
	}
}

// adminList reads every page of a staff list endpoint.
func adminList(t *testing.T, url, key, path string) []map[string]any {
	t.Helper()
	var all []map[string]any
	next := path
	for {
		var page struct {
			Data       []map[string]any
			NextCursor string `json:"next_cursor"`
		}
		getJSON(t, url+next, key, &page)
		all = append(all, page.Data...)
		if page.NextCursor == "" {
			return all
		}
		sep := "&"
		if !strings.Contains(path, "?") {
			sep = "?"
		}
		next = path + sep + "cursor=" + page.NextCursor
	}
}

func getJSON(t *testing.T, url, key string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
