package session

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/cardtag"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
)

// State is what the booth is doing, as Status reports it.
type State string

const (
	StateReady        State = "ready"
	StateOfficer      State = "officer"
	StateGranted      State = "granted" // journaled, waiting for the handset (the relay closes when it is lifted)
	StateTalking      State = "talking"
	StateOutOfService State = "out_of_service"
	StateTamper       State = "tamper"
	StateClosed       State = "closed" // outside the booth's hours (trusted clock only)
	// A booth with a modem (docs/session.md "Dial control").
	StateChoosing State = "choosing" // authorised, relay off: waiting for a slot digit (or number) and #
	StateDialling State = "dialling" // journaled, relay on, Dial sent
	StateRinging  State = "ringing"  // the far end rings; talk time starts at the answer
)

// Status is a snapshot of the engine for the status command and the
// simulator.
type Status struct {
	State         State
	Card          string        // calling card (granted, talking)
	Inmate        string        //
	CallID        int64         //
	Left          time.Duration // talk time left (talking), or Max (granted)
	OutOfService  []Cause       // causes, sorted
	ClockTrusted  bool          //
	OffHook       bool          // the handset is lifted, as the hook switch reads (a switch stuck down shows here)
	HookSuspect   bool          // Config.HookStillCalls calls in a row ended with the hook switch never changing
	Calls         int           // calls closed by this engine
	Denials       int           // taps denied by this engine
	OfficerActs   int           // officer records written by this engine
	PendingCloses int           // calls ended but not yet closed in the store
	Unrecorded    int           // denials the store could not write yet
}

// Engine is the booth's session state machine. Its methods Handle and Fire
// are the synchronous core: Run calls them from one goroutine, tests call
// them step by step under a fake clock. Only Status is safe to call from
// other goroutines.
type Engine struct {
	cfg      Config
	warnings []Warning // by instant: largest Before first
	clk      clock.Clock
	store    Store
	booth    Booth
	auth     Authoriser
	dialer   Dialer  // nil: a relay-only booth
	numbers  Numbers // set with dialer
	log      *slog.Logger
	tags     cardtag.Tagger // names cards in info-level logs
	observer func(Activity) // Deps.Observe; nil: none

	call      *call
	officer   *officer
	offHook   bool
	hookStill int  // calls ended in a row with the hook switch unchanged (hookWatch); suspect from Config.HookStillCalls
	panelOpen bool // the tamper switch says the panel is open now
	trusted   bool
	// billedIn is the last online answer's period pair: the booth's own
	// period key then and the centre's that the call was billed to. With
	// an untrusted clock, an officer's credit goes where the calls went.
	billedIn  [2]string
	oos       map[Cause]bool
	probeAt   time.Duration // mono; valid when oos[CauseStore]
	recovered bool          // open calls from before this start are closed
	closed    bool          // outside the booth's hours when last checked
	hoursAt   time.Duration // mono instant of the next hours check

	pendingCloses []record.Call  // ended calls the store could not close yet
	pendingEvents []record.Event // events the store could not write yet
	unrecorded    int            // denials the store could not write yet

	lastEnd     map[string]time.Duration   // inmate → mono end of last call, this boot
	officerTaps map[string][]time.Duration // officer → mono instants of recent taps

	calls, denials, officerActs int

	mu     sync.Mutex
	status Status
}

// New starts an engine: it opens the relay first, whatever else happens, then
// closes the calls a power cut left open (billed to their last checkpoint).
// A store that fails during that recovery leaves the booth out of service
// until a probe succeeds; only bad configuration is an error.
func New(cfg Config, deps Deps) (*Engine, error) {
	if deps.Booth == nil {
		return nil, errors.New("session: New needs a Booth")
	}
	// Fail closed before looking at anything else.
	relayErr := deps.Booth.SetRelay(false)
	var hangErr error
	if deps.Dialer != nil {
		// A call the modem still holds from before this start ends (the
		// relay is already open: nobody hears it).
		hangErr = deps.Dialer.HangUp()
	}
	if deps.Clock == nil || deps.Store == nil {
		return nil, errors.New("session: New needs a Clock and a Store")
	}
	if (deps.Dialer == nil) != (deps.Numbers == nil) {
		return nil, errors.New("session: New needs both a Dialer and Numbers for a booth with a modem, or neither for a relay-only booth")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		cfg:         cfg,
		warnings:    slices.Clone(cfg.Warnings),
		clk:         deps.Clock,
		store:       deps.Store,
		booth:       deps.Booth,
		auth:        deps.Authoriser,
		dialer:      deps.Dialer,
		numbers:     deps.Numbers,
		observer:    deps.Observe,
		log:         log,
		tags:        deps.CardTags,
		trusted:     cfg.ClockTrustedAtStart,
		oos:         map[Cause]bool{},
		lastEnd:     map[string]time.Duration{},
		officerTaps: map[string][]time.Duration{},
	}
	if e.tags.Zero() {
		e.tags = cardtag.Random()
	}
	slices.SortStableFunc(e.warnings, func(a, b Warning) int { return cmp.Compare(b.Before, a.Before) })
	if relayErr != nil {
		e.relayFailed(fmt.Errorf("opening the relay at start: %w", relayErr))
	}
	if hangErr != nil {
		e.log.Warn("hanging the modem up at start failed; the relay is open, so nobody hears a call it still holds", "err", hangErr)
	}
	e.recover()
	e.showIdle()
	e.publish()
	return e, nil
}

