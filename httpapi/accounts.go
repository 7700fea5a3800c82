package httpapi

import "net/http"

func (s *Server) register(w http.ResponseWriter, r *http.Request) error { return errNotImplemented }
func (s *Server) login(w http.ResponseWriter, r *http.Request) error    { return errNotImplemented }
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error   { return errNotImplemented }
func (s *Server) getMe(w http.ResponseWriter, r *http.Request) error    { return errNotImplemented }
func (s *Server) updateMe(w http.ResponseWriter, r *http.Request) error { return errNotImplemented }
func (s *Server) listAddresses(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) createAddress(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) getAddress(w http.ResponseWriter, r *http.Request) error { return errNotImplemented }
func (s *Server) deleteAddress(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) adminListCustomers(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) adminGetCustomer(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
