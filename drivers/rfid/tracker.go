package rfid

import (
	"time"
	"wartelsuspas/cardid"
)

// TrackerOptions sets how sightings become taps.
type TrackerOptions struct {
	// ConfirmFrames valid frames with the same UID in a row, the first and
	// last within ConfirmWindow, confirm a tap. 1 confirms at the first.
	// The 8-bit checksum of the 125 kHz modules lets about one noise frame
	// in 256 through, so repeating readers use 2.
	ConfirmFrames int
	ConfirmWindow time.Duration
	// Silence is how long without a sighting of the present card makes it
	// removed; 0 disables removal by silence (for polling readers).
	Silence time.Duration
	// AbsentPolls is how many empty polls in a row make the present card
	// removed; 0 means Absent never removes (for passive readers).
	AbsentPolls int
}

// Tracker turns what a protocol sees into events: one Present per tap,
// one Removed when the card is gone. It is a plain state machine: time is
// passed in as monotonic readings and Deadline says when Tick is due, so it
// is driven synchronously by the Reader and by tests. Events it returns
// have no At; the caller stamps them.
//
// Invariants: only a valid cardid.ID is ever Present; Present and Removed
// alternate, each Removed naming the card of the Present before it.
type Tracker struct {
	o        TrackerOptions
	present  cardid.ID
	lastSeen time.Duration // of present
	absent   int           // empty polls in a row while present
	cand     cardid.ID     // candidate for confirmation
	candN    int
	candAt   time.Duration // first frame of the candidate run
}

// NewTracker returns a tracker; ConfirmFrames below 1 is taken as 1.
func NewTracker(o TrackerOptions) *Tracker {
	if o.ConfirmFrames < 1 {
		o.ConfirmFrames = 1
	}
	return &Tracker{o: o}
}

// Present returns the card currently present, or "".
func (t *Tracker) Present() cardid.ID { return t.present }

// Seen records a valid frame (or successful poll) for id at now, appending
// any events to dst. An invalid id is ignored.
func (t *Tracker) Seen(dst []Event, now time.Duration, id cardid.ID) []Event {
	if !id.Valid() {
		return dst
	}
	if id == t.present {
		t.lastSeen, t.absent = now, 0
		t.cand, t.candN = "", 0
		return dst
	}
	if id == t.cand && now-t.candAt <= t.o.ConfirmWindow {
		t.candN++
	} else {
		t.cand, t.candN, t.candAt = id, 1, now
	}
	if t.candN < t.o.ConfirmFrames {
		return dst
	}
	dst = t.remove(dst)
	t.present, t.lastSeen, t.absent = id, now, 0
	t.cand, t.candN = "", 0
	return append(dst, Event{Kind: Present, Card: id})
}

// Absent records an empty poll.
func (t *Tracker) Absent(dst []Event) []Event {
	t.cand, t.candN = "", 0
	if t.present == "" || t.o.AbsentPolls <= 0 {
		return dst
	}
	t.absent++
	if t.absent < t.o.AbsentPolls {
		return dst
	}
	return t.remove(dst)
}

// Deadline returns when Tick must next be called, and whether it must.
func (t *Tracker) Deadline() (time.Duration, bool) {
	if t.present == "" || t.o.Silence <= 0 {
		return 0, false
	}
	return t.lastSeen + t.o.Silence, true
}

// Tick removes the present card if it has been silent for Silence at now.
func (t *Tracker) Tick(dst []Event, now time.Duration) []Event {
	if d, ok := t.Deadline(); ok && now >= d {
		return t.remove(dst)
	}
	return dst
}

// Flush removes the present card, whatever the time: the reader went down
// and whether the card is still there is unknown.
func (t *Tracker) Flush(dst []Event) []Event {
	t.cand, t.candN = "", 0
	return t.remove(dst)
}

func (t *Tracker) remove(dst []Event) []Event {
	if t.present == "" {
		return dst
	}
	id := t.present
	t.present, t.absent = "", 0
	return append(dst, Event{Kind: Removed, Card: id})
}
