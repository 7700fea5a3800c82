package boxalloc

import (
	"context"
	"testing"
)

// The auction keeps every constraint of the boxes it touches, keeps stock
// accounting exact, and raises the objective of a repaired allocation.
func TestAuctionImprovesRepair(t *testing.T) {
	ctx := context.Background()
	for seed := range int64(3) {
		in := Generate(seed, Spec{Subscribers: 3000, Products: 80, Categories: 8})
		if seed == 2 {
			in.CategoryLimits = map[string]int{"serum": 2}
		}
		m, err := compile(in)
		if err != nil {
			t.Fatal(err)
		}
		opt := Options{Seed: seed, MaxIterations: 15, RepairEvery: 15}.withDefaults()
		a, err := newAllocator(ctx, m, opt)
		if err != nil {
			t.Fatal(err)
		}
		best, _, _, err := a.solve(ctx, opt.MaxIterations, opt, "dual", true, func(Progress) {})
		if err != nil {
			t.Fatal(err)
		}
		before, filledBefore := best.objective(), best.filled()
		steps, out, err := a.runAuction(ctx, best)
		if err != nil || out {
			t.Fatalf("seed %d: auction: %v, out of budget %v after %d moves", seed, err, out, steps)
		}
		used := make([]int32, len(m.stock))
		for s, w := range best.w {
			perCat := make([]int32, m.nCat)
			for _, p := range best.box(s) {
				used[m.pw(int(p), int(w))]++
				if perCat[m.category[p]]++; perCat[m.category[p]] > m.catLimit[m.category[p]] {
					t.Fatalf("seed %d: subscriber %d holds too many of category %d", seed, s, m.category[p])
				}
			}
			if w < 0 && best.n[s] > 0 || len(best.box(s)) > m.k {
				t.Fatalf("seed %d: subscriber %d: warehouse %d, %d items", seed, s, w, best.n[s])
			}
		}
		for pw := range used {
			if used[pw]+best.free[pw] != m.stock[pw] || best.free[pw] < 0 {
				t.Fatalf("seed %d: pw %d used %d free %d stock %d", seed, pw, used[pw], best.free[pw], m.stock[pw])
			}
		}
		if best.objective() <= before {
			t.Errorf("seed %d: objective %s after the auction, %s before", seed, Points(best.objective()), Points(before))
		}
		t.Logf("seed %d: objective %s -> %s, filled %d -> %d, %d moves", seed, Points(before), Points(best.objective()), filledBefore, best.filled(), steps)
	}
}
