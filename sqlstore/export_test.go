package sqlstore

import "context"

// CommitLazily exposes commitLazily to the package's external tests.
func (tx *Tx) CommitLazily(ctx context.Context) error { return tx.commitLazily(ctx) }
