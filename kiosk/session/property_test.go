package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"pgregory.net/rapid"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
)

// world is a booth under random events, with what the invariants need to
// know beyond the store: relay intervals per call and counts across engine
// restarts.
type world struct {
	*rig
	onAt, offAt map[int64]time.Duration // call id → relay closed / opened (mono)
	onCall      int64                   // call the relay is closed for, 0 = none
	relayBad    error                   // invariant broken at a relay change

	// Totals over all engines that ran, and what crashes lost.
	calls, denials, officerActs int
	lostDenials                 int
	log                         []string
	centre                      *centre // nil: a standalone booth

	// A booth with a modem (newDialWorld): which calls the far end
	// answered and when, and what broke an invariant at a Dial or HangUp.
	answeredAt map[int64]time.Duration // call id → mono instant of the answer
	dialBad    error
}

// centre is a fake Authoriser that answers the true balance from the store
// while up, and times out while down.
type centre struct {
	w    *world
	down bool
	// answered: inmate and period → records written before its last
	// answer, all of which it counted.
	answered map[[2]string]int
}

func (c *centre) Authorise(ctx context.Context, card, inmate, period string) (Remote, error) {
	if c.down {
		return Remote{}, context.DeadlineExceeded
	}
	c.answered[[2]string{inmate, period}] = len(c.w.st.Records())
	u := c.w.st.UsageOf(inmate, period)
	return Remote{Remaining: c.w.cfg.Rules.Allowance + u.Granted - u.Used}, nil
}

func newWorld(t tb, cfg Config, withCentre bool) *world {
	w := &world{onAt: map[int64]time.Duration{}, offAt: map[int64]time.Duration{}}
	w.rig = newRig(t, func(c *Config) { *c = cfg })
	w.b.OnRelay = w.relayChanged
	if withCentre {
		w.centre = &centre{w: w, answered: map[[2]string]int{}}
		w.au = w.centre
	}
	w.boot()
	return w
}

// relayChanged checks, at the instant the relay closes, that exactly one
// call is open in the journal and it is the last one journaled.
func (w *world) relayChanged(on bool) {
	now := w.fc.Mono()
	if !on {
		if w.onCall != 0 {
			w.offAt[w.onCall] = now
			w.onCall = 0
		}
		return
	}
	open, opened := w.st.Open(), w.st.Opened()
	if len(open) != 1 || len(opened) == 0 || open[0] != opened[len(opened)-1] {
		w.relayBad = fmt.Errorf("relay closed at %v with open calls %v (last journaled %v)", now, open, opened)
		return
	}
	w.onCall = open[0]
	w.onAt[open[0]] = now
}

func (w *world) crash() {
	w.b.PowerCut()
	w.relayChanged(false)
	w.calls += w.e.calls
	w.denials += w.e.denials
	w.officerActs += w.e.officerActs
	w.lostDenials += w.e.unrecorded
	w.boot()
}

var storeOps = []string{"Card", "Usage", "SetCentreBalance", "OpenCall", "Checkpoint", "Answered", "CloseCall", "OpenCalls", "Deny", "Officer", "Event", "Probe"}

// apply performs one random action; op and arg come from rapid or a fuzzer.
func (w *world) apply(op, arg int) {
	cards := []string{inmate1, inmate2, officer1, unknown, blocked, revoked}
	var step any
	switch op % 22 {
	case 0, 1, 2, 3:
		step = tap(cards[arg%len(cards)])
	case 4:
		step = offHook
	case 5:
		step = onHook
	case 6:
		step = Tamper{Open: arg%2 == 0}
	case 7, 8:
		step = time.Duration(arg) * 100 * time.Millisecond
	case 9, 10:
		step = time.Duration(arg) * 2 * time.Second
	case 11:
		step = jumpWall(time.Duration(arg-128) * time.Minute)
	case 12:
		step = broken(arg%2 == 0)
	case 13:
		name := storeOps[arg%len(storeOps)]
		step = func(r *rig) {
			failed := false
			r.st.FailWith(func(o string) error {
				if o == name && !failed {
					failed = true
					return errDisk
				}
				return nil
			})
		}
	case 14:
		step = func(*rig) { w.crash() }
	case 15:
		step = RelayFault{Err: errors.New("read-back low")}
	case 16:
		step = Reader{Up: arg%2 == 0}
	case 17:
		step = ClockTrust{Trusted: arg%3 != 0}
	case 18:
		step = CardRemoved{Card: cards[arg%len(cards)]}
	case 19:
		step = func(r *rig) { r.e.Shutdown() }
	case 20:
		step = func(*rig) {
			if w.centre != nil {
				w.centre.down = arg%2 == 0
			}
		}
	case 21:
		// A whole call (tap, lift, talk, hang up), so that one inmate's
		// calls follow each other often enough to meet the offline cap.
		step = func(r *rig) {
			r.play(tap(cards[arg%2]), offHook, time.Duration(arg)*2*time.Second, onHook, time.Second)
		}
	}
	w.log = append(w.log, fmt.Sprintf("%T%+v", step, step))
	w.play(step)
}

