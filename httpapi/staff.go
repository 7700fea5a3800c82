package httpapi

import "net/http"

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) error  { return errNotImplemented }
func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error { return errNotImplemented }
func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) error { return errNotImplemented }
func (s *Server) listAuditLog(w http.ResponseWriter, r *http.Request) error { return errNotImplemented }
