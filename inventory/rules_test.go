package inventory

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopd/shopd"
)

func TestMergeLines(t *testing.T) {
	got := MergeLines([]Line{{SKU: "B", Quantity: 1}, {SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 3}, {SKU: "C", Quantity: 1}})
	if s := fmt.Sprint(got); s != "[{A 2 1} {B 4 0} {C 1 3}]" {
		t.Fatalf("MergeLines = %s", s)
	}
}

func TestSnapshotDigest(t *testing.T) {
	two := int64(2)
	a := []Count{{SKU: "A", OnHand: 1}, {SKU: "B", OnHand: 2, LowStockThreshold: &two}}
	for _, c := range []struct {
		other []Count
		same  bool
	}{
		{[]Count{a[1], a[0]}, true},
		{[]Count{{SKU: "A", OnHand: 1}, {SKU: "B", OnHand: 2}}, false},
		{[]Count{{SKU: "A", OnHand: 1}, {SKU: "B", OnHand: 3, LowStockThreshold: &two}}, false},
		{[]Count{{SKU: "A", OnHand: 12}, {SKU: "B", OnHand: 2, LowStockThreshold: &two}}, false},
		{[]Count{{SKU: "A", OnHand: 1}}, false},
	} {
		if same := snapshotDigest(a) == snapshotDigest(c.other); same != c.same {
			t.Errorf("%v: same digest %v, want %v", c.other, same, c.same)
		}
	}
}

func TestStockCursor(t *testing.T) {
	id := "whs_06H0GEZTVHYT55NKEAP9131G1G"
	for _, sku := range []string{"GLOW-30", "a|b", "x\\y"} {
		s, w, ok := DecodeStockCursor(EncodeStockCursor(sku, id))
		if !ok || s != sku || w != id {
			t.Errorf("%q: round trip gave %q %q %v", sku, s, w, ok)
		}
	}
	for _, bad := range []string{"", "!!", EncodeStockCursor("a b", id), EncodeStockCursor("A", "prd_x"), "QUFB"} {
		if _, _, ok := DecodeStockCursor(bad); ok {
			t.Errorf("%q decoded", bad)
		}
	}
}

func TestReserveRequestValidate(t *testing.T) {
	ok := ReserveRequest{Reference: "chk_1", Market: "us", Lines: []Line{{SKU: "A", Quantity: 1}}, ExpiresAt: time.Unix(1, 0)}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	many := make([]Line, MaxReserveLines+1)
	for i := range many {
		many[i] = Line{SKU: fmt.Sprint("S", i), Quantity: 1}
	}
	for _, c := range []struct {
		change func(*ReserveRequest)
		field  string
	}{
		{func(r *ReserveRequest) { r.Reference = "" }, "reference"},
		{func(r *ReserveRequest) { r.Reference = strings.Repeat("r", 101) }, "reference"},
		{func(r *ReserveRequest) { r.Market = "USA" }, "market"},
		{func(r *ReserveRequest) { r.ExpiresAt = time.Time{} }, "expires_at"},
		{func(r *ReserveRequest) { r.Lines = nil }, "lines"},
		{func(r *ReserveRequest) { r.Lines = many }, "lines"},
		{func(r *ReserveRequest) { r.Lines = []Line{{SKU: "A", Quantity: 0}} }, "lines[0].quantity"},
		{func(r *ReserveRequest) { r.Lines = []Line{{SKU: "", Quantity: 1}} }, "lines[0].sku"},
	} {
		r := ok
		c.change(&r)
		err := r.Validate()
		if err == nil || !strings.Contains(err.Error(), "("+c.field+":") {
			t.Errorf("want a field error on %s, got %v", c.field, err)
		}
	}
}

func TestSyncCheckStopsAtHundredErrors(t *testing.T) {
	counts := make([]Count, 1000)
	for i := range counts {
		counts[i] = Count{SKU: "", OnHand: -1}
	}
	_, err := Sync{Sequence: 1, Counts: counts}.check()
	var e *shopd.Error
	if !errors.As(err, &e) || len(e.Fields) != 100 {
		t.Fatalf("error %v, want 100 field errors", err)
	}
}
