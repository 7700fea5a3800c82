package boxalloc

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Spec sizes a generated instance. Zero fields take the defaults in brackets.
type Spec struct {
	Subscribers    int     // [1000]
	Products       int     // [300]
	BoxSize        int     // [5]
	Categories     int     // [12], at most len(generatedCategories)
	Brands         int     // [30]
	HistoryPeriods int     // periods of history per subscriber [3]
	StockRatio     float64 // total stock per market ÷ its slots [1.03]
	ValueFloor     int64   // [0: none]
}

func (s Spec) withDefaults() Spec {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&s.Subscribers, 1000)
	def(&s.Products, 300)
	def(&s.BoxSize, 5)
	def(&s.Categories, 12)
	def(&s.Brands, 30)
	def(&s.HistoryPeriods, 3)
	s.Categories = min(s.Categories, len(generatedCategories))
	if s.StockRatio <= 0 {
		s.StockRatio = 1.03
	}
	return s
}

var (
	generatedCategories = []string{"cleanser", "moisturizer", "serum", "mask", "sunscreen", "lipstick", "mascara",
		"foundation", "shampoo", "conditioner", "fragrance", "nail", "eye-cream", "toner", "hair-oil", "body-lotion"}
	hairCategories = map[string]bool{"shampoo": true, "conditioner": true, "hair-oil": true}
	skinTypes      = []string{"dry", "oily", "combination", "normal", "sensitive"}
	skinTones      = []string{"fair", "light", "medium", "tan", "deep"}
	hairTypes      = []string{"straight", "wavy", "curly", "coily"}
	concerns       = []string{"acne", "aging", "dullness", "redness", "dryness", "dark-spots", "pores", "frizz", "volume", "hyperpigmentation"}
	freeTags       = []string{"vegan", "cruelty-free", "fragrance-free", "clean", "travel-size", "spf"}
	ingredients    = []string{"fragrance", "parabens", "sulfates", "nut-oil", "gluten", "lanolin", "retinol", "salicylic-acid",
		"alcohol", "silicones", "essential-oils", "beeswax", "soy", "coconut", "niacinamide", "vitamin-c", "aha", "bha", "talc", "mica"}
	// generatedMarkets: market, its share of subscribers and its warehouses.
	generatedMarkets = []struct {
		market     string
		share      float64
		warehouses []string
	}{{"us", 0.45, []string{"us-east", "us-west"}}, {"ca", 0.10, []string{"ca-central"}},
		{"br", 0.25, []string{"br-sp"}}, {"in", 0.20, []string{"in-mh"}}}
)

// Generate makes a realistic instance: four markets (one with two
// warehouses), products niche enough that a popular one suits only a
// fraction of subscribers, hero products with a merchant boost, profiles
// with preferences, allergies and exclusions, histories of the last
// periods, and stock per market of about StockRatio × its slots, spread
// unevenly over products so that the popular ones run short.
func Generate(seed int64, spec Spec) *Instance {
	spec = spec.withDefaults()
	rng := rand.New(rand.NewPCG(uint64(seed), 0xb0c5))
	in := &Instance{BoxSize: spec.BoxSize, CategoryLimit: 1, ValueFloor: spec.ValueFloor, Weights: DefaultWeights()}
	cats := generatedCategories[:spec.Categories]
	brands := make([]string, spec.Brands)
	for i := range brands {
		brands[i] = fmt.Sprintf("brand-%02d", i)
	}
	for i := range spec.Products {
		in.Products = append(in.Products, generateProduct(rng, i, cats, brands))
	}
	subsPerMarket := make([]int, len(generatedMarkets))
	for i := range spec.Subscribers {
		mi := pickMarket(rng)
		subsPerMarket[mi]++
		in.Subscribers = append(in.Subscribers, generateSubscriber(rng, i, mi, in.Products, cats, brands, spec))
	}
	for mi, mk := range generatedMarkets {
		for _, w := range mk.warehouses {
			in.Warehouses = append(in.Warehouses, Warehouse{ID: w, Market: mk.market})
		}
		generateStock(rng, in, mk.warehouses, float64(subsPerMarket[mi]*spec.BoxSize)*spec.StockRatio)
	}
	return in
}

