package sqlstore

import "context"

// CommitLazily exposes commitLazily to the package's external tests.
func (tx *Tx) CommitLazily(ctx context.Context) error { return tx.commitLazily(ctx) }

// BatchReads are the statements that read parents and their child rows by
// an IN list, by name.
func BatchReads(d Dialect, in string) map[string]string {
	return map[string]string{"carts": cartsByID(d, in), "orders": ordersWithLines(d, orderColumns+", "+lineColumns, in),
		"order lines": ordersWithLines(d, "o.id, "+lineColumns, in)}
}

// RowsWithKeys exposes rowsWithKeys to the package's external tests.
var RowsWithKeys = rowsWithKeys

// ExecPlannedEach is a write by exec that asks to be planned for its values
// (planEach), as IN lists do.
func (tx *Tx) ExecPlannedEach(ctx context.Context, query string, args ...any) error {
	return tx.exec(ctx, nil, query, tx.Dialect().planEach(args)...)
}
