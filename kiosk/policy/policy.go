// Package policy decides whether a card may call now and for how long:
// allowance per period in the facility's time zone, per-call cap, minimum gap
// between calls, booth hours with dated exceptions, cell-block rotation,
// billing rounding and the clock-untrusted rule. It is pure: no I/O, no
// clock of its own; every function takes the instant it decides for.
package policy

import "time"

// CONTRACT: the exported names below are used by kiosk/session. Bodies are
// being implemented; keep the signatures.

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

// PeriodOf returns the period of kind k containing t in loc.
func PeriodOf(t time.Time, k PeriodKind, loc *time.Location) Period { panic("unimplemented") }

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
// seconds, so rounding never bills time that was not talked.
func (b Billing) Charge(talked time.Duration) time.Duration { panic("unimplemented") }

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
func (h Hours) OpenAt(t time.Time, loc *time.Location) (open bool, closes time.Time) {
	panic("unimplemented")
}

// Rotation assigns cell blocks to windows. An empty Rotation means no
// rotation: every block may call whenever the booth is open. When it has
// entries, a block without entries may not call.
type Rotation map[string]Hours

// TurnOf reports whether block may call at t and until when its turn lasts.
func (r Rotation) TurnOf(block string, t time.Time, loc *time.Location) (ok bool, until time.Time) {
	panic("unimplemented")
}

// UntrustedRule is what the booth does while its wall clock is not known good.
type UntrustedRule string

const (
	UntrustedRefuse UntrustedRule = "refuse"
	// UntrustedCapOnly allows calls up to the per-call cap (and the cached
	// balance); hours and rotation cannot be judged and are not applied.
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
	// OfflineCap bounds what a booth may spend offline per inmate per period
	// beyond its last known balance; used by the caller, kept here with the
	// rest of the policy.
	OfflineCap time.Duration
}

// Validate reports the first inconsistency, naming the field.
func (r Rules) Validate() error { panic("unimplemented") }

// Reason is why a tap was denied (or, in Decision.EndsBy, why a call will end).
type Reason string

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
)

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
}

// Decision is Decide's answer.
type Decision struct {
	Allow  bool
	Reason Reason        // why denied (Allow false)
	Max    time.Duration // the longest this call may talk (Allow true)
	EndsBy Reason        // which bound gives Max: quota, per_call_cap, closing, turn_end
	Period Period        // the period the call is billed to
}

// Decide applies the rules to a tap, in a fixed order so the reason an
// inmate is given is always the same: out of service, unknown, blocked,
// clock untrusted (refuse rule), outside hours, not this block's turn, too
// soon, no minutes. Remaining = allowance + granted - used; a call is allowed
// only with remaining >= one billing unit (or the minimum charge).
func (r Rules) Decide(q Request) Decision { panic("unimplemented") }
