// Loop: the driver's one goroutine of logic, which steps debounce, relay
// feedback, latches and patterns under the clock and runs the methods'
// requests (do) between steps.

package booth

import (
	"fmt"
	"time"
)

type request struct {
	fn   func(now time.Duration) error
	done chan error
}

// do runs fn on the loop goroutine and returns once its effect is on the pins.
func (b *Booth) do(fn func(now time.Duration) error) error {
	r := request{fn: fn, done: make(chan error, 1)}
	select {
	case b.reqs <- r:
	case <-b.done:
		return ErrClosed
	}
	select {
	case err := <-r.done:
		return err
	case <-b.done:
		select {
		case err := <-r.done:
			return err
		default:
			return ErrClosed
		}
	}
}

// loop is the driver's one goroutine of logic: patterns, debounce, relay
// feedback, events. It sleeps on a single timer until the next change.
func (b *Booth) loop() {
	defer b.wg.Done()
	defer close(b.events)
	timer := b.clk.NewTimer(time.Hour)
	timer.Stop()
	var pending *request
	var replyErr error
	fired, observed := false, false
	for {
		now := b.clk.Mono()
		next, ok := b.step(now)
		if ok {
			timer.Reset(max(next-b.clk.Mono(), 0))
		} else {
			timer.Stop()
		}
		if pending != nil {
			pending.done <- replyErr
			pending = nil
		}
		if fired || observed {
			b.firedMu.Lock()
			if fired {
				b.fired++
			}
			if observed {
				b.observed++
			}
			b.firedC.Broadcast()
			b.firedMu.Unlock()
			fired, observed = false, false
		}
		var out chan<- Event
		var ev Event
		if len(b.queue) > 0 {
			out, ev = b.events, b.queue[0]
		}
		select {
		case <-b.done:
			timer.Stop()
			return
		case r := <-b.reqs:
			replyErr = r.fn(b.clk.Mono())
			pending = &r
		case s := <-b.samples:
			s.in.deb.Observe(s.l, b.clk.Mono())
			observed = true
		case <-timer.C():
			fired = true
		case <-b.wake:
		case out <- ev:
			b.queue = b.queue[1:]
		}
	}
}

// step brings inputs, latches and outputs up to now and returns when it
// must run next.
func (b *Booth) step(now time.Duration) (time.Duration, bool) {
	b.relayMu.Lock()
	seq, at, relayOn := b.relaySeq, b.relayAt, b.relayOn
	b.relayMu.Unlock()
	if b.feedback != nil && seq != b.seenSeq {
		b.seenSeq = seq
		b.settleAt, b.settlePending = at+b.opts.Settle, true
	}
	polling := false
	for _, in := range b.inputs {
		if !in.edges {
			polling = true
		}
	}
	if polling && now >= b.pollAt {
		for _, in := range b.inputs {
			if !in.edges {
				in.deb.Observe(in.in.Read(), now)
			}
		}
		b.pollAt = now + b.opts.PollInterval
	}
	for _, in := range b.inputs {
		if due, ok := in.deb.Due(); ok && now >= due {
			in.deb.Observe(in.in.Read(), now) // a lost edge or a late bounce restarts the wait
		}
		if l, changed := in.deb.Settle(now); changed {
			b.inputChanged(in, in.active(l), now, relayOn)
		}
	}
	if b.settlePending && now >= b.settleAt {
		b.settlePending = false
		if got := b.feedback.active(b.feedback.in.Read()); got != relayOn {
			b.relayFault(now, fmt.Errorf("relay did not follow its command: commanded %s, feedback %s=%s still reads %s after %v: %s",
				onOff(relayOn), keyPrefix+"relay_feedback", b.opts.Config.Feedback, onOff(got), b.opts.Settle, faultHint(relayOn)))
		}
	}
	st, next, ok := b.sched.at(now)
	b.apply(st)

	wake := func(t time.Duration) {
		if !ok || t < next {
			next, ok = t, true
		}
	}
	if polling {
		wake(b.pollAt)
	}
	for _, in := range b.inputs {
		if due, d := in.deb.Due(); d {
			wake(due)
		}
	}
	if b.settlePending {
		wake(b.settleAt)
	}
	return next, ok
}
