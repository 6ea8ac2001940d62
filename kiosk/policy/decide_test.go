package policy

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestDecide(t *testing.T) {
	base := validRules(t)
	loc := base.Location
	// Monday 30 November 2026, WIB.
	mon := func(hh, mm, ss int) time.Time { return time.Date(2026, 11, 30, hh, mm, ss, 0, loc) }
	nine := mon(9, 0, 0)
	rotA := func(r *Rules) {
		r.Rotation = Rotation{"A": {Weekly: map[time.Weekday][]Window{time.Monday: ws(t, "08:00-09:10")}}}
	}
	capOnly := func(r *Rules) { r.Untrusted = UntrustedCapOnly }
	offCap := func(r *Rules) { r.PerCall, r.MinGap, r.OfflineCap = 0, 0, 10*minute }
	offline := func(used time.Duration) func(*Request) {
		return func(q *Request) { q.Offline, q.OfflineUsed = true, used }
	}
	for _, tc := range []struct {
		name   string
		rules  func(*Rules)
		req    func(*Request)
		allow  bool
		reason Reason
		max    time.Duration
		endsBy Reason
	}{
		// Bounds of a granted call.
		{"per-call cap bounds a full balance", nil, nil, true, "", 15 * minute, ReasonPerCall},
		{"quota bounds when less remains than the cap", nil, func(q *Request) { q.Used = 20 * minute }, true, "", 10 * minute, ReasonQuota},
		{"quota floors to whole minutes per minute", nil, func(q *Request) { q.Used = 20*minute + 30*sec }, true, "", 9 * minute, ReasonQuota},
		{"quota floors to whole seconds per second", func(r *Rules) { r.Billing = Billing{Unit: PerSecond} },
			func(q *Request) { q.Used = 20*minute + 30*sec + 500*ms }, true, "", 9*minute + 29*sec, ReasonQuota},
		{"officer grant adds minutes", nil, func(q *Request) { q.Used, q.Granted = 30*minute, 5*minute }, true, "", 5 * minute, ReasonQuota},
		{"inmate allowance overrides the default", nil, func(q *Request) { q.Allowance = 7 * minute }, true, "", 7 * minute, ReasonQuota},
		{"no per-call cap leaves the quota", func(r *Rules) { r.PerCall = 0 }, nil, true, "", 30 * minute, ReasonQuota},
		{"closing bounds the call", nil, func(q *Request) { q.Now = mon(11, 20, 0) }, true, "", 10 * minute, ReasonClosing},
		{"closing cuts mid-minute exactly", nil, func(q *Request) { q.Now = mon(11, 20, 30) }, true, "", 9*minute + 30*sec, ReasonClosing},
		{"tie of closing and quota reports closing", nil, func(q *Request) { q.Now, q.Used = mon(11, 20, 0), 20*minute }, true, "", 10 * minute, ReasonClosing},
		{"touching windows do not cut", func(r *Rules) {
			r.PerCall = 0
			r.Hours.Weekly[time.Monday] = ws(t, "08:00-09:05", "09:05-12:00")
		}, nil, true, "", 30 * minute, ReasonQuota},
		{"turn end bounds the call", rotA, nil, true, "", 10 * minute, ReasonTurnEnd},
		{"week period decides like a day", func(r *Rules) { r.Period = Week }, nil, true, "", 15 * minute, ReasonPerCall},

		// Each denial reason.
		{"out of service", nil, func(q *Request) { q.OutOfService = true }, false, ReasonOutOfService, 0, ""},
		{"unknown card", nil, func(q *Request) { q.Known = false }, false, ReasonUnknownCard, 0, ""},
		{"blocked card", nil, func(q *Request) { q.Blocked = true }, false, ReasonBlockedCard, 0, ""},
		{"clock untrusted refuses", nil, func(q *Request) { q.ClockTrusted = false }, false, ReasonClockUntrusted, 0, ""},
		{"unknown untrusted rule refuses", func(r *Rules) { r.Untrusted = "" }, func(q *Request) { q.ClockTrusted = false }, false, ReasonClockUntrusted, 0, ""},
		{"outside hours in the lunch gap", nil, func(q *Request) { q.Now = mon(12, 0, 0) }, false, ReasonOutsideHours, 0, ""},
		{"outside hours at closing instant", nil, func(q *Request) { q.Now = mon(11, 30, 0) }, false, ReasonOutsideHours, 0, ""},
		{"outside hours less than a unit before closing", nil, func(q *Request) { q.Now = mon(11, 29, 30) }, false, ReasonOutsideHours, 0, ""},
		{"outside hours on a holiday", nil, func(q *Request) { q.Now = time.Date(2026, 12, 25, 9, 0, 0, 0, loc) }, false, ReasonOutsideHours, 0, ""},
		{"outside hours before the minimum charge fits", func(r *Rules) { r.Billing.Minimum = 3 * minute },
			func(q *Request) { q.Now = mon(11, 28, 0) }, false, ReasonOutsideHours, 0, ""},
		{"not this block's turn", rotA, func(q *Request) { q.Block = "B" }, false, ReasonNotBlockTurn, 0, ""},
		{"not this block's turn after it ended", rotA, func(q *Request) { q.Now = mon(9, 10, 0) }, false, ReasonNotBlockTurn, 0, ""},
		{"not this block's turn less than a unit before its end", rotA, func(q *Request) { q.Now = mon(9, 9, 1) }, false, ReasonNotBlockTurn, 0, ""},
		{"too soon by monotonic time", nil, func(q *Request) { q.SinceLastEnd = 5 * minute }, false, ReasonTooSoon, 0, ""},
		{"too soon a nanosecond before the gap", nil, func(q *Request) { q.SinceLastEnd = 10*minute - 1 }, false, ReasonTooSoon, 0, ""},
		{"gap reached exactly", nil, func(q *Request) { q.SinceLastEnd = 10 * minute }, true, "", 15 * minute, ReasonPerCall},
		{"too soon by wall clock when trusted", nil, func(q *Request) { q.LastCallEnd = nine.Add(-5 * minute) }, false, ReasonTooSoon, 0, ""},
		{"monotonic wins over a jumped wall clock", nil, func(q *Request) {
			q.LastCallEnd, q.SinceLastEnd = nine.Add(-time.Minute), 20*minute
		}, true, "", 15 * minute, ReasonPerCall},
		{"wall clock long enough ago", nil, func(q *Request) { q.LastCallEnd = nine.Add(-time.Hour) }, true, "", 15 * minute, ReasonPerCall},
		{"last end in the future (a fast clock elsewhere) is no gap known", nil, func(q *Request) { q.LastCallEnd = nine.Add(time.Hour) }, true, "", 15 * minute, ReasonPerCall},
		{"no gap rule", func(r *Rules) { r.MinGap = 0 }, func(q *Request) { q.SinceLastEnd = 0 }, true, "", 15 * minute, ReasonPerCall},
		{"no minutes when used up", nil, func(q *Request) { q.Used = 30 * minute }, false, ReasonNoMinutes, 0, ""},
		{"no minutes when overspent offline", nil, func(q *Request) { q.Used = 45 * minute }, false, ReasonNoMinutes, 0, ""},
		{"no minutes under one unit", nil, func(q *Request) { q.Used = 29*minute + 30*sec }, false, ReasonNoMinutes, 0, ""},
		{"no minutes under the minimum charge", func(r *Rules) { r.Billing.Minimum = 3 * minute }, func(q *Request) { q.Used = 28 * minute }, false, ReasonNoMinutes, 0, ""},
		{"per-call cap under one unit", func(r *Rules) { r.PerCall = 30 * sec }, nil, false, ReasonNoMinutes, 0, ""},
		{"rules without location fail closed", func(r *Rules) { r.Location = nil }, nil, false, ReasonOutOfService, 0, ""},
		{"rules without billing unit fail closed", func(r *Rules) { r.Billing.Unit = "" }, nil, false, ReasonOutOfService, 0, ""},
		{"rules without period fail closed", func(r *Rules) { r.Period = "" }, nil, false, ReasonOutOfService, 0, ""},

		// The order of reasons: each pair shows the earlier one wins.
		{"order: out of service before unknown", nil, func(q *Request) { q.OutOfService, q.Known = true, false }, false, ReasonOutOfService, 0, ""},
		{"order: unknown before blocked", nil, func(q *Request) { q.Known, q.Blocked = false, true }, false, ReasonUnknownCard, 0, ""},
		{"order: blocked before clock untrusted", nil, func(q *Request) { q.Blocked, q.ClockTrusted = true, false }, false, ReasonBlockedCard, 0, ""},
		{"order: clock untrusted before outside hours", nil, func(q *Request) { q.ClockTrusted, q.Now = false, mon(12, 0, 0) }, false, ReasonClockUntrusted, 0, ""},
		{"order: outside hours before not this block's turn", rotA, func(q *Request) { q.Now, q.Block = mon(12, 0, 0), "B" }, false, ReasonOutsideHours, 0, ""},
		{"order: not this block's turn before too soon", rotA, func(q *Request) { q.Block, q.SinceLastEnd = "B", 0 }, false, ReasonNotBlockTurn, 0, ""},
		{"order: too soon before no minutes", nil, func(q *Request) { q.SinceLastEnd, q.Used = 0, time.Hour }, false, ReasonTooSoon, 0, ""},

		// Clock untrusted, cap-only rule.
		{"cap-only ignores hours, rotation and wall-clock gap", func(r *Rules) { capOnly(r); rotA(r) }, func(q *Request) {
			q.ClockTrusted, q.Now, q.Block, q.LastCallEnd = false, mon(12, 0, 0), "B", mon(11, 59, 0)
		}, true, "", 15 * minute, ReasonPerCall},
		{"cap-only still applies the monotonic gap", capOnly, func(q *Request) { q.ClockTrusted, q.SinceLastEnd = false, time.Minute }, false, ReasonTooSoon, 0, ""},
		{"cap-only still applies the quota", capOnly, func(q *Request) { q.ClockTrusted, q.Used = false, 25*minute }, true, "", 5 * minute, ReasonQuota},
		{"cap-only without per-call cap uses the untrusted cap", func(r *Rules) { capOnly(r); r.PerCall, r.UntrustedCap = 0, 8*minute },
			func(q *Request) { q.ClockTrusted = false }, true, "", 8 * minute, ReasonUntrustedCap},
		{"cap-only without any cap refuses", func(r *Rules) { capOnly(r); r.PerCall = 0 },
			func(q *Request) { q.ClockTrusted = false }, false, ReasonClockUntrusted, 0, ""},
		{"cap-only does not fall back on the offline cap", func(r *Rules) { capOnly(r); r.PerCall, r.OfflineCap = 0, 8*minute },
			func(q *Request) { q.ClockTrusted = false }, false, ReasonClockUntrusted, 0, ""},

		// Offline: the offline cap is per period, what was granted offline counts.
		{"offline: the cap bounds the first call", offCap, offline(0), true, "", 10 * minute, ReasonOfflineCap},
		{"offline: what is left of the cap bounds the next", offCap, offline(7 * minute), true, "", 3 * minute, ReasonOfflineCap},
		{"offline: left of the cap floors to whole units", offCap, offline(7*minute + 30*sec), true, "", 2 * minute, ReasonOfflineCap},
		{"offline: cap spent is a denial", offCap, offline(10 * minute), false, ReasonOfflineCapReached, 0, ""},
		{"offline: cap overspent (charged per minute) is a denial", offCap, offline(11 * minute), false, ReasonOfflineCapReached, 0, ""},
		{"offline: under one unit of the cap left is a denial", offCap, offline(9*minute + 30*sec), false, ReasonOfflineCapReached, 0, ""},
		{"offline: the minimum charge must fit in what is left", func(r *Rules) { offCap(r); r.Billing.Minimum = 3 * minute },
			offline(8 * minute), false, ReasonOfflineCapReached, 0, ""},
		{"offline: the quota still bounds", offCap, func(q *Request) { offline(0)(q); q.Used = 25 * minute }, true, "", 5 * minute, ReasonQuota},
		{"offline: tie of quota and cap reports quota", offCap, func(q *Request) { offline(5 * minute)(q); q.Used = 25 * minute }, true, "", 5 * minute, ReasonQuota},
		{"offline: the per-call cap still bounds", func(r *Rules) { offCap(r); r.PerCall = 4 * minute }, offline(0), true, "", 4 * minute, ReasonPerCall},
		{"offline: no minutes before the cap reached", offCap, func(q *Request) { offline(10 * minute)(q); q.Used = 30 * minute }, false, ReasonNoMinutes, 0, ""},
		{"offline: no offline cap leaves the quota", func(r *Rules) { offCap(r); r.OfflineCap = 0 }, offline(time.Hour), true, "", 30 * minute, ReasonQuota},
		{"online: offline use does not count", offCap, func(q *Request) { q.OfflineUsed = 10 * minute }, true, "", 30 * minute, ReasonQuota},
		{"offline, clock untrusted, cap-only: both caps apply", func(r *Rules) { offCap(r); capOnly(r); r.UntrustedCap = 4 * minute },
			func(q *Request) { offline(0)(q); q.ClockTrusted = false }, true, "", 4 * minute, ReasonUntrustedCap},
		{"offline, clock untrusted, cap-only: the offline cap left is less", func(r *Rules) { offCap(r); capOnly(r); r.UntrustedCap = 4 * minute },
			func(q *Request) { offline(8 * minute)(q); q.ClockTrusted = false }, true, "", 2 * minute, ReasonOfflineCap},
		{"cap-only is not applied to a trusted clock", capOnly, func(q *Request) { q.Now = mon(12, 0, 0) }, false, ReasonOutsideHours, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := validRules(t)
			if tc.rules != nil {
				tc.rules(&r)
			}
			q := Request{Now: nine, ClockTrusted: true, Known: true, Block: "A", SinceLastEnd: -1}
			if tc.req != nil {
				tc.req(&q)
			}
			got := r.Decide(q)
			// The wall-clock bound: on a trusted clock, the least of closing
			// and the turn's end, never less than Max (Max is the least of
			// all); the one that gave Max when one did.
			switch wall := got.Wall; {
			case !got.Allow || !q.ClockTrusted:
				if wall != 0 || got.WallBy != "" {
					t.Errorf("Wall %v by %q, want none (denied, or the clock untrusted)", wall, got.WallBy)
				}
			case wall < got.Max || (got.WallBy != ReasonClosing && got.WallBy != ReasonTurnEnd):
				t.Errorf("Wall %v by %q with Max %v, want at least Max, by closing or turn_end", wall, got.WallBy, got.Max)
			case (got.EndsBy == ReasonClosing || got.EndsBy == ReasonTurnEnd) && (wall != got.Max || got.WallBy != got.EndsBy):
				t.Errorf("Wall %v by %q, want Max %v by %q", wall, got.WallBy, got.Max, got.EndsBy)
			}
			got.Wall, got.WallBy = 0, ""
			want := Decision{Allow: tc.allow, Reason: tc.reason, Max: tc.max, EndsBy: tc.endsBy,
				Period: PeriodOf(q.Now, r.Period, r.Location)}
			if got != want {
				t.Errorf("Decide() =\n %+v, want\n %+v", got, want)
			}
		})
	}
}

