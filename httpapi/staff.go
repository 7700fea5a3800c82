package httpapi

import (
	"net/http"

	"github.com/shopd/shopd/staff"
)

// listAPIKeys lists staff API keys (never their secrets).
func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.Staff.Keys(r.Context())
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, List[staff.Key]{Data: keys})
}

// newKeyRequest is the body of POST /v1/admin/api-keys.
type newKeyRequest struct {
	Name string     `json:"name"`
	Role staff.Role `json:"role"`
}

// newKeyResponse shows a new key's secret, the only time it is shown.
type newKeyResponse struct {
	staff.Key
	Secret string `json:"secret"`
}

// createAPIKey makes a key; only owners may.
func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var req newKeyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	k, secret, err := s.Staff.CreateKey(r.Context(), req.Name, req.Role)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return created(w, "/v1/admin/api-keys/"+k.ID, newKeyResponse{Key: k, Secret: secret})
}

// revokeAPIKey revokes a key at once.
func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.Staff.RevokeKey(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, k)
}

// listAuditLog lists staff actions, newest first.
func (s *Server) listAuditLog(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", 50, 1, 100)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	entries, err := s.Staff.Audit(r.Context(), staff.AuditFilter{KeyID: q.Get("key_id"), Before: q.Get("cursor"), Limit: limit + 1})
	if err != nil {
		return err
	}
	page := List[staff.AuditEntry]{Data: entries}
	if len(entries) > limit {
		page.Data = entries[:limit]
		page.NextCursor = entries[limit-1].ID
	}
	return respond(w, http.StatusOK, page)
}
