package ratelimit

import (
	"testing"
	"time"
)

// clock is a hand-moved clock: the buckets refill with it alone.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestLimiter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rate  float64
		burst int
		steps []step
	}{
		{name: "burst then refused", rate: 1, burst: 2, steps: []step{{key: "a", want: true}, {key: "a", want: true}, {key: "a", want: false}}},
		{name: "callers apart", rate: 1, burst: 1, steps: []step{{key: "a", want: true}, {key: "b", want: true}, {key: "a", want: false}}},
		{name: "refills with time", rate: 2, burst: 1, steps: []step{{key: "a", want: true}, {key: "a", want: false}, {key: "a", wait: 500 * time.Millisecond, want: true}}},
		{name: "never above burst", rate: 10, burst: 1, steps: []step{{key: "a", wait: time.Hour, want: true}, {key: "a", want: false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1e9, 0)}
			l := New(tc.rate, tc.burst, c.now)
			for i, s := range tc.steps {
				c.t = c.t.Add(s.wait)
				if got := l.Allow(s.key); got != s.want {
					t.Fatalf("step %d: Allow(%q) = %v, want %v", i, s.key, got, s.want)
				}
			}
		})
	}
}

type step struct {
	key  string
	wait time.Duration
	want bool
}

func TestFailures(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	// Bursts of 1 per address and 2 for everyone.
	f := NewFailures(0.001, 0.2, c.now)
	if !f.Permit("10.0.0.1", false) {
		t.Fatal("a fresh address is refused")
	}
	f.Failed("10.0.0.1")
	if f.Permit("10.0.0.1", false) || f.Permit("10.0.0.1", true) {
		t.Error("an address past its failures is permitted")
	}
	if !f.Permit("10.0.0.2", false) {
		t.Error("another address is refused after one failure of everyone's two")
	}
	f.Failed("10.0.0.2")
	if f.Permit("10.0.0.3", false) {
		t.Error("a stranger is permitted past the global budget")
	}
	if !f.Permit("10.0.0.3", true) {
		t.Error("a known caller from a clean address is refused for strangers' failures")
	}
	c.t = c.t.Add(10 * time.Second)
	if !f.Permit("10.0.0.3", false) {
		t.Error("the global budget does not refill")
	}
}
