package platform

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestBillingMetrics(t *testing.T) {
	m := NewMetrics("test")
	b, err := NewBillingMetrics(m)
	if err != nil {
		t.Fatal(err)
	}
	b.Observe(2*time.Second, nil, map[string]int{"invoiced": 3, "charged": 2, "declined": 1})
	b.Observe(time.Second, errors.New("database gone"), map[string]int{"invoiced": 1})
	for name, want := range map[string]float64{
		"runs": testutil.ToFloat64(b.runs), "failures": testutil.ToFloat64(b.failures),
		"invoiced": testutil.ToFloat64(b.outcomes.WithLabelValues("invoiced")), "declined": testutil.ToFloat64(b.outcomes.WithLabelValues("declined")),
	} {
		if exp := map[string]float64{"runs": 2, "failures": 1, "invoiced": 4, "declined": 1}[name]; want != exp {
			t.Errorf("%s = %v, want %v", name, want, exp)
		}
	}
	if n := testutil.CollectAndCount(b.duration); n != 1 {
		t.Errorf("duration histogram: %d series", n)
	}
}
