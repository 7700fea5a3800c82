package httpapi

import "net/http"

func (s *Server) listProducts(w http.ResponseWriter, r *http.Request) error { return errNotImplemented }
func (s *Server) getProduct(w http.ResponseWriter, r *http.Request) error   { return errNotImplemented }
func (s *Server) adminListProducts(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) createProduct(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) adminGetProduct(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) updateProduct(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) archiveProduct(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) createVariant(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) updateVariant(w http.ResponseWriter, r *http.Request) error {
	return errNotImplemented
}
func (s *Server) setPrice(w http.ResponseWriter, r *http.Request) error    { return errNotImplemented }
func (s *Server) deletePrice(w http.ResponseWriter, r *http.Request) error { return errNotImplemented }