func TestDecidePeriodKey(t *testing.T) {
	r := validRules(t)
	r.Location = mustZone(t, "Asia/Jayapura")
	r.Period = Week
	// Sunday 3 January 2027, 09:00 WIT: ISO week 53 of 2026.
	d := r.Decide(Request{Now: time.Date(2027, 1, 3, 9, 0, 0, 0, r.Location), ClockTrusted: true, Known: true, SinceLastEnd: -1})
	if !d.Allow || d.Period.Key != "2026-W53" {
		t.Fatalf("Decide = %+v, want allowed in 2026-W53", d)
	}
}

// drawHours draws a valid timetable. A busy one has a long window a day,
// sometimes split in two touching windows, and so runs past midnight when
// the next day opens at 00:00; a sparse one has up to three random windows
// a day (rapid draws small numbers more often, so these cluster early).
func drawHours(t *rapid.T, label string) Hours {
	h := Hours{Weekly: map[time.Weekday][]Window{}}
	busy := rapid.IntRange(0, 3).Draw(t, label+" sparse") != 3
	for d := time.Sunday; d <= time.Saturday; d++ {
		if busy {
			from := rapid.IntRange(0, 700).Draw(t, label+" from")
			to := minutesPerDay - rapid.IntRange(0, 700).Draw(t, label+" to")
			split := rapid.IntRange(from, to).Draw(t, label+" split")
			if split == from || split == to {
				h.Weekly[d] = []Window{{from, to}}
			} else {
				h.Weekly[d] = []Window{{from, split}, {split, to}}
			}
			continue
		}
		pts := rapid.SliceOfNDistinct(rapid.IntRange(0, minutesPerDay), 0, 6, rapid.ID[int]).Draw(t, label+d.String())
		slices.Sort(pts)
		for i := 0; i+1 < len(pts); i += 2 {
			h.Weekly[d] = append(h.Weekly[d], Window{pts[i], pts[i+1]})
		}
	}
	return h
}

