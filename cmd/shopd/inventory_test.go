package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/platform"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// TestInventoryImport drives `shopd inventory import` in-process on every
// engine: apply, replay, reused and stale sequences, unknown SKUs, bad files.
func TestInventoryImport(t *testing.T) {
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			ctx := context.Background()
			db := dbArgs(t, d)
			dataDir, url := "", ""
			if db[0] == "--data-dir" {
				dataDir = db[1]
			} else {
				url = db[1]
			}
			a, err := openApp(ctx, platform.Database{DataDir: &dataDir, URL: &url})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.catalog.CreateProduct(ctx, catalog.NewProduct{Title: "Glow", Status: catalog.StatusActive,
				Variants: []catalog.NewVariant{{SKU: "GLOW-30", Options: map[string]string{"size": "30"}}, {SKU: "GLOW-50", Options: map[string]string{"size": "50"}}}}); err != nil {
				t.Fatal(err)
			}
			inv := inventory.NewService(a.db.Inventory(), a.clock)
			if _, err := inv.CreateWarehouse(ctx, inventory.NewWarehouse{Code: "nj-1", Name: "Newark", Markets: []string{"us"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := inv.Receive(ctx, inventory.Receipt{Warehouse: "nj-1", SKU: "GLOW-30", Quantity: 10}); err != nil {
				t.Fatal(err)
			}
			if _, err := inv.Reserve(ctx, "chk_1", "us", []inventory.Line{{SKU: "GLOW-30", Quantity: 6}}); err != nil {
				t.Fatal(err)
			}
			a.Close()

			dir := t.TempDir()
			file := func(name, content string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			good := file("good.csv", "\ufeffon_hand,sku\n4,GLOW-30\n\n 25 , GLOW-50\n")
			other := file("other.csv", "sku,on_hand,low_stock_threshold\nGLOW-30,5,2\n")
			imp := func(args ...string) (int, string, string) {
				var stdout, stderr bytes.Buffer
				code := run(ctx, append(append([]string{"inventory", "import"}, db...), args...), func(string) string { return "" }, nil, &stdout, &stderr)
				return code, stdout.String(), stderr.String()
			}
			for _, c := range []struct {
				args         []string
				code         int
				stdout, want string
			}{
				{[]string{"--warehouse", "nj-1", "--sequence", "5", good}, 0, "warehouse nj-1: applied sequence 5: 2 rows, 2 changed, 1 short\n  short: GLOW-30 has 4 on hand for 6 reserved (short by 2)\n", ""},
				{[]string{good, "--warehouse", "nj-1", "--sequence", "5"}, 0, "warehouse nj-1: sequence 5 was already applied with these counts; nothing changed\n", ""},
				{[]string{"--warehouse", "nj-1", "--sequence", "5", other}, 1, "", "Sequence 5 was already applied to warehouse nj-1 with other counts"},
				{[]string{"--warehouse", "nj-1", "--sequence", "4", other}, 1, "", "Sequence 4 is older than sequence 5"},
				{[]string{"--warehouse", "nj-9", "--sequence", "6", other}, 1, "", "No such warehouse."},
				{[]string{"--warehouse", "nj-1", "--sequence", "6", file("unknown.csv", "sku,on_hand\nGLOW-30,1\nNOPE-1,2\n\nNOPE-2,3\n")}, 1, "",
					"Unknown SKUs: \"NOPE-1\", \"NOPE-2\".\n  " + filepath.Join(dir, "unknown.csv") + ":3: sku no variant has this SKU\n  " + filepath.Join(dir, "unknown.csv") + ":5: sku"},
				{[]string{"--warehouse", "nj-1", "--sequence", "6", file("neg.csv", "sku,on_hand\nGLOW-30,-1\n")}, 1, "", "neg.csv:2: on_hand must be from 0 to 1000000000"},
				{[]string{"--warehouse", "nj-1", "--sequence", "6", file("nan.csv", "sku,on_hand\nGLOW-30,lots\n")}, 1, "", `nan.csv:2: on_hand "lots" is not a whole number`},
				{[]string{"--warehouse", "nj-1", "--sequence", "6", file("header.csv", "sku,count\nGLOW-30,1\n")}, 1, "", "the header must name the columns sku and on_hand"},
				{[]string{"--warehouse", "nj-1", "--sequence", "6", file("extra.csv", "sku,on_hand,colour\nGLOW-30,1,red\n")}, 1, "", "unknown column"},
				{[]string{"--warehouse", "nj-1", "--sequence", "6", file("empty.csv", "")}, 1, "", "the file is empty"},
				{[]string{"--warehouse", "nj-1", "--sequence", "6", file("headonly.csv", "sku,on_hand\n")}, 1, "", "no rows after the header"},
				{[]string{"--warehouse", "nj-1", "--sequence", "6", filepath.Join(dir, "missing.csv")}, 1, "", "no such file"},
				{[]string{"--warehouse", "nj-1", "--sequence", "6"}, 2, "", "name exactly one CSV file"},
				{[]string{"--warehouse", "nj-1", "--sequence", "6", good, other}, 2, "", "name exactly one CSV file"},
				{[]string{"--warehouse", "NJ 1", "--sequence", "6", good}, 2, "", "--warehouse must be a warehouse code"},
				{[]string{"--warehouse", "nj-1", good}, 2, "", "--sequence must be from 1"},
				{[]string{"--warehouse", "nj-1", "--sequence", "x", good}, 2, "", "invalid value"},
			} {
				code, stdout, stderr := imp(c.args...)
				if code != c.code || stdout != c.stdout || !strings.Contains(stderr, c.want) {
					t.Errorf("%v: exit %d\nstdout %q\nstderr %q\nwant exit %d, stdout %q, stderr containing %q", c.args, code, stdout, stderr, c.code, c.stdout, c.want)
				}
			}
			code, stdout, stderr := imp("--warehouse", "nj-1", "--sequence", "9", other)
			if code != 0 || stdout != "warehouse nj-1: applied sequence 9: 1 rows, 1 changed, 1 short\n  short: GLOW-30 has 5 on hand for 6 reserved (short by 1)\n" {
				t.Fatalf("sequence 9: %d %q %q", code, stdout, stderr)
			}

			a, err = openApp(ctx, platform.Database{DataDir: &dataDir, URL: &url})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			inv = inventory.NewService(a.db.Inventory(), a.clock)
			page, err := inv.Stock(ctx, inventory.StockFilter{Warehouse: "nj-1", Limit: 10})
			if err != nil || len(page.Stock) != 2 {
				t.Fatalf("stock: %+v %v", page, err)
			}
			if s := page.Stock[0]; s.SKU != "GLOW-30" || s.OnHand != 5 || s.Reserved != 6 || s.LowStockThreshold == nil || *s.LowStockThreshold != 2 {
				t.Fatalf("GLOW-30: %+v", s)
			}
			if s := page.Stock[1]; s.SKU != "GLOW-50" || s.OnHand != 25 || s.Reserved != 0 {
				t.Fatalf("GLOW-50: %+v", s)
			}
			moves, err := inv.Movements(ctx, inventory.MovementFilter{Kind: inventory.KindSync, Limit: 10})
			if err != nil || len(moves.Movements) != 3 || moves.Movements[0].Reference != "sync:9" {
				t.Fatalf("sync movements: %+v %v", moves, err)
			}
		})
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"inventory", "export"}, func(string) string { return "" }, nil, &stdout, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), "use `shopd inventory import") {
		t.Errorf("unknown subcommand: %d %q", code, stderr.String())
	}
}
