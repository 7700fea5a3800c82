// Package customer holds shopper accounts: registration, password login
// (argon2id), sessions, profile and addresses.
package customer

import (
	"context"
	"strings"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/market"
)

// SessionPrefix starts every customer session token.
const SessionPrefix = "cs"

// DefaultSessionTTL is how long a session lasts after login.
const DefaultSessionTTL = 30 * 24 * time.Hour

// Customer is a shopper's account. It never carries the password hash.
type Customer struct {
	ID               string    `json:"id"`
	Email            string    `json:"email"`
	Name             string    `json:"name"`
	Market           string    `json:"market,omitempty"` // market code, "" if the customer chose none
	AcceptsMarketing bool      `json:"accepts_marketing"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// Address is one of a customer's postal addresses.
type Address struct {
	ID         string    `json:"id"`
	CustomerID string    `json:"-"`
	Name       string    `json:"name"`
	Line1      string    `json:"line1"`
	Line2      string    `json:"line2"`
	City       string    `json:"city"`
	Region     string    `json:"region"`      // state or province code, e.g. "CA", "SP"
	PostalCode string    `json:"postal_code"` // may be empty where none is used
	Country    string    `json:"country"`     // ISO 3166-1 alpha-2
	Phone      string    `json:"phone"`
	CreatedAt  time.Time `json:"created_at"`
}

// Session is a logged-in customer's session. The token is shown once at
// login and stored only as a hash.
type Session struct {
	ID         string
	CustomerID string
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// NewSession is a session just made: the secret token is known only now.
type NewSession struct {
	Session
	Token string
}

// PasswordChange replaces a customer's password hash, provided it is still
// OldHash (so two concurrent changes cannot both win).
type PasswordChange struct {
	OldHash string
	NewHash string
	// RevokeSessions deletes every session of the customer except KeepSession.
	RevokeSessions bool
	KeepSession    string
}

// CustomerFilter selects customers for staff lists, in ID (creation) order.
type CustomerFilter struct {
	EmailPrefix string // lower-case; "" for all
	After       string // the last ID of the previous page
	Limit       int
}

// Store is what Service needs from storage.
type Store interface {
	// CreateCustomer stores a new customer with its password hash and first
	// session, atomically. ECONFLICT "email-taken" if the email exists.
	CreateCustomer(ctx context.Context, c Customer, passwordHash string, s Session, tokenHash string) error
	// Customer returns a customer, or ENOTFOUND.
	Customer(ctx context.Context, id string) (Customer, error)
	// CustomerByEmail returns a customer and its password hash, or ENOTFOUND.
	CustomerByEmail(ctx context.Context, email string) (Customer, string, error)
	// PasswordHash returns a customer's password hash, or ENOTFOUND.
	PasswordHash(ctx context.Context, customerID string) (string, error)
	// UpdateCustomer locks the customer, applies update (if not nil; it sets
	// UpdatedAt) and pw (if not nil), and returns the stored result. ENOTFOUND
	// if the customer does not exist; ECONFLICT "password-changed" if the
	// hash is no longer pw.OldHash; update's own error is returned as is.
	UpdateCustomer(ctx context.Context, id string, update func(*Customer) error, pw *PasswordChange) (Customer, error)
	// Customers lists customers matching f, in ID order.
	Customers(ctx context.Context, f CustomerFilter) ([]Customer, error)

	// CreateSession stores a session under the hash of its token; ENOTFOUND
	// if the customer does not exist.
	CreateSession(ctx context.Context, s Session, tokenHash string) error
	// SessionByTokenHash returns a session (live or expired), or ENOTFOUND.
	SessionByTokenHash(ctx context.Context, tokenHash string) (Session, error)
	// DeleteSession deletes a session; deleting a missing one is no error.
	DeleteSession(ctx context.Context, id string) error
	// DeleteExpiredSessions deletes sessions that expired at or before t and
	// returns how many.
	DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error)

	// Profile returns a customer's beauty profile (empty if there is none).
	Profile(ctx context.Context, customerID string) (Profile, error)
	// SaveProfile stores a customer's beauty profile, replacing any; ENOTFOUND
	// if the customer does not exist.
	SaveProfile(ctx context.Context, customerID string, p Profile) error

	// CreateAddress stores an address unless the customer already has max;
	// then ECONFLICT "address-limit".
	CreateAddress(ctx context.Context, a Address, max int) error
	// Addresses returns a customer's addresses, oldest first.
	Addresses(ctx context.Context, customerID string) ([]Address, error)
	// Address returns the customer's address, or ENOTFOUND if it does not
	// exist or belongs to another customer.
	Address(ctx context.Context, customerID, id string) (Address, error)
	// DeleteAddress deletes the customer's address, or returns ENOTFOUND if
	// it does not exist or belongs to another customer.
	DeleteAddress(ctx context.Context, customerID, id string) error
}

// Markets is how Service checks a market code; *market.Service is one.
type Markets interface {
	// Market returns the market, or ENOTFOUND.
	Market(ctx context.Context, code string) (market.Market, error)
}

// Service manages customer accounts and sessions.
type Service struct {
	store Store
	clock shopd.Clock

	// Markets checks the market a customer chooses. If nil, only the code's
	// syntax is checked (cmd/shopd always sets it).
	Markets Markets
	// SessionTTL is how long a session lasts; DefaultSessionTTL if zero.
	SessionTTL time.Duration
}

// NewService returns a Service on store.
func NewService(store Store, clock shopd.Clock) *Service {
	return &Service{store: store, clock: clock}
}

// Errors with stable problem types.
var (
	errInvalidCredentials = shopd.TypedErrorf(shopd.EUNAUTHORIZED, "invalid-credentials", "The email or password is wrong.")
	errInvalidSession     = shopd.TypedErrorf(shopd.EUNAUTHORIZED, "invalid-session", "The session is unknown or has expired; log in again.")
	errWrongPassword      = &shopd.Error{Code: shopd.EFORBIDDEN, Type: "invalid-credentials", Message: "The current password is wrong.",
		Fields: []shopd.FieldError{{Field: "current_password", Message: "is wrong"}}}
)

// Registration is what a new customer gives.
type Registration struct {
	Email            string
	Password         string
	Name             string
	Market           string // optional
	AcceptsMarketing bool
}

// Register creates a customer and logs it in. It returns EINVALID for bad
// input (including an unknown market), ECONFLICT "email-taken" if the email
// has an account, and EUNAVAILABLE if password hashing is saturated until
// ctx ends.
func (s *Service) Register(ctx context.Context, in Registration) (Customer, NewSession, error) {
	var v shopd.Validation
	email, err := NormalizeEmail("email", in.Email)
	if err != nil {
		v.Addf("email", "%s", fieldMessage(err))
	}
	if err := checkPassword("password", in.Password); err != nil {
		v.Addf("password", "%s", fieldMessage(err))
	}
	name := checkText(&v, "name", in.Name, MaxNameLength, false)
	code := ""
	if in.Market != "" {
		code = checkMarketCode(&v, "market", in.Market)
	}
	if err := v.Err(); err != nil {
		return Customer{}, NewSession{}, err
	}
	if err := s.checkMarket(ctx, code); err != nil {
		return Customer{}, NewSession{}, err
	}
	hash, err := hashPassword(ctx, in.Password, DefaultParams)
	if err != nil {
		return Customer{}, NewSession{}, err
	}
	now := s.clock.Now().UTC()
	c := Customer{ID: shopd.NewID("cus"), Email: email, Name: name, Market: code, AcceptsMarketing: in.AcceptsMarketing, CreatedAt: now, UpdatedAt: now}
	ns := s.newSession(c.ID, now)
	if err := s.store.CreateCustomer(ctx, c, hash, ns.Session, shopd.HashSecret(ns.Token)); err != nil {
		return Customer{}, NewSession{}, err
	}
	return c, ns, nil
}

// fieldMessage returns the message of the first field error of a
// validation error.
func fieldMessage(err error) string {
	if e, ok := err.(*shopd.Error); ok && len(e.Fields) > 0 {
		return e.Fields[0].Message
	}
	return err.Error()
}

// checkMarket returns EINVALID if code names no enabled market.
func (s *Service) checkMarket(ctx context.Context, code string) error {
	if code == "" || s.Markets == nil {
		return nil
	}
	m, err := s.Markets.Market(ctx, code)
	var v shopd.Validation
	switch {
	case shopd.ErrorCode(err) == shopd.ENOTFOUND:
		v.Addf("market", "no market has the code %q", code)
	case err != nil:
		return err
	case !m.Enabled:
		v.Addf("market", "market %q is not open", code)
	}
	return v.Err()
}

func (s *Service) sessionTTL() time.Duration {
	if s.SessionTTL > 0 {
		return s.SessionTTL
	}
	return DefaultSessionTTL
}

func (s *Service) newSession(customerID string, now time.Time) NewSession {
	return NewSession{
		Session: Session{ID: shopd.NewID("ses"), CustomerID: customerID, CreatedAt: now, ExpiresAt: now.Add(s.sessionTTL())},
		Token:   shopd.NewSecret(SessionPrefix),
	}
}

// Login checks an email and password and opens a session. Wrong
// credentials, whether the email is unknown or the password wrong, return
// the same EUNAUTHORIZED "invalid-credentials" after the same work (one
// argon2id hash). It returns EINVALID for input that cannot be credentials
// and EUNAVAILABLE if password hashing is saturated until ctx ends.
func (s *Service) Login(ctx context.Context, email, password string) (Customer, NewSession, error) {
	var v shopd.Validation
	v.Check(strings.TrimSpace(email) != "" && len(email) <= MaxEmailLength+64, "email", "is required and at most 254 bytes")
	v.Check(password != "" && len(password) <= 4*MaxPasswordLength, "password", "is required and at most 256 characters")
	if err := v.Err(); err != nil {
		return Customer{}, NewSession{}, err
	}
	email = strings.ToLower(strings.TrimSpace(email))
	c, hash, err := s.store.CustomerByEmail(ctx, email)
	switch {
	case shopd.ErrorCode(err) == shopd.ENOTFOUND:
		// Spend the same hash a real account would, so timing reveals nothing.
		if _, err := verifyPassword(ctx, dummyHash, password); err != nil {
			return Customer{}, NewSession{}, err
		}
		return Customer{}, NewSession{}, errInvalidCredentials
	case err != nil:
		return Customer{}, NewSession{}, err
	}
	ok, err := verifyPassword(ctx, hash, password)
	if err != nil {
		return Customer{}, NewSession{}, err
	}
	if !ok {
		return Customer{}, NewSession{}, errInvalidCredentials
	}
	if needsRehash(hash) {
		// Best effort: the login succeeds even if the upgrade does not.
		if nh, err := hashPassword(ctx, password, DefaultParams); err == nil {
			_, _ = s.store.UpdateCustomer(ctx, c.ID, nil, &PasswordChange{OldHash: hash, NewHash: nh})
		}
	}
	ns := s.newSession(c.ID, s.clock.Now().UTC())
	if err := s.store.CreateSession(ctx, ns.Session, shopd.HashSecret(ns.Token)); err != nil {
		if shopd.ErrorCode(err) == shopd.ENOTFOUND {
			return Customer{}, NewSession{}, errInvalidCredentials // deleted meanwhile
		}
		return Customer{}, NewSession{}, err
	}
	return c, ns, nil
}

// Authenticate returns the live session for a token, or EUNAUTHORIZED
// "invalid-session" if the token is unknown or expired.
func (s *Service) Authenticate(ctx context.Context, token string) (Session, error) {
	if !strings.HasPrefix(token, SessionPrefix+"_") || len(token) > 128 {
		return Session{}, errInvalidSession
	}
	sess, err := s.store.SessionByTokenHash(ctx, shopd.HashSecret(token))
	switch {
	case shopd.ErrorCode(err) == shopd.ENOTFOUND:
		return Session{}, errInvalidSession
	case err != nil:
		return Session{}, err
	case !s.clock.Now().Before(sess.ExpiresAt):
		return Session{}, errInvalidSession
	}
	return sess, nil
}

// Logout ends the session.
func (s *Service) Logout(ctx context.Context, sess Session) error {
	return s.store.DeleteSession(ctx, sess.ID)
}

// PurgeExpiredSessions deletes sessions that have expired and returns how
// many it deleted; a worker calls it now and then.
func (s *Service) PurgeExpiredSessions(ctx context.Context) (int64, error) {
	return s.store.DeleteExpiredSessions(ctx, s.clock.Now())
}

// Me returns the session's customer, or ENOTFOUND if it was deleted.
func (s *Service) Me(ctx context.Context, sess Session) (Customer, error) {
	return s.store.Customer(ctx, sess.CustomerID)
}

// Update is a change to a customer's own account; nil fields are left as
// they are. Changing the password needs CurrentPassword.
type Update struct {
	Name             *string
	Market           *string // "" clears the choice
	AcceptsMarketing *bool
	Password         *string
	CurrentPassword  *string
}

// UpdateMe changes the session's customer. It returns EINVALID for bad
// input, EFORBIDDEN "invalid-credentials" if CurrentPassword is wrong,
// ECONFLICT "password-changed" if the password changed concurrently, and
// ENOTFOUND if the customer was deleted. A password change ends every other
// session of the customer.
func (s *Service) UpdateMe(ctx context.Context, sess Session, u Update) (Customer, error) {
	var v shopd.Validation
	var name, code string
	if u.Name != nil {
		name = checkText(&v, "name", *u.Name, MaxNameLength, false)
	}
	if u.Market != nil && *u.Market != "" {
		code = checkMarketCode(&v, "market", *u.Market)
	}
	if u.Password != nil {
		if err := checkPassword("password", *u.Password); err != nil {
			v.Addf("password", "%s", fieldMessage(err))
		}
		v.Check(u.CurrentPassword != nil && *u.CurrentPassword != "", "current_password", "is required to change the password")
	}
	if u.CurrentPassword != nil && len(*u.CurrentPassword) > 4*MaxPasswordLength {
		v.Addf("current_password", "must be at most %d characters", MaxPasswordLength)
	}
	if err := v.Err(); err != nil {
		return Customer{}, err
	}
	if err := s.checkMarket(ctx, code); err != nil {
		return Customer{}, err
	}
	var pw *PasswordChange
	if u.Password != nil {
		old, err := s.store.PasswordHash(ctx, sess.CustomerID)
		if err != nil {
			return Customer{}, err
		}
		ok, err := verifyPassword(ctx, old, *u.CurrentPassword)
		if err != nil {
			return Customer{}, err
		}
		if !ok {
			return Customer{}, errWrongPassword
		}
		nh, err := hashPassword(ctx, *u.Password, DefaultParams)
		if err != nil {
			return Customer{}, err
		}
		pw = &PasswordChange{OldHash: old, NewHash: nh, RevokeSessions: true, KeepSession: sess.ID}
	}
	return s.store.UpdateCustomer(ctx, sess.CustomerID, func(c *Customer) error {
		if u.Name != nil {
			c.Name = name
		}
		if u.Market != nil {
			c.Market = code
		}
		if u.AcceptsMarketing != nil {
			c.AcceptsMarketing = *u.AcceptsMarketing
		}
		c.UpdatedAt = s.clock.Now().UTC()
		return nil
	}, pw)
}

// AddAddress adds an address to the session's customer. It returns EINVALID
// for bad input and ECONFLICT "address-limit" past MaxAddresses.
func (s *Service) AddAddress(ctx context.Context, sess Session, in AddressInput) (Address, error) {
	in, err := in.normalize()
	if err != nil {
		return Address{}, err
	}
	a := Address{
		ID: shopd.NewID("adr"), CustomerID: sess.CustomerID, Name: in.Name, Line1: in.Line1, Line2: in.Line2, City: in.City,
		Region: in.Region, PostalCode: in.PostalCode, Country: in.Country, Phone: in.Phone, CreatedAt: s.clock.Now().UTC(),
	}
	if err := s.store.CreateAddress(ctx, a, MaxAddresses); err != nil {
		return Address{}, err
	}
	return a, nil
}

// Addresses returns the session's customer's addresses, oldest first.
func (s *Service) Addresses(ctx context.Context, sess Session) ([]Address, error) {
	return s.store.Addresses(ctx, sess.CustomerID)
}

// Address returns one of the session's customer's addresses, or ENOTFOUND
// if it does not exist or belongs to someone else.
func (s *Service) Address(ctx context.Context, sess Session, id string) (Address, error) {
	if !shopd.HasIDPrefix(id, "adr") {
		return Address{}, errAddressNotFound
	}
	return s.store.Address(ctx, sess.CustomerID, id)
}

// DeleteAddress deletes one of the session's customer's addresses, or
// returns ENOTFOUND if it does not exist or belongs to someone else.
func (s *Service) DeleteAddress(ctx context.Context, sess Session, id string) error {
	if !shopd.HasIDPrefix(id, "adr") {
		return errAddressNotFound
	}
	return s.store.DeleteAddress(ctx, sess.CustomerID, id)
}

var (
	errAddressNotFound  = shopd.TypedErrorf(shopd.ENOTFOUND, "address-not-found", "No such address.")
	errCustomerNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "customer-not-found", "No such customer.")
)

// Customer returns a customer for staff, or ENOTFOUND.
func (s *Service) Customer(ctx context.Context, id string) (Customer, []Address, error) {
	if !shopd.HasIDPrefix(id, "cus") {
		return Customer{}, nil, errCustomerNotFound
	}
	c, err := s.store.Customer(ctx, id)
	if err != nil {
		return Customer{}, nil, err
	}
	addrs, err := s.store.Addresses(ctx, id)
	return c, addrs, err
}

// MaxListLimit bounds a page of customers.
const MaxListLimit = 100

// ListCustomers returns one page of customers for staff, in creation order,
// optionally only those whose email starts with f.EmailPrefix, and the
// cursor of the next page ("" on the last). It returns EINVALID for a bad
// limit, prefix or cursor.
func (s *Service) ListCustomers(ctx context.Context, f CustomerFilter) ([]Customer, string, error) {
	var v shopd.Validation
	f.EmailPrefix = strings.ToLower(strings.TrimSpace(f.EmailPrefix))
	v.Check(len(f.EmailPrefix) <= maxEmailPrefixSize && !hasControl(f.EmailPrefix), "email", "must be at most 254 bytes of text")
	v.Check(f.After == "" || shopd.HasIDPrefix(f.After, "cus"), "cursor", "is not a cursor from a previous page")
	v.Check(f.Limit >= 1 && f.Limit <= MaxListLimit, "limit", "must be from 1 to 100")
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	want := f.Limit
	f.Limit++ // one more tells whether another page follows
	list, err := s.store.Customers(ctx, f)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) > want {
		list = list[:want]
		next = list[want-1].ID
	}
	return list, next, nil
}
