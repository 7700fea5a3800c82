package boxalloc

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/shopd/shopd"
)

// tinyInstance: one warehouse, k products per box, one per category.
func tinyInstance(k int, products []Product, stock map[string]int, subs ...Subscriber) *Instance {
	in := &Instance{Products: products, Warehouses: []Warehouse{{ID: "br-sp", Market: "br"}},
		Subscribers: subs, BoxSize: k, Weights: DefaultWeights()}
	for _, p := range products {
		if q, ok := stock[p.ID]; ok {
			in.Stock = append(in.Stock, StockLevel{Product: p.ID, Warehouse: "br-sp", Quantity: q})
		}
	}
	return in
}

func sub(id string, prof Profile, recent ...string) Subscriber {
	return Subscriber{ID: id, Profile: prof, Warehouses: []string{"br-sp"}, Recent: recent}
}

func TestUnfilledReasons(t *testing.T) {
	products := []Product{{ID: "a", Category: "serum", Brand: "x"}, {ID: "b", Category: "mask", Brand: "x"},
		{ID: "c", Category: "mask", Brand: "y"}, {ID: "d", Category: "toner", Brand: "z", Ingredients: []string{"nut-oil"}}}
	tests := []struct {
		name   string
		in     *Instance
		reason string // of the one unfilled subscriber
	}{
		{"too few feasible products", tinyInstance(3, products, map[string]int{"a": 5, "b": 5, "c": 5, "d": 5},
			sub("s1", Profile{}), sub("s2", Profile{ExcludedIngredients: []string{"nut-oil"}})),
			"only 3 feasible products in stock at warehouses of market br (a box needs 3, at most 1 per category)"},
		{"recent products and no stock", tinyInstance(2, products, map[string]int{"a": 5, "b": 5, "c": 5},
			sub("s2", Profile{}, "a")),
			"only 2 feasible products in stock at warehouses of market br (a box needs 2, at most 1 per category)"},
		{"stock taken by others", tinyInstance(2, products, map[string]int{"a": 1, "b": 1, "c": 1},
			sub("s1", Profile{}), sub("s2", Profile{})),
			"the stock of its 3 feasible products at warehouses of market br is taken by other boxes and no exchange frees it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Allocate(context.Background(), tt.in, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := Validate(tt.in, res); err != nil {
				t.Fatal(err)
			}
			if len(res.Unfilled) != 1 || res.Unfilled[0].Reason != tt.reason {
				t.Errorf("unfilled %+v, want one with reason %q", res.Unfilled, tt.reason)
			}
		})
	}
}

