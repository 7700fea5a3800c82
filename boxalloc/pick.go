package boxalloc

import "math"

// unusable marks a list entry that cannot be picked.
const unusable = math.MinInt64

// picker chooses boxes from a scored product list: one goroutine's scratch.
// A box is a partition-matroid basis (k items, at most a limit per
// category), so picking greedily by reduced value (score − price) is optimal.
type picker struct {
	m        *model
	worker   int     // index of the goroutine's accumulators
	r        []int64 // reduced value per list entry
	catCount []int32
	picks    []int   // chosen list entries, best first
	vals     []int64 // their reduced values
	order    []int   // floor search: entries by reduced value
	best     []int   // floor search: best box found
	outProd  []uint16
	have     []uint16 // regret: a box without one product
	outScore []int32
	all      []int32 // every product's score for one subscriber
	allProd  []uint16
	allScore []int32

	jitterSeed, jitterBase, jitterKey uint64
	jitterMax                         int64 // 0: no jitter

	catBest []int32 // greedyOneEach: best entry per category, -1 when none
	catVal  []int64 // and its value
	touched []int32
	pickCat []int32 // greedyOneEach: the category of each pick
}

func newPicker(m *model) *picker {
	return &picker{m: m, catCount: make([]int32, m.nCat), picks: make([]int, 0, m.k), vals: make([]int64, 0, m.k),
		pickCat: make([]int32, 0, m.k)}
}

// greedy picks up to k−len(have) entries of prod (scores in score) to add
// to a box that already holds the products in have, at a warehouse whose
// prices and availability (> 0 is usable) are given per product. It returns
// the number picked; picks and vals hold them in decreasing reduced value.
func (pk *picker) greedy(prod []uint16, score []int32, prices []int64, avail []int32, have []uint16, k int) int {
	m := pk.m
	if len(have) == 0 && m.oneEach {
		return pk.greedyOneEach(prod, score, prices, avail, k)
	}
	if cap(pk.r) < len(prod) {
		pk.r = make([]int64, len(prod))
	}
	r := pk.r[:len(prod)]
	for _, p := range have {
		pk.catCount[m.category[p]]++
	}
	for i, p := range prod {
		c := m.category[p]
		if avail[p] > 0 && pk.catCount[c] < m.catLimit[c] && !containsProduct(have, p) {
			r[i] = int64(score[i]) - prices[p] - pk.jitter(p)
		} else {
			r[i] = unusable
		}
	}
	pk.picks, pk.vals = pk.picks[:0], pk.vals[:0]
	for len(have)+len(pk.picks) < k {
		best, bestVal := -1, int64(unusable)
		for i, v := range r {
			if v > bestVal {
				best, bestVal = i, v
			}
		}
		if best < 0 {
			break
		}
		pk.picks, pk.vals = append(pk.picks, best), append(pk.vals, bestVal)
		r[best] = unusable
		c := m.category[prod[best]]
		if pk.catCount[c]++; pk.catCount[c] >= m.catLimit[c] {
			for i, p := range prod {
				if m.category[p] == c {
					r[i] = unusable
				}
			}
		}
	}
	for _, p := range have {
		pk.catCount[m.category[p]] = 0
	}
	for _, i := range pk.picks {
		pk.catCount[m.category[prod[i]]] = 0
	}
	return len(pk.picks)
}

// greedyOneEach is greedy for an empty box when every category allows one
// item: the best entry of each category, kept as the best k categories so
// far (same picks and order as the general loop: ties go to the earlier
// entry). Reduced values never exceed scores (prices and jitter are never
// negative), so an entry scoring no more than the k-th pick so far, or than
// the best of its own category, is skipped without looking at its price.
func (pk *picker) greedyOneEach(prod []uint16, score []int32, prices []int64, avail []int32, k int) int {
	m := pk.m
	if pk.catBest == nil {
		pk.catBest, pk.catVal = make([]int32, m.nCat), make([]int64, m.nCat)
		for c := range pk.catBest {
			pk.catBest[c] = -1
		}
	}
	touched := pk.touched[:0]
	// Locals: the compiler does not keep fields in registers across stores.
	catBest, catVal, category := pk.catBest, pk.catVal, m.category
	key, jmax := pk.jitterKey, uint64(pk.jitterMax)
	if cap(pk.picks) < k || cap(pk.vals) < k || cap(pk.pickCat) < k {
		pk.picks, pk.vals, pk.pickCat = make([]int, 0, k), make([]int64, 0, k), make([]int32, 0, k)
	}
	picks, vals, pickCat := pk.picks[:0], pk.vals[:0], pk.pickCat[:0]
	kth := int64(unusable) // value of the k-th pick once there are k
	for i, p := range prod {
		sc := int64(score[i])
		if sc <= kth {
			continue
		}
		c := category[p]
		b := catBest[c]
		if b >= 0 && sc <= catVal[c] || avail[p] <= 0 {
			continue
		}
		v := sc - prices[p]
		if jmax != 0 {
			v -= jitterOf(key, jmax, p)
		}
		if b < 0 {
			touched = append(touched, c)
		} else if v <= catVal[c] {
			continue
		}
		catBest[c], catVal[c] = int32(i), v
		if v <= kth {
			continue
		}
		j := len(picks)
		for o, pc := range pickCat { // c's value rose: its old place is free
			if pc == c {
				j = o
				break
			}
		}
		if j == len(picks) {
			if j < k {
				picks, vals, pickCat = picks[:j+1], vals[:j+1], pickCat[:j+1]
			} else {
				j-- // the k-th pick drops out
			}
		}
		for ; j > 0 && v > vals[j-1]; j-- { // entries come in order: i is the latest
			picks[j], vals[j], pickCat[j] = picks[j-1], vals[j-1], pickCat[j-1]
		}
		picks[j], vals[j], pickCat[j] = i, v, c
		if len(picks) == k {
			kth = vals[k-1]
		}
	}
	for _, c := range touched {
		catBest[c] = -1
	}
	pk.touched, pk.picks, pk.vals, pk.pickCat = touched, picks, vals, pickCat
	return len(picks)
}

