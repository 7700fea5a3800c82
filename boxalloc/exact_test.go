package boxalloc

import (
	"context"
	"fmt"
	"testing"
)

// smallInstance is a random instance Exact can solve: scarce or plentiful
// stock, sometimes a value floor, sometimes two items per category.
func smallInstance(seed int64) *Instance {
	spec := Spec{Subscribers: 4 + int(seed%5), Products: 8 + int(seed%3), BoxSize: 2 + int(seed%2),
		Categories: 4 + int(seed%2), Brands: 4, HistoryPeriods: 1, StockRatio: 0.7 + float64(seed%7)/10}
	if seed%4 == 0 {
		spec.ValueFloor = 5000
	}
	in := Generate(seed, spec)
	if seed%5 == 0 {
		in.CategoryLimit = 2
	}
	return in
}

// On hundreds of small instances every result passes the checker, the
// allocator never scores above the optimum and its bound is never below
// it. It fills as many boxes as the optimum except where filling one box
// means emptying another that cannot be refilled (completion exchanges
// products and displaces one box at a time, it does not search box
// subsets): allowed on at most 2% of the instances, and logged.
func TestAllocateAgainstExact(t *testing.T) {
	ctx := context.Background()
	n := 300
	if testing.Short() {
		n = 60
	}
	var sumGap float64
	short := 0
	for seed := range int64(n) {
		in := smallInstance(seed)
		exact, err := Exact(ctx, in)
		if err != nil {
			t.Fatalf("seed %d: Exact: %v", seed, err)
		}
		got, err := Allocate(ctx, in, Options{Seed: seed, MaxIterations: 40, RepairEvery: 5})
		if err != nil {
			t.Fatalf("seed %d: Allocate: %v", seed, err)
		}
		greedy, err := Greedy(ctx, in, Options{Seed: seed})
		if err != nil {
			t.Fatalf("seed %d: Greedy: %v", seed, err)
		}
		for _, r := range []*Result{exact, got, greedy} {
			if err := Validate(in, r); err != nil {
				t.Fatalf("seed %d: %s result invalid: %v", seed, r.Method, err)
			}
		}
		if len(got.Boxes) > len(exact.Boxes) {
			t.Fatalf("seed %d: allocator filled %d boxes, above the optimum %d", seed, len(got.Boxes), len(exact.Boxes))
		}
		if len(got.Boxes) < len(exact.Boxes) {
			short++
			t.Logf("seed %d: allocator filled %d boxes, exact %d: %v", seed, len(got.Boxes), len(exact.Boxes), got.Unfilled)
			continue
		}
		if got.Objective > exact.Objective || exact.Objective > got.Bound {
			t.Errorf("seed %d: objective %s, exact %s, bound %s: want objective <= exact <= bound", seed, got.Objective, exact.Objective, got.Bound)
		}
		if len(greedy.Boxes) > len(exact.Boxes) || len(greedy.Boxes) == len(exact.Boxes) && greedy.Objective > exact.Objective {
			t.Errorf("seed %d: greedy %d boxes %s beats exact %d boxes %s", seed, len(greedy.Boxes), greedy.Objective, len(exact.Boxes), exact.Objective)
		}
		if exact.Objective > 0 {
			sumGap += float64(exact.Objective-got.Objective) / float64(exact.Objective)
		}
	}
	t.Logf("mean gap to the exact optimum over %d instances: %.4f%%; fewer boxes than the optimum on %d", n, 100*sumGap/float64(n), short)
	if short > n/50 {
		t.Errorf("fewer boxes than the optimum on %d of %d instances", short, n)
	}
}

func TestExactRejectsLargeInstances(t *testing.T) {
	in := Generate(1, Spec{Subscribers: ExactMaxSubscribers + 1, Products: 10})
	if _, err := Exact(context.Background(), in); err == nil {
		t.Fatal("Exact accepted an instance above its limits")
	}
}

func ExampleAllocate() {
	in := Generate(7, Spec{Subscribers: 200, Products: 40})
	res, err := Allocate(context.Background(), in, Options{Seed: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(res.Boxes)+len(res.Unfilled), Validate(in, res) == nil, res.Objective <= res.Bound)
	// Output: 200 true true
}
