// Package staff holds merchant staff access: API keys with roles, and the
// audit log of every staff action.
package staff

import (
	"context"
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
	// TODO(accounts): CreateKey, KeyByHash, ListKeys, RevokeKey, TouchKey, AppendAudit, ListAudit.
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

// Authenticate returns the live key whose secret is given, or EUNAUTHORIZED.
func (s *Service) Authenticate(ctx context.Context, secret string) (Key, error) {
	return Key{}, shopd.Errorf(shopd.EUNAUTHORIZED, "not implemented")
}

// Record appends an entry to the audit log.
func (s *Service) Record(ctx context.Context, e AuditEntry) error {
	return nil
}

// CreateKey makes a new API key with a role and returns it with its secret,
// which is shown only this once. It returns EINVALID for a bad name or role.
func (s *Service) CreateKey(ctx context.Context, name string, role Role) (Key, string, error) {
	return Key{}, "", shopd.Errorf(shopd.EINTERNAL, "not implemented")
}
