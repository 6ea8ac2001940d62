package session

import (
	"context"
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/signal"
)

// tap is a card at the reader: during a call, an officer ending it (or the
// same card's second tap); otherwise an officer's tap (clearing a fault,
// officer mode) or an inmate's, which authorise decides. ctx bounds the
// centre's answer (Run's context).
func (e *Engine) tap(ctx context.Context, card string) {
	if c := e.call; c != nil {
		e.tapDuringCall(c, card)
		return
	}
	info, known, err := e.store.Card(card)
	if err != nil {
		e.storeFailed("looking the card up in the roster", err)
		e.deny(record.Denial{Card: card, Reason: policy.ReasonOutOfService})
		return
	}
	isOfficer := known && info.Role == record.RoleOfficer && !info.Blocked
	if isOfficer && (e.oos[CauseTamper] || e.oos[CauseRelay]) {
		e.clearFault(info)
		return
	}
	if e.officer != nil {
		if isOfficer {
			e.leaveOfficerMode(info)
			return
		}
		if known && info.Role == record.RoleInmate {
			e.officerAction(info)
			return
		}
		e.officer = nil
	}
	if isOfficer && e.outOfService() {
		e.deny(record.Denial{Card: card, Reason: policy.ReasonOutOfService})
		return
	}
	if isOfficer {
		e.enterOfficerMode(card, info)
		return
	}
	e.authorise(ctx, card, info, known)
}

// authorise decides an inmate's tap and, when allowed, journals the call and
// closes the relay: the booth's own view, the centre's answer, the offline
// rule, the policy's decision, the journal, the relay, in that order.
func (e *Engine) authorise(ctx context.Context, card string, info record.CardInfo, known bool) {
	// The decision's instants (closing, a turn's end) are counted from now,
	// on the monotonic clock from decided: not from the grant, after the
	// centre's answer and the journal's fsync, which let a call run past
	// closing by the centre's latency (up to its 400 ms deadline).
	now, decided := e.clk.Now(), e.clk.Mono()
	period := policy.PeriodOf(now, e.cfg.Rules.Period, e.cfg.Rules.Location).Key
	q, u := e.request(info, known, now, period)
	var centre Remote // the lease it gives is carried by the call or denial record
	online := false
	if e.auth != nil && q.Known && !q.Blocked && !q.OutOfService {
		centre, online = e.askCentre(ctx, card, info.Person, period)
	}
	if online && centre.Busy {
		e.deny(record.Denial{At: now, Card: card, Inmate: info.Person, Reason: ReasonBusy})
		return
	}
	if online && centre.Period != "" {
		e.billedIn = [2]string{period, centre.Period}
	}
	if online && centre.Period != "" && centre.Period != period {
		// The centre bills the call to its own period (this booth's clock
		// is off): this booth's records not yet confirmed are the ones
		// under that period, where its earlier calls were billed too.
		// Read under the booth's own, they were none, and a call just
		// talked was granted again.
		billed, err := e.store.Usage(info.Person, centre.Period)
		switch {
		case err != nil:
			e.storeFailed("reading the inmate's usage in the centre's period", err)
			q.OutOfService = true // denied below, as a failed read of the booth's own period is
		case billed.Confirmed != u.Confirmed:
			// Read after the answer, its records not yet confirmed leave
			// out those an upload confirmed meanwhile, which the balance
			// may not count: the booth cannot tell what the answer
			// includes, so it decides offline, where it counts them.
			e.log.Info("an upload was confirmed while the centre answered: deciding offline", "card", e.tags.Tag(card))
			online = false
		default:
			u.Unconfirmed = billed.Unconfirmed
		}
	}
	if online {
		e.useCentreBalance(&q, info, u, centre)
		e.keepCentreBalance(info.Person, period, centre, u.Confirmed)
	} else {
		centre = Remote{}
		e.offlineRule(&q, u)
	}
	dec := e.cfg.Rules.Decide(q)
	if !dec.Allow {
		reason := dec.Reason
		if reason == policy.ReasonOutOfService {
			reason = e.outOfServiceReason()
		}
		e.deny(record.Denial{At: now, Card: card, Inmate: info.Person, Reason: reason, Lease: centre.Lease})
		return
	}
	rec := e.callRecord(card, info, now, dec, online, centre)
	if e.dialer != nil {
		// The inmate chooses whom to call first; the call is journaled
		// when it is dialled.
		e.startChoosing(rec, dec, decided)
		return
	}
	if !e.journal(&rec) {
		return
	}
	e.grant(rec, dec, decided)
}

// request is the policy request of an inmate's tap as the booth itself sees
// it: the roster, the booth's state and the inmate's usage in the period
// from the store (a store that cannot say makes the booth out of service).
func (e *Engine) request(info record.CardInfo, known bool, now time.Time, period string) (policy.Request, record.Usage) {
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
		u, err = e.store.Usage(info.Person, period)
		if err != nil {
			e.storeFailed("reading the inmate's usage", err)
			q.OutOfService = true
		}
		q.Used, q.Granted, q.LastCallEnd, q.OfflineUsed = u.Used, u.Granted, u.LastEnd, u.OfflineUsed
		if end, ok := e.lastEnd[info.Person]; ok {
			q.SinceLastEnd = e.clk.Mono() - end
		}
	}
	return q, u
}

