package httpapi

import "net/http"

func (s *Server) createCart(w http.ResponseWriter, r *http.Request) error  { return errNotImplemented }
func (s *Server) getCart(w http.ResponseWriter, r *http.Request) error     { return errNotImplemented }
func (s *Server) addCartLine(w http.ResponseWriter, r *http.Request) error { return errNotImplemented }
func (s *Server) updateCartLine(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) removeCartLine(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) applyDiscount(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) removeDiscount(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) listDiscounts(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) createDiscount(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) getDiscount(w http.ResponseWriter, r *http.Request) error { return errNotImplemented }
func (s *Server) updateDiscount(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
