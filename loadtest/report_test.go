package loadtest

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	// Every bucket's values map back to it, and buckets tile the number line.
	for i := 1; i < numBuckets; i++ {
		lo := bucketHigh(i-1) + 1
		if bucketOf(lo) != i || bucketOf(bucketHigh(i)) != i {
			t.Fatalf("bucket %d: [%d, %d] maps to %d and %d", i, lo, bucketHigh(i), bucketOf(lo), bucketOf(bucketHigh(i)))
		}
		if i >= exactBelow && float64(bucketHigh(i)-lo+1)/float64(lo) > 1.0/subCount {
			t.Fatalf("bucket %d: [%d, %d] is wider than 1/%d of its values", i, lo, bucketHigh(i), subCount)
		}
	}
	if got := bucketOf(math.MaxInt64); got != numBuckets-1 {
		t.Fatalf("MaxInt64 in bucket %d, want %d", got, numBuckets-1)
	}
	if bucketOf(-5) != 0 {
		t.Fatal("a negative value must count as 0")
	}
}

// TestQuantiles compares the histogram with the exact percentiles of the
// sorted samples.
func TestQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name string
		gen  func() time.Duration
	}{
		{"uniform 0-10ms", func() time.Duration { return time.Duration(rng.Int64N(int64(10 * time.Millisecond))) }},
		{"lognormal", func() time.Duration { return time.Duration(math.Exp(rng.NormFloat64()*1.5 + 14)) }},
		{"tiny", func() time.Duration { return time.Duration(rng.IntN(300)) }},
	} {
		var h Histogram
		samples := make([]time.Duration, 100_000)
		for i := range samples {
			samples[i] = c.gen()
			h.Record(samples[i])
		}
		slices.Sort(samples)
		for _, q := range []float64{0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
			exact := samples[int(math.Ceil(q*float64(len(samples))))-1]
			got := h.Quantile(q)
			if got < exact || float64(got-exact) > float64(exact)/subCount {
				t.Errorf("%s: p%v = %v, exact %v (more than 1/%d off, or below)", c.name, q*100, got, exact, subCount)
			}
		}
		if h.Max() != samples[len(samples)-1] || h.Count() != uint64(len(samples)) {
			t.Errorf("%s: max %v count %d, want %v %d", c.name, h.Max(), h.Count(), samples[len(samples)-1], len(samples))
		}
	}
	var h, a, b Histogram
	if h.Quantile(0.99) != 0 {
		t.Error("empty histogram: p99 must be 0")
	}
	for i := 1; i <= 100; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
		if i%2 == 0 {
			a.Record(time.Duration(i) * time.Millisecond)
		} else {
			b.Record(time.Duration(i) * time.Millisecond)
		}
	}
	a.Merge(&b)
	if a != h {
		t.Error("merging two halves differs from recording everything")
	}
	if s := h.Summary(); s.Max != 100 || s.P50 < 50 || s.P50 > 50*(1+1.0/subCount) || s.P99 < 99 || s.P99 > 99*(1+1.0/subCount) {
		t.Errorf("summary of 1..100 ms: %+v", s)
	}
}

func TestInversions(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		s := rng.Perm(rng.IntN(200))
		var want int64
		for i := range s {
			for j := i + 1; j < len(s); j++ {
				if s[i] > s[j] {
					want++
				}
			}
		}
		if got := inversions(slices.Clone(s)); got != want {
			t.Fatalf("inversions(%v) = %d, want %d", s, got, want)
		}
	}
}

func TestFairness(t *testing.T) {
	ms := func(arrivalsInCompletionOrder ...int) []completion {
		var cs []completion
		for i, a := range arrivalsInCompletionOrder {
			cs = append(cs, completion{arrival: a, done: time.Duration(i+1) * time.Millisecond})
		}
		// The input order must not matter, only the completion times.
		slices.Reverse(cs)
		return cs
	}
	for _, c := range []struct {
		name    string
		orders  []completion
		soldOut []int
		want    Fairness
	}{
		{"none", nil, []int{0, 1}, Fairness{KendallTau: 1}},
		{"one", ms(7), nil, Fairness{Shoppers: 1, KendallTau: 1}},
		{"in order", ms(0, 2, 5, 9), []int{10, 11}, Fairness{Shoppers: 4, KendallTau: 1}},
		{"reversed", ms(9, 5, 2, 0), nil, Fairness{Shoppers: 4, KendallTau: -1, MeanDisplacement: 2, MaxDisplacement: 3}},
		// One adjacent swap among 4: 1 discordant pair of 6.
		{"one swap", ms(0, 5, 2, 9), []int{1, 3, 12}, Fairness{Shoppers: 4, KendallTau: 0.6667, MeanDisplacement: 0.5, MaxDisplacement: 1, PassedOver: 2}},
	} {
		if got := fairness(c.orders, c.soldOut); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	// Ties in completion time count in arrival order.
	tie := []completion{{arrival: 3, done: time.Second}, {arrival: 1, done: time.Second}}
	if got := fairness(tie, nil); got.KendallTau != 1 {
		t.Errorf("ties: %+v", got)
	}
}

func TestReportText(t *testing.T) {
	r := &Report{Scenario: "drop", Steps: map[string]Step{"product": {Requests: 3, Statuses: map[int]int64{200: 3}}},
		LatencyMS: map[string]Latency{"product": {P50: 1, P95: 2, P99: 3, Max: 4}}, steps: []string{"product"},
		Shoppers: &Outcomes{Shoppers: 3}, Fairness: &Fairness{KendallTau: 1}, Oversell: 2, Errors5xx: 1, WaitMS: &Latency{P50: 7.5}}
	var b strings.Builder
	r.WriteText(&b)
	for _, want := range []string{"product", "3×200", "oversell 2", "Kendall tau 1.0000", "5xx answers 1", "wait                                7.50"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, b.String())
		}
	}
	if got := r.Failed(); got != "oversell 2, 1 answers were 5xx" {
		t.Errorf("Failed() = %q", got)
	}
	if (&Report{}).Failed() != "" {
		t.Error("a clean report must not fail")
	}
}

func TestValidate(t *testing.T) {
	ok := Config{Scenario: "drop", Target: "http://127.0.0.1:8080", AdminKey: "sk_x", Shoppers: 10, Stock: 1, Connections: 4, Timeout: time.Second, Patience: time.Minute}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Scenario = "stampede" }, "scenario must be one of browse, catalog, drop"},
		{func(c *Config) { c.Target = "127.0.0.1:8080" }, "--target"},
		{func(c *Config) { c.AdminKey = "" }, "SHOPD_ADMIN_KEY"},
		{func(c *Config) { c.Stock = 0 }, "--stock"},
		{func(c *Config) { c.Abandon = 1.5 }, "--abandon"},
		{func(c *Config) { c.Patience = 0 }, "--patience"},
		{func(c *Config) { c.Scenario, c.Rate = "browse", 0 }, "--rate"},
	} {
		cfg := ok
		c.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", cfg, err, c.want)
		}
	}
}
