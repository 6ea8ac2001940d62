package policy

import "time"

// Remaining returns the balance of q's inmate this period: allowance (the
// inmate's own, else the rules') plus granted minus used. It may be
// negative after offline overspend.
func (r Rules) Remaining(q Request) time.Duration {
	allowance := q.Allowance
	if allowance <= 0 {
		allowance = r.Allowance
	}
	return subSat(addSat(allowance, q.Granted), q.Used)
}

// usable reports whether Decide can apply r at all.
func (r Rules) usable() bool {
	if r.Location == nil {
		return false
	}
	switch r.Period {
	case Day, Week, Month:
	default:
		return false
	}
	switch r.Billing.Unit {
	case PerSecond, PerStartedMinute:
	default:
		return false
	}
	return true
}

// bound is one limit on a call's length and the reason it gives.
type bound struct {
	d      time.Duration
	reason Reason
}

// denial is the reason a call is refused when bound b leaves less than one
// billing unit.
func (b bound) denial() Reason {
	switch b.reason {
	case ReasonClosing:
		return ReasonOutsideHours
	case ReasonTurnEnd:
		return ReasonNotBlockTurn
	case ReasonOfflineCap:
		return ReasonOfflineCapReached
	}
	return ReasonNoMinutes
}

func (r Rules) decide(q Request) Decision {
	dec := Decision{Period: PeriodOf(q.Now, r.Period, r.Location)}
	deny := func(why Reason) Decision {
		dec.Reason = why
		return dec
	}
	trusted := q.ClockTrusted
	capOnly := !trusted && r.Untrusted == UntrustedCapOnly
	switch {
	case q.OutOfService || !r.usable():
		return deny(ReasonOutOfService)
	case !q.Known:
		return deny(ReasonUnknownCard)
	case q.Blocked:
		return deny(ReasonBlockedCard)
	// Any rule but cap-only (a typo too) refuses; cap-only with no cap
	// to apply refuses as well rather than allow an unbounded call.
	case !trusted && (!capOnly || (r.PerCall <= 0 && r.UntrustedCap <= 0)):
		return deny(ReasonClockUntrusted)
	}

	// Bounds in the order a tie is reported in (AllBounds), matching the
	// order of denial reasons: closing, turn end, quota, caps.
	var bounds [6]bound
	n := 0
	if trusted {
		open, closes := r.Hours.OpenAt(q.Now, r.Location)
		if !open {
			return deny(ReasonOutsideHours)
		}
		ok, until := r.Rotation.TurnOf(q.Block, q.Now, r.Location)
		if !ok {
			return deny(ReasonNotBlockTurn)
		}
		bounds[n] = bound{closes.Sub(q.Now), ReasonClosing}
		n++
		if len(r.Rotation) > 0 {
			bounds[n] = bound{until.Sub(q.Now), ReasonTurnEnd}
			n++
		}
	}
	if r.MinGap > 0 {
		since, known := q.SinceLastEnd, q.SinceLastEnd >= 0
		if !known && trusted && !q.LastCallEnd.IsZero() {
			since, known = q.Now.Sub(q.LastCallEnd), true
			// A last end "in the future" was stamped by a booth whose
			// clock ran fast: judged by it, the inmate would be locked
			// out for the size of that error. The gap is a courtesy
			// rule, not a billing one, so an impossible gap is unknown.
			known = since >= 0
		}
		if known && since < r.MinGap {
			return deny(ReasonTooSoon)
		}
	}
	bounds[n] = bound{r.Billing.MaxTalk(r.Remaining(q)), ReasonQuota}
	n++
	if r.PerCall > 0 {
		bounds[n] = bound{r.PerCall, ReasonPerCall}
		n++
	}
	if q.Offline && r.OfflineCap > 0 {
		// The cap is per period, not per call: what this booth already
		// granted offline counts, so a facility overspends an inmate's
		// balance by at most booths × cap (docs/ledger.md).
		left := subSat(r.OfflineCap, max(q.OfflineUsed, 0))
		bounds[n] = bound{r.Billing.MaxTalk(left), ReasonOfflineCap}
		n++
	}
	if r.PerCall <= 0 && capOnly {
		bounds[n] = bound{r.UntrustedCap, ReasonUntrustedCap}
		n++
	}

	least := bounds[0]
	for _, b := range bounds[1:n] {
		if b.d < least.d {
			least = b
		}
	}
	if least.d < r.Billing.Step() || least.d < r.Billing.Minimum {
		return deny(least.denial())
	}
	dec.Allow, dec.Max, dec.EndsBy = true, least.d, least.reason
	if trusted {
		// bounds[0] is closing, bounds[1] the turn end when there is one.
		dec.Wall, dec.WallBy = bounds[0].d, bounds[0].reason
		if len(r.Rotation) > 0 && bounds[1].d < dec.Wall {
			dec.Wall, dec.WallBy = bounds[1].d, bounds[1].reason
		}
	}
	return dec
}
