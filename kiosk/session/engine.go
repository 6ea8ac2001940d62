package session

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/cardtag"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/signal"
)

// State is what the booth is doing, as Status reports it.
type State string

const (
	StateReady        State = "ready"
	StateOfficer      State = "officer"
	StateGranted      State = "granted" // relay on, waiting for the handset
	StateTalking      State = "talking"
	StateOutOfService State = "out_of_service"
	StateTamper       State = "tamper"
	StateClosed       State = "closed" // outside the booth's hours (trusted clock only)
)

// Out-of-service causes, as Status.OutOfService lists them.
const (
	CauseStore  = "store"
	CauseReader = "reader"
	CauseRelay  = "relay"
	CauseTamper = "tamper"
)

// Status is a snapshot of the engine for the status command and the
// simulator.
type Status struct {
	State         State
	Card          string        // calling card (granted, talking)
	Inmate        string        //
	CallID        int64         //
	Left          time.Duration // talk time left (talking), or Max (granted)
	OutOfService  []string      // causes, sorted
	ClockTrusted  bool          //
	Calls         int           // calls closed by this engine
	Denials       int           // taps denied by this engine
	OfficerActs   int           // officer records written by this engine
	PendingCloses int           // calls ended but not yet closed in the store
	Unrecorded    int           // denials the store could not write yet
}

// call is the call in progress.
type call struct {
	rec       record.Call
	max       time.Duration // talk time allowed from off-hook (see startTalking)
	granted   time.Duration // mono instant the relay closed
	talking   bool
	talkStart time.Duration // mono
	nextWarn  int           // index into Engine.warnings
	nextCkpt  time.Duration // mono
}

