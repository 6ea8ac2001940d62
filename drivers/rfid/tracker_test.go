package rfid_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/rfid"
)

const (
	cardA cardid.ID = "em:0400D8B2A5"
	cardB cardid.ID = "em:0C000621A5"
	blank cardid.ID = "em:0000000000"
)

var (
	repeating = rfid.TrackerOptions{ConfirmFrames: 2, ConfirmWindow: 300 * time.Millisecond, Silence: 500 * time.Millisecond}
	polling   = rfid.TrackerOptions{ConfirmFrames: 1, AbsentPolls: 2}
)

// step is one input to a Tracker at a monotonic time in ms.
type step struct {
	ms   int
	op   byte // 's' Seen, 'a' Absent, 't' Tick, 'f' Flush
	card cardid.ID
}

func run(tr *rfid.Tracker, steps []step) []rfid.Event {
	var evs []rfid.Event
	for _, s := range steps {
		now := time.Duration(s.ms) * time.Millisecond
		switch s.op {
		case 's':
			evs = tr.Seen(evs, now, s.card)
		case 'a':
			evs = tr.Absent(evs)
		case 't':
			evs = tr.Tick(evs, now)
		case 'f':
			evs = tr.Flush(evs)
		}
	}
	return evs
}

func describe(evs []rfid.Event) string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = e.Kind.String() + " " + string(e.Card)
	}
	return strings.Join(s, ", ")
}

func TestTracker(t *testing.T) {
	for _, tc := range []struct {
		name  string
		o     rfid.TrackerOptions
		steps []step
		want  string
	}{
		{"single frame is not a tap", repeating,
			[]step{{0, 's', cardA}, {1000, 't', ""}}, ""},
		{"two frames confirm", repeating,
			[]step{{0, 's', cardA}, {60, 's', cardA}}, "present " + string(cardA)},
		{"two frames too far apart", repeating,
			[]step{{0, 's', cardA}, {301, 's', cardA}}, ""},
		{"third frame after a late second confirms", repeating,
			[]step{{0, 's', cardA}, {400, 's', cardA}, {450, 's', cardA}}, "present " + string(cardA)},
		{"other card between breaks confirmation", repeating,
			[]step{{0, 's', cardA}, {20, 's', cardB}, {40, 's', cardA}}, ""},
		{"held card is one tap", repeating,
			[]step{{0, 's', cardA}, {50, 's', cardA}, {100, 's', cardA}, {150, 's', cardA}, {500, 's', cardA}, {640, 't', ""}},
			"present " + string(cardA)},
		{"removed after silence", repeating,
			[]step{{0, 's', cardA}, {50, 's', cardA}, {549, 't', ""}, {550, 't', ""}},
			"present " + string(cardA) + ", removed " + string(cardA)},
		{"noise frame while held", repeating,
			[]step{{0, 's', cardA}, {50, 's', cardA}, {60, 's', cardB}, {100, 's', cardA}, {700, 't', ""}},
			"present " + string(cardA) + ", removed " + string(cardA)},
		{"swap cards without silence", repeating,
			[]step{{0, 's', cardA}, {50, 's', cardA}, {100, 's', cardB}, {150, 's', cardB}},
			"present " + string(cardA) + ", removed " + string(cardA) + ", present " + string(cardB)},
		{"blank is never a card", repeating,
			[]step{{0, 's', blank}, {10, 's', blank}, {20, 's', "bogus"}, {30, 's', "bogus"}}, ""},
		{"two taps", repeating,
			[]step{{0, 's', cardA}, {50, 's', cardA}, {600, 't', ""}, {2000, 's', cardA}, {2050, 's', cardA}},
			"present " + string(cardA) + ", removed " + string(cardA) + ", present " + string(cardA)},
		{"flush on down", repeating,
			[]step{{0, 's', cardA}, {50, 's', cardA}, {60, 'f', ""}, {70, 'f', ""}},
			"present " + string(cardA) + ", removed " + string(cardA)},
		{"poll: present at first", polling,
			[]step{{0, 's', cardA}}, "present " + string(cardA)},
		{"poll: one empty poll is not removal", polling,
			[]step{{0, 's', cardA}, {100, 'a', ""}, {200, 's', cardA}, {300, 'a', ""}}, "present " + string(cardA)},
		{"poll: two empty polls remove", polling,
			[]step{{0, 's', cardA}, {100, 'a', ""}, {200, 'a', ""}, {300, 'a', ""}},
			"present " + string(cardA) + ", removed " + string(cardA)},
		{"poll: no silence removal", polling,
			[]step{{0, 's', cardA}, {100000, 't', ""}}, "present " + string(cardA)},
		{"poll: other card replaces", polling,
			[]step{{0, 's', cardA}, {100, 's', cardB}},
			"present " + string(cardA) + ", removed " + string(cardA) + ", present " + string(cardB)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := describe(run(rfid.NewTracker(tc.o), tc.steps)); got != tc.want {
				t.Errorf("events = [%s], want [%s]", got, tc.want)
			}
		})
	}
}

