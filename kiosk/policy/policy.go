// Package policy decides whether a card may call now and for how long:
// allowance per period in the facility's time zone, per-call cap, minimum gap
// between calls, booth hours with dated exceptions, cell-block rotation,
// billing rounding and the clock-untrusted rule. It is pure: no I/O, no
// clock of its own; every function takes the instant it decides for.
package policy

import (
	"strconv"
	"time"

	"wartelsuspas/kiosk/record"
)

// The exported names below are a contract used by kiosk/session; keep the
// signatures. Additions live in the other files of this package.

// PeriodKind is the length of an allowance period.
type PeriodKind string

const (
	Day   PeriodKind = "day"
	Week  PeriodKind = "week" // ISO week, Monday 00:00 local time
	Month PeriodKind = "month"
)

// Period is one allowance period in the facility's time zone.
type Period struct {
	Key   string    // stable name: "2026-11-29", "2026-W48", "2026-11"
	Start time.Time // inclusive, in the facility's location
	End   time.Time // exclusive
}

// PeriodOf returns the period of kind k containing t in loc. A nil loc means
// UTC. An unknown kind (which Rules.Validate rejects) is treated as Day, and
// Decide refuses to decide with it.
func PeriodOf(t time.Time, k PeriodKind, loc *time.Location) Period {
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	y, m, d := lt.Date()
	switch k {
	case Week:
		// Monday is day 0 of an ISO week; time.Weekday has Sunday = 0.
		back := (int(lt.Weekday()) + 6) % 7
		start := time.Date(y, m, d-back, 0, 0, 0, 0, loc)
		// The ISO year of the week is the ISO year of any of its days,
		// which for the days around New Year differs from the calendar year.
		iy, iw := start.ISOWeek()
		var buf [len("2006-W01")]byte
		key := append(appendPadded(buf[:0], iy, 4), "-W"...)
		return Period{
			Key:   string(appendPadded(key, iw, 2)),
			Start: start,
			End:   time.Date(y, m, d-back+7, 0, 0, 0, 0, loc),
		}
	case Month:
		return Period{
			Key:   lt.Format("2006-01"),
			Start: time.Date(y, m, 1, 0, 0, 0, 0, loc),
			End:   time.Date(y, m+1, 1, 0, 0, 0, 0, loc),
		}
	default:
		return Period{
			Key:   lt.Format(time.DateOnly),
			Start: time.Date(y, m, d, 0, 0, 0, 0, loc),
			End:   time.Date(y, m, d+1, 0, 0, 0, 0, loc),
		}
	}
}

// appendPadded appends v in decimal, zero-padded to width digits; PeriodOf
// builds keys this way because it runs on every tap.
func appendPadded(b []byte, v, width int) []byte {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], int64(v), 10)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

// BillingUnit is how talk time is rounded into charged time.
type BillingUnit string

const (
	PerSecond        BillingUnit = "second"
	PerStartedMinute BillingUnit = "minute"
)

// Billing turns talked time into charged time.
type Billing struct {
	Unit    BillingUnit
	Minimum time.Duration // a call that talked at all is charged at least this
}

// Charge returns what a call that talked for talked is billed. Zero talk is
// never charged (not even the minimum). Per second truncates to whole
// seconds, so rounding never bills time that was not talked. Per started
// minute rounds up to whole minutes. Any call with talked > 0 is charged at
// least Minimum. An unknown unit (which Validate rejects) bills per second.
func (b Billing) Charge(talked time.Duration) time.Duration {
	if talked <= 0 {
		return 0
	}
	var c time.Duration
	switch b.Unit {
	case PerStartedMinute:
		c = roundUp(talked, time.Minute)
	default:
		c = talked.Truncate(time.Second)
	}
	return max(c, b.Minimum)
}

// ChargeCut returns what a call the booth itself cut short is billed: its
// talk truncated to whole seconds, whatever the unit, and no minimum. A
// relay fault, a failed checkpoint, the daemon stopping, the modem lost or
// the power cut are none of the inmate's doing: rounding such a call up to
// the started minute (or the minimum) billed time the inmate could not
// use, and a clean stop billed more than pulling the plug.
func (b Billing) ChargeCut(talked time.Duration) time.Duration {
	return max(talked, 0).Truncate(time.Second)
}

// Window is a daily time range, minutes since local midnight, [From, To).
type Window struct {
	From, To int // 0..1440, From < To
}

// Hours are the booth's opening windows per weekday with dated exceptions.
type Hours struct {
	Weekly     map[time.Weekday][]Window
	Exceptions map[string][]Window // "2026-12-25" → windows that day; empty slice = closed all day
}