// officer is officer mode.
type officer struct {
	info  record.CardInfo
	until time.Duration // mono
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
	log      *slog.Logger
	tags     cardtag.Tagger // names cards in info-level logs
	observer func(Activity) // Deps.Observe; nil: none
	ctx      context.Context

	call      *call
	officer   *officer
	offHook   bool
	panelOpen bool // the tamper switch says the panel is open now
	trusted   bool
	oos       map[string]bool
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
	if deps.Clock == nil || deps.Store == nil {
		return nil, errors.New("session: New needs a Clock and a Store")
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
		observer:    deps.Observe,
		log:         log,
		tags:        deps.CardTags,
		ctx:         context.Background(),
		trusted:     cfg.ClockTrustedAtStart,
		oos:         map[string]bool{},
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
	e.recover()
	e.showIdle()
	e.publish()
	return e, nil
}

// recover closes the calls left open in the journal, as ended by power loss
// and billed to their last checkpoint.
func (e *Engine) recover() {
	open, err := e.store.OpenCalls()
	if err != nil {
		e.storeFailed("listing calls left open by a power cut", err)
		return
	}
	for _, oc := range open {
		c := oc.Call
		c.CallID = oc.CallID
		c.EndReason = EndPowerLoss
		c.TalkedMs = max(c.TalkedMs, 0)
		if c.MaxMs > 0 {
			c.TalkedMs = min(c.TalkedMs, c.MaxMs) // a corrupt checkpoint never bills past Max
		}
		c.ChargedMs = e.cfg.Rules.Billing.Charge(ms(c.TalkedMs)).Milliseconds()
		if _, err := e.store.CloseCall(c); err != nil {
			e.storeFailed(fmt.Sprintf("closing call %d left open by a power cut", c.CallID), err)
			return
		}
		e.calls++
		e.log.Warn("call left open by a power cut closed", "call", c.CallID, "card", e.tags.Tag(c.Card), "talked_ms", c.TalkedMs, "charged_ms", c.ChargedMs)
	}
	e.recovered = true
	if len(open) > 0 {
		e.event(record.EventPowerLossRecovered, fmt.Sprintf("%d call(s) closed, billed to their last checkpoint", len(open)))
	}
}

// Handle reacts to one input.
func (e *Engine) Handle(in Input) {
	defer e.publish()
	switch in := in.(type) {
	case Tap:
		e.tap(in.Card)
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
		if !c.talking {
			add(c.granted + e.cfg.OffHookTimeout)
		} else {
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
		case !c.talking && now >= c.granted+e.cfg.OffHookTimeout:
			e.log.Info("handset not lifted in time: call cancelled, not charged", "call", c.rec.CallID)
			e.endCall(EndNoOffHook)
			e.showIdle()
		case c.talking && now >= c.talkStart+c.max:
			e.endCall(c.rec.EndReason)
			e.showIdle()
		case c.talking:
			for c.nextWarn < len(e.warnings) && now >= c.talkStart+c.max-e.warnings[c.nextWarn].Before {
				e.show(e.warnings[c.nextWarn].Signal)
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

// hoursCheck is how often an idle booth looks whether it opened or closed.
const hoursCheck = 30 * time.Second

// checkHours updates the closed state and its lamp. With an untrusted wall
// clock the hours cannot be judged: the booth does not show closed.
func (e *Engine) checkHours() {
	if was := e.closed; e.refreshHours() != was {
		e.showIdle()
	}
}

func (e *Engine) refreshHours() bool {
	e.hoursAt = e.clk.Mono() + hoursCheck
	e.closed = false
	if e.trusted {
		open, _ := e.cfg.Rules.Hours.OpenAt(e.clk.Now(), e.cfg.Rules.Location)
		e.closed = !open
	}
	return e.closed
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
	e.ctx = ctx
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
			e.Handle(x)
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
		if c.talking {
			s.State, s.Left = StateTalking, c.talkStart+c.max
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

// ---- taps ----

func (e *Engine) tap(card string) {
	if c := e.call; c != nil {
		e.tapDuringCall(c, card)
		return
	}
	info, known, err := e.store.Card(card)
	if err != nil {
		e.storeFailed("looking the card up in the roster", err)
		e.deny(record.Denial{Card: card, Reason: string(policy.ReasonOutOfService)})
		return
	}
	isOfficer := known && info.Role == record.RoleOfficer && !info.Blocked
	if isOfficer && (e.oos[CauseTamper] || e.oos[CauseRelay]) {
		e.clearFault(info)
		return
	}
	if e.officer != nil {
		if isOfficer {
			// A second officer tap leaves officer mode.
			e.officer = nil
			e.log.Info("officer mode left", "officer", info.Person)
			e.observe(Activity{Kind: ActivityOfficerLeft, Officer: info.Person})
			e.showIdle()
			return
		}
		if known && info.Role == record.RoleInmate {
			e.officerAction(info)
			return
		}
		e.officer = nil
	}
	if isOfficer && e.outOfService() {
		e.deny(record.Denial{Card: card, Reason: string(policy.ReasonOutOfService)})
		return
	}
	if isOfficer {
		if !e.officerAllowed(info) {
			return
		}
		e.officer = &officer{info: info, until: e.clk.Mono() + e.cfg.OfficerTimeout}
		if e.officerRecord(record.Officer{Officer: info.Person, OfficerCard: card, Action: record.ActionEnter}) {
			e.log.Info("officer mode", "officer", info.Person)
			e.observe(Activity{Kind: ActivityOfficerMode, Officer: info.Person})
			e.show(signal.OfficerMode)
		} else {
			e.officer = nil
		}
		return
	}
	e.authorise(card, info, known)
}

// authorise decides an inmate's tap and, when allowed, journals the call and
// closes the relay.
func (e *Engine) authorise(card string, info record.CardInfo, known bool) {
	now := e.clk.Now()
	rules := e.cfg.Rules
	period := policy.PeriodOf(now, rules.Period, rules.Location)
	q := policy.Request{
		Now:          now,
		ClockTrusted: e.trusted,
		Known:        known && info.Role == record.RoleInmate,
		Blocked:      info.Blocked,
		Block:        info.Block,
		Allowance:    info.Allowance,
		SinceLastEnd: -1,
		OutOfService: e.outOfService(),
	}
	if known && info.Role == record.RoleOfficer && info.Blocked {
		q.Known = true // a revoked officer card is refused as blocked
	}
	var u record.Usage
	if q.Known && !q.Blocked && !q.OutOfService {
		var err error
		u, err = e.store.Usage(info.Person, period.Key)
		if err != nil {
			e.storeFailed("reading the inmate's usage", err)
			q.OutOfService = true
		}
		q.Used, q.Granted, q.LastCallEnd, q.OfflineUsed = u.Used, u.Granted, u.LastEnd, u.OfflineUsed
		if end, ok := e.lastEnd[info.Person]; ok {
			q.SinceLastEnd = e.clk.Mono() - end
		}
	}
	offline := true
	lease := ""        // the centre's, carried by the call or denial record
	centrePeriod := "" // the centre's period key: an online call is billed to it
	if e.auth != nil && q.Known && !q.Blocked && !q.OutOfService {
		ctx, cancel := context.WithTimeout(e.ctx, e.cfg.AuthoriseDeadline)
		r, err := e.auth.Authorise(ctx, card, info.Person, period.Key)
		cancel()
		switch {
		case err != nil:
			e.log.Info("centre did not answer in time: deciding offline", "card", e.tags.Tag(card), "err", err)
		case r.Busy:
			e.deny(record.Denial{At: now, Card: card, Inmate: info.Person, Reason: string(ReasonBusy)})
			return
		default:
			// The centre's balance replaces the local one.
			allowance := info.Allowance
			if allowance <= 0 {
				allowance = rules.Allowance
			}
			// Its balance cannot include this booth's own records that
			// it has not confirmed storing yet (a call just ended, an
			// upload queued behind others): they are taken off, so a
			// second tap at this booth never reuses minutes just talked.
			// A record stored whose answer was lost counts twice until
			// the next upload's answer: fewer minutes, never more.
			q.Allowance, q.Granted, q.Used = allowance, 0, policy.AddSat(allowance-r.Remaining, u.Unconfirmed)
			offline, lease, centrePeriod = false, r.Lease, r.Period
			// Kept for the next offline decision, under the period the
			// centre counted it in; failing to keep it only leaves the
			// older balance (and its offline charges) in force.
			kept := period.Key
			if r.Period != "" {
				kept = r.Period
			}
			if err := e.store.SetCentreBalance(info.Person, kept, r.Remaining); err != nil {
				e.log.Warn("keeping the centre's balance failed: offline, the booth goes by the one before", "inmate", info.Person, "err", err)
			}
		}
	}
	// Part of a facility but cut off from it: the offline cap applies, and
	// the centre's last balance less this booth's usage since, when it is
	// less than the booth's own view. A standalone booth (no Authoriser) has
	// only its store to go by.
	if q.Offline = offline && e.auth != nil; q.Offline && u.Centre {
		if own := rules.Remaining(q); u.CentreRemaining < own {
			q.Used += own - u.CentreRemaining
		}
	}
	dec := rules.Decide(q)
	if !dec.Allow {
		e.deny(record.Denial{At: now, Card: card, Inmate: info.Person, Reason: string(dec.Reason), Lease: lease})
		return
	}
	endsBy := endReason(dec.EndsBy)
	billTo := dec.Period.Key
	if !offline && centrePeriod != "" {
		// The centre's balance is of its period, by its clock; this
		// booth's clock may be wrong.
		billTo = centrePeriod
	}
	rec := record.Call{
		Card:         card,
		Inmate:       info.Person,
		Block:        info.Block,
		Period:       billTo,
		AuthorisedAt: now,
		MaxMs:        dec.Max.Milliseconds(),
		EndReason:    endsBy, // replaced if the call ends before its bound
		Offline:      offline,
		ClockTrusted: e.trusted,
		Lease:        lease,
	}
	id, err := e.store.OpenCall(rec)
	if err != nil {
		e.storeFailed("journaling the call before closing the relay", err)
		e.deny(record.Denial{At: now, Card: card, Inmate: info.Person, Reason: string(policy.ReasonOutOfService), Lease: lease})
		return
	}
	rec.CallID = id
	e.call = &call{rec: rec, max: dec.Max, granted: e.clk.Mono()}
	if err := e.booth.SetRelay(true); err != nil {
		e.endCall(EndFault)
		e.relayFailed(fmt.Errorf("closing the relay for call %d: %w", id, err))
		e.showIdle()
		return
	}
	e.log.Info("call granted", "call", id, "card", e.tags.Tag(card), "inmate", info.Person, "max", dec.Max, "ends_by", endsBy, "offline", offline, "clock_trusted", e.trusted)
	e.observe(Activity{Kind: ActivityGranted, CallID: id, Card: e.tags.Tag(card), Inmate: info.Person, Max: dec.Max})
	e.show(signal.CardAccepted)
	if e.offHook {
		e.startTalking()
	}
}

func (e *Engine) tapDuringCall(c *call, card string) {
	if card == c.rec.Card {
		if e.cfg.SecondTapEnds {
			e.endCall(EndSecondTap)
			e.showIdle()
		}
		return
	}
	info, known, err := e.store.Card(card)
	if err != nil {
		// The call goes on; its checkpoint will notice if the store is gone.
		e.log.Error("roster lookup failed during a call; tap ignored", "card", e.tags.Tag(card), "err", err)
		return
	}
	if !known || info.Role != record.RoleOfficer || info.Blocked {
		e.log.Info("tap ignored: a call is in progress", "card", e.tags.Tag(card))
		return
	}
	if !e.officerAllowed(info) {
		return
	}
	id, inmate, period := c.rec.CallID, c.rec.Inmate, c.rec.Period
	e.endCall(EndOfficer)
	e.officerRecord(record.Officer{Officer: info.Person, OfficerCard: card, Action: record.ActionEndCall, Inmate: inmate, Period: period, CallID: id})
	e.showIdle()
}

// officerAllowed applies the officer rate limit; over it, the tap is denied
// and recorded.
func (e *Engine) officerAllowed(info record.CardInfo) bool {
	now := e.clk.Mono()
	taps := e.officerTaps[info.Person]
	taps = slices.DeleteFunc(taps, func(t time.Duration) bool { return now-t >= e.cfg.OfficerRateWindow })
	if len(taps) >= e.cfg.OfficerRateLimit {
		e.officerTaps[info.Person] = taps
		e.log.Warn("officer tap refused: too many taps", "officer", info.Person, "limit", e.cfg.OfficerRateLimit, "window", e.cfg.OfficerRateWindow)
		e.deny(record.Denial{At: e.clk.Now(), Card: info.Card, Reason: string(ReasonOfficerRate)})
		return false
	}
	e.officerTaps[info.Person] = append(taps, now)
	return true
}

// officerAction resets or grants an inmate's quota in officer mode.
func (e *Engine) officerAction(inmate record.CardInfo) {
	o := e.officer
	if !e.officerAllowed(o.info) {
		return
	}
	o.until = e.clk.Mono() + e.cfg.OfficerTimeout
	rules := e.cfg.Rules
	now := e.clk.Now()
	period := policy.PeriodOf(now, rules.Period, rules.Location)
	u, err := e.store.Usage(inmate.Person, period.Key)
	if err != nil {
		e.storeFailed("reading the inmate's usage for an officer action", err)
		e.officer = nil
		e.showIdle()
		return
	}
	q := policy.Request{Allowance: inmate.Allowance, Used: u.Used, Granted: u.Granted}
	before := rules.Remaining(q)
	// The store's Usage does not tell reset credits from grants, so a
	// reset credits what is used beyond all credits: the balance returns to
	// the allowance, never below what it was (see docs/session.md).
	credit := rules.OfficerCredit(u.Used, u.Granted)
	over, err := e.overCap(o.info.Person, credit, u.Granted, now)
	if err != nil {
		e.storeFailed("reading the officer's credits for the cap", err)
		e.officer = nil
		e.showIdle()
		return
	}
	if over != "" {
		e.log.Warn("officer credit refused: over a cap of the policy", "officer", o.info.Person, "inmate", inmate.Person, "credit", credit, "cap", over)
		e.deny(record.Denial{At: now, Card: o.info.Card, Inmate: inmate.Person, Reason: string(ReasonOfficerCap)})
		return
	}
	action := record.ActionReset
	if rules.Officer == policy.OfficerGrant {
		action = record.ActionGrant
	}
	ok := e.officerRecord(record.Officer{
		Officer: o.info.Person, OfficerCard: o.info.Card, Action: action,
		Inmate: inmate.Person, Period: period.Key,
		BeforeMs: before.Milliseconds(), AfterMs: (before + credit).Milliseconds(), CreditMs: credit.Milliseconds(),
	})
	if !ok {
		e.officer = nil
		return
	}
	e.log.Info("officer action", "officer", o.info.Person, "action", action, "inmate", inmate.Person, "before", before, "after", before+credit)
	e.observe(Activity{Kind: ActivityOfficer, Officer: o.info.Person, Action: action, Inmate: inmate.Person, Before: before, After: before + credit})
	e.show(signal.OfficerMode)
}

// overCap names the cap a credit would exceed ("" for none): the inmate's
// credits this period (inmateCredits, this booth's and what the centre
// synced) or this officer's credits today at this booth.
func (e *Engine) overCap(officer string, credit, inmateCredits time.Duration, now time.Time) (string, error) {
	rules := e.cfg.Rules
	if credit <= 0 {
		return "", nil
	}
	if c := rules.InmateCreditPerPeriod; c > 0 && policy.CapCredit(credit, inmateCredits, c) < credit {
		return "inmate_credit_per_period", nil
	}
	if c := rules.OfficerCreditPerDay; c > 0 {
		today, err := e.store.OfficerCredits(officer, policy.PeriodOf(now, policy.Day, rules.Location).Start)
		if err != nil {
			return "", err
		}
		if policy.CapCredit(credit, today, c) < credit {
			return "officer_credit_per_day", nil
		}
	}
	return "", nil
}

// clearFault lets an officer clear a tamper or relay fault.
func (e *Engine) clearFault(info record.CardInfo) {
	if !e.officerAllowed(info) {
		return
	}
	action := record.ActionClearTamper
	if !e.oos[CauseTamper] {
		action = record.ActionClearFault
	}
	if e.oos[CauseTamper] && e.panelOpen {
		// Clearing with the panel still open would hand out a booth whose
		// wiring anyone can reach: refuse, and audit the attempt.
		e.officerRecord(record.Officer{Officer: info.Person, OfficerCard: info.Card, Action: record.ActionClearRefusedPanelOpen})
		e.log.Warn("officer tried to clear the tamper state with the panel still open: close the panel first", "officer", info.Person)
		e.observe(Activity{Kind: ActivityFault, Officer: info.Person, Action: record.ActionClearRefusedPanelOpen, Detail: "the panel is still open"})
		e.showIdle()
		return
	}
	// The driver keeps latches of its own (it opened the relay itself on
	// tamper or a relay fault): they must clear too, or the next call would
	// end at once as a fault.
	if err := e.booth.ClearFaults(); err != nil {
		e.officerRecord(record.Officer{Officer: info.Person, OfficerCard: info.Card, Action: record.ActionClearRefused})
		e.log.Warn("the booth driver refused to clear its fault latch: the booth stays out of service", "officer", info.Person, "err", err)
		e.observe(Activity{Kind: ActivityFault, Officer: info.Person, Action: record.ActionClearRefused, Detail: err.Error()})
		e.showIdle()
		return
	}
	if !e.officerRecord(record.Officer{Officer: info.Person, OfficerCard: info.Card, Action: action}) {
		return
	}
	delete(e.oos, CauseTamper)
	delete(e.oos, CauseRelay)
	e.log.Info("fault cleared by an officer", "officer", info.Person, "action", action)
	e.observe(Activity{Kind: ActivityFaultCleared, Officer: info.Person, Action: action})
	e.showIdle()
}

// ---- the call ----

func (e *Engine) hook(off bool) {
	e.offHook = off
	c := e.call
	switch {
	case c == nil:
	case off && !c.talking:
		e.startTalking()
	case !off && c.talking:
		e.endCall(EndHangup)
		e.showIdle()
	}
}

func (e *Engine) startTalking() {
	c := e.call
	c.talking = true
	c.talkStart = e.clk.Mono()
	if r := c.rec.EndReason; r == record.EndClosing || r == record.EndTurnEnd {
		// A wall-clock bound is an instant, reached on the monotonic
		// clock from the tap: waiting for the handset does not extend
		// the booth's hours.
		c.max = max(c.max-(c.talkStart-c.granted), 0)
	}
	c.rec.TalkStartAt = e.clk.Now()
	c.nextCkpt = c.talkStart + e.cfg.Checkpoint
	// Skip warnings that would come at or before the start.
	for c.nextWarn < len(e.warnings) && e.warnings[c.nextWarn].Before >= c.max {
		c.nextWarn++
	}
	e.log.Info("talking", "call", c.rec.CallID, "max", c.max)
	e.observe(Activity{Kind: ActivityTalking, CallID: c.rec.CallID, Max: c.max})
	e.show(signal.Talking)
}

// talked is the call's talk time so far, never more than its Max.
func (e *Engine) talked(c *call) time.Duration {
	if !c.talking {
		return 0
	}
	return min(e.clk.Mono()-c.talkStart, c.max)
}

func (e *Engine) checkpoint() {
	c := e.call
	t := e.talked(c)
	for c.nextCkpt <= e.clk.Mono() {
		c.nextCkpt += e.cfg.Checkpoint
	}
	if err := e.store.Checkpoint(c.rec.CallID, t); err != nil {
		e.storeFailed(fmt.Sprintf("checkpointing call %d", c.rec.CallID), err)
		e.endCall(EndStoreError)
		e.showIdle()
	}
}

// endCall ends the call in progress, if any: relay off first, then the
// record. A close the store refuses is kept and retried after a probe.
func (e *Engine) endCall(reason record.EndReason) {
	c := e.call
	if c == nil {
		return
	}
	if err := e.booth.SetRelay(false); err != nil {
		e.relayFailed(fmt.Errorf("opening the relay to end call %d: %w", c.rec.CallID, err))
	}
	talked := e.talked(c)
	e.call = nil
	rec := c.rec
	rec.EndReason = reason
	rec.TalkedMs = talked.Milliseconds()
	rec.ChargedMs = e.cfg.Rules.Billing.Charge(ms(rec.TalkedMs)).Milliseconds()
	if c.talking {
		e.lastEnd[rec.Inmate] = e.clk.Mono()
	}
	e.log.Info("call ended", "call", rec.CallID, "card", e.tags.Tag(rec.Card), "reason", reason, "talked_ms", rec.TalkedMs, "charged_ms", rec.ChargedMs)
	e.observe(Activity{Kind: ActivityEnded, CallID: rec.CallID, Card: e.tags.Tag(rec.Card), Inmate: rec.Inmate, End: reason,
		Talked: ms(rec.TalkedMs), Charged: ms(rec.ChargedMs)})
	if _, err := e.store.CloseCall(rec); err != nil {
		e.pendingCloses = append(e.pendingCloses, rec)
		e.storeFailed(fmt.Sprintf("closing call %d (kept in memory, retried when the store recovers)", rec.CallID), err)
		return
	}
	e.calls++
}

// ---- faults ----

func (e *Engine) tamper(open bool) {
	e.panelOpen = open
	if !open {
		e.log.Info("panel closed; an officer card clears the tamper state")
		e.observe(Activity{Kind: ActivityPanelClosed})
		return
	}
	e.endCall(EndTamper)
	e.officer = nil
	if !e.oos[CauseTamper] {
		e.oos[CauseTamper] = true
		e.log.Warn("panel opened: booth out of service until an officer card clears it")
		e.observe(Activity{Kind: ActivityPanelOpen})
		e.event(record.EventTamper, "panel opened")
	}
	e.showIdle()
}

func (e *Engine) relayFailed(err error) {
	e.oos[CauseRelay] = true
	e.log.Error("relay fault: booth out of service until an officer card clears it; check the relay board and its wiring", "err", err)
	e.observe(Activity{Kind: ActivityFault, Detail: "relay fault: " + err.Error()})
	e.event(record.EventRelayFault, fmt.Sprint(err))
}

func (e *Engine) reader(up bool, err error) {
	if up == !e.oos[CauseReader] {
		return
	}
	if up {
		delete(e.oos, CauseReader)
		e.log.Info("card reader back")
		e.observe(Activity{Kind: ActivityReaderUp})
		e.event(record.EventReaderUp, "")
	} else {
		e.oos[CauseReader] = true
		e.log.Error("card reader down: no new calls; check the reader's cable", "err", err)
		e.observe(Activity{Kind: ActivityReaderDown, Detail: fmt.Sprint(err)})
		e.event(record.EventReaderDown, fmt.Sprint(err))
	}
	if e.call == nil {
		e.showIdle()
	}
}

// storeFailed puts the booth out of service and schedules a probe.
func (e *Engine) storeFailed(what string, err error) {
	if !e.oos[CauseStore] {
		e.log.Error("store failed: no new calls until it can write again; check free space on the SD card", "during", what, "err", err)
		e.observe(Activity{Kind: ActivityFault, Detail: "store failed " + what + ": " + err.Error()})
	} else {
		e.log.Debug("store still failing", "during", what, "err", err)
	}
	if !e.oos[CauseStore] {
		// Only the first failure schedules the probe: taps that keep
		// failing must not postpone it forever.
		e.probeAt = e.clk.Mono() + e.cfg.StoreRetry
	}
	e.oos[CauseStore] = true
	if e.call == nil {
		e.show(signal.OutOfService)
	}
}

// probe checks the store and, when it writes again, flushes what was kept in
// memory and brings the booth back.
func (e *Engine) probe() {
	e.probeAt = e.clk.Mono() + e.cfg.StoreRetry
	if err := e.store.Probe(); err != nil {
		e.log.Debug("store probe failed", "err", err)
		return
	}
	for len(e.pendingCloses) > 0 {
		rec := e.pendingCloses[0]
		if _, err := e.store.CloseCall(rec); err != nil {
			e.log.Debug("store probe passed but closing a call failed", "call", rec.CallID, "err", err)
			return
		}
		e.pendingCloses = e.pendingCloses[1:]
		e.calls++
	}
	if !e.recovered {
		delete(e.oos, CauseStore)
		e.recover()
		if !e.recovered {
			return
		}
	}
	for len(e.pendingEvents) > 0 {
		if _, err := e.store.Event(e.pendingEvents[0]); err != nil {
			return
		}
		e.pendingEvents = e.pendingEvents[1:]
	}
	if n := e.unrecorded; n > 0 {
		ev := record.Event{At: e.clk.Now(), Event: record.EventDenialsUnrecorded, Detail: strconv.Itoa(n), ClockTrusted: e.trusted}
		if _, err := e.store.Event(ev); err != nil {
			return
		}
		e.unrecorded = 0
	}
	delete(e.oos, CauseStore)
	e.log.Info("store writes again: booth back in service")
	if e.call == nil {
		e.showIdle()
	}
}

// ---- records and signals ----

func (e *Engine) deny(d record.Denial) {
	if d.At.IsZero() {
		d.At = e.clk.Now()
	}
	d.ClockTrusted = e.trusted
	e.denials++
	e.log.Info("tap denied", "card", e.tags.Tag(d.Card), "inmate", d.Inmate, "reason", d.Reason)
	e.observe(Activity{Kind: ActivityDenied, Card: e.tags.Tag(d.Card), Inmate: d.Inmate, Denial: policy.Reason(d.Reason)})
	if _, err := e.store.Deny(d); err != nil {
		e.unrecorded++
		e.storeFailed("recording a denial (counted in memory)", err)
	}
	sig, ok := denialSignal(policy.Reason(d.Reason))
	if !ok {
		// The tap is refused and recorded all the same; the lamps keep
		// what they show rather than tell the inmate a wrong reason.
		e.log.Error("session: no lamp signal for a denial reason: add it to denialSignal", "reason", d.Reason)
		return
	}
	e.show(sig)
}

// officerRecord writes an audit record and reports whether it was written;
// an action that cannot be audited does not happen.
func (e *Engine) officerRecord(o record.Officer) bool {
	o.At = e.clk.Now()
	o.ClockTrusted = e.trusted
	v, err := e.store.RosterVersion()
	if err != nil {
		e.storeFailed("reading the roster version for an officer action "+string(o.Action), err)
		return false
	}
	o.RosterVersion = v // the centre checks the officer card at this version
	if _, err := e.store.Officer(o); err != nil {
		e.storeFailed("recording an officer action "+string(o.Action), err)
		return false
	}
	e.officerActs++
	return true
}

// event writes a booth event, or keeps it for after the store recovers.
func (e *Engine) event(name record.EventName, detail string) {
	ev := record.Event{At: e.clk.Now(), Event: name, Detail: detail, ClockTrusted: e.trusted}
	if e.oos[CauseStore] {
		e.pendingEvents = append(e.pendingEvents, ev)
		return
	}
	if _, err := e.store.Event(ev); err != nil {
		e.pendingEvents = append(e.pendingEvents, ev)
		e.storeFailed("recording event "+string(name), err)
	}
}

// showIdle shows what an idle booth is: tamper, out of service, officer
// mode or ready.
func (e *Engine) showIdle() {
	if e.call != nil {
		return
	}
	e.refreshHours()
	switch {
	case e.oos[CauseTamper]:
		e.show(signal.Tamper)
	case e.outOfService():
		e.show(signal.OutOfService)
	case e.officer != nil:
		e.show(signal.OfficerMode)
	case e.closed:
		e.show(signal.Closed)
	default:
		e.show(signal.Ready)
	}
}

func (e *Engine) show(sig Signal) {
	if err := e.booth.Show(sig); err != nil {
		e.log.Error("lamp signal failed; check the lamp board", "signal", sig, "err", err)
	}
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
