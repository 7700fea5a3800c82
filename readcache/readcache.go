// Package readcache keeps what a service read lately, for a short time, so
// that the hottest reads of a drop (markets, rates, products, variants and
// prices: thousands a second, of rows that change a few times a day) cost
// no query. A service clears its cache with every write it makes, so its
// own process never reads its writes stale; another process (a replica,
// the CLI) sees a write within the TTL.
package readcache

import (
	"sync"
	"time"
)

// MaxEntries bounds a cache made by New: past it, the cache starts again
// empty.
const MaxEntries = 100_000

// Cache holds values by key for a TTL. Create it with New.
type Cache struct {
	ttl     time.Duration
	max     int // entries at most
	mu      sync.Mutex
	entries map[string]entry
	gen     uint64 // advanced by every Forget: a value loaded before it is not kept
}

type entry struct {
	v  any
	at time.Time
}

// New returns an empty cache whose entries are served for ttl.
func New(ttl time.Duration) *Cache { return NewSized(ttl, MaxEntries) }

// NewSized is New for at most max entries: for values large enough that
// MaxEntries of them would be too many.
func NewSized(ttl time.Duration, max int) *Cache {
	return &Cache{ttl: ttl, max: max, entries: map[string]entry{}}
}

// Read returns the value under key, loading it if missing or older than
// the TTL. Every caller gets the same value: callers clone the slices and
// maps they hand to code that may change them.
func Read[T any](c *Cache, key string, load func() (T, error)) (T, error) {
	if v, ok := Get[T](c, key); ok {
		return v, nil
	}
	gen := c.Generation()
	v, err := load()
	if err == nil {
		c.Put(key, v, gen)
	}
	return v, err
}

// Get returns the value under key if it is fresh.
func Get[T any](c *Cache, key string) (T, bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if !ok || time.Since(e.at) >= c.ttl {
		var zero T
		return zero, false
	}
	return e.v.(T), true
}

// Generation returns the token Put needs, taken before a value is loaded.
func (c *Cache) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Put keeps v under key unless the cache was cleared since gen: a write
// that committed while v was loaded may be missing from v.
func (c *Cache) Put(key string, v any, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[key] = entry{v: v, at: time.Now()}
}

// Forget empties the cache; every write of the owning service calls it
// once the write is done.
func (c *Cache) Forget() {
	c.mu.Lock()
	clear(c.entries)
	c.gen++
	c.mu.Unlock()
}