// Handle reacts to one input. A tap that asks the centre waits at most
// Config.AuthoriseDeadline.
func (e *Engine) Handle(in Input) { e.handle(context.Background(), in) }

// handle reacts to one input; ctx (Run's) ends a wait for the centre early.
func (e *Engine) handle(ctx context.Context, in Input) {
	defer e.publish()
	switch in := in.(type) {
	case Tap:
		e.tap(ctx, in.Card)
	case CardRemoved:
		// A call is not ended by removing the card: inmates put it away.
		e.log.Debug("card removed", "card", e.tags.Tag(in.Card))
	case Hook:
		e.hook(in.OffHook)
	case Tamper:
		e.tamper(in.Open)
	case RelayFault:
		e.endCall(EndFault)
		e.relayFailed(in.Err)
		e.showIdle()
	case Reader:
		e.reader(in.Up, in.Err)
	case Policy:
		e.setRules(in.Rules)
	case ClockTrust:
		if in.Trusted != e.trusted {
			e.trusted = in.Trusted
			e.log.Info("wall clock trust changed", "trusted", in.Trusted, "now", e.clk.Now())
			name := record.EventClockUntrusted
			if in.Trusted {
				name = record.EventClockTrusted
			}
			e.event(name, "")
			if e.call == nil {
				e.checkHours()
			}
		}
	case Key:
		e.key(in.Digit)
	case CallProgress:
		e.progress(in)
	case ModemHealth:
		e.modemHealth(in)
	case Incoming:
		e.log.Warn("incoming call refused: a booth never receives calls")
		e.event(record.EventIncomingRefused, in.From)
	default:
		e.log.Error("session: unknown input ignored", "input", fmt.Sprintf("%T", in))
	}
}

// setRules puts the centre's rules in place, keeping the booth's billing.
// Rules that do not validate are refused and the old ones stay.
func (e *Engine) setRules(r policy.Rules) {
	r.Billing = e.cfg.Rules.Billing
	if err := r.Validate(); err != nil {
		e.log.Error("the centre's policy is not usable: the booth keeps its rules; correct it with wartel-gateway policy set", "err", err)
		return
	}
	e.cfg.Rules = r
	e.log.Info("policy from the centre in force", "allowance", r.Allowance, "period", r.Period, "zone", r.Location, "per_call", r.PerCall)
	e.event(record.EventPolicyApplied, fmt.Sprintf("allowance %v per %s (%s), per call %v", r.Allowance, r.Period, r.Location, r.PerCall))
	if e.call == nil {
		e.checkHours()
	}
}

// NextDeadline returns the monotonic instant of the engine's next timed
// action (cut-off, warning, checkpoint, off-hook timeout, officer timeout,
// store probe), and false when nothing is due.
func (e *Engine) NextDeadline() (time.Duration, bool) {
	var next time.Duration
	ok := false
	add := func(d time.Duration) {
		if !ok || d < next {
			next, ok = d, true
		}
	}
	if c := e.call; c != nil {
		switch {
		case c.dial != nil && !c.talking:
			add(e.dialDeadline(c))
		case !c.talking:
			add(c.granted + e.cfg.OffHookTimeout)
		default:
			add(c.talkStart + c.max)
			add(c.nextCkpt)
			if c.nextWarn < len(e.warnings) {
				add(c.talkStart + c.max - e.warnings[c.nextWarn].Before)
			}
		}
	}
	if e.officer != nil {
		add(e.officer.until)
	}
	if e.oos[CauseStore] {
		add(e.probeAt)
	}
	if e.call == nil {
		add(e.hoursAt)
	}
	return next, ok
}

