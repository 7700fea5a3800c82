package boxalloc

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The one-per-category fast path must pick exactly what the general loop
// picks, with and without jitter.
func TestGreedyOneEachMatchesGeneral(t *testing.T) {
	in := Generate(2, Spec{Subscribers: 400, Products: 90})
	m, err := compile(in)
	if err != nil || !m.oneEach {
		t.Fatalf("compile: %v, oneEach %v", err, m.oneEach)
	}
	m.jitter = int64(toPoints(0.4))
	rng := rand.New(rand.NewPCG(1, 2))
	fast, general := newPicker(m), newPicker(m)
	sc := m.newCandidateScratch()
	prod, score := make([]uint16, 32), make([]int32, 32)
	prices, avail := make([]int64, m.nP), make([]int32, m.nP)
	for s := range in.Subscribers {
		m.scorer.score(&in.Subscribers[s].Profile, in.Subscribers[s].Recent, sc.scores)
		n, _ := m.selectCandidates(sc, prod, score)
		for p := range prices {
			prices[p], avail[p] = rng.Int64N(4*PointScale), rng.Int32N(3)
			if rng.IntN(3) == 0 {
				prices[p] = 0
			}
		}
		k := 1 + rng.IntN(6)
		for _, pk := range []*picker{fast, general} {
			pk.jitterSeed = 7
			pk.jitterFor(s, s%2 == 0)
			pk.at(s % 3)
		}
		a := fast.greedy(prod[:n], score[:n], prices, avail, nil, k)
		m.oneEach = false
		b := general.greedy(prod[:n], score[:n], prices, avail, nil, k)
		m.oneEach = true
		if a != b || !slices.Equal(fast.picks, general.picks) || !slices.Equal(fast.vals, general.vals) {
			t.Fatalf("subscriber %d, k %d: fast %v %v, general %v %v", s, k, fast.picks, fast.vals, general.picks, general.vals)
		}
	}
}
