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
	e, err := New(r.cfg, Deps{Clock: r.fc, Store: r.st, Booth: r.b, Authoriser: r.au})
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
}

func (a *fakeAuth) Authorise(ctx context.Context, card, inmate, period string) (Remote, error) {
	a.asked++
	if _, ok := ctx.Deadline(); !ok {
		return Remote{}, errors.New("no deadline")
	}
	return a.remote, a.err
}
