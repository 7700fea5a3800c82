package sqlstore

import "github.com/shopd/shopd/staff"

// StaffStore implements staff.Store.
type StaffStore struct{ db *DB }

var _ staff.Store = (*StaffStore)(nil)

// Staff returns the staff store.
func (db *DB) Staff() *StaffStore { return &StaffStore{db: db} }