func generateProduct(rng *rand.Rand, i int, cats, brands []string) Product {
	cat := cats[i%len(cats)]
	p := Product{ID: fmt.Sprintf("prod_%04d", i), Category: cat, Brand: brands[rng.IntN(len(brands))],
		Ingredients: sample(rng, ingredients, 1+rng.IntN(4)), Tags: sample(rng, freeTags, rng.IntN(3))}
	hero := rng.Float64() < 0.1
	if hero { // narrow targeting, strong boost: wanted by a few, scarce
		p.SkinTypes, p.Concerns = sample(rng, skinTypes, 1), sample(rng, concerns, 1+rng.IntN(2))
		p.Boost = 2 + math.Round(rng.Float64()*300)/100
	} else {
		p.SkinTypes, p.Concerns = sample(rng, skinTypes, 1+rng.IntN(3)), sample(rng, concerns, 1+rng.IntN(3))
		p.Boost = math.Round(rng.Float64()*150) / 100
	}
	if rng.IntN(2) == 0 {
		p.SkinTones = sample(rng, skinTones, 1+rng.IntN(3))
	}
	if hairCategories[cat] {
		p.HairTypes = sample(rng, hairTypes, 1+rng.IntN(2))
	}
	p.RetailValue = int64(800 + rng.IntN(5200))
	p.Cost = p.RetailValue * 3 / 10
	return p
}

func pickMarket(rng *rand.Rand) int {
	x := rng.Float64()
	for i, mk := range generatedMarkets {
		if x < mk.share {
			return i
		}
		x -= mk.share
	}
	return len(generatedMarkets) - 1
}

func generateSubscriber(rng *rand.Rand, i, market int, products []Product, cats, brands []string, spec Spec) Subscriber {
	prof := Profile{SkinType: skinTypes[rng.IntN(len(skinTypes))], SkinTone: skinTones[rng.IntN(len(skinTones))],
		HairType: hairTypes[rng.IntN(len(hairTypes))], Concerns: sample(rng, concerns, 1+rng.IntN(3)),
		Tags: sample(rng, freeTags, rng.IntN(2))}
	if rng.IntN(10) < 6 {
		prof.PreferredBrands = sample(rng, brands, 1+rng.IntN(2))
	}
	if rng.IntN(10) < 4 {
		prof.PreferredCategories = sample(rng, cats, 1+rng.IntN(2))
	}
	if rng.IntN(10) < 2 {
		prof.ExcludedBrands = sample(rng, brands, 1)
	}
	if rng.IntN(10) < 1 {
		prof.ExcludedCategories = sample(rng, cats, 1)
	}
	if rng.IntN(10) < 3 {
		prof.ExcludedIngredients = sample(rng, ingredients, 1+rng.IntN(2))
	}
	ws := generatedMarkets[market].warehouses
	if len(ws) > 1 && rng.IntN(2) == 0 {
		ws = []string{ws[1], ws[0]}
	}
	recent := make([]string, 0, spec.HistoryPeriods*spec.BoxSize)
	for range spec.HistoryPeriods * spec.BoxSize {
		if id := products[rng.IntN(len(products))].ID; !containsString(recent, id) {
			recent = append(recent, id)
		}
	}
	return Subscriber{ID: fmt.Sprintf("sub_%07d", i), Profile: prof, Warehouses: ws, Recent: recent}
}

// generateStock spreads total units over the products (log-normal weights,
// a tenth of the products absent from the market) and their warehouses.
func generateStock(rng *rand.Rand, in *Instance, warehouses []string, total float64) {
	weights := make([]float64, len(in.Products))
	sum := 0.0
	for i := range weights {
		if rng.IntN(10) > 0 {
			weights[i] = math.Exp(rng.NormFloat64() * 0.7)
			sum += weights[i]
		}
	}
	for i, wt := range weights {
		units := int(math.Round(total * wt / sum))
		if units == 0 {
			continue
		}
		split := 1.0
		if len(warehouses) > 1 {
			split = 0.3 + 0.4*rng.Float64()
		}
		first := int(math.Round(float64(units) * split))
		for j, w := range warehouses {
			q := first
			if j > 0 {
				q = units - first
			}
			if q > 0 && j < 2 {
				in.Stock = append(in.Stock, StockLevel{Product: in.Products[i].ID, Warehouse: w, Quantity: q})
			}
		}
	}
}

// sample picks n distinct values at random.
func sample(rng *rand.Rand, from []string, n int) []string {
	if n <= 0 {
		return nil
	}
	out := make([]string, 0, n)
	for len(out) < n && len(out) < len(from) {
		if v := from[rng.IntN(len(from))]; !containsString(out, v) {
			out = append(out, v)
		}
	}
	return out
}
