package clock

import (
	"testing"
	"time"
)

var start = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

func TestFakeFiresInDeadlineOrder(t *testing.T) {
	f := NewFake(start)
	a := f.NewTimer(3 * time.Second)
	b := f.NewTimer(1 * time.Second)
	c := f.NewTimer(2 * time.Second)
	f.Advance(2 * time.Second)
	for _, tc := range []struct {
		name string
		tm   Timer
		want time.Time
		ok   bool
	}{
		{"b", b, start.Add(time.Second), true},
		{"c", c, start.Add(2 * time.Second), true},
		{"a", a, time.Time{}, false},
	} {
		select {
		case got := <-tc.tm.C():
			if !tc.ok || !got.Equal(tc.want) {
				t.Errorf("timer %s fired at %v, want fired=%v at %v", tc.name, got, tc.ok, tc.want)
			}
		default:
			if tc.ok {
				t.Errorf("timer %s did not fire", tc.name)
			}
		}
	}
	if got := f.Mono(); got != 2*time.Second {
		t.Errorf("Mono = %v, want 2s", got)
	}
}

func TestFakeJumpWallLeavesMonoAndTimers(t *testing.T) {
	f := NewFake(start)
	tm := f.NewTimer(10 * time.Second)
	f.JumpWall(-time.Hour)
	if f.Mono() != 0 {
		t.Fatalf("Mono moved on a wall jump: %v", f.Mono())
	}
	f.Advance(9 * time.Second)
	select {
	case <-tm.C():
		t.Fatal("timer fired early after a wall jump")
	default:
	}
	f.Advance(time.Second)
	select {
	case got := <-tm.C():
		if want := start.Add(-time.Hour + 10*time.Second); !got.Equal(want) {
			t.Errorf("fired at %v, want %v", got, want)
		}
	default:
		t.Fatal("timer did not fire at its monotonic deadline")
	}
}

func TestFakeStopAndReset(t *testing.T) {
	f := NewFake(start)
	tm := f.NewTimer(time.Second)
	if !tm.Stop() {
		t.Error("Stop of an armed timer reported inactive")
	}
	if tm.Stop() {
		t.Error("second Stop reported active")
	}
	f.Advance(2 * time.Second)
	select {
	case <-tm.C():
		t.Fatal("stopped timer fired")
	default:
	}
	tm.Reset(time.Second)
	f.Advance(time.Second)
	select {
	case <-tm.C():
	default:
		t.Fatal("reset timer did not fire")
	}
	if n := f.Timers(); n != 0 {
		t.Errorf("Timers = %d after firing, want 0", n)
	}
}

func TestRealMonoAdvances(t *testing.T) {
	r := NewReal()
	a := r.Mono()
	tm := r.NewTimer(time.Millisecond)
	<-tm.C()
	if b := r.Mono(); b <= a {
		t.Errorf("Mono did not advance: %v then %v", a, b)
	}
}
