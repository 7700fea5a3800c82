package httpapi

import "net/http"

func (s *Server) listPayments(w http.ResponseWriter, r *http.Request) error { return errNotImplemented }
func (s *Server) getPayment(w http.ResponseWriter, r *http.Request) error   { return errNotImplemented }
func (s *Server) listTestGatewayCharges(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) stripeWebhook(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
