package boxalloc

import (
	"context"
	"os"
	"testing"
)

func TestDiagLoose(t *testing.T) {
	if os.Getenv("DIAG") == "" {
		t.Skip()
	}
	in := Generate(1, Spec{Subscribers: 20000, Products: 200})
	m, _ := compile(in)
	for _, c := range []int{40, 64} {
		opt := Options{Candidates: c}.withDefaults()
		a, _ := newAllocator(context.Background(), m, opt)
		for it := 1; it <= 60; it++ {
			a.pass(context.Background())
			a.dual.update(a.excess(), m.stock)
		}
		loose, looseB := 0, 0
		pk := a.pickers[0]
		for s := range in.Subscribers {
			prod, score := a.cand.of(s)
			pk.jitterFor(s)
			if _, l := a.respond(pk, s, prod, score, a.cand.cutoff[s], true); l {
				loose++
			}
			pk.jitterMax = 0
			if _, l := a.respond(pk, s, prod, score, a.cand.cutoff[s], false); l {
				looseB++
			}
		}
		t.Logf("candidates %d: loose in pass %d, in bound %d of %d", c, loose, looseB, len(in.Subscribers))
	}
}
