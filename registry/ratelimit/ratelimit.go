// Package ratelimit holds the token buckets that bound callers of the registry: the REST
// API's requests per key and its failed authentications, and the admin console's logins.
package ratelimit

import (
	"sync"
	"time"
)

// maxBuckets caps a limiter's table: past it, new callers are refused until idle buckets go.
const maxBuckets = 100_000

// BurstOf is a limiter's burst for a rate: ten seconds' worth, at least one.
func BurstOf(rate float64) int { return max(1, int(10*rate)) }

// Limiter is a token bucket per caller. Idle buckets are dropped, and the table is capped,
// so that it stays bounded however many callers there are.
type Limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a limiter refilling rate tokens a second up to burst, on the clock now.
func New(rate float64, burst int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: rate, burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

// Allow takes a token from key's bucket, reporting whether there was one.
func (l *Limiter) Allow(key string) bool { return l.use(key, true) }

// Holds reports whether key has a bucket: whether it was allowed lately.
func (l *Limiter) Holds(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.buckets[key]
	return ok
}

// Has reports whether key's bucket has a token, without taking it; a caller without a
// bucket has a full one.
func (l *Limiter) Has(key string) bool { return l.use(key, false) }

func (l *Limiter) use(key string, take bool) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute || len(l.buckets) >= maxBuckets {
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		if !take {
			return len(l.buckets) < maxBuckets
		}
		if len(l.buckets) >= maxBuckets {
			return false
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	if take {
		b.tokens--
	}
	return true
}

// Failures bounds failed authentications: per client address, and of everyone together, so
// that an attacker changing addresses at will still causes a bounded number of database
// lookups. Only failures cost tokens: callers who authenticate are never slowed by it.
type Failures struct {
	byAddr *Limiter
	all    *Limiter // under the one key ""
}

// NewFailures allows perAddr failures a second from one address and global from all.
func NewFailures(perAddr, global float64, now func() time.Time) *Failures {
	return &Failures{byAddr: New(perAddr, BurstOf(perAddr), now), all: New(global, BurstOf(global), now)}
}

// Permit reports whether addr may try to authenticate now. A caller the API already knows
// (known) is bounded by its address only, so that the keys in use go on working while
// strangers exhaust the global budget.
func (f *Failures) Permit(addr string, known bool) bool {
	return f.byAddr.Has(addr) && (known || f.all.Has(""))
}

// Failed records a failed authentication from addr.
func (f *Failures) Failed(addr string) {
	f.byAddr.Allow(addr)
	f.all.Allow("")
}
