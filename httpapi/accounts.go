package httpapi

import (
	"net/http"
	"time"

	"github.com/shopd/shopd/boxalloc"
	"github.com/shopd/shopd/customer"
)

// Account responses hold personal data and session tokens: no cache, shared
// or private, may keep them.
func noStore(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }

// registerRequest is the body of POST /v1/customers.
type registerRequest struct {
	Email            string `json:"email"`
	Password         string `json:"password"`
	Name             string `json:"name"`
	Market           string `json:"market"`
	AcceptsMarketing bool   `json:"accepts_marketing"`
}

// loginRequest is the body of POST /v1/sessions.
type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// sessionToken shows a new session's token, the only time it is shown.
type sessionToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// authResponse answers registration and login.
type authResponse struct {
	Customer customer.Customer `json:"customer"`
	Session  sessionToken      `json:"session"`
}

func newAuthResponse(c customer.Customer, ns customer.NewSession) authResponse {
	return authResponse{Customer: c, Session: sessionToken{Token: ns.Token, ExpiresAt: ns.ExpiresAt}}
}

// register creates a customer account and logs it in.
func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	var req registerRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	c, ns, err := s.Customers.Register(r.Context(), customer.Registration{
		Email: req.Email, Password: req.Password, Name: req.Name, Market: req.Market, AcceptsMarketing: req.AcceptsMarketing,
	})
	if err != nil {
		return err
	}
	noStore(w)
	return created(w, "/v1/me", newAuthResponse(c, ns))
}

// login opens a session for an email and password.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	c, ns, err := s.Customers.Login(r.Context(), req.Email, req.Password)
	if err != nil {
		return err
	}
	noStore(w)
	return created(w, "/v1/sessions/current", newAuthResponse(c, ns))
}

// logout ends the caller's session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.Customers.Logout(r.Context(), callerFrom(r).session); err != nil {
		return err
	}
	return noContent(w)
}

// getMe returns the logged-in customer.
func (s *Server) getMe(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Customers.Me(r.Context(), callerFrom(r).session)
	if err != nil {
		return err
	}
	noStore(w)
	return respond(w, http.StatusOK, c)
}

// updateMeRequest is the body of PATCH /v1/me; absent (or null) fields stay
// as they are.
type updateMeRequest struct {
	Name             *string `json:"name"`
	Market           *string `json:"market"`
	AcceptsMarketing *bool   `json:"accepts_marketing"`
	Password         *string `json:"password"`
	CurrentPassword  *string `json:"current_password"`
}

// updateMe changes the logged-in customer's profile or password.
func (s *Server) updateMe(w http.ResponseWriter, r *http.Request) error {
	var req updateMeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	c, err := s.Customers.UpdateMe(r.Context(), callerFrom(r).session, customer.Update{
		Name: req.Name, Market: req.Market, AcceptsMarketing: req.AcceptsMarketing, Password: req.Password, CurrentPassword: req.CurrentPassword,
	})
	if err != nil {
		return err
	}
	noStore(w)
	return respond(w, http.StatusOK, c)
}

// addressRequest is the body of POST /v1/me/addresses.
type addressRequest struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
	Phone      string `json:"phone"`
}

// listAddresses lists the logged-in customer's addresses, oldest first.
func (s *Server) listAddresses(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Customers.Addresses(r.Context(), callerFrom(r).session)
	if err != nil {
		return err
	}
	noStore(w)
	return respond(w, http.StatusOK, List[customer.Address]{Data: list})
}

// createAddress adds an address to the logged-in customer.
func (s *Server) createAddress(w http.ResponseWriter, r *http.Request) error {
	var req addressRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	a, err := s.Customers.AddAddress(r.Context(), callerFrom(r).session, customer.AddressInput(req))
	if err != nil {
		return err
	}
	noStore(w)
	return created(w, "/v1/me/addresses/"+a.ID, a)
}

// getAddress returns one of the logged-in customer's addresses; another
// customer's address is 404, as if it did not exist.
func (s *Server) getAddress(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Customers.Address(r.Context(), callerFrom(r).session, r.PathValue("address"))
	if err != nil {
		return err
	}
	noStore(w)
	return respond(w, http.StatusOK, a)
}

// deleteAddress deletes one of the logged-in customer's addresses.
func (s *Server) deleteAddress(w http.ResponseWriter, r *http.Request) error {
	if err := s.Customers.DeleteAddress(r.Context(), callerFrom(r).session, r.PathValue("address")); err != nil {
		return err
	}
	return noContent(w)
}

// adminCustomer is a customer as staff see it: the account and its
// addresses, never credentials or sessions.
type adminCustomer struct {
	customer.Customer
	Addresses []customer.Address `json:"addresses"`
}

// adminListCustomers lists customers for staff, optionally by email prefix.
func (s *Server) adminListCustomers(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", 20, 1, customer.MaxListLimit)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	list, next, err := s.Customers.ListCustomers(r.Context(), customer.CustomerFilter{EmailPrefix: q.Get("email"), After: q.Get("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	noStore(w)
	return respond(w, http.StatusOK, List[customer.Customer]{Data: list, NextCursor: next})
}

// adminGetCustomer returns one customer with its addresses for staff.
func (s *Server) adminGetCustomer(w http.ResponseWriter, r *http.Request) error {
	c, addrs, err := s.Customers.Customer(r.Context(), r.PathValue("customer"))
	if err != nil {
		return err
	}
	noStore(w)
	return respond(w, http.StatusOK, adminCustomer{Customer: c, Addresses: addrs})
}

// getProfile returns the logged-in customer's beauty profile.
func (s *Server) getProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Customers.Profile(r.Context(), callerFrom(r).session)
	if err != nil {
		return err
	}
	noStore(w)
	return respond(w, http.StatusOK, p)
}

// setProfile replaces the logged-in customer's beauty profile (the style
// quiz sends every answer at once).
func (s *Server) setProfile(w http.ResponseWriter, r *http.Request) error {
	var req boxalloc.Profile
	if err := decode(r, &req); err != nil {
		return err
	}
	p, err := s.Customers.SetProfile(r.Context(), callerFrom(r).session, req)
	if err != nil {
		return err
	}
	noStore(w)
	return respond(w, http.StatusOK, p)
}

// adminGetCustomerProfile returns a customer's beauty profile for staff.
func (s *Server) adminGetCustomerProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Customers.CustomerProfile(r.Context(), r.PathValue("customer"))
	if err != nil {
		return err
	}
	noStore(w)
	return respond(w, http.StatusOK, p)
}
