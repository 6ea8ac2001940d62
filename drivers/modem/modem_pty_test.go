package modem_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"wartelsuspas/clock"
	"wartelsuspas/drivers/modem"
	"wartelsuspas/drivers/modem/modemtest"
)

// bound only bounds a hang; no test asserts how long anything takes.
const bound = 10 * time.Second

var families = []modem.Family{modem.FamilySIMCom, modem.FamilyQuectel, modem.FamilyGeneric}

const number = "+6281234567890"

type rig struct {
	t   *testing.T
	m   *modem.Modem
	emu *modemtest.Emulator
	clk *clock.Fake // the driver's
	ec  *clock.Fake // the emulator's
	o   modem.Options
	// call is the id of the last call dialled: every Progress event
	// must carry it.
	call int64
}

// dial dials number as a new call.
func (r *rig) dial(number string) error {
	r.call++
	return r.m.Dial(r.call, number)
}

// start runs the real driver over a pty against an emulator of family;
// prepare adjusts the emulator before the driver opens it.
func start(t *testing.T, family modem.Family, o modem.Options, prepare func(*modemtest.Emulator)) *rig {
	t.Helper()
	ec := clock.NewFake(time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC))
	emu, err := modemtest.New(modemtest.Options{Family: string(family), Clock: ec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	if prepare != nil {
		prepare(emu)
	}
	clk := clock.NewFake(time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC))
	o.Family, o.Clock = family, clk
	if o.CommandTimeout == 0 {
		o.CommandTimeout = time.Hour
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = time.Hour
	}
	m, err := modem.OpenPort(emu.Path(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Halt() })
	if o.PollInterval == 0 {
		o.PollInterval = modem.DefaultOptions.PollInterval
	}
	return &rig{t: t, m: m, emu: emu, clk: clk, ec: ec, o: o}
}

func (r *rig) next() modem.Event {
	r.t.Helper()
	select {
	case e, ok := <-r.m.Events():
		if !ok {
			r.t.Fatal("events closed")
		}
		return e
	case <-time.After(bound):
		r.t.Fatalf("no event within %v; the emulator received %q", bound, r.emu.Commands())
	}
	return modem.Event{}
}

func (r *rig) health(up bool, cause modem.Cause) modem.Event {
	r.t.Helper()
	e := r.next()
	if e.Kind != modem.Health || e.Up != up || e.Cause != cause {
		r.t.Fatalf("event %+v, want health up=%v cause %q", e, up, cause)
	}
	if !up && e.Err == nil {
		r.t.Fatal("a down health event without an error for the technician")
	}
	return e
}

func (r *rig) progress(stage modem.Stage, outcome modem.Outcome) {
	r.t.Helper()
	e := r.next()
	if e.Kind != modem.Progress || e.Call != r.call || e.Stage != stage || e.Outcome != outcome {
		r.t.Fatalf("event %+v, want progress of call %d: %s %q", e, r.call, stage, outcome)
	}
}

// dialTo dials and waits for the dialling stage and, on a family that
// reports by itself, alerting.
func (r *rig) dialTo(n string) {
	r.t.Helper()
	if err := r.dial(n); err != nil {
		r.t.Fatal(err)
	}
	r.progress(modem.StageDialling, "")
	r.alerting()
}

// polled waits for the next event of a driver that polls AT+CLCC: it
// moves the driver's clock on by PollInterval while no event came (the
// rig's command and dial timeouts are an hour, so only polls are due).
func (r *rig) polled() modem.Event {
	r.t.Helper()
	end := time.After(bound)
	for {
		select {
		case e := <-r.m.Events():
			return e
		case <-time.After(5 * time.Millisecond):
			r.clk.Advance(r.o.PollInterval)
		case <-end:
			r.t.Fatalf("no event within %v of polling; the emulator received %q", bound, r.emu.Commands())
		}
	}
}

// waitTimers waits for n armed timers on the driver's clock, bounded.
func (r *rig) waitTimers(n int) {
	r.t.Helper()
	done := make(chan struct{})
	go func() {
		r.clk.WaitTimers(n)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(bound):
		r.t.Fatalf("%d timers never armed (%d are); the emulator received %q", n, r.clk.Timers(), r.emu.Commands())
	}
}