// askCentre asks the Authoriser within Config.AuthoriseDeadline; ok is false
// when it did not answer (the booth decides offline).
func (e *Engine) askCentre(ctx context.Context, card, person, period string) (r Remote, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.AuthoriseDeadline)
	defer cancel()
	r, err := e.auth.Authorise(ctx, card, person, period)
	if err != nil {
		e.log.Info("centre did not answer in time: deciding offline", "card", e.tags.Tag(card), "err", err)
		return Remote{}, false
	}
	return r, true
}

// useCentreBalance replaces the request's local balance with the centre's.
func (e *Engine) useCentreBalance(q *policy.Request, info record.CardInfo, u record.Usage, r Remote) {
	allowance := info.Allowance
	if allowance <= 0 {
		allowance = e.cfg.Rules.Allowance
	}
	// Its balance cannot include this booth's own records that it has not
	// confirmed storing yet (a call just ended, an upload queued behind
	// others): they are taken off, so a second tap at this booth never
	// reuses minutes just talked. A record stored whose answer was lost
	// counts twice until the next upload's answer: fewer minutes, never
	// more.
	q.Allowance, q.Granted, q.Used = allowance, 0, policy.AddSat(allowance-r.Remaining, u.Unconfirmed)
}

// keepCentreBalance keeps the centre's answer for the next offline decision,
// under the period the centre counted it in; failing to keep it only leaves
// the older balance (and its offline charges) in force.
func (e *Engine) keepCentreBalance(person, period string, r Remote, counted uint64) {
	if r.Period != "" {
		period = r.Period
	}
	if err := e.store.SetCentreBalance(person, period, r.Remaining, counted); err != nil {
		e.log.Warn("keeping the centre's balance failed: offline, the booth goes by the one before", "inmate", person, "err", err)
	}
}

// offlineRule: a booth that is part of a facility but cut off from it
// decides under the offline cap, from the centre's last balance less this
// booth's usage since, when that is less than the booth's own view. A
// standalone booth (no Authoriser) has only its store to go by.
func (e *Engine) offlineRule(q *policy.Request, u record.Usage) {
	if q.Offline = e.auth != nil; q.Offline && u.Centre {
		if own := e.cfg.Rules.Remaining(*q); u.CentreRemaining < own {
			q.Used += own - u.CentreRemaining
		}
	}
}

// callRecord is the journal entry of an allowed call.
func (e *Engine) callRecord(card string, info record.CardInfo, now time.Time, dec policy.Decision, online bool, centre Remote) record.Call {
	billTo := dec.Period.Key
	if online && centre.Period != "" {
		// The centre's balance is of its period, by its clock; this
		// booth's clock may be wrong.
		billTo = centre.Period
	}
	return record.Call{
		Card:         card,
		Inmate:       info.Person,
		Block:        info.Block,
		Period:       billTo,
		AuthorisedAt: now,
		MaxMs:        dec.Max.Milliseconds(),
		EndReason:    endReason(dec.EndsBy), // replaced if the call ends before its bound
		Offline:      !online,
		ClockTrusted: e.trusted,
		Lease:        centre.Lease,
	}
}

// journal writes the call durably before anything lets it be heard, and
// sets its id; a store that refuses makes the tap a denial, out of service.
func (e *Engine) journal(rec *record.Call) bool {
	id, err := e.store.OpenCall(*rec)
	if err != nil {
		e.storeFailed("journaling the call before closing the relay", err)
		e.deny(record.Denial{At: rec.AuthorisedAt, Card: rec.Card, Inmate: rec.Inmate, Reason: policy.ReasonOutOfService, Lease: rec.Lease})
		return false
	}
	rec.CallID = id
	return true
}

// grant holds a journaled call for the handset; the relay closes when it is
// lifted (startTalking), with the talk time. decided is the monotonic
// instant of the decision dec.
func (e *Engine) grant(rec record.Call, dec policy.Decision, decided time.Duration) {
	now, maxTalk := e.clk.Mono(), dec.Max
	e.call = &call{rec: rec, max: maxTalk, authorised: decided, granted: now, wall: dec.Wall, wallBy: endReason(dec.WallBy)}
	e.log.Info("call granted", "call", rec.CallID, "card", e.tags.Tag(rec.Card), "inmate", rec.Inmate, "max", maxTalk, "ends_by", rec.EndReason, "offline", rec.Offline, "clock_trusted", e.trusted)
	e.observe(Activity{Kind: ActivityGranted, CallID: rec.CallID, Card: e.tags.Tag(rec.Card), Inmate: rec.Inmate, Max: maxTalk})
	e.show(signal.CardAccepted)
	if e.offHook {
		e.startTalking()
	}
}

// tapDuringCall: the calling card's second tap ends the call when
// Config.SecondTapEnds; an officer card ends it (end_call); any other card
// is ignored.
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
