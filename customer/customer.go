// Package customer holds shopper accounts: registration, password login
// (argon2id), sessions, profile and addresses.
package customer

import (
	"context"
	"time"

	"github.com/shopd/shopd"
)

// SessionPrefix starts every customer session token.
const SessionPrefix = "cs"

// Session is a logged-in customer's session. The token is shown once at
// login and stored only as a hash.
type Session struct {
	ID         string
	CustomerID string
	ExpiresAt  time.Time
}

// Store is what Service needs from storage.
type Store interface {
	// TODO(accounts)
}

// Service manages customer accounts and sessions.
type Service struct {
	store Store
	clock shopd.Clock
}

// NewService returns a Service on store.
func NewService(store Store, clock shopd.Clock) *Service {
	return &Service{store: store, clock: clock}
}

// Authenticate returns the live session for a token, or EUNAUTHORIZED.
func (s *Service) Authenticate(ctx context.Context, token string) (Session, error) {
	return Session{}, shopd.Errorf(shopd.EUNAUTHORIZED, "not implemented")
}
