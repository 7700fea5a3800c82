// Package idempotency gives every POST of the API Stripe's idempotency
// semantics: the first response for a caller's key is stored for 24 hours and
// replayed; the same key with other parameters is rejected; a duplicate that
// arrives while the first is still running gets a conflict.
package idempotency

import (
	"context"
	"errors"
	"time"

	"github.com/shopd/shopd"
)

// TTL is how long a stored response is replayed.
const TTL = 24 * time.Hour

// LockTTL is how long a request may hold a key before another request with
// the same key may take it over (the first one crashed or hung).
const LockTTL = 5 * time.Minute

// MaxKeyLength bounds the Idempotency-Key header.
const MaxKeyLength = 255

// Record is a stored idempotency key.
type Record struct {
	Scope       string
	Key         string
	RequestHash string
	Status      int // 0 while the first request is still running
	ContentType string
	Location    string
	Body        []byte
	LockedAt    time.Time
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Store keeps idempotency records.
type Store interface {
	// Claim inserts rec unless the (scope, key) pair exists and is neither
	// expired nor an abandoned lock older than staleBefore; in that case it
	// returns the existing record and claimed=false.
	Claim(ctx context.Context, rec Record, staleBefore time.Time) (existing Record, claimed bool, err error)
	// Lookup reads a key's record without claiming it.
	Lookup(ctx context.Context, scope, key string) (rec Record, found bool, err error)
	// CompleteAll stores the responses of claimed keys, in one transaction.
	CompleteAll(ctx context.Context, cs []Completion) error
	// Release deletes a claimed key whose request failed in a way the client
	// may retry (a server error), so a retry runs afresh.
	Release(ctx context.Context, scope, key string) error
}

// Errors returned by Begin, each with a stable problem type.
var (
	ErrKeyInUse    = shopd.TypedErrorf(shopd.ECONFLICT, "idempotency-key-in-use", "A request with this Idempotency-Key is still being processed; retry later.")
	ErrKeyMismatch = shopd.TypedErrorf(shopd.EUNPROCESSABLE, "idempotency-key-reused", "This Idempotency-Key was already used with different parameters.")
	ErrKeyInvalid  = shopd.TypedErrorf(shopd.EINVALID, "idempotency-key-invalid", "The Idempotency-Key header must be 1 to 255 printable ASCII characters.")
)

// ErrKeyExists is a store's answer to claiming keys expected to be new
// (a batch of checkouts, claimed with its writes) when one of them
// exists: the transaction must be rolled back, and the keys claimed one
// by one, which tells a replay from a key in use.
var ErrKeyExists = errors.New("idempotency: a key claimed as new exists")

// Service decides what to do with a request that carries a key.
type Service struct {
	Store Store
	Clock shopd.Clock

	completions completions // Completes written together (group.go)
}

// Begin claims key for a request. It returns (nil, nil) when the caller now
// owns the key and must run the request and then Complete or Release it; a
// stored *Record to replay; or ErrKeyInUse / ErrKeyMismatch / ErrKeyInvalid.
func (s *Service) Begin(ctx context.Context, scope, key, requestHash string) (*Record, error) {
	p, err := s.pending(scope, key, requestHash)
	if err != nil {
		return nil, err
	}
	existing, claimed, err := s.Store.Claim(ctx, p.Record, p.staleBefore)
	if err != nil || claimed {
		return nil, err
	}
	return decide(existing, requestHash)
}

// decide answers a request whose key another request already holds.
func decide(existing Record, requestHash string) (*Record, error) {
	switch {
	case existing.RequestHash != requestHash:
		return nil, ErrKeyMismatch
	case existing.Status == 0:
		return nil, ErrKeyInUse
	default:
		return &existing, nil
	}
}

// Pending is a key to be claimed inside the transaction of the request's
// own first write, instead of in a transaction of its own: one commit less
// per request, and the key and the write it guards commit together or not
// at all. The API does this for checkouts: it puts the Pending in the
// request's context (WithPending), the checkout transaction calls Claim,
// and the checkout sets Claimed once that transaction has committed.
type Pending struct {
	Record      Record
	staleBefore time.Time
	Claimed     bool // set by the request once its claiming transaction committed
}

// Pending returns the key of a request for claiming in its transaction;
// or, like Begin, the stored *Record of an earlier request with this key
// to replay, ErrKeyInUse, ErrKeyMismatch or ErrKeyInvalid. It only reads:
// the claim itself is the transaction's (Pending.Claim).
func (s *Service) Pending(ctx context.Context, scope, key, requestHash string) (*Pending, *Record, error) {
	p, err := s.pending(scope, key, requestHash)
	if err != nil {
		return nil, nil, err
	}
	existing, found, err := s.Store.Lookup(ctx, scope, key)
	if err != nil || !found || !existing.ExpiresAt.After(p.Record.CreatedAt) {
		return p, nil, err
	}
	stored, err := decide(existing, requestHash)
	return nil, stored, err
}

func (s *Service) pending(scope, key, requestHash string) (*Pending, error) {
	if !ValidKey(key) {
		return nil, ErrKeyInvalid
	}
	now := s.Clock.Now()
	return &Pending{
		Record:      Record{Scope: scope, Key: key, RequestHash: requestHash, LockedAt: now, CreatedAt: now, ExpiresAt: now.Add(TTL)},
		staleBefore: now.Add(-LockTTL),
	}, nil
}

// Claimer claims keys inside a transaction; the store's transactions are.
type Claimer interface {
	ClaimKey(ctx context.Context, rec Record, staleBefore time.Time) (existing Record, claimed bool, err error)
}

// Claim claims the key in tx. It returns nil if the transaction now holds
// the key; a *Replay error carrying the stored response of an earlier
// request with this key; ErrKeyInUse or ErrKeyMismatch. A key claimed this
// way is never taken over as abandoned: its claim committed with the
// request's effects, so running the request again would repeat them.
func (p *Pending) Claim(ctx context.Context, tx Claimer) error {
	existing, claimed, err := tx.ClaimKey(ctx, p.Record, time.Time{})
	if err != nil || claimed {
		return err
	}
	stored, err := decide(existing, p.Record.RequestHash)
	if err != nil {
		return err
	}
	return &Replay{Record: *stored}
}

// Replay is the "error" of a request whose key already has a stored
// response: the API answers with that response.
type Replay struct{ Record Record }

func (r *Replay) Error() string { return "idempotency: replay the stored response" }

type pendingKey struct{}

// WithPending returns ctx carrying p.
func WithPending(ctx context.Context, p *Pending) context.Context {
	return context.WithValue(ctx, pendingKey{}, p)
}

// PendingFrom returns the Pending key of ctx, or nil.
func PendingFrom(ctx context.Context) *Pending {
	p, _ := ctx.Value(pendingKey{}).(*Pending)
	return p
}

// Complete stores the response for replay.
func (s *Service) Complete(ctx context.Context, scope, key string, status int, contentType, location string, body []byte) error {
	c := Completion{Scope: scope, Key: key, Status: status, ContentType: contentType, Location: location, Body: body}
	return s.completions.complete(ctx, c, s.Store.CompleteAll)
}

// Release forgets a claimed key so that a retry runs afresh.
func (s *Service) Release(ctx context.Context, scope, key string) error {
	return s.Store.Release(ctx, scope, key)
}

// ValidKey reports whether key is 1–255 printable ASCII characters.
func ValidKey(key string) bool {
	if key == "" || len(key) > MaxKeyLength {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}
