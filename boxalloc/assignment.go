package boxalloc

// assignment is a primal allocation: each subscriber's warehouse (-1 for
// no box), its products with their scores, and the stock still free per pw.
type assignment struct {
	k      int
	w      []int8
	n      []uint8
	items  []uint16 // subscriber s's products are items[s*k : s*k+n[s]]
	scores []int32  // their scores, same layout
	free   []int32  // per pw: stock − use
	prices []int64  // the prices that steered it (copied)
}

func newAssignment(m *model, prices []int64) *assignment {
	n := len(m.in.Subscribers)
	as := &assignment{k: m.k, w: make([]int8, n), n: make([]uint8, n), items: make([]uint16, n*m.k),
		scores: make([]int32, n*m.k), free: make([]int32, len(m.stock)), prices: append([]int64(nil), prices...)}
	for s := range as.w {
		as.w[s] = -1
	}
	copy(as.free, m.stock)
	return as
}

// clone copies the allocation (prices are shared: they are never changed).
func (as *assignment) clone() *assignment {
	c := *as
	c.w, c.n = append([]int8(nil), as.w...), append([]uint8(nil), as.n...)
	c.items, c.scores = append([]uint16(nil), as.items...), append([]int32(nil), as.scores...)
	c.free = append([]int32(nil), as.free...)
	return &c
}

func (as *assignment) box(s int) []uint16 { return as.items[s*as.k : s*as.k+int(as.n[s])] }

func (as *assignment) add(m *model, s, p int, score int32) {
	j := s*as.k + int(as.n[s])
	as.items[j], as.scores[j] = uint16(p), score
	as.n[s]++
	as.free[m.pw(p, int(as.w[s]))]--
}

// remove takes the j-th product out of s's box.
func (as *assignment) remove(m *model, s, j int) {
	base, last := s*as.k, s*as.k+int(as.n[s])-1
	as.free[m.pw(int(as.items[base+j]), int(as.w[s]))]++
	as.items[base+j], as.scores[base+j] = as.items[last], as.scores[last]
	as.n[s]--
}

// release empties s's box.
func (as *assignment) release(m *model, s int) {
	for as.n[s] > 0 {
		as.remove(m, s, int(as.n[s])-1)
	}
	as.w[s] = -1
}

func (as *assignment) objective() int64 {
	total := int64(0)
	for s, n := range as.n {
		if int(n) == as.k {
			for _, v := range as.scores[s*as.k : (s+1)*as.k] {
				total += int64(v)
			}
		}
	}
	return total
}

func (as *assignment) filled() int {
	c := 0
	for _, n := range as.n {
		if int(n) == as.k {
			c++
		}
	}
	return c
}

// betterThan compares objectives: completion fills the boxes still empty afterwards.
func (as *assignment) betterThan(o *assignment) bool {
	return o == nil || as.objective() > o.objective()
}

// splitmix is a seeded hash for deterministic tie-breaks.
func splitmix(seed int64, x int) uint64 {
	z := uint64(seed) + uint64(x)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
