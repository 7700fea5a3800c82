package boxalloc

import (
	"math"
	"slices"

	"github.com/shopd/shopd"
)

// model is an Instance indexed by int: products, warehouses and categories
// are small integers, stock is a flat array, and a pair product p at
// warehouse w is pw = w*nP + p.
type model struct {
	in         *Instance
	k          int
	nP, nW     int
	nCat       int
	prodIndex  map[string]int
	whIndex    map[string]int
	category   []int32 // per product
	catLimit   []int32 // per category
	catNames   []string
	retail     []int64 // per product
	stock      []int32 // per pw
	whLists    [][]int32
	subWh      []uint16 // per subscriber: index into whLists
	scorer     *scorer
	valueFloor int64
	jitter     int64 // see picker.jitter
	oneEach    bool  // every category allows exactly one item
}

const (
	maxProducts   = math.MaxUint16 - 1
	maxWarehouses = math.MaxInt8
	maxBoxSize    = 64
)

// compile indexes an instance. It returns EINVALID for an instance that
// breaks its own rules (unknown or duplicate IDs, a subscriber's warehouses
// in several markets, negative quantities, bad weights).
func compile(in *Instance) (*model, error) {
	invalid := func(format string, args ...any) (*model, error) {
		return nil, shopd.Errorf(shopd.EINVALID, "boxalloc: "+format, args...)
	}
	if in.BoxSize < 1 || in.BoxSize > maxBoxSize {
		return invalid("box size %d: want 1 to %d", in.BoxSize, maxBoxSize)
	}
	if len(in.Products) > maxProducts || len(in.Warehouses) > maxWarehouses {
		return invalid("%d products and %d warehouses: at most %d and %d", len(in.Products), len(in.Warehouses), maxProducts, maxWarehouses)
	}
	if err := in.Weights.Validate(); err != nil {
		return invalid("%v", err)
	}
	if in.ValueFloor < 0 {
		return invalid("value floor %d is negative", in.ValueFloor)
	}
	m := &model{in: in, k: in.BoxSize, nP: len(in.Products), nW: len(in.Warehouses),
		prodIndex: make(map[string]int, len(in.Products)), whIndex: make(map[string]int, len(in.Warehouses)),
		valueFloor: in.ValueFloor}
	catIndex := map[string]int{}
	for i, p := range in.Products {
		if _, dup := m.prodIndex[p.ID]; dup || p.ID == "" {
			return invalid("product %q: empty or duplicate ID", p.ID)
		}
		if p.RetailValue < 0 || p.Cost < 0 || math.IsNaN(p.Boost) || p.Boost < 0 || p.Boost > maxWeight {
			return invalid("product %q: negative value or cost, or boost outside 0 to %d", p.ID, maxWeight)
		}
		m.prodIndex[p.ID] = i
		c, ok := catIndex[p.Category]
		if !ok {
			c = len(m.catNames)
			catIndex[p.Category] = c
			m.catNames = append(m.catNames, p.Category)
			if l := in.limitOf(p.Category); l < 0 {
				return invalid("category %q: negative limit", p.Category)
			}
			m.catLimit = append(m.catLimit, int32(min(in.limitOf(p.Category), maxBoxSize)))
		}
		m.category = append(m.category, int32(c))
		m.retail = append(m.retail, p.RetailValue)
	}
	m.nCat = len(m.catNames)
	m.oneEach = !slices.ContainsFunc(m.catLimit, func(l int32) bool { return l != 1 })
	for i, w := range in.Warehouses {
		if _, dup := m.whIndex[w.ID]; dup || w.ID == "" {
			return invalid("warehouse %q: empty or duplicate ID", w.ID)
		}
		m.whIndex[w.ID] = i
	}
	m.stock = make([]int32, m.nP*m.nW)
	seen := make([]bool, len(m.stock))
	for _, s := range in.Stock {
		p, okP := m.prodIndex[s.Product]
		w, okW := m.whIndex[s.Warehouse]
		if !okP || !okW {
			return invalid("stock of %q at %q: unknown product or warehouse", s.Product, s.Warehouse)
		}
		if s.Quantity < 0 || s.Quantity > math.MaxInt32 || seen[m.pw(p, w)] {
			return invalid("stock of %q at %q: negative, too large or listed twice", s.Product, s.Warehouse)
		}
		seen[m.pw(p, w)] = true
		m.stock[m.pw(p, w)] = int32(s.Quantity)
	}
	if err := m.indexSubscribers(); err != nil {
		return nil, err
	}
	m.scorer = newScorer(in)
	for i := range in.Products {
		if m.scorer.maxScore(&in.Products[i]) > math.MaxInt32 {
			return invalid("product %q: its score could exceed %d points", in.Products[i].ID, math.MaxInt32/PointScale)
		}
	}
	return m, nil
}

// indexSubscribers checks IDs and warehouse lists and shares identical lists.
func (m *model) indexSubscribers() error {
	in := m.in
	ids := make(map[string]struct{}, len(in.Subscribers))
	listIndex := map[string]int{}
	m.subWh = make([]uint16, len(in.Subscribers))
	key := make([]byte, 0, 16)
	for i := range in.Subscribers {
		s := &in.Subscribers[i]
		if _, dup := ids[s.ID]; dup || s.ID == "" {
			return shopd.Errorf(shopd.EINVALID, "boxalloc: subscriber %q: empty or duplicate ID", s.ID)
		}
		ids[s.ID] = struct{}{}
		key = key[:0]
		for _, id := range s.Warehouses {
			w, ok := m.whIndex[id]
			if !ok || in.Warehouses[w].Market != in.Warehouses[m.whIndex[s.Warehouses[0]]].Market {
				return shopd.Errorf(shopd.EINVALID, "boxalloc: subscriber %q: warehouse %q unknown or of another market", s.ID, id)
			}
			key = append(key, byte(w))
		}
		li, ok := listIndex[string(key)]
		if !ok {
			if len(m.whLists) > math.MaxUint16 {
				return shopd.Errorf(shopd.EINVALID, "boxalloc: more than %d distinct warehouse lists", math.MaxUint16)
			}
			li = len(m.whLists)
			listIndex[string(key)] = li
			list := make([]int32, len(key))
			for j, b := range key {
				if containsByte(key[:j], b) {
					return shopd.Errorf(shopd.EINVALID, "boxalloc: subscriber %q: warehouse listed twice", s.ID)
				}
				list[j] = int32(b)
			}
			m.whLists = append(m.whLists, list)
		}
		m.subWh[i] = uint16(li)
	}
	return nil
}

func containsByte(b []byte, x byte) bool {
	for _, y := range b {
		if y == x {
			return true
		}
	}
	return false
}

func (m *model) pw(p, w int) int { return w*m.nP + p }

// warehouses returns subscriber s's warehouses in priority order.
func (m *model) warehouses(s int) []int32 { return m.whLists[m.subWh[s]] }

// market names the market of subscriber s's warehouses ("" without any).
func (m *model) market(s int) string {
	if ws := m.warehouses(s); len(ws) > 0 {
		return m.in.Warehouses[ws[0]].Market
	}
	return ""
}