// OpenAt reports whether the booth is open at t (in loc) and, if so, when
// the current window closes.
//
// Windows that touch or overlap are one opening: if the next window starts
// exactly when this one ends (also across midnight), closes is the end of
// the next one, so a call is not cut in between. A booth open around the
// clock reports closes at most maxChainDays ahead.
func (h Hours) OpenAt(t time.Time, loc *time.Location) (open bool, closes time.Time) {
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	now := minuteOfDay(lt)
	windows := h.on(lt.Date())
	end := -1
	for _, w := range windows {
		if time.Duration(w.From)*time.Minute <= now && now < time.Duration(w.To)*time.Minute {
			end = w.To
			break
		}
	}
	if end < 0 {
		return false, time.Time{}
	}
	y, m, d := lt.Date()
	day := 0
	for {
		end = extend(windows, end)
		if end < minutesPerDay || day == maxChainDays {
			break
		}
		// Open until midnight: carry on if the next day opens at 00:00.
		next := h.on(y, m, d+day+1)
		if extend(next, 0) == 0 {
			break
		}
		windows, end = next, 0
		day++
	}
	return true, time.Date(y, m, d+day, 0, end, 0, 0, loc)
}

// Rotation assigns cell blocks to windows. An empty Rotation means no
// rotation: every block may call whenever the booth is open. When it has
// entries, a block without entries may not call.
type Rotation map[string]Hours

// TurnOf reports whether block may call at t and until when its turn lasts.
// Without rotation every block may call and until is the zero time (no
// bound); otherwise until is when the block's current window closes.
func (r Rotation) TurnOf(block string, t time.Time, loc *time.Location) (ok bool, until time.Time) {
	if len(r) == 0 {
		return true, time.Time{}
	}
	h, has := r[block]
	if !has {
		return false, time.Time{}
	}
	return h.OpenAt(t, loc)
}

// UntrustedRule is what the booth does while its wall clock is not known good.
type UntrustedRule string

const (
	UntrustedRefuse UntrustedRule = "refuse"
	// UntrustedCapOnly allows calls up to the per-call cap (and the cached
	// balance); hours, rotation and the wall-clock gap cannot be judged and
	// are not applied. Without a per-call cap the call is bounded by
	// UntrustedCap; with neither, the booth refuses as under UntrustedRefuse.
	UntrustedCapOnly UntrustedRule = "cap-only"
)

// Rules is the facility's policy.
type Rules struct {
	Location  *time.Location // Asia/Jakarta, Asia/Makassar or Asia/Jayapura
	Period    PeriodKind
	Allowance time.Duration // default per inmate per period
	PerCall   time.Duration // per-call cap; 0 = none
	MinGap    time.Duration // from the end of one call to the next tap of the same inmate
	Billing   Billing
	Hours     Hours
	Rotation  Rotation
	Untrusted UntrustedRule
	// OfflineCap is the most a booth grants one inmate offline (Request.Offline)
	// in total beyond a balance the centre gave: Decide bounds a call by
	// OfflineCap minus Request.OfflineUsed, so a facility overspends an
	// inmate's balance by at most booths × OfflineCap. 0 = no cap (the
	// cached balance alone bounds).
	OfflineCap time.Duration
	// UntrustedCap bounds each call under UntrustedCapOnly when PerCall is 0;
	// with neither, an untrusted clock refuses. (firmware/config fills it
	// from offline_cap when the file does not set untrusted_cap.)
	UntrustedCap time.Duration
	// Officer is what an inmate card tapped in officer mode does: reset
	// the inmate's quota for the current period ("" means reset) or grant
	// OfficerGrant minutes.
	Officer      OfficerAction
	OfficerGrant time.Duration
	// OfficerCreditPerDay is the most one officer may credit in one local
	// day of the facility, over all inmates; InmateCreditPerPeriod the most
	// one inmate may be credited in one period, by all officers. 0 = no
	// cap. The booth refuses a credit beyond a cap; the centre flags one
	// and excludes the excess (docs/policy.md).
	OfficerCreditPerDay   time.Duration
	InmateCreditPerPeriod time.Duration
	// DialFullNumber lets an inmate at a booth with a modem choose a
	// registered number by typing it in full (it must match one of the
	// inmate's approved numbers); false: only by its slot digit.
	DialFullNumber bool
	// MaxNumbersPerInmate is the most live (pending or approved) numbers
	// the centre registers for one inmate; 0: DefaultNumbersPerInmate.
	MaxNumbersPerInmate int
}

// Bounds and default of Rules.MaxNumbersPerInmate. Nine slot digits, and
// numbers chosen by keying them in full beyond those; more than 50 is no
// list an officer could review.
const (
	DefaultNumbersPerInmate = 10
	MinNumbersPerInmate     = 1
	MaxNumbersPerInmate     = 50
)

// NumbersPerInmate is the limit on an inmate's live numbers, the default
// when the rules leave it 0.
func (r Rules) NumbersPerInmate() int {
	if r.MaxNumbersPerInmate == 0 {
		return DefaultNumbersPerInmate
	}
	return r.MaxNumbersPerInmate
}

// Validate reports the first inconsistency, naming the field, for example
// "policy: hours.weekly.monday[1]: window 13:00-12:00 ends before it starts".
func (r Rules) Validate() error { return r.validate() }

// Reason is why a tap was denied (or, in Decision.EndsBy, why a call will
// end). It is record.DenialReason, the type a denial record carries, so a
// reason goes onto the record as it is.
type Reason = record.DenialReason

