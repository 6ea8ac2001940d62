package sessiontest

import (
	"slices"
	"sync"
	"time"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/signal"
)

// DialEvent is one thing the engine told the Dialer, at the clock's
// monotonic instant: a Dial (E164 set), a HangUp, or a Tone.
type DialEvent struct {
	Mono   time.Duration
	Call   int64         // Dial: the engine's call id
	E164   string        // Dial
	HangUp bool          // HangUp
	Tone   signal.Signal // Tone
}

// Dialer is a session.Dialer (and session.Toner) that records what it was
// told with the monotonic instant. It never calls back: the test drives the
// call's progress itself, handing the engine session.CallProgress inputs
// (answered, busy, ended…) at the instants it chooses, as the modem's
// driver would.
type Dialer struct {
	clk clock.Clock

	mu      sync.Mutex
	events  []DialEvent
	dialErr error
	hangErr error
	// OnDial and OnHangUp, if set, are called (without the lock) at each
	// Dial and HangUp: tests check the journal, the relay and the
	// registered numbers at that instant.
	OnDial   func(e164 string)
	OnHangUp func()
}

// NewDialer returns a dialer whose events are stamped with clk.Mono().
func NewDialer(clk clock.Clock) *Dialer { return &Dialer{clk: clk} }

// Dial implements session.Dialer; FailDial makes it fail.
func (d *Dialer) Dial(call int64, e164 string) error {
	d.mu.Lock()
	d.events = append(d.events, DialEvent{Mono: d.clk.Mono(), Call: call, E164: e164})
	err, f := d.dialErr, d.OnDial
	d.mu.Unlock()
	if f != nil {
		f(e164)
	}
	return err
}

// HangUp implements session.Dialer; FailHangUp makes it fail.
func (d *Dialer) HangUp() error {
	d.mu.Lock()
	d.events = append(d.events, DialEvent{Mono: d.clk.Mono(), HangUp: true})
	err, f := d.hangErr, d.OnHangUp
	d.mu.Unlock()
	if f != nil {
		f()
	}
	return err
}

// Tone implements session.Toner.
func (d *Dialer) Tone(s signal.Signal) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.events = append(d.events, DialEvent{Mono: d.clk.Mono(), Tone: s})
	return nil
}

// FailDial makes Dial fail with err after recording it (nil: works again).
func (d *Dialer) FailDial(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dialErr = err
}

// FailHangUp makes HangUp fail with err after recording it (nil: works again).
func (d *Dialer) FailHangUp(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hangErr = err
}

// Events returns everything the dialer was told, in order.
func (d *Dialer) Events() []DialEvent {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.events)
}

// Dialled returns the numbers dialled, in order.
func (d *Dialer) Dialled() []string {
	var out []string
	for _, e := range d.Events() {
		if e.E164 != "" {
			out = append(out, e.E164)
		}
	}
	return out
}

// LastCall is the call id of the last Dial (0: none yet): the id a test
// gives the CallProgress it hands the engine, as the modem's driver does.
func (d *Dialer) LastCall() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := len(d.events) - 1; i >= 0; i-- {
		if d.events[i].E164 != "" {
			return d.events[i].Call
		}
	}
	return 0
}

// HangUps returns the instants of every HangUp.
func (d *Dialer) HangUps() []time.Duration {
	var out []time.Duration
	for _, e := range d.Events() {
		if e.HangUp {
			out = append(out, e.Mono)
		}
	}
	return out
}

// Tones returns the tones played, in order.
func (d *Dialer) Tones() []signal.Signal {
	var out []signal.Signal
	for _, e := range d.Events() {
		if e.Tone != "" {
			out = append(out, e.Tone)
		}
	}
	return out
}

// Numbers is an in-memory session.Numbers: the registered numbers the
// roster sync brought (every one approved, as only approved numbers reach
// a booth) and the facility's blocked list. A test changes them at any
// instant, as a sync does.
type Numbers struct {
	mu      sync.Mutex
	numbers []record.Number
	blocked map[string]bool
	err     error
}

// NewNumbers returns the numbers given, none blocked.
func NewNumbers(nums ...record.Number) *Numbers {
	return &Numbers{numbers: slices.Clone(nums), blocked: map[string]bool{}}
}

// Numbers implements session.Numbers: person's numbers, in slot order.
func (n *Numbers) Numbers(person string) ([]record.Number, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.err != nil {
		return nil, n.err
	}
	var out []record.Number
	for _, x := range n.numbers {
		if x.Person == person {
			out = append(out, x)
		}
	}
	slices.SortStableFunc(out, func(a, b record.Number) int { return a.Slot - b.Slot })
	return out, nil
}

// NumberBlocked implements session.Numbers.
func (n *Numbers) NumberBlocked(e164 string) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.err != nil {
		return false, n.err
	}
	return n.blocked[e164], nil
}

// Set replaces every registered number, as a roster sync does.
func (n *Numbers) Set(nums ...record.Number) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.numbers = slices.Clone(nums)
}

// Remove takes the number with id off the roster (revoked).
func (n *Numbers) Remove(id int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.numbers = slices.DeleteFunc(n.numbers, func(x record.Number) bool { return x.ID == id })
}

// Block puts e164 on the blocked list (true) or takes it off (false).
func (n *Numbers) Block(e164 string, on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if on {
		n.blocked[e164] = true
	} else {
		delete(n.blocked, e164)
	}
}

// FailWith makes both methods fail with err (nil: they work again).
func (n *Numbers) FailWith(err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.err = err
}

// Callable reports whether e164 is registered for person, valid at t and
// not blocked: the check a property test makes at each Dial.
func (n *Numbers) Callable(person, e164 string, t time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.blocked[e164] {
		return false
	}
	for _, x := range n.numbers {
		if x.Person == person && x.E164 == e164 && x.ValidAt(t) {
			return true
		}
	}
	return false
}
