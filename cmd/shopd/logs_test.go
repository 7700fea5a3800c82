package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// lockedBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestLogsCarryNoSecrets runs a real shopd at debug level with a database
// URL holding a password, drives requests that carry every kind of secret
// and personal data shopd handles — staff API keys and customer session
// tokens in Authorization, passwords in registration, login and password
// change bodies, payment tokens (good, unknown, failing), card-number-looking
// strings, emails, addresses, secrets in query strings and in unmatched
// paths — and checks that none of those values appears anywhere in the
// process's output.
func TestLogsCarryNoSecrets(t *testing.T) {
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			secret := func(prefix string) string {
				b := make([]byte, 12)
				rand.Read(b)
				return prefix + hex.EncodeToString(b)
			}
			dbPassword := secret("dbpw")
			db := dbArgs(t, d)
			if d == sqlstore.Postgres {
				// The test server trusts local connections, so any password
				// works; what matters is that it never reaches a log line.
				db[1] = strings.Replace(db[1], "://root@", "://root:"+dbPassword+"@", 1)
				if !strings.Contains(db[1], dbPassword) {
					t.Fatalf("could not put a password in %s", db[1])
				}
			}
			out, err := exec.Command(bin, append([]string{"admin", "create-key", "--role", "owner"}, db...)...).Output()
			if err != nil {
				t.Fatalf("create-key: %v", err)
			}
			staffKey := strings.TrimSpace(string(out))

			var stdout lockedBuffer
			p := startServeCapture(t, bin, &stdout, append([]string{"--log-level", "debug", "--log-format", "json"}, db...)...)
			variant := setUpDrop(t, p.url, staffKey, 100)

			var (
				email       = secret("leak.") + "@example.com"
				password    = secret("Pw-")
				newPassword = secret("NewPw-")
				wrongPass   = secret("WrongPw-")
				wrongKey    = "sk_" + strings.ToUpper(secret("")) + "ABCDEFGHJKMNPQRSTVWXYZ0123456789"
				payToken    = secret("tok_")
				street      = secret("Street ")
				guestEmail  = secret("guest.") + "@example.org"
				queryKey    = secret("q")
				cards       = []string{"4111111111111111", "4111 1111 1111 1111", "5500-0000-0000-0004"}
			)
			send := func(method, path, auth string, body any, want ...int) map[string]any {
				t.Helper()
				status, got := call(t, method, p.url+path, auth, body)
				for _, w := range want {
					if status == w {
						return got
					}
				}
				t.Fatalf("%s %s: %d %v, want %v", method, path, status, got, want)
				return nil
			}

			reg := send("POST", "/v1/customers", "", map[string]any{"email": email, "password": password, "name": "Ana Leak", "market": "us"}, 201)
			session := reg["session"].(map[string]any)["token"].(string)
			send("POST", "/v1/customers", "", map[string]any{"email": email, "password": password, "name": "Ana Again", "market": "us"}, 409)
			send("POST", "/v1/customers", "", map[string]any{"email": "x" + email, "password": "short", "market": "us"}, 422, 400)
			send("POST", "/v1/sessions", "", map[string]any{"email": email, "password": wrongPass}, 401)
			login := send("POST", "/v1/sessions", "", map[string]any{"email": email, "password": password}, 201, 200)
			session2 := login["session"].(map[string]any)["token"].(string)
			send("GET", "/v1/me", session, nil, 200)
			send("PATCH", "/v1/me", session2, map[string]any{"password": newPassword, "current_password": password}, 200)
			send("PATCH", "/v1/me", session2, map[string]any{"password": newPassword, "current_password": wrongPass}, 401, 403, 422)
			send("POST", "/v1/me/addresses", session2, map[string]any{"name": "Ana Leak", "line1": street, "city": "Austin", "region": "TX", "postal_code": "78701", "country": "US"}, 201)
			send("GET", "/v1/me", "cs_"+strings.ToUpper(secret(""))+"0123456789ABCDEFGHJKMNPQRST", nil, 401)
			send("GET", "/v1/admin/orders", wrongKey, nil, 401)
			send("GET", "/v1/admin/customers?email="+email, staffKey, nil, 200)
			send("GET", "/v1/products?api_key="+queryKey+"&email="+email, "", nil, 200)
			send("GET", "/v1/nowhere/"+staffKey+"/"+email, "", nil, 404)
			send("GET", "/v1/products/"+cards[0], "", nil, 404)

			checkout := func(email, token string, want ...int) {
				t.Helper()
				send("POST", "/v1/checkouts", "", map[string]any{"cart_id": newCart(t, p.url, variant), "email": email, "payment": map[string]string{"token": token},
					"ship_to": map[string]string{"name": "Ana Leak", "line1": street, "city": "Austin", "region": "TX", "country": "US"}}, want...)
			}
			checkout(guestEmail, "tok_visa", 201)
			checkout(guestEmail, payToken, 402, 422, 400)
			for _, card := range cards {
				checkout(guestEmail, card, 400)
			}
			checkout(guestEmail, "tok_error", 201, 202, 402, 502, 503, 504)
			send("POST", "/v1/checkouts", "", map[string]any{"cart_id": "crt_nope", "email": "not-an-email " + cards[0], "payment": map[string]string{"token": payToken}}, 400, 404, 422)
			send("DELETE", "/v1/sessions/current", session2, nil, 204, 200)
			send("GET", "/v1/me", session2, nil, 401)
			p.stop(t)

			logs := p.stderr.String() + stdout.String()
			if !strings.Contains(logs, `"msg":"request"`) && !strings.Contains(logs, `"request_id"`) {
				t.Fatalf("no request log lines captured:\n%s", logs)
			}
			leaks := map[string]string{
				"staff API key": staffKey, "unknown staff key": wrongKey, "session token": session, "second session token": session2,
				"password": password, "new password": newPassword, "wrong password": wrongPass,
				"customer email": email, "guest email": guestEmail, "email local part": strings.TrimSuffix(email, "@example.com"),
				"payment token": payToken, "street": street, "query secret": queryKey,
			}
			if d == sqlstore.Postgres {
				leaks["database password"] = dbPassword
			}
			for i, c := range cards {
				leaks["card number "+string(rune('0'+i))] = c
				leaks["card digits "+string(rune('0'+i))] = strings.NewReplacer(" ", "", "-", "").Replace(c)
			}
			for what, v := range leaks {
				if strings.Contains(logs, v) {
					for _, line := range strings.Split(logs, "\n") {
						if strings.Contains(line, v) {
							t.Errorf("%s leaked into the output: %s", what, line)
							break
						}
					}
				}
			}
			t.Logf("%d output lines checked against %d secrets", strings.Count(logs, "\n"), len(leaks))
		})
	}
}

// startServeCapture is startServe that also keeps the process's stdout.
func startServeCapture(t *testing.T, bin string, stdout io.Writer, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...), stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	p.cmd.Stdout = io.MultiWriter(stdout, pw)
	var stderr lockedBuffer
	p.cmd.Stderr = &stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	go func() {
		err := p.cmd.Wait()
		pw.Close()
		p.stderr.WriteString(stderr.String())
		p.done <- err
	}()
	buf := make([]byte, 4096)
	var banner string
	for !strings.Contains(banner, "\n") {
		n, err := pr.Read(buf)
		banner += string(buf[:n])
		if err != nil {
			t.Fatalf("shopd exited before listening: %v\n%s", err, stderr.String())
		}
	}
	go io.Copy(io.Discard, pr)
	i := strings.Index(banner, "http://")
	if i < 0 {
		t.Fatalf("no URL in %q", banner)
	}
	p.url = strings.Fields(banner[i:])[0]
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
	}
	t.Fatalf("/readyz never answered 200\n%s", stderr.String())
	return nil
}