func (r *rig) alerting() {
	r.t.Helper()
	if r.o.Family == modem.FamilyGeneric {
		if e := r.polled(); e.Kind != modem.Progress || e.Stage != modem.StageAlerting {
			r.t.Fatalf("event %+v, want alerting", e)
		}
		return
	}
	r.progress(modem.StageAlerting, "")
}

// answered waits for the active stage after the far end answered.
func (r *rig) answered() {
	r.t.Helper()
	if r.o.Family == modem.FamilyGeneric {
		if e := r.polled(); e.Kind != modem.Progress || e.Stage != modem.StageActive {
			r.t.Fatalf("event %+v, want active", e)
		}
		return
	}
	r.progress(modem.StageActive, "")
}

func TestInitEachFamily(t *testing.T) {
	t.Parallel()
	for _, f := range families {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			r := start(t, f, modem.Options{}, nil)
			r.health(true, "")
			cmds := r.emu.Commands()
			// Fail closed: a call a crash left up ends before anything else.
			if len(cmds) == 0 || cmds[0] != "ATH" {
				t.Fatalf("first command %q, want ATH", cmds)
			}
			for _, c := range []string{"AT", "ATE0", "AT+CMEE=2", "AT+CLIP=1", "AT+CPIN?", "AT+CREG?", "AT+CSQ", "AT+COPS?"} {
				if !slices.Contains(cmds, c) {
					t.Errorf("init did not send %s: %q", c, cmds)
				}
			}
			want := map[modem.Family]string{modem.FamilySIMCom: "AT+CLCC=1", modem.FamilyQuectel: "AT^DSCI=1"}[f]
			if want != "" && !slices.Contains(cmds, want) {
				t.Errorf("no %s: %q", want, cmds)
			}
			st := r.m.Status()
			if !st.Up || st.SIM != "READY" || !st.Registered() || st.RSSI != 20 || st.Operator != "TELKOMSEL" {
				t.Fatalf("status %+v", st)
			}
			if s := r.m.String(); s != string(f)+" modem on "+r.emu.Path() {
				t.Errorf("String %q", s)
			}
		})
	}
}

// TestCallOutcomes: every scripted far end, in every dialect, ends with
// the outcome the engine bills by.
func TestCallOutcomes(t *testing.T) {
	t.Parallel()
	for _, f := range families {
		for _, tc := range []struct {
			name string
			run  func(r *rig)
			want modem.Outcome
		}{
			{"answered then far end hangs up", func(r *rig) {
				r.dialTo(number)
				must(t, r.emu.Answer())
				r.answered()
				must(t, r.emu.RemoteHangUp())
			}, modem.OutcomeAnswered},
			{"busy", func(r *rig) {
				r.dialTo(number)
				must(t, r.emu.Busy())
			}, modem.OutcomeBusy},
			{"network gives up", func(r *rig) {
				r.dialTo(number)
				must(t, r.emu.NoAnswer())
			}, modem.OutcomeNoAnswer},
			{"no carrier before the answer", func(r *rig) {
				r.dialTo(number)
				must(t, r.emu.RemoteHangUp())
			}, modem.OutcomeFailed},
			{"booth hangs up while ringing", func(r *rig) {
				r.dialTo(number)
				must(t, r.m.HangUp())
			}, modem.OutcomeCancelled},
			{"booth hangs up after the answer", func(r *rig) {
				r.dialTo(number)
				must(t, r.emu.Answer())
				r.answered()
				must(t, r.m.HangUp())
			}, modem.OutcomeAnswered},
			{"network lost mid-call", func(r *rig) {
				r.dialTo(number)
				must(t, r.emu.Answer())
				r.answered()
				r.emu.LoseNetwork()
			}, modem.OutcomeNetworkLost},
		} {
			t.Run(string(f)+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				r := start(t, f, modem.Options{}, nil)
				r.health(true, "")
				tc.run(r)
				if tc.want == modem.OutcomeNetworkLost {
					// The registration URC comes before the call's end.
					r.health(false, modem.CauseNoNetwork)
				}
				r.progress(modem.StageEnded, tc.want)
				if err := r.dial(number); tc.want != modem.OutcomeNetworkLost && err != nil {
					t.Fatalf("a second call after the first ended: %v", err)
				}
			})
		}
	}
}

