// Package clock gives the booth its two senses of time: the wall clock, which
// serves booth hours and quota periods and may jump (NTP, a gateway
// correction, a Pi without a real-time clock), and the monotonic clock, which
// measures talk time and never jumps. Timers run on the monotonic clock.
//
// Real wraps package time. Fake moves only when a test says so, so logic
// under test never sleeps.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock is the time source every time-dependent part of the booth takes.
type Clock interface {
	// Now is the wall-clock time. It may jump; never subtract two readings
	// of it to measure a duration.
	Now() time.Time
	// Mono is a monotonic reading since an arbitrary origin. Differences of
	// two readings are elapsed time, whatever the wall clock did.
	Mono() time.Duration
	// NewTimer fires once, d from now on the monotonic clock.
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the booth uses.
type Timer interface {
	// C delivers the firing time (wall clock) once the timer expires.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it was active.
	Stop() bool
	// Reset re-arms the timer to fire d from now; it reports whether it was
	// active. A value already sent on C is drained first.
	Reset(d time.Duration) bool
}

// Real is the system clock.
type Real struct{ origin time.Time }

// NewReal returns the system clock; Mono counts from this call.
func NewReal() *Real { return &Real{origin: time.Now()} }

// Now returns time.Now().
func (r *Real) Now() time.Time { return time.Now() }

// Mono returns the monotonic time elapsed since NewReal.
func (r *Real) Mono() time.Duration { return time.Since(r.origin) }

// NewTimer wraps time.NewTimer.
func (r *Real) NewTimer(d time.Duration) Timer { return &realTimer{t: time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t *realTimer) C() <-chan time.Time { return t.t.C }
func (t *realTimer) Stop() bool          { return t.t.Stop() }

// Reset relies on Go 1.23+ timer semantics: Reset discards a pending value.
func (t *realTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

// Fake is a manually driven clock for tests. The zero value is not usable;
// call NewFake.
type Fake struct {
	mu     sync.Mutex
	cond   *sync.Cond
	wall   time.Time
	mono   time.Duration
	seq    uint64
	timers []*fakeTimer
}

// NewFake returns a fake clock whose wall clock reads start and whose
// monotonic clock reads zero.
func NewFake(start time.Time) *Fake {
	f := &Fake{wall: start}
	f.cond = sync.NewCond(&f.mu)
	return f
}

// Now returns the fake wall-clock time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wall
}

// Mono returns the fake monotonic time.
func (f *Fake) Mono() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mono
}

// NewTimer returns a timer that fires when Advance passes its deadline.
func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	f.armLocked(t, d)
	return t
}

// Advance moves both clocks forward by d, firing due timers in deadline
// order with the clocks set to each timer's deadline as it fires.
func (f *Fake) Advance(d time.Duration) {
	if d < 0 {
		panic("clock: Fake.Advance with a negative duration; use JumpWall for wall-clock jumps")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	end := f.mono + d
	for {
		t := f.nextDueLocked(end)
		if t == nil {
			break
		}
		f.wall = f.wall.Add(t.deadline - f.mono)
		f.mono = t.deadline
		f.removeLocked(t)
		select {
		case t.c <- f.wall:
		default:
		}
	}
	f.wall = f.wall.Add(end - f.mono)
	f.mono = end
}

// JumpWall moves the wall clock by d (either way) and leaves the monotonic
// clock and every timer untouched, as an NTP step or a gateway correction does.
func (f *Fake) JumpWall(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wall = f.wall.Add(d)
}

// SetWall sets the wall clock, leaving the monotonic clock untouched.
func (f *Fake) SetWall(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wall = t
}

// Timers reports how many timers are armed.
func (f *Fake) Timers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// NextDeadline reports how far ahead the earliest armed timer is, and
// whether there is one.
func (f *Fake) NextDeadline() (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.timers) == 0 {
		return 0, false
	}
	return f.timers[0].deadline - f.mono, true
}

// WaitTimers blocks until at least n timers are armed: a test driving a
// goroutine that arms a timer calls it before Advance, so it never races.
func (f *Fake) WaitTimers(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.timers) < n {
		f.cond.Wait()
	}
}

func (f *Fake) armLocked(t *fakeTimer, d time.Duration) {
	f.seq++
	t.seq = f.seq
	t.deadline = f.mono + d
	t.active = true
	f.timers = append(f.timers, t)
	sort.SliceStable(f.timers, func(i, j int) bool {
		a, b := f.timers[i], f.timers[j]
		if a.deadline != b.deadline {
			return a.deadline < b.deadline
		}
		return a.seq < b.seq
	})
	if d <= 0 {
		// A timer for now fires at once, as time.NewTimer(0) does.
		f.removeLocked(t)
		select {
		case t.c <- f.wall:
		default:
		}
	}
	f.cond.Broadcast()
}

func (f *Fake) nextDueLocked(end time.Duration) *fakeTimer {
	if len(f.timers) == 0 || f.timers[0].deadline > end {
		return nil
	}
	return f.timers[0]
}

func (f *Fake) removeLocked(t *fakeTimer) bool {
	for i, x := range f.timers {
		if x == t {
			f.timers = append(f.timers[:i], f.timers[i+1:]...)
			t.active = false
			f.cond.Broadcast()
			return true
		}
	}
	return false
}

type fakeTimer struct {
	f        *Fake
	c        chan time.Time
	deadline time.Duration
	seq      uint64
	active   bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.f.removeLocked(t)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.f.removeLocked(t)
	select {
	case <-t.c:
	default:
	}
	t.f.armLocked(t, d)
	return was
}
