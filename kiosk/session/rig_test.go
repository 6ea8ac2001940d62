package session

import (
	"context"
	"errors"
	"time"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session/sessiontest"
)

// Fixtures: a facility in WIB, open 08:00–17:00 every day, 10 minutes a
// day per inmate, billed per second.

var (
	wib   = time.FixedZone("WIB", 7*3600)
	start = time.Date(2026, 11, 30, 9, 0, 0, 0, wib) // a Monday
	day   = policy.PeriodOf(start, policy.Day, wib).Key
)

const (
	inmate1  = "em:00000000A1"
	inmate2  = "em:00000000A2"
	blocked  = "em:00000000B1"
	officer1 = "em:000000000F"
	revoked  = "em:00000000F2"
	unknown  = "em:00000000EE"
)

func roster() []record.CardInfo {
	return []record.CardInfo{
		{Card: inmate1, Role: record.RoleInmate, Person: "i1", Block: "A"},
		{Card: inmate2, Role: record.RoleInmate, Person: "i2", Block: "B"},
		{Card: blocked, Role: record.RoleInmate, Person: "i3", Block: "A", Blocked: true},
		{Card: officer1, Role: record.RoleOfficer, Person: "o1"},
		{Card: revoked, Role: record.RoleOfficer, Person: "o2", Blocked: true},
	}
}

func rules() policy.Rules {
	open := map[time.Weekday][]policy.Window{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		open[d] = []policy.Window{{From: 8 * 60, To: 17 * 60}}
	}
	return policy.Rules{
		Location:   wib,
		Period:     policy.Day,
		Allowance:  10 * time.Minute,
		Billing:    policy.Billing{Unit: policy.PerSecond},
		Hours:      policy.Hours{Weekly: open},
		Untrusted:  policy.UntrustedRefuse,
		OfflineCap: 3 * time.Minute,
	}
}

func baseConfig() Config {
	return Config{Rules: rules(), ClockTrustedAtStart: true}
}

// tb is what the rig needs of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

// rig is one booth under a fake clock.
type rig struct {
	t   tb
	fc  *clock.Fake
	st  *sessiontest.Store
	b   *sessiontest.Booth
	e   *Engine
	cfg Config
	au  Authoriser
	// A booth with a modem (newDialRig); nil: relay-only.
	d    *sessiontest.Dialer
	nums *sessiontest.Numbers
}

func newRig(t tb, mod func(*Config)) *rig {
	t.Helper()
	cfg := baseConfig()
	if mod != nil {
		mod(&cfg)
	}
	fc := clock.NewFake(start)
	r := &rig{t: t, fc: fc, st: sessiontest.NewStore("test/b01", roster()...), b: sessiontest.NewBooth(fc), cfg: cfg}
	return r
}

// boot starts (or restarts) the engine on the rig's store and booth.
func (r *rig) boot() *rig {
	r.t.Helper()
	deps := Deps{Clock: r.fc, Store: r.st, Booth: r.b, Authoriser: r.au}
	if r.d != nil {
		deps.Dialer, deps.Numbers = r.d, r.nums
	}
	e, err := New(r.cfg, deps)
	if err != nil {
		r.t.Fatalf("New: %v", err)
	}
	r.e = e
	return r
}

// play runs a script: an Input is handled, a time.Duration is driven
// through, a func(*rig) is called.
func (r *rig) play(script ...any) {
	r.t.Helper()
	for _, s := range script {
		switch s := s.(type) {
		case CallProgress:
			if s.Call == 0 && r.d != nil {
				s.Call = r.d.LastCall() // the call the script means: the one dialled last
			}
			r.e.Handle(s)
		case Input:
			r.e.Handle(s)
		case time.Duration:
			sessiontest.Drive(r.fc, r.e, s)
		case func(*rig):
			s(r)
		default:
			r.t.Fatalf("script step %T", s)
		}
	}
}

func (r *rig) onlyCall() record.Call {
	r.t.Helper()
	cs := r.st.Calls()
	if len(cs) != 1 {
		r.t.Fatalf("want 1 call record, got %d: %+v", len(cs), cs)
	}
	return cs[0]
}

// relayChanges lists the monotonic instants the relay was set, as +d (on)
// and -d (off), skipping the initial open at boot.
func (r *rig) relayOn() []time.Duration {
	var on []time.Duration
	for _, ev := range r.b.Events() {
		if ev.Relay != nil && *ev.Relay {
			on = append(on, ev.Mono)
		}
	}
	return on
}