// TestScriptedAnswer: an answer after 20 s of ringing on the emulator's
// clock; a drop 30 s after it.
func TestScriptedAnswer(t *testing.T) {
	t.Parallel()
	r := start(t, modem.FamilySIMCom, modem.Options{}, func(e *modemtest.Emulator) {
		e.Script(number, modemtest.Script{Outcome: modemtest.Answer, After: 20 * time.Second, DropAfter: 30 * time.Second})
	})
	r.health(true, "")
	r.dialTo(number)
	r.ec.WaitTimers(1)
	r.ec.Advance(20 * time.Second)
	r.progress(modem.StageActive, "")
	r.ec.WaitTimers(1)
	r.ec.Advance(30 * time.Second)
	r.progress(modem.StageEnded, modem.OutcomeAnswered)
	if st := r.m.Status(); st.Call != "" {
		t.Fatalf("status still shows a call: %+v", st)
	}
}

// TestDialTimeout: a call that rings for DialTimeout is hung up as no_answer.
func TestDialTimeout(t *testing.T) {
	t.Parallel()
	r := start(t, modem.FamilyQuectel, modem.Options{DialTimeout: 40 * time.Second}, nil)
	r.health(true, "")
	r.dialTo(number)
	r.waitTimers(2) // health and dial
	r.clk.Advance(40 * time.Second)
	r.progress(modem.StageEnded, modem.OutcomeNoAnswer)
	if c := r.emu.Commands(); c[len(c)-1] != "ATH" {
		t.Fatalf("last command %q, want ATH", c[len(c)-1])
	}
}

func TestIncomingRefused(t *testing.T) {
	t.Parallel()
	for _, f := range families {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			r := start(t, f, modem.Options{}, nil)
			r.health(true, "")
			n := len(r.emu.Commands())
			r.emu.Incoming("+6285600001111")
			e := r.next()
			if e.Kind != modem.Incoming || e.From != "+6285600001111" {
				t.Fatalf("event %+v, want incoming from +6285600001111", e)
			}
			if c := r.emu.Commands()[n:]; len(c) == 0 || c[0] != "ATH" {
				t.Fatalf("commands after the RING %q, want ATH", c)
			}
		})
	}
}

func TestHealthCauses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		prepare func(*modemtest.Emulator)
		min     int
		cause   modem.Cause
	}{
		{"no SIM", func(e *modemtest.Emulator) { e.SetSIM("NOT INSERTED") }, 5, modem.CauseNoSIM},
		{"PIN", func(e *modemtest.Emulator) { e.SetSIM("SIM PIN") }, 5, modem.CauseSIMPIN},
		{"searching", func(e *modemtest.Emulator) { e.SetRegistration(2) }, 5, modem.CauseNoNetwork},
		{"denied", func(e *modemtest.Emulator) { e.SetRegistration(3) }, 5, modem.CauseNoNetwork},
		{"roaming is fine", func(e *modemtest.Emulator) { e.SetRegistration(5) }, 5, ""},
		{"weak", func(e *modemtest.Emulator) { e.SetSignal(4) }, 5, modem.CauseWeakSignal},
		{"unknown signal", func(e *modemtest.Emulator) { e.SetSignal(99) }, 0, modem.CauseWeakSignal},
		{"min signal 0 takes any", func(e *modemtest.Emulator) { e.SetSignal(0) }, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := start(t, modem.FamilySIMCom, modem.Options{MinSignal: tc.min}, tc.prepare)
			r.health(tc.cause == "", tc.cause)
			if err := r.dial(number); (err == nil) != (tc.cause == "") {
				t.Fatalf("Dial: %v with cause %q", err, tc.cause)
			}
		})
	}
}