// check asserts every invariant of the booth.
func (w *world) check() error {
	if w.relayBad != nil {
		return w.relayBad
	}
	st := w.e.Status()
	open := w.st.Open()
	if w.dialBad != nil {
		return w.dialBad
	}
	// Relay on ⇒ exactly one open journaled call, the engine's.
	if w.b.Relay() {
		onStates := []State{StateGranted, StateTalking}
		if w.d != nil {
			onStates = []State{StateDialling, StateRinging, StateTalking}
		}
		if len(open) != 1 || open[0] != st.CallID || !slices.Contains(onStates, st.State) {
			return fmt.Errorf("relay on with journal %v, engine %s call %d", open, st.State, st.CallID)
		}
	}
	records := w.st.Records()
	if err := record.VerifyChain(nil, records); err != nil {
		return err
	}
	billing := w.cfg.Rules.Billing
	calls := w.st.Calls()
	seen := map[int64]bool{}
	billed := map[[2]string]time.Duration{}
	offline := map[[2]string]time.Duration{} // charged for calls authorised offline
	for _, c := range calls {
		if seen[c.CallID] {
			return fmt.Errorf("call %d has two records", c.CallID)
		}
		seen[c.CallID] = true
		talked, charged := ms(c.TalkedMs), ms(c.ChargedMs)
		rule := billing.Charge(talked)
		if slices.Contains([]record.EndReason{EndFault, EndStoreError, EndShutdown, EndPowerLoss, EndModemDown}, c.EndReason) {
			rule = billing.ChargeCut(talked) // the booth cut it short: the seconds talked
		}
		if charged != rule.Truncate(time.Millisecond) {
			return fmt.Errorf("call %d (%s): charged %v for %v talked, the rule says %v", c.CallID, c.EndReason, charged, talked, rule)
		}
		if billing.Unit == policy.PerSecond && charged > talked {
			return fmt.Errorf("call %d: charged %v > talked %v", c.CallID, charged, talked)
		}
		if c.Offline && w.centre != nil && ms(c.MaxMs) > w.cfg.Rules.OfflineCap {
			return fmt.Errorf("call %d: offline with max %v over the offline cap %v", c.CallID, ms(c.MaxMs), w.cfg.Rules.OfflineCap)
		}
		if !c.Offline && w.centre == nil {
			return fmt.Errorf("call %d: online with no centre", c.CallID)
		}
		if talked > ms(c.MaxMs) {
			return fmt.Errorf("call %d: talked %v > max %v", c.CallID, talked, ms(c.MaxMs))
		}
		if talked > 0 {
			on, ok1 := w.onAt[c.CallID]
			off, ok2 := w.offAt[c.CallID]
			if !ok1 || !ok2 || talked > off-on {
				return fmt.Errorf("call %d: talked %v but the relay was on %v..%v (%v %v)", c.CallID, talked, on, off, ok1, ok2)
			}
		}
		if w.d != nil {
			// A dialled call is charged only from its answer: never
			// when it was not answered, never more than from the
			// answer to the relay opening.
			answer, ok := w.answeredAt[c.CallID]
			switch {
			case c.NumberID == 0:
				return fmt.Errorf("call %d on a booth with a modem has no number id", c.CallID)
			case !ok && (talked > 0 || charged > 0):
				return fmt.Errorf("call %d never answered but talked %v, charged %v", c.CallID, talked, charged)
			case ok && talked > w.offAt[c.CallID]-answer:
				return fmt.Errorf("call %d: talked %v, but answered at %v and the relay opened at %v", c.CallID, talked, answer, w.offAt[c.CallID])
			}
		}
		billed[[2]string{c.Inmate, c.Period}] += charged
	}
	// Offline, the cap bounds what the booth grants an inmate in a period
	// in total since the centre's last answer, across calls and
	// crash-restarts.
	for i, r := range records {
		if r.Kind != record.KindCall || w.centre == nil {
			continue
		}
		var c record.Call
		if err := json.Unmarshal(r.Payload, &c); err != nil {
			return err
		}
		if k := [2]string{c.Inmate, c.Period}; c.Offline && i >= w.centre.answered[k] {
			offline[k] += ms(c.ChargedMs)
		}
	}
	for k, o := range offline {
		if o > w.cfg.Rules.OfflineCap {
			return fmt.Errorf("inmate %s charged %v offline in %s, offline cap %v", k[0], o, k[1], w.cfg.Rules.OfflineCap)
		}
	}
	for k, b := range billed {
		u := w.st.UsageOf(k[0], k[1])
		if b > w.cfg.Rules.Allowance+u.Granted {
			return fmt.Errorf("inmate %s billed %v in %s, allowance %v + granted %v", k[0], b, k[1], w.cfg.Rules.Allowance, u.Granted)
		}
		if u.Used != b {
			return fmt.Errorf("inmate %s: usage %v in %s, call records say %v", k[0], u.Used, k[1], b)
		}
	}
	// Every journaled call has one record, or is still open: the engine's
	// call, a close kept in memory, or one left for recovery.
	pending := map[int64]bool{}
	for _, c := range w.e.pendingCloses {
		pending[c.CallID] = true
	}
	for _, id := range w.st.Opened() {
		isOpen := slices.Contains(open, id)
		switch {
		case seen[id] && isOpen:
			return fmt.Errorf("call %d both closed and open", id)
		case !seen[id] && !isOpen:
			return fmt.Errorf("call %d lost: neither closed nor open", id)
		case isOpen && id != st.CallID && !pending[id] && w.e.recovered:
			return fmt.Errorf("call %d open in the journal but not the engine's (%d) nor pending", id, st.CallID)
		}
	}
	// Every denial is recorded once, counted for later, or was counted in
	// memory when the engine died.
	counted := 0
	for _, ev := range w.st.Events() {
		if ev.Event == "denials_unrecorded" {
			n, _ := strconv.Atoi(ev.Detail)
			counted += n
		}
	}
	if got, want := len(w.st.Denials())+counted+w.e.unrecorded+w.lostDenials, w.denials+w.e.denials; got != want {
		return fmt.Errorf("denials: %d recorded + %d counted + %d in memory + %d lost = %d, engines denied %d", len(w.st.Denials()), counted, w.e.unrecorded, w.lostDenials, got, want)
	}
	if got, want := len(w.st.Officers()), w.officerActs+w.e.officerActs; got != want {
		return fmt.Errorf("officer records %d, engines wrote %d", got, want)
	}
	if got, want := len(calls), w.calls+w.e.calls; got != want {
		return fmt.Errorf("call records %d, engines closed %d", got, want)
	}
	return nil
}