func containsProduct(l []uint16, p uint16) bool {
	for _, q := range l {
		if q == p {
			return true
		}
	}
	return false
}

// value is the reduced value of the current picks.
func (pk *picker) value() int64 {
	v := int64(0)
	for _, x := range pk.vals {
		v += x
	}
	return v
}

// meetFloor makes a full box of picks reach the value floor: it keeps the
// picks when they do, else searches the list for the best box that does
// (depth-first, bounded). It reports whether picks now hold such a box.
func (pk *picker) meetFloor(prod []uint16, score []int32, prices []int64, avail []int32, have []uint16, k int) bool {
	m := pk.m
	if m.valueFloor == 0 {
		return true
	}
	retail := int64(0)
	for _, p := range have {
		retail += m.retail[p]
	}
	base := retail
	for _, i := range pk.picks {
		retail += m.retail[prod[i]]
	}
	if retail >= m.valueFloor && len(have)+len(pk.picks) == k {
		return true
	}
	return pk.floorSearch(prod, score, prices, avail, have, k, base)
}

// floorSearchBudget bounds the nodes one floor search may visit.
const floorSearchBudget = 200_000

func (pk *picker) floorSearch(prod []uint16, score []int32, prices []int64, avail []int32, have []uint16, k int, baseRetail int64) bool {
	m := pk.m
	pk.order = pk.order[:0]
	for i, p := range prod {
		if avail[p] > 0 && !containsProduct(have, p) && m.catLimit[m.category[p]] > 0 {
			pk.order = append(pk.order, i)
		}
	}
	red := func(i int) int64 { return int64(score[i]) - prices[prod[i]] - pk.jitter(prod[i]) }
	sortEntries(pk.order, red)
	maxRetail := int64(0)
	for _, i := range pk.order {
		maxRetail = max(maxRetail, m.retail[prod[i]])
	}
	need := k - len(have)
	for _, p := range have {
		pk.catCount[m.category[p]]++
	}
	chosen := make([]int, 0, need)
	bestVal, found, budget := int64(unusable), false, floorSearchBudget
	var dfs func(from int, val, retail int64)
	dfs = func(from int, val, retail int64) {
		if budget--; budget < 0 {
			return
		}
		left := need - len(chosen)
		if left == 0 {
			if retail >= m.valueFloor && val > bestVal {
				bestVal, found = val, true
				pk.best = append(pk.best[:0], chosen...)
			}
			return
		}
		if retail+int64(left)*maxRetail < m.valueFloor || len(pk.order)-from < left {
			return
		}
		if ub := val + sumFirst(pk.order[from:], left, red); found && ub <= bestVal {
			return
		}
		for j := from; j < len(pk.order); j++ {
			i := pk.order[j]
			c := m.category[prod[i]]
			if pk.catCount[c] >= m.catLimit[c] {
				continue
			}
			pk.catCount[c]++
			chosen = append(chosen, i)
			dfs(j+1, val+red(i), retail+m.retail[prod[i]])
			chosen = chosen[:len(chosen)-1]
			pk.catCount[c]--
		}
	}
	dfs(0, 0, baseRetail)
	for _, p := range have {
		pk.catCount[m.category[p]] = 0
	}
	if !found {
		return false
	}
	pk.picks, pk.vals = pk.picks[:0], pk.vals[:0]
	for _, i := range pk.best {
		pk.picks, pk.vals = append(pk.picks, i), append(pk.vals, red(i))
	}
	return true
}

// sumFirst adds the values of the first n entries (the best, as sorted).
func sumFirst(entries []int, n int, val func(int) int64) int64 {
	s := int64(0)
	for _, i := range entries[:n] {
		s += val(i)
	}
	return s
}

// sortEntries sorts list entries by decreasing value, then by position.
func sortEntries(entries []int, val func(int) int64) {
	for i := 1; i < len(entries); i++ {
		for j := i; j > 0 && (val(entries[j]) > val(entries[j-1]) || val(entries[j]) == val(entries[j-1]) && entries[j] < entries[j-1]); j-- {
			entries[j], entries[j-1] = entries[j-1], entries[j]
		}
	}
}

// Scores of tied products make every subscriber of a profile group switch
// at the same price, so demand jumps past stock; a small deterministic
// jitter per subscriber × product (below Options.Jitter, subtracted, so
// a product left out of the candidates is still worth at most the cutoff)
// spreads the switches and lets prices clear the market. Objectives and
// bounds always use the true scores.
func (pk *picker) jitter(p uint16) int64 {
	if pk.jitterMax == 0 {
		return 0
	}
	return jitterOf(pk.jitterKey, uint64(pk.jitterMax), p)
}

// jitterOf hashes (key, p) into [0, jmax).
func jitterOf(key, jmax uint64, p uint16) int64 {
	h := (key ^ uint64(p)*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
	return int64((h >> 32) * jmax >> 32)
}

// jitterFor turns the jitter on (or off) for subscriber s.
func (pk *picker) jitterFor(s int, on bool) {
	pk.jitterBase, pk.jitterMax = splitmix(int64(pk.jitterSeed), s), 0
	if on {
		pk.jitterMax = pk.m.jitter
	}
}

// at sets the jitter for boxes from warehouse w: whole groups of
// subscribers would otherwise switch warehouse at once too.
func (pk *picker) at(w int) {
	pk.jitterKey = splitmix(int64(pk.jitterBase), w)
}
