package customer

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopd/shopd"
)

func TestHashPasswordRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, pw := range []string{"correct horse", "pässwörd-ünïcode", strings.Repeat("x", MaxPasswordLength), "12345678"} {
		h, err := HashPassword(ctx, pw)
		if err != nil {
			t.Fatalf("%q: %v", pw, err)
		}
		if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Fatalf("hash %q does not carry the default parameters", h)
		}
		p, salt, key, err := decodeHash(h)
		if err != nil {
			t.Fatal(err)
		}
		if p != DefaultParams || len(salt) != 16 || len(key) != 32 {
			t.Fatalf("decoded %+v salt %d key %d; want %+v, 16, 32", p, len(salt), len(key), DefaultParams)
		}
		if ok, err := verifyPassword(ctx, h, pw); err != nil || !ok {
			t.Fatalf("verify(%q) = %v, %v; want true", pw, ok, err)
		}
		for _, wrong := range []string{pw + "x", pw[:len(pw)-1], "X" + pw[1:], ""} {
			if ok, err := verifyPassword(ctx, h, wrong); err != nil || ok {
				t.Fatalf("verify(%q) against hash of %q = %v, %v; want false", wrong, pw, ok, err)
			}
		}
		if needsRehash(h) {
			t.Fatalf("fresh hash needs rehash")
		}
	}
}

func TestHashPasswordSaltsDiffer(t *testing.T) {
	a, err := HashPassword(context.Background(), "same password")
	if err != nil {
		t.Fatal(err)
	}
	b, err := HashPassword(context.Background(), "same password")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two hashes of one password are equal: salts are not random")
	}
}

func TestHashPasswordLength(t *testing.T) {
	for _, pw := range []string{"", "1234567", strings.Repeat("é", MaxPasswordLength+1)} {
		_, err := HashPassword(context.Background(), pw)
		if shopd.ErrorCode(err) != shopd.EINVALID {
			t.Errorf("HashPassword(%d chars) = %v, want EINVALID", len([]rune(pw)), err)
		}
	}
	// 256 characters of two bytes each are allowed.
	if _, err := HashPassword(context.Background(), strings.Repeat("é", MaxPasswordLength)); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyOtherParams checks that the parameters are read from the string:
// a hash made with other (weaker) parameters still verifies, and is flagged
// for rehashing.
func TestVerifyOtherParams(t *testing.T) {
	ctx := context.Background()
	weak := PasswordParams{Memory: 64, Time: 1, Threads: 2, SaltLen: 8, KeyLen: 16}
	h, err := weak.Hash(ctx, "hunter22")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=2$") {
		t.Fatalf("hash = %q", h)
	}
	p, _, _, err := decodeHash(h)
	if err != nil || p != weak {
		t.Fatalf("decoded %+v, %v; want %+v", p, err, weak)
	}
	if ok, err := verifyPassword(ctx, h, "hunter22"); err != nil || !ok {
		t.Fatalf("verify = %v, %v", ok, err)
	}
	if !needsRehash(h) {
		t.Fatal("weak hash not flagged for rehash")
	}
	// The reference implementation's test vector (phc-winner-argon2
	// src/test.c): argon2id, m=64 MiB, t=2, p=1, "password", salt "somesalt".
	ok, err := verifyPassword(ctx, "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "password")
	if err != nil || !ok {
		t.Fatalf("reference vector: %v, %v", ok, err)
	}
	// More memory than the default is not "weaker", whatever the salt.
	if needsRehash("$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc") {
		t.Fatal("stronger hash flagged for rehash")
	}
	for _, p := range []PasswordParams{{Memory: 0, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, {Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32}, {Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8}, {Memory: 1 << 21, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}} {
		if _, err := p.Hash(ctx, "hunter22"); shopd.ErrorCode(err) != shopd.EINVALID {
			t.Errorf("Hash with %+v = %v, want EINVALID", p, err)
		}
	}
}

func TestDecodeHashRejects(t *testing.T) {
	const salt, key = "c29tZXNhbHQ", "8w3nz6U2rYPE1TZs6u7qcs/kCNzi8AEIuWPEWK0svMs"
	for _, h := range []string{
		"",
		"plaintext",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt, // no key
		"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,           // argon2i
		"$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key,           // argon2d
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,          // old version
		"$argon2id$m=64,t=1,p=1$" + salt + "$" + key,               // no version
		"$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key,          // order
		"$argon2id$v=19$m=64,t=1$" + salt + "$" + key,              // missing p
		"$argon2id$v=19$m=64,t=1,p=1,x=2$" + salt + "$" + key,      // extra
		"$argon2id$v=19$m=0,t=1,p=1$" + salt + "$" + key,           // m too small
		"$argon2id$v=19$m=4,t=1,p=1$" + salt + "$" + key,           // m < 8p
		"$argon2id$v=19$m=2097152,t=1,p=1$" + salt + "$" + key,     // 2 GiB
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,          // t=0
		"$argon2id$v=19$m=64,t=1000,p=1$" + salt + "$" + key,       // t too large
		"$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,          // p=0
		"$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + key,        // p too large
		"$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key,         // leading zero
		"$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + key,         // sign
		"$argon2id$v=19$m=99999999999,t=1,p=1$" + salt + "$" + key, // overflow
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "=$" + key,         // padding
		"$argon2id$v=19$m=64,t=1,p=1$c29t$" + key,                  // salt too short
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$c29tZXNhbHQ",     // key too short
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "!",    // bad base64
		"x$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key,         // junk before
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",    // junk after
	} {
		if _, _, _, err := decodeHash(h); err == nil {
			t.Errorf("decodeHash(%q) accepted", h)
		}
		if ok, err := verifyPassword(context.Background(), h, "password"); ok || err == nil {
			t.Errorf("verifyPassword(%q) = %v, %v; want false and an error", h, ok, err)
		}
	}
}

// TestHashConcurrencyBounded checks that no more than GOMAXPROCS hashes run
// at once, and that a waiter gives up when its context ends.
func TestHashConcurrencyBounded(t *testing.T) {
	var running, peak atomic.Int64
	var wg sync.WaitGroup
	for range 4 * cap(hashSlots) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := withHashSlot(context.Background(), func() {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(5 * time.Millisecond)
				running.Add(-1)
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got, want := peak.Load(), int64(runtime.GOMAXPROCS(0)); got != want {
		t.Fatalf("peak concurrent hashes = %d, want %d", got, want)
	}

	// Fill every slot, then a waiter must fail when its context ends.
	release := make(chan struct{})
	var held sync.WaitGroup
	for range cap(hashSlots) {
		held.Add(1)
		go withHashSlot(context.Background(), func() { held.Done(); <-release })
	}
	held.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := HashPassword(ctx, "password1")
	if shopd.ErrorCode(err) != shopd.EUNAVAILABLE {
		t.Fatalf("HashPassword with full slots = %v, want EUNAVAILABLE", err)
	}
	close(release)
}

func ExampleHashPassword() {
	h, _ := HashPassword(context.Background(), "correct horse battery staple")
	fmt.Println(h[:31])
	// Output: $argon2id$v=19$m=19456,t=2,p=1$
}