// TestTrackerProperties drives the tracker with random sightings and checks
// the invariants the booth relies on against a log of what it was fed.
func TestTrackerProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		o := rfid.TrackerOptions{
			ConfirmFrames: rapid.IntRange(1, 4).Draw(t, "confirm"),
			ConfirmWindow: time.Duration(rapid.IntRange(50, 500).Draw(t, "window")) * time.Millisecond,
			Silence:       time.Duration(rapid.IntRange(0, 800).Draw(t, "silence")) * time.Millisecond,
			AbsentPolls:   rapid.IntRange(0, 3).Draw(t, "absentPolls"),
		}
		tr := rfid.NewTracker(o)
		ids := []cardid.ID{cardA, cardB, blank, "em:FFFFFFFFFF", "14a:04A1B2C3"}
		var now time.Duration
		var seen []step // valid sightings since the last absent poll, for the confirmation check
		var present cardid.ID
		n := rapid.IntRange(1, 200).Draw(t, "n")
		for i := range n {
			now += time.Duration(rapid.IntRange(0, 700).Draw(t, "gap")) * time.Millisecond
			var evs []rfid.Event
			switch op := rapid.SampledFrom([]byte("ssssat")).Draw(t, "op"); op {
			case 's':
				id := rapid.SampledFrom(ids).Draw(t, "id")
				if id.Valid() {
					seen = append(seen, step{ms: int(now / time.Millisecond), card: id})
				}
				evs = tr.Seen(nil, now, id)
			case 'a':
				seen = seen[:0]
				evs = tr.Absent(nil)
			case 't':
				evs = tr.Tick(nil, now)
			}
			for _, e := range evs {
				switch e.Kind {
				case rfid.Present:
					if present != "" {
						t.Fatalf("step %d: present %s while %s is present", i, e.Card, present)
					}
					if !e.Card.Valid() {
						t.Fatalf("step %d: present for invalid id %q", i, e.Card)
					}
					// The last ConfirmFrames valid sightings are this card,
					// all within the window.
					k := len(seen) - o.ConfirmFrames
					if k < 0 {
						t.Fatalf("step %d: present %s after %d sightings, need %d", i, e.Card, len(seen), o.ConfirmFrames)
					}
					for _, s := range seen[k:] {
						if s.card != e.Card {
							t.Fatalf("step %d: present %s but recent sightings %v", i, e.Card, seen[k:])
						}
					}
					if span := time.Duration(seen[len(seen)-1].ms-seen[k].ms) * time.Millisecond; span > o.ConfirmWindow {
						t.Fatalf("step %d: present %s confirmed over %v > window %v", i, e.Card, span, o.ConfirmWindow)
					}
					present = e.Card
				case rfid.Removed:
					if e.Card != present || present == "" {
						t.Fatalf("step %d: removed %q while %q is present", i, e.Card, present)
					}
					present = ""
				default:
					t.Fatalf("step %d: unexpected event %v", i, e.Kind)
				}
			}
			if tr.Present() != present {
				t.Fatalf("step %d: Present() = %q, events say %q", i, tr.Present(), present)
			}
		}
	})
}

// TestTrackerHeldCardOneTap: a card held for any time, its frames arriving
// closer than both the window and the silence, with single noise frames
// between once it is present, is exactly one Present and, after silence, one Removed.
func TestTrackerHeldCardOneTap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		o := repeating
		tr := rfid.NewTracker(o)
		var evs []rfid.Event
		var now time.Duration
		frames := rapid.IntRange(2, 300).Draw(t, "frames")
		for i := range frames {
			if i > 0 {
				now += time.Duration(rapid.IntRange(0, 299).Draw(t, "gap")) * time.Millisecond
			}
			evs = tr.Seen(evs, now, cardA)
			// Noise that passes the checksum breaks a confirmation run (the
			// rule), so it only comes once the card is present; invalid ids
			// may come at any time.
			if noise := rapid.SampledFrom([]cardid.ID{"", "", "", blank, cardB}).Draw(t, "noise"); noise == blank || noise == cardB && tr.Present() == cardA {
				evs = tr.Seen(evs, now, noise)
			}
			evs = tr.Tick(evs, now)
		}
		evs = tr.Tick(evs, now+o.Silence)
		want := fmt.Sprintf("present %s, removed %s", cardA, cardA)
		if got := describe(evs); got != want {
			t.Fatalf("held card gave [%s], want [%s]", got, want)
		}
	})
}
