package httpapi

import "net/http"

func (s *Server) listWarehouses(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) createWarehouse(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) getWarehouse(w http.ResponseWriter, r *http.Request) error { return errNotImplemented }
func (s *Server) updateWarehouse(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) syncWarehouse(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) listStock(w http.ResponseWriter, r *http.Request) error    { return errNotImplemented }
func (s *Server) receiveStock(w http.ResponseWriter, r *http.Request) error { return errNotImplemented }
func (s *Server) adjustStock(w http.ResponseWriter, r *http.Request) error  { return errNotImplemented }
func (s *Server) transferStock(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) listMovements(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
