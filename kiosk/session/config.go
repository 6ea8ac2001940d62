package session

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/cardtag"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/signal"
)

// Warning is a signal shown a fixed time before a call's cut-off.
type Warning struct {
	Before time.Duration // how long before the cut-off
	Signal Signal        // Booth.Show signal, e.g. signal.WarningMinute
}

// Config is the engine's configuration. Zero durations take the defaults
// named on each field.
type Config struct {
	// Rules is the facility's policy; it must pass Rules.Validate. Its
	// Officer and OfficerGrant fields say what an inmate card tapped in
	// officer mode does (observed reset, or a grant).
	Rules policy.Rules
	// OffHookTimeout is how long a granted call waits for the handset to be
	// lifted before it is cancelled with no charge. Default 20 s.
	OffHookTimeout time.Duration
	// Warnings are shown before the cut-off. Nil means the default: 60 s
	// ("warning_minute") and 10 s ("final_seconds"). A warning whose
	// Before is not less than the call's Max is skipped.
	Warnings []Warning
	// Checkpoint is how often a talking call's talk time is journaled.
	// Default 5 s: after a power cut a call is billed at most this much less
	// than was talked.
	Checkpoint time.Duration
	// SecondTapEnds makes a second tap of the calling card end the call.
	SecondTapEnds bool
	// OfficerTimeout is how long officer mode lasts without a tap. Default 30 s.
	OfficerTimeout time.Duration
	// OfficerRateLimit is the most officer taps one officer may make in
	// OfficerRateWindow; more are denied and recorded. Defaults 6 per minute.
	OfficerRateLimit  int
	OfficerRateWindow time.Duration
	// StoreRetry is how often a booth out of service for a store error
	// probes the store to come back by itself. Default 10 s.
	StoreRetry time.Duration
	// AuthoriseDeadline bounds the wait for the centre's answer at a tap;
	// past it the booth decides offline. Default 400 ms.
	AuthoriseDeadline time.Duration
	// ChooseTimeout is how long an authorised tap on a booth with a modem
	// waits for the inmate to choose a number (and lift the handset) before
	// it ends with nothing charged (not_dialled); each key starts it
	// again. Default 30 s.
	ChooseTimeout time.Duration
	// ChooseWithin bounds the whole choice, from the tap, however many
	// keys restart ChooseTimeout: an authorisation is the decision of its
	// instant (the balance, the roster, the centre's lease), and keys
	// pressed every few seconds must not hold it open while the lease
	// lapses and the inmate's minutes are granted again at another booth.
	// The centre's lease lasts the call's minutes plus its TTL (2 min by
	// default), so a choice within 60 s and a ring within RingTimeout's
	// default 60 s end within it. Default 60 s.
	ChooseWithin time.Duration
	// RingTimeout is how long a dialled call may go unanswered before the
	// booth hangs up (not_answered, outcome no_answer). Default 60 s.
	RingTimeout time.Duration
	// HookStillCalls is how many calls in a row may end with the hook
	// switch never changing, from before the first of them to the end of
	// the last (never lifted, or never put down), before the booth
	// reports the switch as suspect: event hook_suspect, the status and
	// the heartbeat's fault, the centre's alert. A switch stuck on-hook
	// (held down, its wire cut) lets no call talk; one stuck off-hook
	// bills every call to its limit after the handset is put down. A
	// call ended by the booth's own fault (tamper, relay, store, power,
	// modem, shutdown) is not counted. Default 3.
	HookStillCalls int
	// ClockTrustedAtStart is true on a booth with a battery-backed
	// real-time clock; otherwise the wall clock is untrusted until a
	// ClockTrust{true} input.
	ClockTrustedAtStart bool
}

// Deps are the engine's collaborators.
type Deps struct {
	Clock      clock.Clock
	Store      Store
	Booth      Booth
	Authoriser Authoriser // nil: the booth always decides from its own store
	// Dialer and Numbers make a booth with a modem (docs/session.md "Dial
	// control"); both nil: a relay-only booth. New refuses one without the
	// other. A Dialer that is also a Toner plays the cut-off warnings in
	// the earpiece.
	Dialer  Dialer
	Numbers Numbers
	Log     *slog.Logger
	// CardTags names cards in info-level logs: the booth's keyed tagger
	// (kiosk/store CardTags). Zero: a random key of this engine's own.
	CardTags cardtag.Tagger
	// Observe, when set, is called on the engine's goroutine with each
	// Activity: it must not block (the daemon appends to a ring).
	Observe func(Activity)
}

// DefaultWarnings are the warnings used when Config.Warnings is nil.
var DefaultWarnings = []Warning{
	{Before: 60 * time.Second, Signal: signal.WarningMinute},
	{Before: 10 * time.Second, Signal: signal.FinalSeconds},
}

// withDefaults returns c with the zero fields set to their defaults, or the
// first invalid setting.
func (c Config) withDefaults() (Config, error) {
	if err := c.Rules.Validate(); err != nil {
		return c, fmt.Errorf("session: %w", err)
	}
	def := func(d *time.Duration, v time.Duration, name string) error {
		switch {
		case *d < 0:
			return fmt.Errorf("session: %s is %v; it must not be negative (0 takes the default %v)", name, *d, v)
		case *d == 0:
			*d = v
		}
		return nil
	}
	errs := []error{
		def(&c.OffHookTimeout, 20*time.Second, "offhook_timeout"),
		def(&c.Checkpoint, 5*time.Second, "checkpoint"),
		def(&c.OfficerTimeout, 30*time.Second, "officer_timeout"),
		def(&c.OfficerRateWindow, time.Minute, "officer_rate_window"),
		def(&c.StoreRetry, 10*time.Second, "store_retry"),
		def(&c.AuthoriseDeadline, 400*time.Millisecond, "authorise_deadline"),
		def(&c.ChooseTimeout, 30*time.Second, "choose_timeout"),
		def(&c.ChooseWithin, 60*time.Second, "choose_within"),
		def(&c.RingTimeout, 60*time.Second, "ring_timeout"),
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	if c.OfficerRateLimit < 0 {
		return c, fmt.Errorf("session: officer_rate_limit is %d; it must not be negative (0 takes the default 6)", c.OfficerRateLimit)
	}
	if c.OfficerRateLimit == 0 {
		c.OfficerRateLimit = 6
	}
	if c.HookStillCalls < 0 {
		return c, fmt.Errorf("session: hook_still_calls is %d; it must not be negative (0 takes the default 3)", c.HookStillCalls)
	}
	if c.HookStillCalls == 0 {
		c.HookStillCalls = 3
	}
	if c.Warnings == nil {
		c.Warnings = DefaultWarnings
	}
	for i, w := range c.Warnings {
		if w.Before <= 0 || !slices.Contains(signal.All, w.Signal) {
			return c, fmt.Errorf("session: warnings[%d]: before %v, signal %q: a warning needs a positive time before the cut-off and a signal of signal.All", i, w.Before, w.Signal)
		}
	}
	return c, nil
}
