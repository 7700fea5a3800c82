package boxalloc

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Points is a score in micro-points (1 point = 1,000,000). Scores, prices,
// objectives and bounds are integers so that they add up exactly.
type Points int64

// PointScale is the number of Points in one point.
const PointScale = 1_000_000

// String prints points with six decimals, e.g. "12.500000".
func (p Points) String() string {
	sign := ""
	if p < 0 {
		sign, p = "-", -p
	}
	return sign + strconv.FormatInt(int64(p)/PointScale, 10) + "." + fmt.Sprintf("%06d", int64(p)%PointScale)
}

// Weights are the merchant's scoring weights, in points. A feasible product
// scores, for a profile:
//
//	Base + Boost×product.Boost
//	+ SkinType if the product suits the profile's skin type (same for SkinTone, HairType)
//	+ Concern × the number of the profile's concerns the product addresses
//	+ Tag × the number of the profile's free attributes the product carries
//	+ PreferredBrand if its brand is preferred, PreferredCategory if its category is.
//
// Exclusions are not scores: a product of an excluded brand or category, or
// with an excluded ingredient, is infeasible for the profile.
type Weights struct {
	Base              float64 `json:"base"`
	SkinType          float64 `json:"skin_type"`
	SkinTone          float64 `json:"skin_tone"`
	HairType          float64 `json:"hair_type"`
	Concern           float64 `json:"concern"`
	Tag               float64 `json:"tag"`
	PreferredBrand    float64 `json:"preferred_brand"`
	PreferredCategory float64 `json:"preferred_category"`
	Boost             float64 `json:"boost"`
}

// DefaultWeights favour skin fit and concerns, then stated preferences.
func DefaultWeights() Weights {
	return Weights{Base: 1, SkinType: 3, SkinTone: 1.5, HairType: 2, Concern: 2, Tag: 1,
		PreferredBrand: 1.5, PreferredCategory: 1, Boost: 1}
}

// maxWeight keeps every item score within int32 micro-points internally.
const maxWeight = 100

// Validate returns an error if a weight is negative, not finite or above 100
// points (scores must stay non-negative so that a fuller box never scores less).
func (w Weights) Validate() error {
	for _, f := range w.fields() {
		if math.IsNaN(f.v) || f.v < 0 || f.v > maxWeight {
			return fmt.Errorf("weight %s = %v: want 0 to %d points", f.name, f.v, maxWeight)
		}
	}
	return nil
}

type namedWeight struct {
	name string
	v    float64
}

func (w Weights) fields() []namedWeight {
	return []namedWeight{{"base", w.Base}, {"skin_type", w.SkinType}, {"skin_tone", w.SkinTone},
		{"hair_type", w.HairType}, {"concern", w.Concern}, {"tag", w.Tag},
		{"preferred_brand", w.PreferredBrand}, {"preferred_category", w.PreferredCategory}, {"boost", w.Boost}}
}

// toPoints converts a weight in points to Points, rounding to the nearest.
func toPoints(points float64) Points { return Points(math.Round(points * PointScale)) }

// boostPoints is a product's Base+Boost part, shared by every profile.
func boostPoints(w Weights, p *Product) Points {
	return toPoints(w.Base) + toPoints(w.Boost*p.Boost)
}

// Score returns the score of a product for a profile and whether the pair is
// feasible (false for an excluded brand, category or ingredient; the score
// is then 0). Receiving the product in the last periods is checked by the
// allocator, not here. Duplicate values in a list count once.
func Score(w Weights, prof Profile, p Product) (Points, bool) {
	if slices.Contains(prof.ExcludedBrands, p.Brand) || slices.Contains(prof.ExcludedCategories, p.Category) {
		return 0, false
	}
	for _, ing := range p.Ingredients {
		if slices.Contains(prof.ExcludedIngredients, ing) {
			return 0, false
		}
	}
	s := boostPoints(w, &p)
	s += matchPoints(w.SkinType, prof.SkinType, p.SkinTypes)
	s += matchPoints(w.SkinTone, prof.SkinTone, p.SkinTones)
	s += matchPoints(w.HairType, prof.HairType, p.HairTypes)
	s += toPoints(w.Concern) * Points(overlap(prof.Concerns, p.Concerns))
	s += toPoints(w.Tag) * Points(overlap(prof.Tags, p.Tags))
	if slices.Contains(prof.PreferredBrands, p.Brand) {
		s += toPoints(w.PreferredBrand)
	}
	if slices.Contains(prof.PreferredCategories, p.Category) {
		s += toPoints(w.PreferredCategory)
	}
	return s, true
}

func matchPoints(weight float64, value string, suits []string) Points {
	if value != "" && slices.Contains(suits, value) {
		return toPoints(weight)
	}
	return 0
}

// overlap counts the distinct values of want that also appear in have.
func overlap(want, have []string) int {
	n := 0
	for i, v := range want {
		if v != "" && !slices.Contains(want[:i], v) && slices.Contains(have, v) {
			n++
		}
	}
	return n
}
