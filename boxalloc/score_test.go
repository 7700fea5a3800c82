package boxalloc

import (
	"encoding/json"
	"testing"
)

func TestScore(t *testing.T) {
	w := DefaultWeights()
	prod := Product{ID: "p", Category: "serum", Brand: "b1", Ingredients: []string{"retinol", "aha"},
		SkinTypes: []string{"dry", "normal"}, SkinTones: []string{"deep"}, Concerns: []string{"acne", "aging", "acne"},
		Tags: []string{"vegan"}, Boost: 0.25}
	tests := []struct {
		name     string
		prof     Profile
		want     Points
		feasible bool
	}{
		{"nothing matches", Profile{SkinType: "oily"}, 1_250_000, true},
		{"skin type", Profile{SkinType: "dry"}, 4_250_000, true},
		{"concerns count once each", Profile{Concerns: []string{"acne", "acne", "aging", "pores"}}, 5_250_000, true},
		{"everything", Profile{SkinType: "normal", SkinTone: "deep", Concerns: []string{"aging"}, Tags: []string{"vegan"},
			PreferredBrands: []string{"b1"}, PreferredCategories: []string{"serum"}}, 11_250_000, true},
		{"excluded brand", Profile{SkinType: "dry", ExcludedBrands: []string{"b1"}}, 0, false},
		{"excluded category", Profile{ExcludedCategories: []string{"serum"}}, 0, false},
		{"allergy", Profile{ExcludedIngredients: []string{"nut-oil", "aha"}}, 0, false},
		{"empty skin type matches nothing", Profile{SkinType: ""}, 1_250_000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Score(w, tt.prof, prod)
			if got != tt.want || ok != tt.feasible {
				t.Errorf("Score = %s, %v; want %s, %v", got, ok, tt.want, tt.feasible)
			}
		})
	}
}

func TestPointsString(t *testing.T) {
	for p, want := range map[Points]string{0: "0.000000", 12_500_000: "12.500000", -1_000_001: "-1.000001", 7: "0.000007"} {
		if got := p.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int64(p), got, want)
		}
	}
}

// The allocator scores through compiled tables; they must equal Score for
// every pair, recent products being infeasible too.
func TestScorerMatchesScore(t *testing.T) {
	in := Generate(3, Spec{Subscribers: 300, Products: 120})
	in.Weights = Weights{Base: 0.5, SkinType: 2.25, SkinTone: 1, HairType: 0.75, Concern: 1.5, Tag: 0.333333,
		PreferredBrand: 2, PreferredCategory: 0.1, Boost: 1.7}
	m, err := compile(in)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]int32, m.nP)
	for _, sub := range in.Subscribers {
		m.scorer.score(&sub.Profile, sub.Recent, got)
		for i, p := range in.Products {
			want, ok := Score(in.Weights, sub.Profile, p)
			if containsString(sub.Recent, p.ID) {
				ok = false
			}
			if !ok && got[i] != infeasible || ok && Points(got[i]) != want {
				t.Fatalf("%s × %s: scorer %d, Score %s feasible %v", sub.ID, p.ID, got[i], want, ok)
			}
		}
	}
}

func TestWeightsJSONAndValidate(t *testing.T) {
	var w Weights
	if err := json.Unmarshal([]byte(`{"base":1,"skin_type":4,"concern":2.5}`), &w); err != nil {
		t.Fatal(err)
	}
	if w.SkinType != 4 || w.Concern != 2.5 || w.Validate() != nil {
		t.Errorf("decoded %+v, Validate %v", w, w.Validate())
	}
	for _, bad := range []Weights{{Base: -1}, {Concern: 101}} {
		if bad.Validate() == nil {
			t.Errorf("Validate(%+v) = nil, want an error", bad)
		}
	}
}

func TestBoxExplain(t *testing.T) {
	b := Box{Subscriber: "sub_1", Warehouse: "br-sp", Score: 9_500_000, Items: []Item{
		{Product: "p1", Score: 6_000_000, Price: 1_250_000}, {Product: "p2", Score: 3_500_000}}}
	want := "sub_1 from br-sp: score 9.500000\n" +
		"  p1: score 6.000000, price 1.250000, net 4.750000\n" +
		"  p2: score 3.500000, price 0.000000, net 3.500000\n"
	if got := b.Explain(); got != want {
		t.Errorf("Explain() = %q, want %q", got, want)
	}
	r := Result{Objective: 99}
	if g := r.GapTo(100); g != 0.01 {
		t.Errorf("GapTo(100) = %v, want 0.01", g)
	}
}