// First come, first served strands s2 when s1 takes the only product s2
// can use; the completion step moves s1 to another product.
func TestCompletionExchangesProducts(t *testing.T) {
	products := []Product{{ID: "a", Category: "serum", Brand: "x", SkinTypes: []string{"dry"}},
		{ID: "b", Category: "serum", Brand: "y"}}
	in := tinyInstance(1, products, map[string]int{"a": 1, "b": 1},
		sub("s1", Profile{SkinType: "dry"}), sub("s2", Profile{ExcludedBrands: []string{"y"}}))
	greedyStranded := false
	for seed := range int64(8) {
		g, err := Greedy(context.Background(), in, Options{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		greedyStranded = greedyStranded || len(g.Unfilled) == 1
		res, err := Allocate(context.Background(), in, Options{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		if err := Validate(in, res); err != nil {
			t.Fatal(err)
		}
		if len(res.Boxes) != 2 || res.Boxes[1].Items[0].Product != "a" {
			t.Fatalf("seed %d: boxes %+v, unfilled %+v; want s2 to get a", seed, res.Boxes, res.Unfilled)
		}
	}
	if !greedyStranded {
		t.Error("greedy never stranded s2: the instance does not exercise completion")
	}
}

// Properties on generated instances: the checker covers no repeats,
// category limits, stock, exclusions and scores; here also every box is
// filled (stock is ample) and the bound holds.
func TestAllocateProperties(t *testing.T) {
	for seed := range int64(4) {
		spec := Spec{Subscribers: 500, Products: 50, Categories: 8, StockRatio: 1.1}
		if seed%2 == 1 {
			spec.ValueFloor = 9000
		}
		in := Generate(seed, spec)
		if seed%3 == 2 {
			in.CategoryLimits = map[string]int{"serum": 2, "mask": 0}
		}
		res, err := Allocate(context.Background(), in, Options{Seed: seed, MaxIterations: 30})
		if err != nil {
			t.Fatal(err)
		}
		if err := Validate(in, res); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if res.Objective > res.Bound || res.Gap < 0 || res.Gap > 0.2 {
			t.Errorf("seed %d: objective %s bound %s gap %.4f", seed, res.Objective, res.Bound, res.Gap)
		}
		for _, u := range res.Unfilled {
			if !strings.Contains(u.Reason, "feasible products") {
				t.Errorf("seed %d: unfilled without a reason: %+v", seed, u)
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	in := Generate(11, Spec{Subscribers: 2500, Products: 60})
	run := func(workers int, seed int64, sample int) *Result {
		r, err := Allocate(context.Background(), in, Options{Seed: seed, Workers: workers, MaxIterations: 20, Sample: sample, SamplePasses: 20})
		if err != nil {
			t.Fatal(err)
		}
		r.Elapsed = 0
		return r
	}
	first := run(2, 5, 0)
	for _, workers := range []int{1, 2, 3} {
		if got := run(workers, 5, 0); !reflect.DeepEqual(got, first) {
			t.Fatalf("workers=%d: result differs from the first run (objective %s vs %s)", workers, got.Objective, first.Objective)
		}
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if got := run(0, 5, 0); !reflect.DeepEqual(got, first) {
		t.Fatal("GOMAXPROCS=1: result differs")
	}
	runtime.GOMAXPROCS(4)
	if got := run(0, 5, 0); !reflect.DeepEqual(got, first) {
		t.Fatal("GOMAXPROCS=4: result differs")
	}
	// With a warm start from a sample, too.
	warm := run(2, 5, 400)
	if got := run(1, 5, 400); !reflect.DeepEqual(got, warm) {
		t.Fatal("warm start: result differs between 1 and 2 workers")
	}
	if err := Validate(in, warm); err != nil {
		t.Fatal(err)
	}
	g1, _ := Greedy(context.Background(), in, Options{Seed: 5})
	g2, _ := Greedy(context.Background(), in, Options{Seed: 5})
	g1.Elapsed, g2.Elapsed = 0, 0
	if !reflect.DeepEqual(g1, g2) {
		t.Fatal("greedy differs between two runs with one seed")
	}
}

func TestCanceled(t *testing.T) {
	in := Generate(1, Spec{Subscribers: 500, Products: 30})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Allocate(ctx, in, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Allocate = %v, want context.Canceled", err)
	}
	calls := 0
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	_, err := Allocate(ctx, in, Options{Progress: func(p Progress) {
		if calls++; p.Iteration == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || calls < 3 {
		t.Errorf("Allocate = %v after %d progress calls, want context.Canceled after 3", err, calls)
	}
}

func TestInvalidInstance(t *testing.T) {
	good := func() *Instance { return Generate(1, Spec{Subscribers: 20, Products: 20}) }
	tests := map[string]func(*Instance){
		"box size 0":           func(in *Instance) { in.BoxSize = 0 },
		"duplicate product":    func(in *Instance) { in.Products[1].ID = in.Products[0].ID },
		"unknown stock":        func(in *Instance) { in.Stock[0].Product = "nope" },
		"negative stock":       func(in *Instance) { in.Stock[0].Quantity = -1 },
		"duplicate subscriber": func(in *Instance) { in.Subscribers[1].ID = in.Subscribers[0].ID },
		"two markets":          func(in *Instance) { in.Subscribers[0].Warehouses = []string{"us-east", "br-sp"} },
		"negative weight":      func(in *Instance) { in.Weights.Concern = -1 },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			in := good()
			mutate(in)
			_, err := Allocate(context.Background(), in, Options{})
			var se *shopd.Error
			if !errors.As(err, &se) || se.Code != shopd.EINVALID {
				t.Errorf("Allocate = %v, want EINVALID", err)
			}
		})
	}
}