// newDialWorld is a booth with a modem: the fixtures' registered numbers
// and a fake Dialer whose every Dial and HangUp is checked at its instant.
func newDialWorld(t tb, cfg Config, withCentre bool) *world {
	w := &world{onAt: map[int64]time.Duration{}, offAt: map[int64]time.Duration{}, answeredAt: map[int64]time.Duration{}}
	w.rig = newRig(t, func(c *Config) { *c = cfg })
	withModem(w.rig)
	w.b.OnRelay = w.relayChanged
	w.d.OnDial = w.dialled
	w.d.OnHangUp = w.hungUp
	if withCentre {
		w.centre = &centre{w: w, answered: map[[2]string]int{}}
		w.au = w.centre
	}
	w.boot()
	return w
}

// dialled checks, at the instant of Dial, that the relay is closed for
// the one journaled call and that its number is registered for its inmate,
// valid now and not blocked in the Numbers the booth holds at that moment.
func (w *world) dialled(e164 string) {
	open := w.st.Open()
	if !w.b.Relay() || len(open) != 1 {
		w.dialBad = fmt.Errorf("Dial(%s) at %v with relay %v, open calls %v", e164, w.fc.Mono(), w.b.Relay(), open)
		return
	}
	oc, _ := w.st.Journal(open[0])
	if !w.nums.Callable(oc.Call.Inmate, e164, w.fc.Now()) {
		w.dialBad = fmt.Errorf("Dial(%s) at %v: not callable for %s now", e164, w.fc.Mono(), oc.Call.Inmate)
	}
	if n, ok := numberByID(oc.Call.NumberID); !ok || n.E164 != e164 || n.Slot != oc.Call.Slot {
		w.dialBad = fmt.Errorf("Dial(%s) of call %d journaled with number %d slot %d", e164, open[0], oc.Call.NumberID, oc.Call.Slot)
	}
}

