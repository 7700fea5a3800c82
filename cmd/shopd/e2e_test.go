package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// buildShopd builds the shopd binary once per test run.
var buildShopd = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "shopd-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "shopd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// process is a running shopd serve.
type process struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
	done   chan error
}

// dbArgs returns the flags that point shopd at a fresh store on the engine.
func dbArgs(t *testing.T, d sqlstore.Dialect) []string {
	if d == sqlstore.Postgres {
		return []string{"--database-url", storetest.URL(t, d)}
	}
	return []string{"--data-dir", t.TempDir()}
}

// startServe starts `shopd serve` on a free port and waits until /readyz answers 200.
func startServe(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	return startServeEnv(t, bin, nil, args...)
}

// startServeEnv is startServe with extra environment variables (KEY=value).
func startServeEnv(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...), stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`listening on (http://\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { p.done <- p.cmd.Wait() }()
	select {
	case p.url = <-urls:
	case err := <-p.done:
		t.Fatalf("shopd exited before listening: %v\n%s", err, p.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("shopd did not print its URL\n%s", p.stderr)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(p.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never answered 200\n%s", p.stderr)
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("shopd exited with %v\n%s", err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("shopd did not stop on SIGTERM\n%s", p.stderr)
	}
}

func call(t *testing.T, method, url, key string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestEndToEnd builds shopd, creates an admin key with the CLI, starts the
// server on a fresh store, creates a product through the API, reads it back
// in two markets, and stops the server with SIGTERM.
func TestEndToEnd(t *testing.T) {
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
			if !strings.HasPrefix(key, "sk_") || strings.Contains(key, "\n") {
				t.Fatalf("create-key printed %q, want only the key", out)
			}

			p := startServe(t, bin, db...)
			status, created := call(t, "POST", p.url+"/v1/admin/products", key, map[string]any{
				"title":      "Glow Serum",
				"status":     "active",
				"attributes": map[string][]string{"brand": {"Lumière"}, "category": {"serum"}},
				"variants": []map[string]any{{
					"sku":     "GLOW-30",
					"options": map[string]string{"size": "30 ml"},
					"prices": map[string]any{
						"us": map[string]any{"amount": map[string]any{"amount": 2400, "currency": "USD"}},
						"br": map[string]any{"amount": map[string]any{"amount": 12990, "currency": "BRL"}},
					},
				}},
			})
			if status != 201 {
				t.Fatalf("create product: %d %v", status, created)
			}
			for market, want := range map[string]string{"us": "2400 USD $24.00", "br": "12990 BRL R$\u00a0129,90"} {
				status, got := call(t, "GET", p.url+"/v1/products/glow-serum?market="+market, "", nil)
				if status != 200 {
					t.Fatalf("get in %s: %d %v", market, status, got)
				}
				price := got["variants"].([]any)[0].(map[string]any)["price"].(map[string]any)
				if s := fmt.Sprintf("%v %v %v", price["amount"], price["currency"], price["formatted"]); s != want {
					t.Errorf("price in %s = %s, want %s", market, s, want)
				}
			}
			// Every module is wired into serve: a plan is created and listed.
			status, plan := call(t, "POST", p.url+"/v1/admin/plans", key, map[string]any{"name": "Glow Box", "kind": "box", "box_size": 5,
				"interval": map[string]any{"unit": "month", "count": 1}, "prices": map[string]any{"us": map[string]any{"amount": 2900, "currency": "USD"}}})
			if status != 201 {
				t.Fatalf("create plan: %d %v", status, plan)
			}
			if status, plans := call(t, "GET", p.url+"/v1/plans?market=us", "", nil); status != 200 || len(plans["data"].([]any)) != 1 {
				t.Fatalf("list plans: %d %v", status, plans)
			}
			testRoles(t, bin, db, key)
			p.stop(t)
			if !strings.Contains(p.stderr.String(), `"msg":"stopped"`) {
				t.Errorf("no clean-stop log line:\n%s", p.stderr)
			}
		})
	}
}

// testRoles starts processes of the roles that serve part of the API on
// the store of TestEndToEnd: a storefront process answers the catalog's
// reads and nothing else; a worker process only the probes.
func testRoles(t *testing.T, bin string, db []string, key string) {
	for role, served := range map[string]bool{"storefront": true, "worker": false} {
		p := startServe(t, bin, append([]string{"--role", role}, db...)...)
		for _, path := range []string{"/v1/products/glow-serum?market=br", "/v1/products?market=us", "/v1/plans?market=us", "/v1/markets"} {
			status, got := call(t, "GET", p.url+path, "", nil)
			if (status == 200) != served || !served && (status != 404 || !strings.Contains(fmt.Sprint(got["detail"]), "role "+role)) {
				t.Errorf("role %s: GET %s: %d %v", role, path, status, got)
			}
		}
		for _, c := range []struct{ method, path string }{{"POST", "/v1/carts"}, {"GET", "/v1/admin/products"}, {"POST", "/v1/checkouts"}} {
			status, got := call(t, c.method, p.url+c.path, key, map[string]any{"market": "us"})
			if status != 404 || got["type"] != "https://shopd.dev/problems/route-not-found" || !strings.Contains(fmt.Sprint(got["detail"]), "role "+role) {
				t.Errorf("role %s: %s %s: %d %v, want route-not-found naming the role", role, c.method, c.path, status, got)
			}
		}
		p.stop(t)
	}
}

// TestCLIErrors checks that bad configuration fails fast with a clear
// message and exit status 2.
func TestCLIErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"serve", "--addr", "nowhere"}, nil, "must be HOST:PORT"},
		{[]string{"serve"}, map[string]string{"SHOPD_DEMO": "maybe"}, `SHOPD_DEMO="maybe": not a boolean`},
		{[]string{"serve", "--database-url", "mysql://x"}, nil, "must start with postgres://"},
		{[]string{"serve", "--log-format", "xml"}, nil, `log format "xml"`},
		{[]string{"admin", "create-key", "--role", "wizard"}, nil, "--role must be owner, admin, support or read_only"},
		{[]string{"serve", "--role", "reader"}, nil, `--role "reader": use api, storefront, worker or all`},
		{[]string{"seed", "--products", "-5"}, nil, "--products and --customers must be"},
		{[]string{"frobnicate"}, nil, `unknown command "frobnicate"`},
	} {
		var stdout, stderr bytes.Buffer
		env := func(k string) string { return c.env[k] }
		code := run(t.Context(), c.args, env, nil, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
	// Flags win over the environment.
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"serve", "--addr", "bad"}, func(k string) string {
		if k == "SHOPD_ADDR" {
			return "127.0.0.1:1"
		}
		return ""
	}, nil, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), `"bad"`) {
		t.Errorf("flag did not win over env: %d %s", code, stderr.String())
	}
	stdout.Reset()
	if code := run(t.Context(), []string{"version"}, func(string) string { return "" }, nil, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "shopd ") {
		t.Errorf("version: %d %q", code, stdout.String())
	}
}
