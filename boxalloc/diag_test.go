package boxalloc

import (
	"context"
	"os"
	"testing"
)

func TestDiag(t *testing.T) {
	if os.Getenv("DIAG") == "" {
		t.Skip()
	}
	in := Generate(1, Spec{Subscribers: 5000, Products: 100})
	r, _ := Allocate(context.Background(), in, Options{MaxIterations: 1500, TargetGap: 1e-9, Progress: func(p Progress) {
		if p.Iteration%100 == 0 || p.Phase != "dual" {
			t.Logf("%s it %d bound %s est %s obj %s gap %.4f", p.Phase, p.Iteration, p.Bound, p.Estimate, p.Objective, 100*p.Gap)
		}
	}})
	t.Logf("final obj %s bound %s gap %.4f", r.Objective, r.Bound, 100*r.Gap)
}
