package catalog

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/market"
)

// Vocabulary of sample products: a beauty catalog.
var (
	sampleBrands    = []string{"Glossier", "Fenty Beauty", "Rare Beauty", "The Ordinary", "Natura", "Boticário", "Nykaa", "Sugar", "Milk Makeup", "Drunk Elephant", "Laneige", "Kylie Cosmetics"}
	sampleKinds     = []struct{ category, noun string }{{"lipstick", "Lip Color"}, {"serum", "Serum"}, {"moisturizer", "Cream"}, {"cleanser", "Cleanser"}, {"foundation", "Skin Tint"}, {"blush", "Blush"}, {"sunscreen", "Sunscreen SPF 50"}, {"mascara", "Mascara"}}
	sampleAdjs      = []string{"Cloud", "Velvet", "Dewy", "Glow", "Hydra", "Matte", "Silk", "Bloom", "Pure", "Radiant", "Soft", "Daily"}
	sampleSkinTypes = []string{"dry", "oily", "combination", "normal", "sensitive"}
	sampleConcerns  = []string{"acne", "aging", "dullness", "redness", "pores", "dark_spots", "dehydration"}
	sampleShades    = []string{"Rose", "Puff", "Beam", "Dusk", "Haze", "Storm", "Dawn", "Spice", "Berry", "Nude"}
	sampleSizes     = []string{"15 ml", "30 ml", "50 ml"}
)

// sampleRates converts a USD price to other currencies for sample data only.
var sampleRates = map[string]float64{"USD": 1, "CAD": 1.37, "BRL": 5.4, "INR": 84, "EUR": 0.93, "GBP": 0.79, "MXN": 17}

// SampleProducts returns n realistic, valid, active products for seeding
// and load tests: beauty products with 1 to 5 variants (3 on average), each
// priced in every given market in its currency, with brand, category,
// skin_type and concerns attributes. The same seed gives the same catalog
// (IDs aside); handles and SKUs are unique within one call and carry the
// seed, so calls with different seeds do not collide.
func SampleProducts(seed uint64, n int, markets []market.Market, now time.Time) []Product {
	r := rand.New(rand.NewPCG(seed, 0x5ca1ab1e))
	now = now.UTC().Truncate(time.Microsecond)
	out := make([]Product, n)
	for i := range out {
		brand := sampleBrands[r.IntN(len(sampleBrands))]
		kind := sampleKinds[r.IntN(len(sampleKinds))]
		title := fmt.Sprintf("%s %s %s", brand, sampleAdjs[r.IntN(len(sampleAdjs))], kind.noun)
		p := Product{
			ID:            shopd.NewID("prd"),
			Handle:        fmt.Sprintf("%s-%x-%d", MakeHandle(title), seed, i),
			Title:         title,
			Description:   fmt.Sprintf("%s by %s. A sample product for trying shopd.", kind.noun, brand),
			Status:        StatusActive,
			TaxCategory:   DefaultTaxCategory,
			PurchaseLimit: []int{0, 0, 0, 2, 5}[r.IntN(5)],
			Attributes: map[string][]string{
				"brand":     {brand},
				"category":  {kind.category},
				"skin_type": pick(r, sampleSkinTypes, 1+r.IntN(3)),
				"concerns":  pick(r, sampleConcerns, 1+r.IntN(2)),
			},
			Media:     []Media{{URL: fmt.Sprintf("https://cdn.shopd.dev/sample/%d.jpg", i), Alt: title}},
			CreatedAt: now,
			UpdatedAt: now,
		}
		base := int64(800 + r.IntN(52)*100 + 99) // $8.99 to $59.99
		nv := 1 + r.IntN(5)
		shades := pick(r, sampleShades, nv)
		p.Variants = make([]Variant, nv)
		for j := range p.Variants {
			opts := map[string]string{"shade": shades[j]}
			if kind.category == "serum" || kind.category == "moisturizer" {
				opts = map[string]string{"size": sampleSizes[j%len(sampleSizes)], "shade": shades[j]}
			}
			v := Variant{
				ID:        shopd.NewID("var"),
				ProductID: p.ID,
				SKU:       fmt.Sprintf("S%X-%07d-%d", seed, i, j+1),
				Options:   opts,
				Title:     variantTitle(opts),
				Position:  j + 1,
				Prices:    make(map[string]Price, len(markets)),
				CreatedAt: now,
				UpdatedAt: now,
			}
			for _, m := range markets {
				rate, ok := sampleRates[m.Currency]
				if !ok {
					rate = 1
				}
				amount := int64(float64(base+int64(j)*100)*rate)/100*100 + 99
				pr := Price{Amount: shopd.Money{Amount: amount, Currency: m.Currency}}
				if r.IntN(4) == 0 {
					pr.CompareAt = &shopd.Money{Amount: amount + amount/4, Currency: m.Currency}
				}
				v.Prices[m.Code] = pr
			}
			p.Variants[j] = v
		}
		out[i] = p
	}
	return out
}

// pick returns k distinct words in random order.
func pick(r *rand.Rand, words []string, k int) []string {
	idx := r.Perm(len(words))[:min(k, len(words))]
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = words[j]
	}
	return out
}
