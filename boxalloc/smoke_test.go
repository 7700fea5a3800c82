package boxalloc

import (
	"context"
	"testing"
)

func TestSmoke(t *testing.T) {
	in := Generate(1, Spec{Subscribers: 20000, Products: 200})
	r, err := Allocate(context.Background(), in, Options{Progress: func(p Progress) { t.Logf("%+v", p) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("obj %s bound %s gap %.5f unfilled %d it %d %v", r.Objective, r.Bound, r.Gap, len(r.Unfilled), r.Iterations, r.Elapsed)
	if err := Validate(in, r); err != nil {
		t.Fatal(err)
	}
}
