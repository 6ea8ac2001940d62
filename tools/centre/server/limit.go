package server

import (
	"math"
	"sync"
	"time"
)

// limiter is a token bucket per device: rate tokens a second up to burst.
// A booth sends a heartbeat a minute and an upload now and then, so a
// device far above the rate is broken or hostile, and must not starve the
// others of the database.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(burst), now: now, buckets: make(map[string]*bucket)}
}

// allow takes a token for device, or reports how long until one is free.
func (l *limiter) allow(device string) (wait time.Duration, ok bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[device]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[device] = b
	}
	if el := now.Sub(b.last); el > 0 { // a wall clock stepping back adds nothing
		b.tokens = min(l.burst, b.tokens+el.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	// Refills count from b.last, which is ahead of now if the clock stepped back.
	return b.last.Sub(now) + time.Duration(math.Ceil((1-b.tokens)/l.rate*float64(time.Second))), false
}
