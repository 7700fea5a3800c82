// Package staff holds merchant staff access: API keys with roles, and the
// audit log of every staff action.
package staff

import (
	"context"
	"strings"
	"time"

	"github.com/shopd/shopd"
)

// Role is what a staff key may do. Roles are ordered: each includes the
// powers of the ones below it.
type Role string

// Staff roles, from most to least powerful.
const (
	RoleOwner    Role = "owner"     // everything, including managing API keys
	RoleAdmin    Role = "admin"     // change catalog, markets, prices, stock
	RoleSupport  Role = "support"   // act on orders and customers
	RoleReadOnly Role = "read_only" // read everything, change nothing
)

var roleRank = map[Role]int{RoleReadOnly: 1, RoleSupport: 2, RoleAdmin: 3, RoleOwner: 4}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return roleRank[r] > 0 }

// Includes reports whether r has at least the powers of other.
func (r Role) Includes(other Role) bool { return r.Valid() && roleRank[r] >= roleRank[other] }

// Key is a staff API key. The secret itself is shown once at creation and
// stored only as a hash.
type Key struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Role       Role      `json:"role"`
	Prefix     string    `json:"prefix"` // the first characters of the secret, to recognise it
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

// AuditEntry records one staff action.
type AuditEntry struct {
	ID        string    `json:"id"`
	KeyID     string    `json:"key_id"`
	KeyName   string    `json:"key_name"`
	Role      Role      `json:"role"`
	Action    string    `json:"action"` // route pattern, e.g. "POST /v1/admin/products"
	Path      string    `json:"path"`   // the request path, e.g. "/v1/admin/products/prd_…/archive"
	Status    int       `json:"status"`
	RequestID string    `json:"request_id"`
	CreatedAt time.Time `json:"created_at"`
}

// KeyPrefix starts every staff API key secret.
const KeyPrefix = "sk"

// Store is what Service needs from storage.
type Store interface {
	// CreateKey stores a key with the hash of its secret.
	CreateKey(ctx context.Context, k Key, secretHash string) error
	// KeyBySecretHash returns the key with the secret hash, revoked or not,
	// or ENOTFOUND.
	KeyBySecretHash(ctx context.Context, secretHash string) (Key, error)
	// Keys lists every key, newest first.
	Keys(ctx context.Context) ([]Key, error)
	// RevokeKey marks a key revoked at t (keeping an earlier revocation), or
	// returns ENOTFOUND.
	RevokeKey(ctx context.Context, id string, t time.Time) (Key, error)
	// TouchKey records that a key was used at t.
	TouchKey(ctx context.Context, id string, t time.Time) error
	// AppendAudit stores an audit entry.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// Audit lists entries newest first, before the cursor ID if one is given,
	// optionally only those of one key.
	Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	KeyID  string
	Before string // an entry ID: list older entries only
	Limit  int
}

// Service manages staff keys and the audit log.
type Service struct {
	store Store
	clock shopd.Clock
}

// NewService returns a Service on store.
func NewService(store Store, clock shopd.Clock) *Service {
	return &Service{store: store, clock: clock}
}

// touchEvery bounds how often a key's last use is written, so that reads by
// staff do not turn into writes.
const touchEvery = time.Minute

// errBadKey is the one answer to every failed key check, so that a caller
// cannot tell a revoked key from an unknown one.
var errBadKey = shopd.TypedErrorf(shopd.EUNAUTHORIZED, "invalid-api-key", "The API key is not valid.")

// Authenticate returns the live key whose secret is given, or EUNAUTHORIZED.
func (s *Service) Authenticate(ctx context.Context, secret string) (Key, error) {
	if !strings.HasPrefix(secret, KeyPrefix+"_") {
		return Key{}, errBadKey
	}
	k, err := s.store.KeyBySecretHash(ctx, shopd.HashSecret(secret))
	if shopd.ErrorCode(err) == shopd.ENOTFOUND || (err == nil && !k.RevokedAt.IsZero()) {
		return Key{}, errBadKey
	} else if err != nil {
		return Key{}, err
	}
	if now := s.clock.Now(); now.Sub(k.LastUsedAt) >= touchEvery {
		if err := s.store.TouchKey(ctx, k.ID, now); err != nil {
			return Key{}, err
		}
		k.LastUsedAt = now
	}
	return k, nil
}

// MaxKeyNameLength bounds a key's name.
const MaxKeyNameLength = 100

// CreateKey makes a new API key with a role and returns it with its secret,
// which is shown only this once. It returns EINVALID for a bad name or role.
func (s *Service) CreateKey(ctx context.Context, name string, role Role) (Key, string, error) {
	name = strings.TrimSpace(name)
	var v shopd.Validation
	v.Check(name != "" && len(name) <= MaxKeyNameLength, "name", "must be 1 to 100 characters")
	v.Check(role.Valid(), "role", "must be one of owner, admin, support, read_only")
	if err := v.Err(); err != nil {
		return Key{}, "", err
	}
	secret := shopd.NewSecret(KeyPrefix)
	k := Key{ID: shopd.NewID("key"), Name: name, Role: role, Prefix: secret[:len(KeyPrefix)+7], CreatedAt: s.clock.Now()}
	if err := s.store.CreateKey(ctx, k, shopd.HashSecret(secret)); err != nil {
		return Key{}, "", err
	}
	return k, secret, nil
}

// Keys lists every key, newest first. Secrets are never returned.
func (s *Service) Keys(ctx context.Context) ([]Key, error) { return s.store.Keys(ctx) }

// RevokeKey revokes a key at once; revoking twice keeps the first time. It
// returns ENOTFOUND for an unknown key.
func (s *Service) RevokeKey(ctx context.Context, id string) (Key, error) {
	return s.store.RevokeKey(ctx, id, s.clock.Now())
}

// Record appends an entry to the audit log.
func (s *Service) Record(ctx context.Context, e AuditEntry) error {
	return s.store.AppendAudit(ctx, e)
}

// Audit lists audit entries newest first. The limit is clamped to 1..101 (a
// page of 100 and one more to tell whether another follows).
func (s *Service) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	f.Limit = min(max(f.Limit, 1), 101) // a page of 100, plus one to tell whether another follows
	return s.store.Audit(ctx, f)
}
