package boxalloc

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// Validate must catch every kind of violation: each mutation of a valid
// result breaks one rule and must be reported with its own message.
func TestValidateCatchesEachViolation(t *testing.T) {
	in := Generate(4, Spec{Subscribers: 300, Products: 40, StockRatio: 1.2})
	in.ValueFloor = 1000
	in.Subscribers[0].Profile.ExcludedBrands = nil
	good, err := Allocate(context.Background(), in, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(in, good); err != nil {
		t.Fatalf("valid result rejected: %v", err)
	}
	if len(good.Unfilled) != 0 {
		t.Fatalf("want every box filled, unfilled %v", good.Unfilled)
	}
	product := func(id string) *Product {
		for i := range in.Products {
			if in.Products[i].ID == id {
				return &in.Products[i]
			}
		}
		return nil
	}
	// otherProduct finds a product not in box b, of a category b does not hold.
	otherProduct := func(b Box) *Product {
		cats := map[string]bool{}
		for _, it := range b.Items {
			cats[product(it.Product).Category] = true
		}
		for i := range in.Products {
			if !cats[in.Products[i].Category] {
				return &in.Products[i]
			}
		}
		return nil
	}
	tests := []struct {
		name   string
		mutate func(r *Result, in *Instance)
		want   string
	}{
		{"missing subscriber", func(r *Result, _ *Instance) { r.Boxes = r.Boxes[1:]; r.Objective -= good.Boxes[0].Score }, "neither a box nor listed"},
		{"box and unfilled", func(r *Result, _ *Instance) { r.Unfilled = append(r.Unfilled, Unfilled{r.Boxes[0].Subscriber, "x"}) }, "already listed"},
		{"unfilled without reason", func(r *Result, _ *Instance) {
			r.Objective -= r.Boxes[0].Score
			r.Unfilled = append(r.Unfilled, Unfilled{Subscriber: r.Boxes[0].Subscriber})
			r.Boxes = r.Boxes[1:]
		}, "without a reason"},
		{"wrong warehouse", func(r *Result, _ *Instance) { r.Boxes[0].Warehouse = "nowhere" }, "does not serve"},
		{"short box", func(r *Result, _ *Instance) {
			b := &r.Boxes[0]
			b.Score -= b.Items[0].Score
			r.Objective -= b.Items[0].Score
			b.Items = b.Items[1:]
		}, "items, want"},
		{"repeated product", func(r *Result, _ *Instance) {
			b := &r.Boxes[0]
			r.Objective += b.Items[0].Score - b.Items[1].Score
			b.Score += b.Items[0].Score - b.Items[1].Score
			b.Items[1] = b.Items[0]
		}, "twice"},
		{"category limit", func(r *Result, _ *Instance) {
			b := &r.Boxes[0]
			cat := product(b.Items[0].Product).Category
			for _, p := range in.Products {
				if p.Category == cat && p.ID != b.Items[0].Product {
					s, _ := Score(in.Weights, in.Subscribers[0].Profile, p)
					r.Objective += s - b.Items[1].Score
					b.Score += s - b.Items[1].Score
					b.Items[1] = Item{Product: p.ID, Score: s}
					return
				}
			}
		}, "limit 1"},
		{"recent product", func(r *Result, in *Instance) {
			in.Subscribers[0].Recent = append(in.Subscribers[0].Recent, r.Boxes[0].Items[0].Product)
		}, "received recently"},
		{"excluded brand", func(r *Result, in *Instance) {
			in.Subscribers[0].Profile.ExcludedBrands = []string{product(r.Boxes[0].Items[0].Product).Brand}
		}, "excluded (brand"},
		{"wrong item score", func(r *Result, _ *Instance) { r.Boxes[0].Items[0].Score++; r.Boxes[0].Score++; r.Objective++ }, "scored"},
		{"wrong box score", func(r *Result, _ *Instance) { r.Boxes[0].Score++; r.Objective++ }, "items add up"},
		{"wrong objective", func(r *Result, _ *Instance) { r.Objective++ }, "boxes add up"},
		{"value floor", func(_ *Result, in *Instance) { in.ValueFloor = 1 << 40 }, "below the floor"},
		{"stock exceeded", func(_ *Result, in *Instance) {
			for i := range in.Stock {
				in.Stock[i].Quantity = 0
			}
		}, "used, stock 0"},
		{"usage misreported", func(r *Result, _ *Instance) { r.Usage[0].Used++ }, "usage of"},
		{"bound below objective", func(r *Result, _ *Instance) { r.Bound = r.Objective - 1 }, "below the objective"},
		{"unknown product", func(r *Result, _ *Instance) { r.Boxes[0].Items[0].Product = "nope" }, "unknown product"},
		{"product of a new category", func(r *Result, _ *Instance) {
			b := &r.Boxes[0]
			p := otherProduct(*b)
			b.Items[0].Product = p.ID
		}, "scored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, in2 := cloneResult(t, good), cloneInstance(t, in)
			tt.mutate(r, in2)
			err := Validate(in2, r)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func cloneResult(t *testing.T, r *Result) *Result {
	var c Result
	roundTrip(t, r, &c)
	return &c
}

func cloneInstance(t *testing.T, in *Instance) *Instance {
	var c Instance
	roundTrip(t, in, &c)
	return &c
}

func roundTrip(t *testing.T, from, to any) {
	b, err := json.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, to); err != nil {
		t.Fatal(err)
	}
}