// drawCase draws rules and a tap. Half the taps are by an eligible inmate
// (so that the bounds of allowed calls get exercised) and half the taps at
// an open booth are moved to shortly before closing, where closing bounds.
func drawCase(t *rapid.T) (Rules, Request) {
	r, q := drawRules(t), drawRequest(t)
	if rapid.Bool().Draw(t, "eligible") {
		q.Known, q.Blocked, q.OutOfService, q.LastCallEnd, q.SinceLastEnd = true, false, false, time.Time{}, -1
		q.ClockTrusted = rapid.IntRange(0, 3).Draw(t, "untrusted") != 3
	}
	if open, closes := r.Hours.OpenAt(q.Now, r.Location); open && rapid.Bool().Draw(t, "near closing") {
		before := spread(t, "before closing", 10*minute, 0, 2*minute, time.Hour)
		q.Now = closes.Add(-min(before, closes.Sub(q.Now)))
	}
	return r, q
}

// spread draws one of values plus up to a minute, so that draws spread
// over the range that matters instead of clustering at small numbers.
func spread(t *rapid.T, label string, values ...time.Duration) time.Duration {
	v := rapid.SampledFrom(values).Draw(t, label)
	if v < 0 {
		return v
	}
	return v + time.Duration(rapid.Int64Range(0, int64(minute)).Draw(t, label+" jitter"))
}