// TestHealthChanges: the periodic check and the registration URC move
// health both ways.
func TestHealthChanges(t *testing.T) {
	t.Parallel()
	r := start(t, modem.FamilySIMCom, modem.Options{HealthInterval: time.Minute, MinSignal: 5}, nil)
	r.health(true, "")
	r.emu.SetSignal(2)
	r.waitTimers(1)
	r.clk.Advance(time.Minute)
	r.health(false, modem.CauseWeakSignal)
	r.emu.SetSignal(20)
	r.waitTimers(1)
	r.clk.Advance(time.Minute)
	r.health(true, "")
	r.emu.SetRegistration(0) // the +CREG: 0 URC, no check needed
	r.health(false, modem.CauseNoNetwork)
	r.emu.SetRegistration(1)
	r.health(true, "")
}

// keyPin records the power key's levels.
type keyPin struct {
	gpiotest.Pin
	mu     sync.Mutex
	levels []gpio.Level
}

func (p *keyPin) Out(l gpio.Level) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.levels = append(p.levels, l)
	return nil
}

func (p *keyPin) Levels() []gpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]gpio.Level(nil), p.levels...)
}

// TestHangReset: a module that stops answering is reported down after
// MaxTimeouts, its power key is pressed and released, and it is
// re-initialised once it answers again. A call up when it hung ends as
// modem_fault.
func TestHangReset(t *testing.T) {
	t.Parallel()
	key := &keyPin{Pin: gpiotest.Pin{N: "GPIO6"}}
	o := modem.Options{MaxTimeouts: 3, CommandTimeout: 2 * time.Second, PowerKey: key,
		PowerKeyPulse: 3 * time.Second, StartupWait: 12 * time.Second, HealthInterval: time.Minute, DialTimeout: time.Hour}
	r := start(t, modem.FamilySIMCom, o, nil)
	r.health(true, "")
	r.dialTo(number)
	r.emu.Hang(true)
	// The next health check is not answered: three commands time out.
	r.waitTimers(2) // health and dial
	r.clk.Advance(time.Minute)
	for range 3 {
		r.waitTimers(2) // dial and the command's timeout
		r.clk.Advance(2 * time.Second)
	}
	r.progress(modem.StageEnded, modem.OutcomeModemFault)
	r.health(false, modem.CauseModemFault)
	if err := r.dial(number); err == nil {
		t.Fatal("dialled a module that is down")
	}
	if l := key.Levels(); !slices.Equal(l, []gpio.Level{gpio.High}) {
		t.Fatalf("power key %v, want pressed (high)", l)
	}
	r.emu.Hang(false)
	r.waitTimers(1)
	r.clk.Advance(3 * time.Second)
	r.waitTimers(1)
	if l := key.Levels(); !slices.Equal(l, []gpio.Level{gpio.High, gpio.Low}) {
		t.Fatalf("power key %v, want pressed then released", l)
	}
	r.clk.Advance(12 * time.Second)
	r.health(true, "")
	if st := r.m.Status(); st.Resets != 1 || st.Timeouts != 3 {
		t.Fatalf("status %+v, want 1 reset after 3 timeouts", st)
	}
}

// TestPortGone: an unplugged module is down with modem_fault.
func TestPortGone(t *testing.T) {
	t.Parallel()
	r := start(t, modem.FamilySIMCom, modem.Options{}, nil)
	r.health(true, "")
	r.emu.Close()
	r.health(false, modem.CauseModemFault)
}

