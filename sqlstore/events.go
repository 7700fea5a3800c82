package sqlstore

import (
	"context"
	"strings"

	"github.com/shopd/shopd/event"
)

// EventStore implements event.Store.
type EventStore struct{ db *DB }

var _ event.Store = (*EventStore)(nil)

// Events returns the outbox store.
func (db *DB) Events() *EventStore { return &EventStore{db: db} }

// AppendEvent writes an event in the transaction, so it commits with the
// change it describes. It implements event.Appender.
func (tx *Tx) AppendEvent(ctx context.Context, e event.Event) error {
	return tx.exec(ctx, nil, `INSERT INTO events (id, type, subject, data, created_at) VALUES ($1, $2, $3, $4, $5)`,
		e.ID, e.Type, e.Subject, string(e.Data), micros(e.CreatedAt))
}

// AppendEvents writes events in the transaction, up to 256 per statement.
func (tx *Tx) AppendEvents(ctx context.Context, es []event.Event) error {
	rows := make([][]any, len(es))
	for i, e := range es {
		rows[i] = []any{e.ID, e.Type, e.Subject, string(e.Data), micros(e.CreatedAt)}
	}
	return tx.insertRows(ctx, `INSERT INTO events (id, type, subject, data, created_at) VALUES `, rows)
}

// Events implements event.Store.
func (s *EventStore) Events(ctx context.Context, f event.Filter) ([]event.Event, error) {
	q := `SELECT id, type, subject, data, created_at FROM events WHERE 1 = 1`
	var args params
	switch {
	case strings.HasSuffix(f.Type, "."):
		q += ` AND type >= ` + args.add(f.Type) + ` AND type < ` + args.add(f.Type[:len(f.Type)-1]+"/") // "/" sorts right after "."
	case f.Type != "":
		q += ` AND type = ` + args.add(f.Type)
	}
	if f.Subject != "" {
		q += ` AND subject = ` + args.add(f.Subject)
	}
	if f.After != "" {
		q += ` AND id > ` + args.add(f.After)
	}
	q += ` ORDER BY id LIMIT ` + args.add(f.Limit)
	rows, err := s.db.reader().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []event.Event{}
	for rows.Next() {
		var e event.Event
		var data string
		var created int64
		if err := rows.Scan(&e.ID, &e.Type, &e.Subject, &data, &created); err != nil {
			return nil, err
		}
		e.Data, e.CreatedAt = []byte(data), fromMicros(created)
		out = append(out, e)
	}
	return out, rows.Err()
}