func drawRules(t *rapid.T) Rules {
	r := Rules{
		Location:     mustZone(t, rapid.SampledFrom(Zones).Draw(t, "zone")),
		Period:       rapid.SampledFrom([]PeriodKind{Day, Week, Month}).Draw(t, "period"),
		Allowance:    spread(t, "allowance", 30*minute, minute, 10*minute, time.Hour, 3*time.Hour),
		MinGap:       spread(t, "gap", 0, 0, 5*minute, 30*minute),
		Billing:      drawBilling(t),
		Hours:        drawHours(t, "hours"),
		Untrusted:    rapid.SampledFrom([]UntrustedRule{UntrustedRefuse, UntrustedCapOnly}).Draw(t, "untrusted"),
		OfflineCap:   spread(t, "offline cap", 0, 0, 5*minute, 30*minute),
		UntrustedCap: spread(t, "untrusted cap", 0, 0, 5*minute, 30*minute),
	}
	if rapid.Bool().Draw(t, "per call") {
		r.PerCall = spread(t, "per call cap", 15*minute, sec, minute, 5*minute, time.Hour)
	}
	if rapid.Bool().Draw(t, "rotation") {
		r.Rotation = Rotation{"A": drawHours(t, "rotA"), "B": drawHours(t, "rotB")}
	}
	if err := r.Validate(); err != nil {
		t.Fatalf("generated invalid rules: %v", err)
	}
	return r
}