// TestPortBack: a USB module unplugged mid-call ends the call (modem_fault,
// with its id) and is down; the driver opens its port again every
// ReopenInterval, and once the module is plugged back (here: a new pty
// behind the same path, as udev's symlink of a replugged module) it is
// initialised, ATH first, reported up and dials again, with no restart.
func TestPortBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	link := filepath.Join(dir, "wartel-modem")
	ec := clock.NewFake(time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC))
	plug := func() *modemtest.Emulator {
		emu, err := modemtest.New(modemtest.Options{Family: string(modem.FamilySIMCom), Clock: ec})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { emu.Close() })
		must(t, os.Symlink(emu.Path(), link))
		return emu
	}
	clk := clock.NewFake(time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC))
	o := modem.Options{Family: modem.FamilySIMCom, Clock: clk, CommandTimeout: time.Hour, DialTimeout: time.Hour}
	r := &rig{t: t, emu: plug(), clk: clk, ec: ec, o: o}
	m, err := modem.OpenPort(link, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Halt() })
	r.m = m
	r.health(true, "")
	r.dialTo(number)

	r.emu.Close() // unplugged
	must(t, os.Remove(link))
	r.progress(modem.StageEnded, modem.OutcomeModemFault)
	if e := r.health(false, modem.CauseModemFault); !strings.Contains(e.Err.Error(), "opens it again") {
		t.Errorf("down: %v, want it to say the port is opened again", e.Err)
	}
	every := modem.DefaultOptions.ReopenInterval
	r.waitTimers(1)
	clk.Advance(every) // still unplugged: tried, and armed again
	r.waitTimers(1)
	if err := r.m.Dial(r.call+1, number); err == nil {
		t.Fatal("Dial while the module is unplugged: no error")
	}

	r.emu = plug()
	clk.Advance(every)
	r.health(true, "")
	if cmds := r.emu.Commands(); len(cmds) == 0 || cmds[0] != "ATH" {
		t.Fatalf("commands to the module plugged back %q, want ATH first", cmds)
	}
	r.dialTo(number)
	must(t, r.emu.Answer())
	r.answered()
}

func TestTones(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f    modem.Family
		want []string
	}{
		{modem.FamilySIMCom, []string{"AT+STTONE=1,16,500", "AT+STTONE=1,16,1500"}},
		{modem.FamilyQuectel, []string{`AT+QLDTMF=5,"1"`, `AT+QLDTMF=2,"1,1,1"`}},
	} {
		r := start(t, tc.f, modem.Options{}, nil)
		r.health(true, "")
		must(t, r.m.Tone(modem.ToneWarning60))
		must(t, r.m.Tone(modem.ToneWarning10))
		must(t, r.emu.WaitCommand(tc.want[1][:9], 2, bound))
		if got := r.emu.Tones(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: tones %q, want %q", tc.f, got, tc.want)
		}
	}
	r := start(t, modem.FamilyGeneric, modem.Options{}, nil)
	if err := r.m.Tone(modem.ToneWarning60); !errors.Is(err, modem.ErrNoTones) {
		t.Fatalf("generic tone: %v", err)
	}
}

func TestDTMFKeys(t *testing.T) {
	t.Parallel()
	for _, f := range []modem.Family{modem.FamilySIMCom, modem.FamilyQuectel} {
		r := start(t, f, modem.Options{}, nil)
		r.health(true, "")
		for _, k := range "1#*9" {
			r.emu.Key(k)
			if e := r.next(); e.Kind != modem.Key || e.Key != k {
				t.Fatalf("%s: event %+v, want key %q", f, e, k)
			}
		}
	}
}

// TestHaltHangsUp: Halt during a call writes ATH before it closes the port.
func TestHaltHangsUp(t *testing.T) {
	t.Parallel()
	r := start(t, modem.FamilySIMCom, modem.Options{}, nil)
	r.health(true, "")
	r.dialTo(number)
	must(t, r.emu.Answer())
	r.answered()
	n := len(r.emu.Commands())
	must(t, r.m.Halt())
	if c := r.emu.Commands()[n:]; !slices.Equal(c, []string{"ATH"}) {
		t.Fatalf("commands at Halt %q, want ATH", c)
	}
	if _, ok := <-r.m.Events(); ok {
		t.Fatal("events not closed by Halt")
	}
	if err := r.dial(number); err == nil {
		t.Fatal("dialled after Halt")
	}
}

func TestOptions(t *testing.T) {
	if _, err := modem.Open(nil, modem.Options{Family: "nokia"}); err == nil {
		t.Error("unknown family accepted")
	}
	if _, err := modem.Open(nil, modem.Options{MinSignal: 32}); err == nil {
		t.Error("min signal 32 accepted")
	}
	if err := (&modem.Modem{}).Dial(1, "0812-34"); err == nil {
		t.Error("a number with a dash accepted")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
