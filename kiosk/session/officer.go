package session

import (
	"slices"
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/signal"
)

// officer is officer mode.
type officer struct {
	info  record.CardInfo
	until time.Duration // mono
}

// enterOfficerMode starts officer mode for an officer card (audited as
// enter; an entry that cannot be audited does not happen).
func (e *Engine) enterOfficerMode(card string, info record.CardInfo) {
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
}

// leaveOfficerMode: a second officer tap leaves officer mode.
func (e *Engine) leaveOfficerMode(info record.CardInfo) {
	e.officer = nil
	e.log.Info("officer mode left", "officer", info.Person)
	e.observe(Activity{Kind: ActivityOfficerLeft, Officer: info.Person})
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
		e.deny(record.Denial{At: e.clk.Now(), Card: info.Card, Reason: ReasonOfficerRate})
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
	period := e.creditPeriod(now)
	u, err := e.store.Usage(inmate.Person, period)
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
		e.deny(record.Denial{At: now, Card: o.info.Card, Inmate: inmate.Person, Reason: ReasonOfficerCap})
		return
	}
	action := record.ActionReset
	if rules.Officer == policy.OfficerGrant {
		action = record.ActionGrant
	}
	ok := e.officerRecord(record.Officer{
		Officer: o.info.Person, OfficerCard: o.info.Card, Action: action,
		Inmate: inmate.Person, Period: period,
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

// creditPeriod is the period key an officer's credit at now goes to: the
// booth's own, unless its clock is not trusted and the centre billed this
// booth's calls of that period to another (the booth's clock is off). A
// reset computed on the booth's period there found no usage and credited
// nothing, and a grant landed in a period no balance reads.
func (e *Engine) creditPeriod(now time.Time) string {
	own := policy.PeriodOf(now, e.cfg.Rules.Period, e.cfg.Rules.Location).Key
	if !e.trusted && e.billedIn[0] == own {
		return e.billedIn[1]
	}
	return own
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