func drawRequest(t *rapid.T) Request {
	now := time.Unix(0, rapid.Int64Range(1767225600e9, 1830297600e9).Draw(t, "now")) // 2026..2027
	q := Request{
		Now: now,
		// rapid favours small numbers: the rare outcome is the top one.
		Known:        rapid.IntRange(1, 10).Draw(t, "known") < 10,
		ClockTrusted: rapid.IntRange(1, 4).Draw(t, "trusted") < 4,
		Blocked:      rapid.IntRange(1, 10).Draw(t, "blocked") == 10,
		Block:        rapid.SampledFrom([]string{"A", "B", "C"}).Draw(t, "block"),
		// Mostly within a default allowance, so that many taps are allowed.
		Used:         spread(t, "used", 0, 0, 5*minute, 20*minute, 4*time.Hour),
		Granted:      time.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(t, "granted")),
		SinceLastEnd: spread(t, "since", -1, 0, 5*minute, 3*time.Hour),
		OutOfService: rapid.IntRange(1, 20).Draw(t, "oos") == 20,
		Offline:      rapid.Bool().Draw(t, "offline"),
		OfflineUsed:  spread(t, "offline used", 0, 0, 2*minute, 8*minute, time.Hour),
	}
	if rapid.Bool().Draw(t, "own allowance") {
		q.Allowance = time.Duration(rapid.Int64Range(0, int64(2*time.Hour)).Draw(t, "allowance"))
	}
	if rapid.Bool().Draw(t, "last end") {
		q.LastCallEnd = now.Add(time.Duration(rapid.Int64Range(-int64(time.Hour), int64(10*minute)).Draw(t, "last end ago")))
	}
	return q
}

