// Package readcache keeps what a service read lately, for a short time, so
// that the hottest reads of a drop (markets, rates, products, variants and
// prices: thousands a second, of rows that change a few times a day) cost
// no query. A service clears its cache with every write it makes, so its
// own process never reads its writes stale; another process (a replica,
// the CLI) sees a write within the TTL. Callers that miss the same key
// together share one load, so an entry that expires under a launch hour's
// traffic costs one query, not one per request waiting.
package readcache

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"
)

// MaxEntries bounds a cache made by New: past it, the entry read least
// recently makes room. (Cleared whole instead, a crawler or an attacker
// sending distinct filters and cursors would empty it of the hot reads
// every max requests, and every request would pay the uncached cost.)
const MaxEntries = 100_000

// Cache holds values by key for a TTL. Create it with New.
type Cache struct {
	ttl     time.Duration
	max     int // entries at most
	mu      sync.Mutex
	entries map[string]*list.Element // of *entry, in recent
	recent  list.List                // the entries, read or kept most recently first
	loading map[string]*load         // loads in flight since the last Forget, by key
	gen     uint64                   // advanced by every Forget: a value loaded before it is not kept
}

type entry struct {
	key string
	v   any
	at  time.Time
	ttl time.Duration
}

// load is a load in flight; done is closed when v and err are set.
type load struct {
	done chan struct{}
	v    any
	err  error
}

// New returns an empty cache whose entries are served for ttl.
func New(ttl time.Duration) *Cache { return NewSized(ttl, MaxEntries) }

// NewSized is New for at most max entries: for values large enough that
// MaxEntries of them would be too many.
func NewSized(ttl time.Duration, max int) *Cache {
	return &Cache{ttl: ttl, max: max, entries: map[string]*list.Element{}, loading: map[string]*load{}}
}

// Read returns the value under key, loading it if missing or older than
// the TTL. Every caller gets the same value: callers clone the slices and
// maps they hand to code that may change them. A caller waiting for
// another's load stops waiting when ctx ends.
func Read[T any](ctx context.Context, c *Cache, key string, load func() (T, error)) (T, error) {
	v, _, err := ReadAt(ctx, c, key, load)
	return v, err
}

// ReadAt is Read that also says how old the value is: the time since it
// was loaded (0 if just now).
func ReadAt[T any](ctx context.Context, c *Cache, key string, load func() (T, error)) (T, time.Duration, error) {
	return ReadFor(ctx, c, key, func() (T, time.Duration, error) {
		v, err := load()
		return v, c.ttl, err
	})
}

// ReadFor is ReadAt for values that say how long they may be served, up to
// the TTL.
func ReadFor[T any](ctx context.Context, c *Cache, key string, loadFor func() (T, time.Duration, error)) (T, time.Duration, error) {
	if v, age, ok := getAt[T](c, key); ok {
		return v, age, nil
	}
	c.mu.Lock()
	if l := c.loading[key]; l != nil {
		c.mu.Unlock()
		select {
		case <-l.done:
		case <-ctx.Done():
			var zero T
			return zero, 0, ctx.Err()
		}
		if l.err == nil {
			return l.v.(T), 0, nil
		}
		// The shared load failed, perhaps only for its caller (its request
		// ended): load for this caller.
		v, _, err := loadFor()
		return v, 0, err
	}
	l := &load{done: make(chan struct{})}
	c.loading[key] = l
	gen := c.gen
	c.mu.Unlock()
	var v T
	var ttl time.Duration
	l.err = errPanicked
	defer func() {
		c.mu.Lock()
		if c.loading[key] == l {
			delete(c.loading, key)
		}
		if l.err == nil && c.gen == gen && ttl > 0 {
			c.put(key, v, min(ttl, c.ttl))
		}
		c.mu.Unlock()
		close(l.done)
	}()
	v, ttl, err := loadFor()
	l.v, l.err = v, err
	return v, 0, err
}

// errPanicked is what waiters of a load that panicked see: they load for
// themselves.
var errPanicked = errors.New("readcache: the shared load panicked")

// Get returns the value under key if it is fresh.
func Get[T any](c *Cache, key string) (T, bool) {
	v, _, ok := getAt[T](c, key)
	return v, ok
}

// getAt is Get that also returns the value's age.
func getAt[T any](c *Cache, key string) (T, time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*entry)
		if age := time.Since(e.at); age < e.ttl {
			c.recent.MoveToFront(el)
			return e.v.(T), age, true
		}
	}
	var zero T
	return zero, 0, false
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
	if c.gen == gen {
		c.put(key, v, c.ttl)
	}
}

// put keeps v under key for ttl, in place of the entry read least recently
// if the cache is full; c.mu is held.
func (c *Cache) put(key string, v any, ttl time.Duration) {
	e := &entry{key: key, v: v, at: time.Now(), ttl: ttl}
	if el, ok := c.entries[key]; ok {
		el.Value = e
		c.recent.MoveToFront(el)
		return
	}
	if len(c.entries) >= c.max {
		last := c.recent.Back()
		delete(c.entries, last.Value.(*entry).key)
		c.recent.Remove(last)
	}
	c.entries[key] = c.recent.PushFront(e)
}

// Forget empties the cache; every write of the owning service calls it once
// the write is done. Loads in flight are not shared past it: they may have
// read the store before the write.
func (c *Cache) Forget() {
	c.mu.Lock()
	clear(c.entries)
	c.recent.Init()
	clear(c.loading)
	c.gen++
	c.mu.Unlock()
}