// hungUp checks that the relay is open at every HangUp.
func (w *world) hungUp() {
	if w.b.Relay() {
		w.dialBad = fmt.Errorf("HangUp at %v with the relay closed", w.fc.Mono())
	}
}

func numberByID(id int64) (record.Number, bool) {
	for _, n := range registered() {
		if n.ID == id {
			return n, true
		}
	}
	return record.Number{}, false
}

// applyDial performs one random action of a booth with a modem: the ops of
// apply, and keys, the call's progress, the modem's health and changes to
// the registered numbers.
func (w *world) applyDial(op, arg int) {
	if op < 22 {
		w.apply(op, arg)
		return
	}
	var step any
	switch op {
	case 22:
		step = Key{Digit: rune("1234790#*#"[arg%10])}
	case 23:
		step = func(r *rig) { r.play(keys(string(rune("123457"[arg%6])) + "#")) }
	case 24:
		step = CallProgress{Stage: StageAlerting}
	case 25:
		step = func(r *rig) {
			if s := r.e.Status(); (s.State == StateDialling || s.State == StateRinging) && w.answeredAt[s.CallID] == 0 {
				w.answeredAt[s.CallID] = r.fc.Mono()
			}
			r.play(CallProgress{Stage: StageActive})
		}
	case 26:
		step = CallProgress{Stage: StageEnded, Outcome: record.AllOutcomes[arg%len(record.AllOutcomes)]}
	case 27:
		step = ModemHealth{Up: arg%3 != 0, Cause: []string{"no_network", "no_sim", "not_answering"}[arg%3]}
	case 28:
		step = func(r *rig) {
			nums := registered()
			n := nums[arg%len(nums)]
			switch arg % 4 {
			case 0:
				r.nums.Remove(n.ID)
			case 1:
				r.nums.Block(n.E164, true)
			case 2:
				r.nums.Block(n.E164, false)
			case 3:
				r.nums.Set(nums...)
			}
		}
	case 29:
		step = Incoming{From: "+6287777777777"}
	case 30:
		// A whole dialled call, answered or not, so that calls follow each
		// other often enough to meet the quota and the offline cap.
		step = func(r *rig) {
			r.play(offHook, tap(inmate1), keys(string(rune("12"[arg%2]))+"#"), CallProgress{Stage: StageAlerting}, time.Duration(arg%7)*sec)
			if arg%3 != 0 {
				w.applyDial(25, arg)
			}
			r.play(time.Duration(arg)*sec, onHook, sec)
		}
	case 31:
		// A late word of another call: a call hung up while it rang,
		// the next one dialled, and then the first one's "active" or
		// "ended" arrives (or the word of a call never dialled). It
		// changes nothing.
		step = func(r *rig) {
			slot := string(rune("12"[arg%2])) + "#"
			r.play(offHook, tap(inmate1), keys(slot), alerting, time.Duration(arg%5)*sec, onHook, sec)
			first := w.d.LastCall()
			r.play(offHook, tap(inmate1), keys(slot), time.Duration(arg%3)*sec)
			w.stale(arg, first)
		}
	}
	w.log = append(w.log, fmt.Sprintf("%T%+v", step, step))
	w.play(step)
}