func TestDecideProperties(t *testing.T) {
	var allowed, byClosing, byTurn int
	defer func() {
		t.Logf("allowed %d, ending at closing %d, at turn end %d", allowed, byClosing, byTurn)
	}()
	rapid.Check(t, func(t *rapid.T) {
		r, q := drawCase(t)
		d := r.Decide(q)
		if d.Allow {
			allowed++
		}
		switch d.EndsBy {
		case ReasonClosing:
			byClosing++
		case ReasonTurnEnd:
			byTurn++
		}
		if again := r.Decide(q); again != d {
			t.Fatalf("not deterministic: %+v then %+v", d, again)
		}
		if want := PeriodOf(q.Now, r.Period, r.Location); d.Period != want {
			t.Fatalf("Period = %+v, want %+v", d.Period, want)
		}
		if !d.Allow {
			if !slices.Contains(AllDenials, d.Reason) || d.Max != 0 || d.EndsBy != "" {
				t.Fatalf("denied without a listed reason or with a bound: %+v", d)
			}
			return
		}
		if !slices.Contains(AllBounds, d.EndsBy) {
			t.Fatalf("EndsBy %q is not in AllBounds", d.EndsBy)
		}
		if d.Reason != ReasonNone || q.OutOfService || !q.Known || q.Blocked {
			t.Fatalf("allowed %+v for request %+v", d, q)
		}
		remaining := r.Remaining(q)
		if d.Max < r.Billing.Step() || d.Max < r.Billing.Minimum {
			t.Fatalf("Max %v below one unit or the minimum %v", d.Max, r.Billing.Minimum)
		}
		if c := r.Billing.Charge(d.Max); c > remaining {
			t.Fatalf("Charge(Max %v) = %v > remaining %v", d.Max, c, remaining)
		}
		if r.PerCall > 0 && d.Max > r.PerCall {
			t.Fatalf("Max %v > per-call cap %v", d.Max, r.PerCall)
		}
		if q.ClockTrusted {
			open, closes := r.Hours.OpenAt(q.Now, r.Location)
			if !open || q.Now.Add(d.Max).After(closes) {
				t.Fatalf("Max %v runs past closing %v (open %v)", d.Max, closes, open)
			}
			if ok, until := r.Rotation.TurnOf(q.Block, q.Now, r.Location); !ok || (len(r.Rotation) > 0 && q.Now.Add(d.Max).After(until)) {
				t.Fatalf("Max %v runs past the turn end %v (ok %v)", d.Max, until, ok)
			}
		} else if r.Untrusted != UntrustedCapOnly || (r.PerCall == 0 && d.Max > r.UntrustedCap) {
			t.Fatalf("allowed on an untrusted clock: %+v under %q", d, r.Untrusted)
		}
		if q.Offline && r.OfflineCap > 0 {
			if c := r.Billing.Charge(d.Max); q.OfflineUsed+c > r.OfflineCap {
				t.Fatalf("offline: used %v + Charge(Max %v) = %v > the offline cap %v", q.OfflineUsed, d.Max, q.OfflineUsed+c, r.OfflineCap)
			}
		}
		// EndsBy names the bound that gives Max.
		switch d.EndsBy {
		case ReasonQuota:
			if d.Max != r.Billing.MaxTalk(remaining) {
				t.Fatalf("EndsBy quota but Max %v != MaxTalk %v", d.Max, r.Billing.MaxTalk(remaining))
			}
		case ReasonPerCall:
			if d.Max != r.PerCall {
				t.Fatalf("EndsBy per_call_cap but Max %v != %v", d.Max, r.PerCall)
			}
		case ReasonOfflineCap:
			if want := r.Billing.MaxTalk(r.OfflineCap - q.OfflineUsed); !q.Offline || d.Max != want {
				t.Fatalf("EndsBy offline_cap but Max %v != %v (offline %v)", d.Max, want, q.Offline)
			}
		case ReasonUntrustedCap:
			if d.Max != r.UntrustedCap || q.ClockTrusted {
				t.Fatalf("EndsBy untrusted_cap but Max %v != %v (trusted %v)", d.Max, r.UntrustedCap, q.ClockTrusted)
			}
		case ReasonClosing:
			if _, closes := r.Hours.OpenAt(q.Now, r.Location); !q.Now.Add(d.Max).Equal(closes) {
				t.Fatalf("EndsBy closing but Now+Max != %v", closes)
			}
		case ReasonTurnEnd:
			if _, until := r.Rotation.TurnOf(q.Block, q.Now, r.Location); !q.Now.Add(d.Max).Equal(until) {
				t.Fatalf("EndsBy turn_end but Now+Max != %v", until)
			}
		default:
			t.Fatalf("EndsBy %q is not a bound", d.EndsBy)
		}
	})
}