// Fire performs every timed action that is due on the monotonic clock, in
// order.
func (e *Engine) Fire() {
	defer e.publish()
	now := e.clk.Mono()
	if c := e.call; c != nil {
		switch {
		case c.dial != nil && !c.talking:
			if now >= e.dialDeadline(c) {
				e.dialTimeout(c)
			}
		case !c.talking && now >= c.granted+e.cfg.OffHookTimeout:
			e.log.Info("handset not lifted in time: call cancelled, not charged", "call", c.rec.CallID)
			e.endCall(EndNoOffHook)
			e.showIdle()
		case c.talking && now >= c.talkStart+c.max:
			e.endCall(c.rec.EndReason)
			e.showIdle()
		case c.talking:
			for c.nextWarn < len(e.warnings) && now >= c.talkStart+c.max-e.warnings[c.nextWarn].Before {
				e.warn(c, e.warnings[c.nextWarn].Signal)
				c.nextWarn++
			}
			if now >= c.nextCkpt {
				e.checkpoint()
			}
		}
	}
	if o := e.officer; o != nil && now >= o.until {
		e.officer = nil
		e.officerRecord(record.Officer{Officer: o.info.Person, OfficerCard: o.info.Card, Action: record.ActionTimeout})
		e.log.Info("officer mode timed out", "officer", o.info.Person)
		e.observe(Activity{Kind: ActivityOfficerLeft, Officer: o.info.Person, Action: record.ActionTimeout})
		e.showIdle()
	}
	if e.oos[CauseStore] && now >= e.probeAt {
		e.probe()
	}
	if e.call == nil && now >= e.hoursAt {
		e.checkHours()
	}
}

// Shutdown ends a call in progress as "shutdown" and opens the relay. Run
// calls it when its context ends; the daemon then exits.
func (e *Engine) Shutdown() {
	defer e.publish()
	e.endCall(EndShutdown)
	if err := e.booth.SetRelay(false); err != nil {
		e.log.Error("opening the relay at shutdown failed; the relay's pull-down must open it", "err", err)
	}
}

// Run is the engine's event loop: it handles inputs, fires deadlines on one
// timer and, when ctx ends or in is closed, shuts down and returns nil.
func (e *Engine) Run(ctx context.Context, in <-chan Input) error {
	t := e.clk.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		if dl, ok := e.NextDeadline(); ok {
			t.Reset(max(dl-e.clk.Mono(), 0))
		} else {
			t.Stop()
		}
		select {
		case <-ctx.Done():
			e.Shutdown()
			return nil
		case x, ok := <-in:
			if !ok {
				e.Shutdown()
				return nil
			}
			e.handle(ctx, x)
		case <-t.C():
			e.Fire()
		}
	}
}

// Status returns a snapshot; it is safe from any goroutine.
func (e *Engine) Status() Status {
	e.mu.Lock()
	s := e.status
	e.mu.Unlock()
	s.OutOfService = slices.Clone(s.OutOfService)
	if s.State == StateTalking {
		s.Left = max(s.Left-e.clk.Mono(), 0) // Left holds the cut-off instant
	}
	return s
}

func (e *Engine) publish() {
	s := Status{
		State:         StateReady,
		ClockTrusted:  e.trusted,
		OffHook:       e.offHook,
		HookSuspect:   e.hookSuspect(),
		Calls:         e.calls,
		Denials:       e.denials,
		OfficerActs:   e.officerActs,
		PendingCloses: len(e.pendingCloses),
		Unrecorded:    e.unrecorded,
	}
	for cause, on := range e.oos {
		if on {
			s.OutOfService = append(s.OutOfService, cause)
		}
	}
	slices.Sort(s.OutOfService)
	switch c := e.call; {
	case c != nil:
		s.State, s.Card, s.Inmate, s.CallID = StateGranted, c.rec.Card, c.rec.Inmate, c.rec.CallID
		s.Left = c.max
		switch {
		case c.talking:
			s.State, s.Left = StateTalking, c.talkStart+c.max
		case c.dial != nil:
			s.State = c.dial.state()
		}
	case e.oos[CauseTamper]:
		s.State = StateTamper
	case len(s.OutOfService) > 0:
		s.State = StateOutOfService
	case e.officer != nil:
		s.State = StateOfficer
	case e.closed:
		s.State = StateClosed
	}
	e.mu.Lock()
	e.status = s
	e.mu.Unlock()
}

// outOfService reports whether new calls are refused.
func (e *Engine) outOfService() bool {
	for _, on := range e.oos {
		if on {
			return true
		}
	}
	return false
}