// stale hands the engine the progress of a call other than the one in
// progress (earlier, else one never dialled) and checks that nothing
// changed: the state, the call, the relay, the records, the journal and
// what the modem was told.
func (w *world) stale(arg int, earlier int64) {
	before := w.e.Status()
	id := earlier
	if id == 0 || id == before.CallID || arg%5 == 0 {
		id = w.d.LastCall() + 1 // never dialled
	}
	stages := []DialStage{StageDialling, StageAlerting, StageActive, StageEnded}
	p := CallProgress{Call: id, Stage: stages[arg%len(stages)], Outcome: record.AllOutcomes[arg%len(record.AllOutcomes)]}
	relay, records, open, told := w.b.Relay(), len(w.st.Records()), w.st.Open(), len(w.d.Events())
	w.e.Handle(p)
	after := w.e.Status()
	if after.State != before.State || after.CallID != before.CallID || w.b.Relay() != relay || len(w.st.Records()) != records ||
		!slices.Equal(w.st.Open(), open) || len(w.d.Events()) != told {
		w.dialBad = fmt.Errorf("stale progress %+v (current call %d, %s) changed the booth: now call %d, %s, relay %v→%v, records %d→%d",
			p, before.CallID, before.State, after.CallID, after.State, relay, w.b.Relay(), records, len(w.st.Records()))
	}
}

// propConfig draws a booth configuration: short allowances so quotas run
// out, both billing units, both officer actions, both second-tap settings.
func propConfig(draw func(n int, label string) int) Config {
	cfg := baseConfig()
	cfg.Rules.Allowance = time.Duration(1+draw(5, "allowance_min")) * time.Minute
	if draw(2, "per_minute") == 1 {
		cfg.Rules.Billing.Unit = policy.PerStartedMinute
	}
	if draw(2, "grant") == 1 {
		cfg.Rules.Officer, cfg.Rules.OfficerGrant = policy.OfficerGrant, 2*time.Minute
	}
	if draw(2, "cap_only") == 1 {
		cfg.Rules.Untrusted, cfg.Rules.PerCall = policy.UntrustedCapOnly, 2*time.Minute
	}
	cfg.Rules.MinGap = time.Duration(draw(3, "min_gap")) * 30 * time.Second
	cfg.SecondTapEnds = draw(2, "second_tap") == 1
	cfg.ClockTrustedAtStart = draw(4, "untrusted") != 0
	cfg.OfficerRateLimit = 3
	cfg.Rules.OfflineCap = time.Duration(1+draw(3, "offline_cap")) * time.Minute
	return cfg
}

// TestPropertyInvariants drives random sequences of taps, hook changes,
// tamper, faults, time advances, wall jumps, store failures and crashes, and
// checks every invariant after each step.
func TestPropertyInvariants(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cfg := propConfig(func(n int, label string) int { return rapid.IntRange(0, n-1).Draw(rt, label) })
		w := newWorld(rt, cfg, rapid.Bool().Draw(rt, "centre"))
		if w.centre != nil {
			w.centre.down = rapid.Bool().Draw(rt, "centre down")
		}
		steps := rapid.IntRange(1, 120).Draw(rt, "steps")
		for i := 0; i < steps; i++ {
			op := rapid.IntRange(0, 21).Draw(rt, "op")
			arg := rapid.IntRange(0, 255).Draw(rt, "arg")
			w.apply(op, arg)
			if err := w.check(); err != nil {
				rt.Fatalf("after step %d (%s): %v", i, w.log[len(w.log)-1], err)
			}
		}
		// In the end, with a working store and after a restart, nothing is
		// open and every call has its record.
		w.st.SetBroken(false)
		w.st.FailWith(nil)
		w.crash()
		if open := w.st.Open(); len(open) != 0 {
			rt.Fatalf("calls open after a final restart: %v", open)
		}
		if err := w.check(); err != nil {
			rt.Fatalf("after the final restart: %v", err)
		}
	})
}