// TestDecideMoreBalanceNeverHurts: adding a grant never turns an allowed
// call into a denial nor shortens it.
func TestDecideMoreBalanceNeverHurts(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r, q := drawCase(t)
		before := r.Decide(q)
		q.Granted += time.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(t, "extra"))
		after := r.Decide(q)
		if before.Allow && (!after.Allow || after.Max < before.Max) {
			t.Fatalf("a grant made it worse: %+v then %+v", before, after)
		}
	})
}

func BenchmarkDecide(b *testing.B) {
	r := validRules(b)
	r.Rotation = Rotation{"A": {Weekly: map[time.Weekday][]Window{time.Monday: ws(b, "08:00-09:10")}}}
	q := Request{Now: time.Date(2026, 11, 30, 9, 0, 0, 0, r.Location), ClockTrusted: true, Known: true, Block: "A",
		Used: 12 * time.Minute, LastCallEnd: time.Date(2026, 11, 30, 8, 0, 0, 0, r.Location), SinceLastEnd: -1}
	b.ReportAllocs()
	for b.Loop() {
		if d := r.Decide(q); !d.Allow {
			b.Fatal(d)
		}
	}
}

// TestDecideOfflineCapPerPeriod plays one booth deciding offline, tap after
// tap, in one period: each allowed call talks a random part of its Max and
// its charge is added to both Used and OfflineUsed, as the booth's store
// does. Whatever the rules and the talk, the booth never charges more than
// the offline cap offline in the period in total, nor more than the balance.
func TestDecideOfflineCapPerPeriod(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := drawRules(t)
		r.OfflineCap = spread(t, "offline cap", sec, minute, 5*minute, 10*minute)
		r.Hours = Hours{Weekly: map[time.Weekday][]Window{}}
		for d := time.Sunday; d <= time.Saturday; d++ {
			r.Hours.Weekly[d] = []Window{{0, minutesPerDay}}
		}
		r.Rotation = nil
		q := Request{
			Now: time.Date(2026, 11, 30, 0, 0, 1, 0, r.Location), ClockTrusted: true, Known: true,
			SinceLastEnd: -1, Offline: true,
		}
		if rapid.Bool().Draw(t, "untrusted") {
			q.ClockTrusted = false
		}
		var offline time.Duration
		for i := range rapid.IntRange(1, 12).Draw(t, "taps") {
			d := r.Decide(q)
			if !d.Allow {
				continue
			}
			talked := time.Duration(rapid.Int64Range(1, int64(d.Max)).Draw(t, fmt.Sprint("talked ", i)))
			if rapid.IntRange(0, 2).Draw(t, fmt.Sprint("whole ", i)) == 0 {
				talked = d.Max // talks to the cut-off
			}
			c := r.Billing.Charge(talked)
			offline += c
			q.Used += c
			q.OfflineUsed += c
			q.Now = q.Now.Add(talked + r.MinGap)
			q.SinceLastEnd = r.MinGap
			if offline > r.OfflineCap {
				t.Fatalf("tap %d: %v charged offline in the period, offline cap %v (last %+v)", i, offline, r.OfflineCap, d)
			}
			if rem := r.Remaining(Request{Used: q.Used}); rem < 0 {
				t.Fatalf("tap %d: balance %v below zero", i, rem)
			}
		}
	})
}
