// Package seed makes realistic data for demos, tests and load runs: a beauty
// and apparel catalog priced in every market at local price points, and
// customers. Output is deterministic for a seed, apart from IDs and times.
package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/customer"
	"github.com/shopd/shopd/market"
)

// ProductWriter bulk-loads products.
type ProductWriter interface {
	InsertProducts(ctx context.Context, ps []catalog.Product) error
}

// CustomerWriter bulk-loads customers sharing one password hash.
type CustomerWriter interface {
	InsertCustomers(ctx context.Context, cs []customer.Customer, passwordHash string) error
}

// Options say what to make.
type Options struct {
	Products  int
	Customers int
	// Seed makes the data reproducible; handles and SKUs carry it, so two
	// runs with different seeds never collide and a rerun with the same seed
	// fails with a clear conflict instead of duplicating data.
	Seed uint64
	// Password of every seeded customer (hashed once).
	Password string
	// BatchSize is how many rows go into one bulk write.
	BatchSize int
	Now       time.Time
	// Progress, if set, is called after each batch with the rows done so far.
	Progress func(kind string, done, total int)
}

// DemoPassword is the password of seeded customers unless Options says otherwise.
const DemoPassword = "shopd-demo-password"

// Run writes opts.Products products and opts.Customers customers.
func Run(ctx context.Context, markets []market.Market, pw ProductWriter, cw CustomerWriter, opts Options) error {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.Password == "" {
		opts.Password = DemoPassword
	}
	g := NewGenerator(opts.Seed, markets, opts.Now)
	for done := 0; done < opts.Products; {
		n := min(opts.BatchSize, opts.Products-done)
		batch := make([]catalog.Product, n)
		for i := range batch {
			batch[i] = g.Product()
		}
		if err := pw.InsertProducts(ctx, batch); err != nil {
			return fmt.Errorf("seed products: %w", err)
		}
		done += n
		if opts.Progress != nil {
			opts.Progress("products", done, opts.Products)
		}
	}
	if opts.Customers == 0 {
		return nil
	}
	hash, err := customer.HashPassword(ctx, opts.Password)
	if err != nil {
		return err
	}
	for done := 0; done < opts.Customers; {
		n := min(opts.BatchSize, opts.Customers-done)
		batch := make([]customer.Customer, n)
		for i := range batch {
			batch[i] = g.Customer()
		}
		if err := cw.InsertCustomers(ctx, batch, hash); err != nil {
			return fmt.Errorf("seed customers: %w", err)
		}
		done += n
		if opts.Progress != nil {
			opts.Progress("customers", done, opts.Customers)
		}
	}
	return nil
}

// Generator makes one product or customer at a time.
type Generator struct {
	rng       *rand.Rand
	seed      uint64
	markets   []market.Market
	now       time.Time
	products  int
	customers int
}

// NewGenerator returns a generator for the markets (prices are made for each).
func NewGenerator(seed uint64, markets []market.Market, now time.Time) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, 0x5eed)), seed: seed, markets: markets, now: now.UTC().Truncate(time.Microsecond)}
}

// kind is a family of products with its own names, attributes and variants.
type kind struct {
	category string
	nouns    []string
	usd      [2]int // price range in whole dollars
	beauty   bool
	apparel  bool
}

var kinds = []kind{
	{category: "serum", nouns: []string{"Vitamin C Serum", "Niacinamide Serum", "Hyaluronic Serum", "Retinol Night Serum", "Peptide Serum"}, usd: [2]int{18, 95}, beauty: true},
	{category: "moisturizer", nouns: []string{"Daily Moisturizer", "Barrier Cream", "Gel Cream", "Rich Night Cream"}, usd: [2]int{15, 80}, beauty: true},
	{category: "cleanser", nouns: []string{"Gentle Cleanser", "Foaming Cleanser", "Cleansing Balm", "Micellar Water"}, usd: [2]int{9, 40}, beauty: true},
	{category: "sunscreen", nouns: []string{"Mineral Sunscreen SPF 50", "Invisible Sun Gel SPF 40", "Tinted SPF 30"}, usd: [2]int{14, 48}, beauty: true},
	{category: "lipstick", nouns: []string{"Satin Lipstick", "Matte Lip Color", "Lip Tint", "Glossy Lip Oil"}, usd: [2]int{12, 45}, beauty: true},
	{category: "foundation", nouns: []string{"Skin Tint", "Longwear Foundation", "Serum Foundation"}, usd: [2]int{22, 68}, beauty: true},
	{category: "mascara", nouns: []string{"Lengthening Mascara", "Volume Mascara", "Brow Gel"}, usd: [2]int{10, 32}, beauty: true},
	{category: "haircare", nouns: []string{"Repair Shampoo", "Curl Cream", "Hair Oil", "Bond Mask"}, usd: [2]int{12, 60}, beauty: true},
	{category: "fragrance", nouns: []string{"Eau de Parfum", "Body Mist", "Solid Perfume"}, usd: [2]int{28, 160}, beauty: true},
	{category: "tee", nouns: []string{"Organic Cotton Tee", "Boxy Tee", "Long Sleeve Tee"}, usd: [2]int{18, 55}, apparel: true},
	{category: "hoodie", nouns: []string{"Fleece Hoodie", "Zip Hoodie", "Heavyweight Hoodie"}, usd: [2]int{48, 140}, apparel: true},
	{category: "sneakers", nouns: []string{"Court Sneaker", "Runner", "High-Top"}, usd: [2]int{70, 220}, apparel: true},
	{category: "outerwear", nouns: []string{"Puffer Jacket", "Rain Shell", "Denim Jacket"}, usd: [2]int{90, 320}, apparel: true},
}