func (r *rig) lastRelayOff() time.Duration {
	var off time.Duration = -1
	for _, ev := range r.b.Events() {
		if ev.Relay != nil && !*ev.Relay {
			off = ev.Mono
		}
	}
	return off
}

func (r *rig) signalAt(signal Signal) []time.Duration {
	var at []time.Duration
	for _, ev := range r.b.Events() {
		if ev.Relay == nil && ev.Signal == signal {
			at = append(at, ev.Mono)
		}
	}
	return at
}

func (r *rig) checkChain() {
	r.t.Helper()
	if err := record.VerifyChain(nil, r.st.Records()); err != nil {
		r.t.Fatalf("chain: %v", err)
	}
}

// Script helpers.
func tap(card string) Tap { return Tap{Card: card} }

var (
	offHook = Hook{OffHook: true}
	onHook  = Hook{OffHook: false}
)

func setUsage(inmate string, u record.Usage) func(*rig) {
	return func(r *rig) { r.st.SetUsage(inmate, day, u) }
}

func jumpWall(d time.Duration) func(*rig) { return func(r *rig) { r.fc.JumpWall(d) } }

func failOp(op string, err error) func(*rig) {
	return func(r *rig) {
		r.st.FailWith(func(o string) error {
			if o == op {
				return err
			}
			return nil
		})
	}
}

var errDisk = errors.New("disk I/O error")

func broken(b bool) func(*rig) { return func(r *rig) { r.st.SetBroken(b) } }

// fakeAuth answers Authorise from a table.
type fakeAuth struct {
	remote Remote
	err    error
	asked  int
	during func() // run while the centre answers (an upload confirmed meanwhile)
}

func (a *fakeAuth) Authorise(ctx context.Context, card, inmate, period string) (Remote, error) {
	a.asked++
	if _, ok := ctx.Deadline(); !ok {
		return Remote{}, errors.New("no deadline")
	}
	if a.during != nil {
		a.during()
	}
	return a.remote, a.err
}

// Registered numbers of the dial-control fixtures: i1 has slots 1 and 2
// and a number chosen by full number only; slot 3 is blocked for the
// facility; slot 4 expired yesterday. i2 has slot 1 of its own.
const (
	mother  = "+6281111111111"
	brother = "+6282222222222"
	lawyer  = "+6285555555555"
	victim  = "+6283333333333"
	expired = "+6284444444444"
	other   = "+6289999999999"
)

func registered() []record.Number {
	return []record.Number{
		{ID: 11, Person: "i1", E164: mother, Slot: 1, Label: "ibu", RegisteredBy: "op1", ApprovedBy: "sup1"},
		{ID: 12, Person: "i1", E164: brother, Slot: 2, Label: "kakak", RegisteredBy: "op1", ApprovedBy: "sup1"},
		{ID: 13, Person: "i1", E164: victim, Slot: 3, Label: "teman", RegisteredBy: "op1", ApprovedBy: "sup1"},
		{ID: 14, Person: "i1", E164: expired, Slot: 4, Label: "paman", RegisteredBy: "op1", ApprovedBy: "sup1", ValidUntil: start.Add(-24 * time.Hour)},
		{ID: 15, Person: "i1", E164: lawyer, Slot: 0, Label: "pengacara", RegisteredBy: "op1", ApprovedBy: "sup1"},
		{ID: 21, Person: "i2", E164: other, Slot: 1, Label: "istri", RegisteredBy: "op1", ApprovedBy: "sup1"},
	}
}

// newDialRig is a booth with a modem: a fake Dialer and the fixtures'
// registered numbers, victim blocked.
func newDialRig(t tb, mod func(*Config)) *rig {
	r := newRig(t, mod)
	withModem(r)
	return r
}

// withModem gives a rig not yet booted its modem and registered numbers.
func withModem(r *rig) {
	r.d = sessiontest.NewDialer(r.fc)
	r.nums = sessiontest.NewNumbers(registered()...)
	r.nums.Block(victim, true)
}

// keys presses each key of s.
func keys(s string) func(*rig) {
	return func(r *rig) {
		for _, k := range s {
			r.e.Handle(Key{Digit: k})
		}
	}
}

// The call's progress in scripts: with no Call, play gives it the id of
// the call dialled last (the current one, when a call is dialled).
var (
	alerting = CallProgress{Stage: StageAlerting}
	answered = CallProgress{Stage: StageActive}
)

func ended(o record.Outcome) CallProgress { return CallProgress{Stage: StageEnded, Outcome: o} }
