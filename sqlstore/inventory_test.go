package sqlstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// benchInventory opens a fresh store with one warehouse serving us and the
// SKUs, each with onHand units, and returns the inventory service.
func benchInventory(b *testing.B, d sqlstore.Dialect, skus []string, onHand int64) *inventory.Service {
	b.Helper()
	ctx := context.Background()
	db := storetest.Open(b, d)
	now := time.Now().UTC()
	var products []catalog.Product
	for start := 0; start < len(skus); start += 100 {
		p := catalog.Product{ID: shopd.NewID("prd"), Handle: fmt.Sprint("bench-", start), Title: "Bench", Status: catalog.StatusActive,
			TaxCategory: catalog.DefaultTaxCategory, Attributes: map[string][]string{}, Media: []catalog.Media{}, CreatedAt: now, UpdatedAt: now}
		for i, sku := range skus[start:min(len(skus), start+100)] {
			p.Variants = append(p.Variants, catalog.Variant{ID: shopd.NewID("var"), ProductID: p.ID, SKU: sku, Title: sku,
				Options: map[string]string{"n": fmt.Sprint(i)}, Position: i + 1, Prices: map[string]catalog.Price{}, CreatedAt: now, UpdatedAt: now})
		}
		products = append(products, p)
	}
	if err := db.Catalog().InsertProducts(ctx, products); err != nil {
		b.Fatal(err)
	}
	svc := inventory.NewService(db.Inventory(), shopd.SystemClock{})
	if _, err := svc.CreateWarehouse(ctx, inventory.NewWarehouse{Code: "main", Name: "Main", Markets: []string{"us"}, Priority: 1}); err != nil {
		b.Fatal(err)
	}
	counts := make([]inventory.Count, len(skus))
	for i, sku := range skus {
		counts[i] = inventory.Count{SKU: sku, OnHand: onHand}
	}
	if _, err := svc.Sync(ctx, inventory.Sync{Warehouse: "main", Sequence: 1, Counts: counts}); err != nil {
		b.Fatal(err)
	}
	return svc
}

// benchReserve reserves one unit per operation from many goroutines, each
// reservation its own transaction, and reports reservations per second.
func benchReserve(b *testing.B, d sqlstore.Dialect, skus []string) {
	svc := benchInventory(b, d, skus, inventory.MaxOnHand)
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			i := n.Add(1)
			sku := skus[int(i*7919)%len(skus)]
			if _, err := svc.Reserve(ctx, fmt.Sprint("bench-", i), "us", []inventory.Line{{SKU: sku, Quantity: 1}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reservations/s")
}

// BenchmarkReserveHotSKU measures reservations of one SKU that every
// shopper wants (a drop): they all contend for one stock row.
func BenchmarkReserveHotSKU(b *testing.B) {
	for _, d := range storetest.Engines(b) {
		b.Run(d.String(), func(b *testing.B) { benchReserve(b, d, []string{"HOT-1"}) })
	}
}

// BenchmarkReserveSpreadSKUs measures reservations spread over 1,000 SKUs.
func BenchmarkReserveSpreadSKUs(b *testing.B) {
	skus := make([]string, 1000)
	for i := range skus {
		skus[i] = fmt.Sprintf("SPREAD-%04d", i)
	}
	for _, d := range storetest.Engines(b) {
		b.Run(d.String(), func(b *testing.B) { benchReserve(b, d, skus) })
	}
}
