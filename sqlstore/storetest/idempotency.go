package storetest

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/idempotency"
	"github.com/shopd/shopd/sqlstore"
)

func testIdempotency(t *testing.T, db *sqlstore.DB) {
	clock := shopd.NewTestClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	svc := &idempotency.Service{Store: db.Idempotency(), Clock: clock}

	// 200 concurrent first requests with one key: exactly one owns it.
	var owners, inUse atomic.Int64
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, err := svc.Begin(ctx, "cus_a", "k1", "h1")
			switch {
			case err == idempotency.ErrKeyInUse:
				inUse.Add(1)
			case err != nil:
				t.Error(err)
			case rec == nil:
				owners.Add(1)
			default:
				t.Error("unexpected replay before completion")
			}
		}()
	}
	wg.Wait()
	if owners.Load() != 1 || inUse.Load() != 199 {
		t.Fatalf("owners=%d in-use=%d, want 1 and 199", owners.Load(), inUse.Load())
	}

	if err := svc.Complete(ctx, "cus_a", "k1", 201, "application/json", "/v1/x/1", []byte(`{"id":"x_1"}`)); err != nil {
		t.Fatal(err)
	}
	rec, err := svc.Begin(ctx, "cus_a", "k1", "h1")
	if err != nil || rec == nil || rec.Status != 201 || string(rec.Body) != `{"id":"x_1"}` || rec.Location != "/v1/x/1" {
		t.Fatalf("replay = %+v, %v", rec, err)
	}
	if _, err := svc.Begin(ctx, "cus_a", "k1", "other"); err != idempotency.ErrKeyMismatch {
		t.Fatalf("mismatch err = %v", err)
	}
	// Keys are scoped per caller.
	if rec, err := svc.Begin(ctx, "cus_b", "k1", "other"); err != nil || rec != nil {
		t.Fatalf("other scope = %+v, %v; want a fresh claim", rec, err)
	}

	// A released key runs afresh.
	if err := svc.Release(ctx, "cus_b", "k1"); err != nil {
		t.Fatal(err)
	}
	if rec, err := svc.Begin(ctx, "cus_b", "k1", "h2"); err != nil || rec != nil {
		t.Fatalf("after release = %+v, %v", rec, err)
	}

	// An abandoned lock can be taken over after LockTTL, with the same parameters only.
	clock.Advance(idempotency.LockTTL + time.Second)
	if _, err := svc.Begin(ctx, "cus_b", "k1", "h3"); err != idempotency.ErrKeyMismatch {
		t.Fatalf("stale lock, other params: %v", err)
	}
	if rec, err := svc.Begin(ctx, "cus_b", "k1", "h2"); err != nil || rec != nil {
		t.Fatalf("stale lock takeover = %+v, %v", rec, err)
	}

	// After the TTL a key is forgotten.
	clock.Advance(idempotency.TTL)
	if rec, err := svc.Begin(ctx, "cus_a", "k1", "new"); err != nil || rec != nil {
		t.Fatalf("expired key = %+v, %v", rec, err)
	}
	n, err := db.PurgeIdempotencyKeys(ctx, clock.Now().Add(idempotency.TTL+time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("purge = %d, %v; want 2", n, err)
	}

	if _, err := svc.Begin(ctx, "cus_a", "", "h"); err != idempotency.ErrKeyInvalid {
		t.Fatalf("empty key: %v", err)
	}
}

// testIdempotencyCompleteConcurrently: 300 requests complete their keys at
// once; Completes that wait together are written together, and each key
// keeps exactly its own response.
func testIdempotencyCompleteConcurrently(t *testing.T, db *sqlstore.DB) {
	clock := shopd.NewTestClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	svc := &idempotency.Service{Store: db.Idempotency(), Clock: clock}
	const n = 300
	key := func(i int) string { return "group-" + strconv.Itoa(i) }
	for i := range n {
		if rec, err := svc.Begin(ctx, "guest", key(i), "h"); err != nil || rec != nil {
			t.Fatalf("claim %d: %+v %v", i, rec, err)
		}
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := []byte(`{"n":` + strconv.Itoa(i) + `}`)
			if err := svc.Complete(ctx, "guest", key(i), 200+i%3, "application/json", "/v1/x/"+strconv.Itoa(i), body); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range n {
		rec, err := svc.Begin(ctx, "guest", key(i), "h")
		if err != nil || rec == nil || rec.Status != 200+i%3 || string(rec.Body) != `{"n":`+strconv.Itoa(i)+`}` || rec.Location != "/v1/x/"+strconv.Itoa(i) {
			t.Fatalf("key %d replays %+v, %v", i, rec, err)
		}
	}
}

// testIdempotencyLookupConcurrently: 300 requests look their keys up at
// once (batched on PostgreSQL). The same key names are stored in two
// scopes with different responses, and a third of the keys are new: each
// request gets its own scope's response, or none for a new key.
func testIdempotencyLookupConcurrently(t *testing.T, db *sqlstore.DB) {
	clock := shopd.NewTestClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	svc := &idempotency.Service{Store: db.Idempotency(), Clock: clock}
	const n = 300
	scopes := []string{"guest", "cus_lookup"}
	key := func(i int) string { return "lookup-" + strconv.Itoa(i) }
	body := func(scope string, i int) string { return `{"` + scope + `":` + strconv.Itoa(i) + `}` }
	for i := range n {
		if i%3 == 2 {
			continue // new
		}
		for _, scope := range scopes {
			if rec, err := svc.Begin(ctx, scope, key(i), "h"); err != nil || rec != nil {
				t.Fatalf("claim %s %d: %+v %v", scope, i, rec, err)
			}
			if err := svc.Complete(ctx, scope, key(i), 201, "application/json", "", []byte(body(scope, i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scope := scopes[i%2]
			p, stored, err := svc.Pending(ctx, scope, key(i), "h")
			switch {
			case err != nil:
				t.Errorf("%s %d: %v", scope, i, err)
			case i%3 == 2 && (p == nil || stored != nil):
				t.Errorf("%s %d is new but looked up %+v", scope, i, stored)
			case i%3 != 2 && (stored == nil || string(stored.Body) != body(scope, i) || stored.Status != 201):
				t.Errorf("%s %d replays %+v, want %s", scope, i, stored, body(scope, i))
			}
		}()
	}
	wg.Wait()
}
