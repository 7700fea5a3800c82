// Package idempotency gives every POST of the API Stripe's idempotency
// semantics: the first response for a caller's key is stored for 24 hours and
// replayed; the same key with other parameters is rejected; a duplicate that
// arrives while the first is still running gets a conflict.
package idempotency

import (
	"context"
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
	// Complete stores the response of a claimed key.
	Complete(ctx context.Context, scope, key string, status int, contentType, location string, body []byte) error
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

// Service decides what to do with a request that carries a key.
type Service struct {
	Store Store
	Clock shopd.Clock
}

// Begin claims key for a request. It returns (nil, nil) when the caller now
// owns the key and must run the request and then Complete or Release it; a
// stored *Record to replay; or ErrKeyInUse / ErrKeyMismatch / ErrKeyInvalid.
func (s *Service) Begin(ctx context.Context, scope, key, requestHash string) (*Record, error) {
	if !ValidKey(key) {
		return nil, ErrKeyInvalid
	}
	now := s.Clock.Now()
	rec := Record{Scope: scope, Key: key, RequestHash: requestHash, LockedAt: now, CreatedAt: now, ExpiresAt: now.Add(TTL)}
	existing, claimed, err := s.Store.Claim(ctx, rec, now.Add(-LockTTL))
	switch {
	case err != nil:
		return nil, err
	case claimed:
		return nil, nil
	case existing.RequestHash != requestHash:
		return nil, ErrKeyMismatch
	case existing.Status == 0:
		return nil, ErrKeyInUse
	default:
		return &existing, nil
	}
}

// Complete stores the response for replay.
func (s *Service) Complete(ctx context.Context, scope, key string, status int, contentType, location string, body []byte) error {
	return s.Store.Complete(ctx, scope, key, status, contentType, location, body)
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
