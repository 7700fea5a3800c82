package boxalloc

// Instance is one period's allocation problem. Identifiers are compared as
// given (the caller normalises case). Stock rows that are absent mean zero.
type Instance struct {
	Products    []Product
	Warehouses  []Warehouse
	Stock       []StockLevel
	Subscribers []Subscriber

	BoxSize        int            // k: items per box
	CategoryLimit  int            // items per category in a box; 0 means 1
	CategoryLimits map[string]int // per-category overrides of CategoryLimit
	ValueFloor     int64          // minimum retail value of a box in minor units; 0 means none
	Weights        Weights        // the scoring function's weights
}

// Product is one product offered in the period. RetailValue and Cost are in
// minor units of the period's accounting currency.
type Product struct {
	ID          string   `json:"id"`
	Category    string   `json:"category"`
	Brand       string   `json:"brand"`
	Ingredients []string `json:"ingredients,omitempty"`
	SkinTypes   []string `json:"skin_types,omitempty"` // skin types it suits
	SkinTones   []string `json:"skin_tones,omitempty"`
	HairTypes   []string `json:"hair_types,omitempty"`
	Concerns    []string `json:"concerns,omitempty"` // concerns it addresses
	Tags        []string `json:"tags,omitempty"`     // free attributes ("vegan", "travel-size")
	Boost       float64  `json:"boost,omitempty"`    // merchant's bonus in points, scaled by Weights.Boost
	RetailValue int64    `json:"retail_value"`
	Cost        int64    `json:"cost"`
}

// Warehouse ships boxes to the subscribers of one market.
type Warehouse struct {
	ID     string `json:"id"`
	Market string `json:"market"`
}

// StockLevel is the quantity of a product available for boxes at a warehouse.
type StockLevel struct {
	Product   string `json:"product"`
	Warehouse string `json:"warehouse"`
	Quantity  int    `json:"quantity"`
}

// Subscriber is one active subscriber of the period.
type Subscriber struct {
	ID         string   `json:"id"`
	Profile    Profile  `json:"profile"`
	Warehouses []string `json:"warehouses"`       // of their market, in priority order
	Recent     []string `json:"recent,omitempty"` // products received in the last N periods
}

// Profile is a subscriber's beauty profile (the quiz's answers).
type Profile struct {
	SkinType            string   `json:"skin_type,omitempty"`
	SkinTone            string   `json:"skin_tone,omitempty"`
	HairType            string   `json:"hair_type,omitempty"`
	Concerns            []string `json:"concerns,omitempty"`
	Tags                []string `json:"tags,omitempty"` // free attributes matched against Product.Tags
	PreferredBrands     []string `json:"preferred_brands,omitempty"`
	PreferredCategories []string `json:"preferred_categories,omitempty"`
	ExcludedBrands      []string `json:"excluded_brands,omitempty"`
	ExcludedCategories  []string `json:"excluded_categories,omitempty"`
	ExcludedIngredients []string `json:"excluded_ingredients,omitempty"` // allergies and dislikes
}

// limitOf returns the number of items of a category a box may hold.
func (in *Instance) limitOf(category string) int {
	if l, ok := in.CategoryLimits[category]; ok {
		return l
	}
	if in.CategoryLimit > 0 {
		return in.CategoryLimit
	}
	return 1
}
