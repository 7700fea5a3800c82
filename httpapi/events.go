package httpapi

import (
	"net/http"

	"github.com/shopd/shopd/event"
)

// listEvents lists outbox events oldest first; ?after=<event id> pages on.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", 100, 1, 500)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	events, err := s.Events.Events(r.Context(), event.Filter{Type: q.Get("type"), Subject: q.Get("subject"), After: q.Get("after"), Limit: limit + 1})
	if err != nil {
		return err
	}
	page := List[event.Event]{Data: events}
	if len(events) > limit {
		page.Data = events[:limit]
		page.NextCursor = events[limit-1].ID
	}
	return respond(w, http.StatusOK, page)
}
