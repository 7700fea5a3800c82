package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/platform"
)

const inventoryUsage = "Usage: shopd inventory import --warehouse CODE --sequence N [--data-dir DIR | --database-url URL] FILE.csv\n"

func inventoryCmd(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(c.stderr, inventoryUsage)
			return nil
		}
		return usagef("use `shopd inventory import --warehouse CODE --sequence N FILE.csv`")
	}
	f := c.flags("inventory import", "--warehouse CODE --sequence N [--data-dir DIR | --database-url URL] FILE.csv",
		"Applies a snapshot of absolute on-hand counts from a warehouse system. FILE.csv has a header row\n"+
			"with the columns sku and on_hand (and optionally low_stock_threshold). SKUs not in the file keep\n"+
			"their counts. --sequence must grow with every snapshot of the warehouse: importing the same file\n"+
			"with the same sequence again changes nothing, an older sequence is refused. Reservations are kept;\n"+
			"a count below the units reserved is reported as a shortfall.")
	d := platform.BindDatabase(f)
	warehouse := f.String("warehouse", "", "", "code of the warehouse the counts are for (required)")
	sequence := f.Int("sequence", "", 0, "the snapshot's sequence number, from 1 (required)")
	files, err := parseWithArgs(f, args[1:])
	if err != nil {
		return err
	}
	switch {
	case len(files) != 1:
		return usagef("name exactly one CSV file")
	case !inventory.ValidCode(*warehouse):
		return usagef("--warehouse must be a warehouse code (a-z, 0-9 and -)")
	case *sequence < 1 || int64(*sequence) > inventory.MaxSequence:
		return usagef("--sequence must be from 1 to %d", inventory.MaxSequence)
	}
	counts, lines, err := readCounts(files[0])
	if err != nil {
		return err
	}
	a, err := openApp(ctx, d)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := inventory.NewService(a.db.Inventory(), a.clock)
	svc.Markets = a.markets
	res, err := svc.Sync(ctx, inventory.Sync{Warehouse: *warehouse, Sequence: int64(*sequence), Counts: counts})
	if err != nil {
		return importError(files[0], lines, err)
	}
	if !res.Applied {
		fmt.Fprintf(c.stdout, "warehouse %s: sequence %d was already applied with these counts; nothing changed\n", res.Warehouse, res.Sequence)
		return nil
	}
	fmt.Fprintf(c.stdout, "warehouse %s: applied sequence %d: %d rows, %d changed, %d short\n",
		res.Warehouse, res.Sequence, res.Rows, res.Changed, len(res.Shortfalls))
	for _, s := range res.Shortfalls {
		fmt.Fprintf(c.stdout, "  short: %s has %d on hand for %d reserved (short by %d)\n", s.SKU, s.OnHand, s.Reserved, s.ShortBy)
	}
	return nil
}

// parseWithArgs parses flags that may come before or after the positional
// arguments, and returns the positional arguments.
func parseWithArgs(f interface {
	Parse([]string) error
	Args() []string
}, args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		rest := f.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// readCounts reads a CSV snapshot: a header naming the columns sku and
// on_hand (any order, optionally low_stock_threshold), then one row per
// SKU. It returns the line of each row, and problems name the line.
func readCounts(path string) ([]inventory.Count, []int, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer file.Close()
	r := csv.NewReader(file)
	r.ReuseRecord = true
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("%s: the file is empty; it needs a header row sku,on_hand", path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := col[name]; dup {
			return nil, nil, fmt.Errorf("%s:1: column %q appears twice", path, name)
		}
		col[name] = i
	}
	skuCol, ok1 := col["sku"]
	onHandCol, ok2 := col["on_hand"]
	thresholdCol, hasThreshold := col["low_stock_threshold"]
	if !ok1 || !ok2 {
		return nil, nil, fmt.Errorf("%s:1: the header must name the columns sku and on_hand (got %q)", path, strings.Join(header, ","))
	}
	if len(col) > 2+btoi(hasThreshold) {
		return nil, nil, fmt.Errorf("%s:1: unknown column in header %q; use sku, on_hand and optionally low_stock_threshold", path, strings.Join(header, ","))
	}
	var counts []inventory.Count
	var lines []int
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if len(counts) == inventory.MaxSyncRows {
			return nil, nil, fmt.Errorf("%s:%d: more than %d rows; split the snapshot by SKU and import each part with its own sequence", path, line, inventory.MaxSyncRows)
		}
		c := inventory.Count{SKU: strings.TrimSpace(rec[skuCol])}
		if c.OnHand, err = strconv.ParseInt(strings.TrimSpace(rec[onHandCol]), 10, 64); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: on_hand %q is not a whole number", path, line, rec[onHandCol])
		}
		if hasThreshold {
			if s := strings.TrimSpace(rec[thresholdCol]); s != "" {
				t, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return nil, nil, fmt.Errorf("%s:%d: low_stock_threshold %q is not a whole number", path, line, s)
				}
				c.LowStockThreshold = &t
			}
		}
		counts, lines = append(counts, c), append(lines, line)
	}
	if len(counts) == 0 {
		return nil, nil, fmt.Errorf("%s: no rows after the header", path)
	}
	return counts, lines, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// importError turns a sync error into a message that points at the file:
// field errors such as counts[3].on_hand name the line of row 3.
func importError(path string, lines []int, err error) error {
	var e *shopd.Error
	if !errors.As(err, &e) {
		return err
	}
	var b strings.Builder
	b.WriteString(e.Message)
	for _, fe := range e.Fields {
		rest, ok := strings.CutPrefix(fe.Field, "counts[")
		idx, col, ok2 := strings.Cut(rest, "].")
		i, err := strconv.Atoi(idx)
		if !ok || !ok2 || err != nil || i < 0 || i >= len(lines) {
			fmt.Fprintf(&b, "\n  %s: %s", fe.Field, fe.Message)
			continue
		}
		fmt.Fprintf(&b, "\n  %s:%d: %s %s", path, lines[i], col, fe.Message)
	}
	return errors.New(b.String())
}
