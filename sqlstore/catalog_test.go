package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/seed"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// BenchmarkInsertProducts measures the bulk load behind `shopd seed`: one
// op is 1,000 products with about 3 variants each, priced in 4 markets.
// Report products/s; 100,000 products must load in under a minute on
// SQLite.
func BenchmarkInsertProducts(b *testing.B) {
	markets := []market.Market{{Code: "us", Currency: "USD"}, {Code: "ca", Currency: "CAD"}, {Code: "br", Currency: "BRL"}, {Code: "in", Currency: "INR"}}
	for _, d := range storetest.Engines(b) {
		b.Run(d.String(), func(b *testing.B) {
			db := storetest.Open(b, d)
			s := db.Catalog()
			const n = 1000
			run := uint64(0)
			for b.Loop() {
				b.StopTimer()
				run++
				ps := seed.Products(run, n, markets, time.Now())
				b.StartTimer()
				if err := s.InsertProducts(context.Background(), ps); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "products/s")
		})
	}
}

var _ = sqlstore.SQLite