// TestPropertyDialling is TestPropertyInvariants on a booth with a modem,
// with keys, the call's progress, the modem's health and the registered
// numbers changing at random, and the invariants of dial control checked
// after every step and at every Dial and HangUp: a call is placed only to
// a number registered, approved, valid and unblocked at that moment, with
// the relay closed for its journaled call; the relay is open at every
// HangUp; an unanswered call is never charged, and an answered one at most
// from its answer to the relay opening (charged = the billing rule of it).
func TestPropertyDialling(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cfg := propConfig(func(n int, label string) int { return rapid.IntRange(0, n-1).Draw(rt, label) })
		cfg.Rules.DialFullNumber = rapid.Bool().Draw(rt, "dial_full_number")
		w := newDialWorld(rt, cfg, rapid.Bool().Draw(rt, "centre"))
		if w.centre != nil {
			w.centre.down = rapid.Bool().Draw(rt, "centre down")
		}
		steps := rapid.IntRange(1, 120).Draw(rt, "steps")
		for i := 0; i < steps; i++ {
			op := rapid.IntRange(0, 31).Draw(rt, "op")
			arg := rapid.IntRange(0, 255).Draw(rt, "arg")
			w.applyDial(op, arg)
			if err := w.check(); err != nil {
				rt.Fatalf("after step %d (%s): %v", i, w.log[len(w.log)-1], err)
			}
		}
		w.st.SetBroken(false)
		w.st.FailWith(nil)
		w.crash()
		if open := w.st.Open(); len(open) != 0 {
			rt.Fatalf("calls open after a final restart: %v", open)
		}
		if err := w.check(); err != nil {
			rt.Fatalf("after the final restart: %v", err)
		}
	})
}

// FuzzEngine reads bytes as a booth configuration and a sequence of
// (action, argument) pairs, checking every invariant after each.
func FuzzEngine(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 4, 0, 9, 200, 5, 0})
	f.Add([]byte{1, 1, 1, 1, 0, 1, 0, 0, 4, 0, 12, 0, 9, 10, 14, 0, 12, 1, 9, 10})
	f.Add([]byte{2, 0, 1, 0, 1, 1, 0, 2, 0, 0, 13, 4, 4, 0, 9, 20, 5, 0, 9, 20})
	f.Fuzz(func(t *testing.T, data []byte) {
		i := 0
		next := func() int {
			if i >= len(data) {
				return 0
			}
			i++
			return int(data[i-1])
		}
		cfg := propConfig(func(n int, _ string) int { return next() % n })
		w := newWorld(t, cfg, next()%2 == 1)
		for i+1 < len(data) {
			w.apply(next(), next())
			if err := w.check(); err != nil {
				t.Fatalf("after %v: %v", w.log, err)
			}
		}
	})
}

// FuzzEngineDialling is FuzzEngine on a booth with a modem (applyDial).
func FuzzEngineDialling(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 1, 23, 0, 24, 0, 25, 0, 9, 40, 5, 0})
	f.Add([]byte{1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 30, 7, 27, 0, 14, 0, 30, 3, 28, 1, 30, 2})
	f.Add([]byte{2, 0, 1, 0, 1, 1, 0, 2, 0, 0, 4, 0, 0, 0, 22, 1, 22, 7, 9, 20, 26, 1, 30, 5})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 30, 4, 4, 0, 1, 23, 0, 24, 0, 31, 2, 31, 3, 31, 1, 9, 40})
	f.Fuzz(func(t *testing.T, data []byte) {
		i := 0
		next := func() int {
			if i >= len(data) {
				return 0
			}
			i++
			return int(data[i-1])
		}
		cfg := propConfig(func(n int, _ string) int { return next() % n })
		cfg.Rules.DialFullNumber = next()%2 == 1
		w := newDialWorld(t, cfg, next()%2 == 1)
		for i+1 < len(data) {
			w.applyDial(next()%32, next())
			if err := w.check(); err != nil {
				t.Fatalf("after %v: %v", w.log, err)
			}
		}
	})
}
