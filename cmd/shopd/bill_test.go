package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/shopd/shopd/sqlstore/storetest"
)

// TestBillCommand is the merchant's simulation: a plan and a subscriber
// through the API, then `shopd bill --now` months ahead, in a real binary:
// each period is invoiced and charged once, however often bill runs.
func TestBillCommand(t *testing.T) {
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			db := dbArgs(t, d)
			out, err := exec.Command(bin, append([]string{"admin", "create-key", "--role", "admin"}, db...)...).Output()
			if err != nil {
				t.Fatalf("create-key: %v", err)
			}
			key := strings.TrimSpace(string(out))
			if out, err := exec.Command(bin, append([]string{"bill", "--box-cutoff-day", "31"}, db...)...).CombinedOutput(); err == nil ||
				!strings.Contains(string(out), "--box-cutoff-day must be from 1 to 28") {
				t.Fatalf("bill --box-cutoff-day 31: %v %s", err, out)
			}
			p := startServe(t, bin, db...)
			status, plan := call(t, "POST", p.url+"/v1/admin/plans", key, map[string]any{"name": "Glow Box", "kind": "box", "box_size": 5,
				"interval": map[string]any{"unit": "month", "count": 1}, "prices": map[string]any{"us": map[string]any{"amount": 2900, "currency": "USD"}}})
			if status != 201 {
				t.Fatalf("create plan: %d %v", status, plan)
			}
			status, cust := call(t, "POST", p.url+"/v1/customers", "", map[string]any{"email": "ana@example.com", "password": "correct horse battery", "name": "Ana", "market": "us"})
			if status != 201 {
				t.Fatalf("register: %d %v", status, cust)
			}
			status, sub := call(t, "POST", p.url+"/v1/subscriptions", cust["session"].(map[string]any)["token"].(string), map[string]any{"plan": plan["id"], "market": "us",
				"payment_method": map[string]any{"token": "tok_visa"},
				"ship_to":        map[string]any{"name": "Ana", "line1": "1 Main St", "city": "New York", "region": "NY", "postal_code": "10001", "country": "US"}})
			if status != 201 {
				t.Fatalf("subscribe: %d %v", status, sub)
			}
			p.stop(t)

			bill := func(now time.Time) map[string]any {
				t.Helper()
				out, err := exec.Command(bin, append([]string{"bill", "--json", "--now", now.UTC().Format(time.RFC3339)}, db...)...).Output()
				if err != nil {
					t.Fatalf("bill --now %v: %v %s", now, err, out)
				}
				var res map[string]any
				if err := json.Unmarshal(out, &res); err != nil {
					t.Fatalf("bill printed %q: %v", out, err)
				}
				return res
			}
			start := time.Now().Add(time.Hour)
			for _, c := range []struct {
				now               time.Time
				invoiced, charged float64
			}{
				{start, 1, 1},                   // period 0, due at once
				{start, 0, 0},                   // again: nothing
				{start.AddDate(0, 3, 0), 3, 3},  // three months later: periods 1 to 3
				{start.AddDate(0, 3, 0), 0, 0},  // again: nothing
				{start.AddDate(0, 3, -5), 0, 0}, // an earlier clock: nothing
			} {
				if res := bill(c.now); res["invoiced"] != c.invoiced || res["charged"] != c.charged || res["declined"] != 0.0 {
					t.Fatalf("bill --now %s: %v; want %v invoiced and %v charged", c.now.Format(time.RFC3339), res, c.invoiced, c.charged)
				}
			}
		})
	}
}
