package boxalloc

// scorer computes Score for one profile against every product at once: each
// attribute value lists the products that carry it, so a profile costs one
// pass over the products it touches instead of string comparisons per pair.
// It must agree with Score exactly (TestScorerMatchesScore).
type scorer struct {
	base                        []int32 // Base + Boost part per product
	skin, tone, hair            map[string][]int32
	concern, tag                map[string][]int32
	brand, category, ingredient map[string][]int32
	wSkin, wTone, wHair         int32
	wConcern, wTag              int32
	wPrefBrand, wPrefCategory   int32
	prodIndex                   map[string]int
	weights                     Weights
}

// infeasible marks an excluded product in a score vector; feasible scores are >= 0.
const infeasible = -1

func newScorer(in *Instance) *scorer {
	w := in.Weights
	sc := &scorer{base: make([]int32, len(in.Products)),
		skin: map[string][]int32{}, tone: map[string][]int32{}, hair: map[string][]int32{},
		concern: map[string][]int32{}, tag: map[string][]int32{},
		brand: map[string][]int32{}, category: map[string][]int32{}, ingredient: map[string][]int32{},
		wSkin: int32(toPoints(w.SkinType)), wTone: int32(toPoints(w.SkinTone)), wHair: int32(toPoints(w.HairType)),
		wConcern: int32(toPoints(w.Concern)), wTag: int32(toPoints(w.Tag)),
		wPrefBrand: int32(toPoints(w.PreferredBrand)), wPrefCategory: int32(toPoints(w.PreferredCategory)),
		prodIndex: make(map[string]int, len(in.Products)), weights: w}
	for i := range in.Products {
		p := &in.Products[i]
		sc.prodIndex[p.ID] = i
		sc.base[i] = int32(boostPoints(w, p))
		addOnce(sc.skin, p.SkinTypes, i)
		addOnce(sc.tone, p.SkinTones, i)
		addOnce(sc.hair, p.HairTypes, i)
		addOnce(sc.concern, p.Concerns, i)
		addOnce(sc.tag, p.Tags, i)
		addOnce(sc.ingredient, p.Ingredients, i)
		sc.brand[p.Brand] = append(sc.brand[p.Brand], int32(i))
		sc.category[p.Category] = append(sc.category[p.Category], int32(i))
	}
	return sc
}

// addOnce lists product i under each distinct value.
func addOnce(index map[string][]int32, values []string, i int) {
	for _, v := range values {
		l := index[v]
		if len(l) == 0 || l[len(l)-1] != int32(i) {
			index[v] = append(l, int32(i))
		}
	}
}

// score writes into out the score of every product for the profile, or
// infeasible for an excluded product or one in recent.
func (sc *scorer) score(prof *Profile, recent []string, out []int32) {
	copy(out, sc.base)
	sc.add(out, sc.skin[prof.SkinType], sc.wSkin, prof.SkinType != "")
	sc.add(out, sc.tone[prof.SkinTone], sc.wTone, prof.SkinTone != "")
	sc.add(out, sc.hair[prof.HairType], sc.wHair, prof.HairType != "")
	sc.addEach(out, sc.concern, prof.Concerns, sc.wConcern)
	sc.addEach(out, sc.tag, prof.Tags, sc.wTag)
	sc.addEach(out, sc.brand, prof.PreferredBrands, sc.wPrefBrand)
	sc.addEach(out, sc.category, prof.PreferredCategories, sc.wPrefCategory)
	exclude := func(index map[string][]int32, values []string) {
		for _, v := range values {
			for _, p := range index[v] {
				out[p] = infeasible
			}
		}
	}
	exclude(sc.brand, prof.ExcludedBrands)
	exclude(sc.category, prof.ExcludedCategories)
	exclude(sc.ingredient, prof.ExcludedIngredients)
	for _, id := range recent {
		if p, ok := sc.prodIndex[id]; ok {
			out[p] = infeasible
		}
	}
}

func (sc *scorer) add(out []int32, products []int32, weight int32, ok bool) {
	if !ok {
		return
	}
	for _, p := range products {
		out[p] += weight
	}
}

// addEach adds weight once per distinct non-empty value, as Score's overlap does.
func (sc *scorer) addEach(out []int32, index map[string][]int32, values []string, weight int32) {
	for i, v := range values {
		if v != "" && !containsString(values[:i], v) {
			sc.add(out, index[v], weight, true)
		}
	}
}

func containsString(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

// maxScore is the highest score p can reach for any profile.
func (sc *scorer) maxScore(p *Product) int64 {
	return int64(boostPoints(sc.weights, p)) + int64(sc.wSkin) + int64(sc.wTone) + int64(sc.wHair) +
		int64(sc.wConcern)*int64(len(p.Concerns)) + int64(sc.wTag)*int64(len(p.Tags)) +
		int64(sc.wPrefBrand) + int64(sc.wPrefCategory)
}