var (
	beautyBrands  = []string{"Lumière", "Glow Theory", "Petal & Pine", "Dermalab", "Sol Society", "Kaia", "Nuvem", "Rasa", "Maple Row", "Aurora Botanica"}
	apparelBrands = []string{"Northbound", "Loom & Co", "Drop Studio", "Urban Fable", "Costa Verde", "Indigo Mill"}
	skinTypes     = []string{"dry", "oily", "combination", "normal", "sensitive"}
	concerns      = []string{"acne", "aging", "dullness", "hyperpigmentation", "redness", "dryness", "pores", "dark-circles"}
	shades        = []string{"Porcelain", "Ivory", "Sand", "Honey", "Caramel", "Mocha", "Espresso", "Rose", "Berry", "Coral", "Nude", "Ruby"}
	beautySizes   = []string{"15 ml", "30 ml", "50 ml", "100 ml"}
	apparelSizes  = []string{"XS", "S", "M", "L", "XL", "XXL"}
	colors        = []string{"Black", "White", "Heather Grey", "Navy", "Sage", "Sand", "Burgundy"}
)

func (g *Generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// some picks 1..max distinct values from list.
func (g *Generator) some(list []string, maxN int) []string {
	n := 1 + g.rng.IntN(maxN)
	perm := g.rng.Perm(len(list))
	out := make([]string, 0, n)
	for _, i := range perm[:min(n, len(list))] {
		out = append(out, list[i])
	}
	return out
}

// Product returns a new product with variants priced in every market.
func (g *Generator) Product() catalog.Product {
	g.products++
	k := kinds[g.rng.IntN(len(kinds))]
	brand := g.pick(beautyBrands)
	taxCategory := catalog.DefaultTaxCategory
	if k.apparel {
		brand, taxCategory = g.pick(apparelBrands), "apparel"
	}
	title := brand + " " + g.pick(k.nouns)
	suffix := fmt.Sprintf("s%d-%d", g.seed, g.products)
	p := catalog.Product{
		ID:          shopd.NewID("prd"),
		Handle:      catalog.MakeHandle(title) + "-" + suffix,
		Title:       title,
		Description: fmt.Sprintf("%s by %s. A %s our customers come back for.", title, brand, k.category),
		Status:      catalog.StatusActive,
		TaxCategory: taxCategory,
		Attributes:  map[string][]string{"brand": {brand}, "category": {k.category}},
		Media:       []catalog.Media{{URL: "https://cdn.shopd.example/p/" + suffix + "/1.jpg", Alt: title}},
		CreatedAt:   g.now,
		UpdatedAt:   g.now,
	}
	switch r := g.rng.IntN(100); {
	case r < 4:
		p.Status = catalog.StatusDraft
	case r < 6:
		p.Status = catalog.StatusArchived
	case r < 8: // an upcoming drop
		p.LaunchAt = g.now.Add(time.Duration(1+g.rng.IntN(14*24)) * time.Hour).Truncate(time.Hour)
		p.PurchaseLimit = 1 + g.rng.IntN(2)
	}
	if k.beauty {
		p.Attributes["skin_type"] = g.some(skinTypes, 3)
		p.Attributes["concerns"] = g.some(concerns, 2)
		if g.rng.IntN(3) == 0 {
			p.Attributes["vegan"] = []string{"true"}
		}
	}
	base := int64(k.usd[0] + g.rng.IntN(k.usd[1]-k.usd[0]+1))
	var options []map[string]string
	switch {
	case k.category == "lipstick" || k.category == "foundation":
		for _, s := range g.some(shades, 5) {
			options = append(options, map[string]string{"shade": s})
		}
	case k.apparel:
		color := g.pick(colors)
		sizes := apparelSizes[g.rng.IntN(2) : 4+g.rng.IntN(3)]
		for _, s := range sizes {
			options = append(options, map[string]string{"color": color, "size": s})
		}
	default:
		first := g.rng.IntN(2)
		for i := first; i < first+1+g.rng.IntN(3); i++ {
			options = append(options, map[string]string{"size": beautySizes[i]})
		}
	}
	for i, opt := range options {
		v := catalog.Variant{
			ID:        shopd.NewID("var"),
			ProductID: p.ID,
			SKU:       strings.ToUpper(fmt.Sprintf("%s-%s-%02d", k.category[:3], suffix, i+1)),
			Title:     variantTitle(opt),
			Options:   opt,
			Position:  i,
			Prices:    map[string]catalog.Price{},
			CreatedAt: g.now,
			UpdatedAt: g.now,
		}
		usdCents := base*100 + int64(i)*300 // bigger sizes cost more
		if _, sized := opt["size"]; !sized || k.apparel {
			usdCents = base * 100
		}
		onSale := g.rng.IntN(8) == 0
		for _, m := range g.markets {
			amount := LocalPrice(usdCents, m.Currency)
			pr := catalog.Price{Amount: shopd.Money{Amount: amount, Currency: m.Currency}}
			if onSale {
				was := LocalPrice(usdCents*13/10, m.Currency)
				if was > amount {
					pr.CompareAt = &shopd.Money{Amount: was, Currency: m.Currency}
				}
			}
			v.Prices[m.Code] = pr
		}
		p.Variants = append(p.Variants, v)
	}
	return p
}

func variantTitle(opt map[string]string) string {
	parts := make([]string, 0, 2)
	for _, k := range []string{"color", "shade", "size"} {
		if v, ok := opt[k]; ok {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, " / ")
}

// LocalPrice turns a US price in cents into a shelf price in the currency,
// at the price points shoppers there expect: x.99 in USD and CAD, x,90 in
// BRL (tax included), round rupees ending in 9 in INR (GST included).
func LocalPrice(usdCents int64, currency string) int64 {
	switch currency {
	case "USD":
		return usdCents/100*100 - 1 + 100 // $18 → $18.99
	case "CAD":
		return usdCents*137/10000*100 + 99 // ×1.37, then .99
	case "BRL":
		return usdCents*600/10000*100 + 90 // ×6 with ICMS, then ,90
	case "INR":
		rupees := usdCents * 95 / 100 // ×95 with GST
		return (rupees/10*10 + 9) * 100
	default:
		return usdCents
	}
}

var (
	firstNames = []string{"Ana", "Priya", "Emma", "Olivia", "Mia", "Sofia", "Aarav", "Lucas", "Noah", "Chloé", "Isabela", "Ravi", "Zoe", "Liam", "Gabriel", "Ananya", "Maya", "Léa", "Julia", "Arjun"}
	lastNames  = []string{"Silva", "Sharma", "Smith", "Tremblay", "Santos", "Patel", "Johnson", "Roy", "Oliveira", "Gagnon", "Brown", "Singh", "Costa", "Martin", "Garcia", "Iyer"}
)

// Customer returns a new customer in one of the markets.
func (g *Generator) Customer() customer.Customer {
	g.customers++
	first, last := g.pick(firstNames), g.pick(lastNames)
	m := ""
	if len(g.markets) > 0 {
		m = g.markets[g.rng.IntN(len(g.markets))].Code
	}
	return customer.Customer{
		ID:               shopd.NewID("cus"),
		Email:            fmt.Sprintf("%s.%s.s%d-%d@example.com", strings.ToLower(asciiOnly(first)), strings.ToLower(last), g.seed, g.customers),
		Name:             first + " " + last,
		Market:           m,
		AcceptsMarketing: g.rng.IntN(3) == 0,
		CreatedAt:        g.now,
		UpdatedAt:        g.now,
	}
}

func asciiOnly(s string) string {
	return strings.NewReplacer("é", "e", "É", "E").Replace(s)
}

// Products returns n generated products priced in the markets.
func Products(seed uint64, n int, markets []market.Market, now time.Time) []catalog.Product {
	g := NewGenerator(seed, markets, now)
	ps := make([]catalog.Product, n)
	for i := range ps {
		ps[i] = g.Product()
	}
	return ps
}
