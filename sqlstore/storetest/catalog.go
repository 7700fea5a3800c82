package storetest

import (
	"testing"

	"github.com/shopd/shopd/sqlstore"
)

func testCatalog(t *testing.T, db *sqlstore.DB) {
	t.Skip("not written yet")
}
