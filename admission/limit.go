package admission

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limit is a token bucket: up to N requests at once, refilled at N per
// Per. The zero Limit is off.
type Limit struct {
	N   int
	Per time.Duration
}

// Off reports whether the limit lets everything through.
func (l Limit) Off() bool { return l.N <= 0 || l.Per <= 0 }

// String writes the limit as ParseLimit reads it.
func (l Limit) String() string {
	if l.Off() {
		return "off"
	}
	per := l.Per.String()
	for _, u := range []struct {
		d    time.Duration
		unit string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if l.Per%u.d == 0 {
			per = strconv.FormatInt(int64(l.Per/u.d), 10) + u.unit
			break
		}
	}
	return strconv.Itoa(l.N) + "/" + per
}

// ParseLimit reads "N/PERIOD", such as "30/1m" (a burst of 30, refilled at
// 30 a minute) or "10/s"; "off", "0" and "" are off.
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" || s == "off" {
		return Limit{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 0 {
		return Limit{}, fmt.Errorf("rate limit %q: want N/PERIOD, like 30/1m or 10/s, or off", s)
	}
	if per != "" && (per[0] < '0' || per[0] > '9') {
		per = "1" + per // "10/s" is "10/1s"
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return Limit{}, fmt.Errorf("rate limit %q: the period must be a positive duration, like 1m or 10s", s)
	}
	if count == 0 {
		return Limit{}, nil
	}
	return Limit{N: count, Per: d}, nil
}

const shards = 32

// Limiter keeps one token bucket per key (a client address, an account),
// for at most MaxKeys keys: buckets that have refilled are dropped (they
// are the same as new ones), and when every bucket is in use an arbitrary
// one is. It is safe for concurrent use.
type Limiter struct {
	limit   Limit
	perKey  int // keys per shard at most
	now     func() time.Time
	refill  float64 // tokens per nanosecond
	buckets [shards]limShard
}

type limShard struct {
	mu    sync.Mutex
	m     map[string]*bucket
	swept time.Time // the last scan for refilled buckets
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter returns a limiter for at most maxKeys keys (at least 1,024);
// now is the clock (time.Now if nil).
func NewLimiter(l Limit, maxKeys int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	lim := &Limiter{limit: l, perKey: max(maxKeys, 1024) / shards, now: now}
	if !l.Off() {
		lim.refill = float64(l.N) / float64(l.Per)
	}
	for i := range lim.buckets {
		lim.buckets[i].m = map[string]*bucket{}
	}
	return lim
}

// Limit returns the limiter's limit.
func (l *Limiter) Limit() Limit { return l.limit }

// Allow takes a token from key's bucket. When it is empty it returns false
// and how long until a token is back.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	if l.limit.Off() {
		return true, 0
	}
	s := &l.buckets[fnv32(key)%shards]
	now := l.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.m[key]
	if b == nil {
		if len(s.m) >= l.perKey {
			l.evict(s, now)
		}
		b = &bucket{tokens: float64(l.limit.N), at: now}
		s.m[key] = b
	}
	b.tokens = min(float64(l.limit.N), b.tokens+float64(now.Sub(b.at))*l.refill)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration(math.Ceil((1 - b.tokens) / l.refill))
}

// evict drops the shard's full buckets, or one bucket if none is full. The
// scan for full buckets runs at most every 100 ms per shard, so a flood of
// new keys costs O(1) each.
func (l *Limiter) evict(s *limShard, now time.Time) {
	if now.Sub(s.swept) >= 100*time.Millisecond {
		s.swept = now
		for k, b := range s.m {
			if b.tokens+float64(now.Sub(b.at))*l.refill >= float64(l.limit.N) {
				delete(s.m, k)
			}
		}
		if len(s.m) < l.perKey {
			return
		}
	}
	for k := range s.m {
		delete(s.m, k)
		return
	}
}

// Len returns the number of buckets held.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.buckets {
		s := &l.buckets[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// Marks remembers keys (a market and SKU known to be sold out) for a short
// time; a key marked again is remembered longer, Clear forgets it at once.
// It is safe for concurrent use.
type Marks struct {
	ttl time.Duration
	now func() time.Time

	mu     sync.RWMutex
	until  map[string]time.Time
	latest time.Time // the latest expiry of any mark: Any is O(1)
}

// NewMarks returns marks that last ttl; now is the clock (time.Now if nil).
func NewMarks(ttl time.Duration, now func() time.Time) *Marks {
	if now == nil {
		now = time.Now
	}
	return &Marks{ttl: ttl, now: now, until: map[string]time.Time{}}
}

// Mark remembers key for the marks' TTL from now.
func (m *Marks) Mark(key string) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.After(m.latest) {
		clear(m.until) // every mark has expired
	}
	m.until[key] = now.Add(m.ttl)
	m.latest = now.Add(m.ttl)
}

// Clear forgets key.
func (m *Marks) Clear(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.until, key)
}

// Marked reports whether key is marked and not expired.
func (m *Marks) Marked(key string) bool {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	u, ok := m.until[key]
	return ok && now.Before(u)
}

// Any reports whether some mark may still be live.
func (m *Marks) Any() bool {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.until) > 0 && now.Before(m.latest)
}
