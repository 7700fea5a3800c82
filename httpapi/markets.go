package httpapi

import "net/http"

func (s *Server) listPublicMarkets(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) listMarkets(w http.ResponseWriter, r *http.Request) error  { return errNotImplemented }
func (s *Server) getMarket(w http.ResponseWriter, r *http.Request) error    { return errNotImplemented }
func (s *Server) updateMarket(w http.ResponseWriter, r *http.Request) error { return errNotImplemented }
func (s *Server) listTaxRates(w http.ResponseWriter, r *http.Request) error { return errNotImplemented }
func (s *Server) createTaxRate(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) updateTaxRate(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) deleteTaxRate(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) listShippingRates(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) createShippingRate(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) updateShippingRate(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) deleteShippingRate(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
