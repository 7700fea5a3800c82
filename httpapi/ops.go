package httpapi

import (
	"net/http"

	"github.com/shopd/shopd"
)

// livez answers 200 while the process runs: restart it only if this fails.
func (s *Server) livez(w http.ResponseWriter, r *http.Request) error {
	return respond(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the process can serve traffic: the database
// answers, migrations are current and the server is not draining.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.draining.Load() {
		return shopd.TypedErrorf(shopd.EUNAVAILABLE, "draining", "The server is shutting down.")
	}
	if s.Ready != nil {
		if err := s.Ready(r.Context()); err != nil {
			if shopd.ErrorCode(err) != shopd.EUNAVAILABLE {
				err = shopd.Errorf(shopd.EUNAVAILABLE, "not ready: %v", err)
			}
			return err
		}
	}
	return respond(w, http.StatusOK, map[string]string{"status": "ready"})
}

// metrics serves the Prometheus metrics (404 when metrics are off).
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) error {
	if s.Metrics == nil {
		return shopd.TypedErrorf(shopd.ENOTFOUND, "route-not-found", "Metrics are off.")
	}
	s.Metrics.Handler().ServeHTTP(w, r)
	return nil
}

// openAPI serves the API's OpenAPI 3 document.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err := w.Write(s.spec)
	return err
}