const (
	ReasonNone           Reason = ""
	ReasonUnknownCard    Reason = "unknown_card"
	ReasonBlockedCard    Reason = "blocked_card"
	ReasonNoMinutes      Reason = "no_minutes"
	ReasonOutsideHours   Reason = "outside_hours"
	ReasonNotBlockTurn   Reason = "not_block_turn"
	ReasonTooSoon        Reason = "too_soon"
	ReasonOutOfService   Reason = "out_of_service"
	ReasonClockUntrusted Reason = "clock_untrusted"
	// Reasons a granted call is bounded (Decision.EndsBy).
	ReasonQuota   Reason = "quota"
	ReasonPerCall Reason = "per_call_cap"
	ReasonClosing Reason = "closing"
	ReasonTurnEnd Reason = "turn_end"
	// ReasonOfflineCap bounds a call decided offline: Max is what is left of
	// Rules.OfflineCap after Request.OfflineUsed.
	ReasonOfflineCap Reason = "offline_cap"
	// ReasonUntrustedCap bounds a call while the clock is untrusted, the
	// rule is cap-only and there is no per-call cap: Max is Rules.UntrustedCap.
	ReasonUntrustedCap Reason = "untrusted_cap"
	// ReasonOfflineCapReached denies a tap decided offline when what is
	// left of Rules.OfflineCap this period is under one billing unit.
	ReasonOfflineCapReached Reason = "offline_cap_reached"
)

// AllDenials are the reasons Decide denies a tap with, in the order it
// checks them (docs/policy.md "The order of decisions").
var AllDenials = []Reason{
	ReasonOutOfService, ReasonUnknownCard, ReasonBlockedCard, ReasonClockUntrusted, ReasonOutsideHours,
	ReasonNotBlockTurn, ReasonTooSoon, ReasonNoMinutes, ReasonOfflineCapReached,
}

// AllBounds are the reasons Decide bounds a call with (Decision.EndsBy), in
// the order a tie is reported in.
var AllBounds = []Reason{ReasonClosing, ReasonTurnEnd, ReasonQuota, ReasonPerCall, ReasonOfflineCap, ReasonUntrustedCap}

// Request is everything Decide needs about one tap.
type Request struct {
	Now          time.Time     // wall clock
	ClockTrusted bool          // wall clock known good since boot
	Known        bool          // the card is in the roster as an inmate
	Blocked      bool          // the card or inmate is blocked
	Block        string        // the inmate's cell block
	Allowance    time.Duration // the inmate's allowance this period (0 = Rules.Allowance)
	Used         time.Duration // charged this period (all booths known, plus own usage)
	Granted      time.Duration // officer grants and observed resets this period
	LastCallEnd  time.Time     // wall clock end of the inmate's last call; zero = none
	SinceLastEnd time.Duration // monotonic time since that end, when known on this boot; <0 = unknown
	OutOfService bool          // a fault, tamper, reader down or store error
	// Offline: the booth is part of a facility but decides without the
	// centre's answer; Rules.OfflineCap then bounds what it grants.
	Offline bool
	// OfflineUsed is what this booth has charged the inmate for calls it
	// authorised offline since the centre's last balance in the period (the
	// whole period without one), kept in its store so it survives a restart
	// and a power cut: it counts against Rules.OfflineCap.
	OfflineUsed time.Duration
}

// Decision is Decide's answer.
type Decision struct {
	Allow  bool
	Reason Reason        // why denied (Allow false)
	Max    time.Duration // the longest this call may talk (Allow true)
	EndsBy Reason        // which bound gives Max: one of AllBounds
	Period Period        // the period the call is billed to
	// Wall is the least of the wall-clock bounds (the time to closing and
	// to the end of the block's turn, on a trusted clock), WallBy which:
	// instants, which a call reaches from the tap however long it waits
	// for its handset or its answer, also when another bound gave Max.
	// 0 and "": none (an untrusted clock).
	Wall   time.Duration
	WallBy Reason
}

// Decide applies the rules to a tap, in a fixed order so the reason an
// inmate is given is always the same: out of service, unknown, blocked,
// clock untrusted (refuse rule), outside hours, not this block's turn, too
// soon, no minutes, offline cap reached. Remaining = allowance + granted -
// used; a call is allowed only with remaining >= one billing unit (or the
// minimum charge).
//
// Max is the least of MaxTalk(remaining), PerCall (else UntrustedCap on an
// untrusted clock under cap-only), MaxTalk(OfflineCap - OfflineUsed) when
// the request is Offline, the time to closing and the time to the end of
// the block's turn (the last two on a trusted clock only); EndsBy names
// it, a tie going to the first of AllBounds. A Max under one billing unit
// or the minimum charge is a denial: outside hours if closing gave it, not
// this block's turn if the turn end did, offline cap reached if the
// offline cap did, else no minutes.
//
// Too soon uses SinceLastEnd when it is known (monotonic, this boot), else
// Now - LastCallEnd on a trusted clock only; otherwise the gap is unknown and
// not enforced.
//
// Rules that cannot be applied (no location, unknown period kind or billing
// unit) deny every tap as out of service: the booth fails closed. See
// docs/policy.md for every rule.
func (r Rules) Decide(q Request) Decision { return r.decide(q) }
