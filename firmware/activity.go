package main

import (
	"sync"
	"time"

	"wartelsuspas/kiosk/session"
)

// activityDoc is one session.Activity as the status socket publishes it:
// programs that follow the booth (the simulator, the drills, the
// benchmarks) read these, never the log text. Seq counts from 1 at each
// start of the daemon (boot_id tells one start from the next); a reader
// keeps the last seq it saw and takes the newer ones at its next poll.
type activityDoc struct {
	Seq       uint64               `json:"seq"`
	Kind      session.ActivityKind `json:"kind"`
	At        time.Time            `json:"at"`
	CallID    int64                `json:"call_id,omitempty"`
	Card      string               `json:"card,omitempty"` // the card's tag
	Inmate    string               `json:"inmate,omitempty"`
	Officer   string               `json:"officer,omitempty"`
	Denial    string               `json:"denial,omitempty"`
	End       string               `json:"end,omitempty"`
	Action    string               `json:"action,omitempty"`
	MaxMs     int64                `json:"max_ms,omitempty"`
	TalkedMs  int64                `json:"talked_ms,omitempty"`
	ChargedMs int64                `json:"charged_ms,omitempty"`
	BeforeMs  int64                `json:"before_ms,omitempty"`
	AfterMs   int64                `json:"after_ms,omitempty"`
	Detail    string               `json:"detail,omitempty"`
	Slot      int                  `json:"slot,omitempty"`    // a dialled call: the number's slot
	Outcome   string               `json:"outcome,omitempty"` // a dialled call's end: how the carrier ended it
}

// activityRingSize is how many activities the status socket keeps: a
// reader polling a few times a second never falls behind a booth, and
// one that does sees a gap in seq.
const activityRingSize = 64

// activityRing keeps the daemon's recent activities for the status socket.
// add runs on the engine's goroutine and never blocks on a reader.
type activityRing struct {
	mu   sync.Mutex
	seq  uint64
	docs []activityDoc // oldest first, at most activityRingSize
}

func (r *activityRing) add(a session.Activity) {
	d := activityDoc{
		Kind: a.Kind, At: a.At, CallID: a.CallID, Card: a.Card, Inmate: a.Inmate, Officer: a.Officer,
		Denial: string(a.Denial), End: string(a.End), Action: string(a.Action),
		MaxMs: a.Max.Milliseconds(), TalkedMs: a.Talked.Milliseconds(), ChargedMs: a.Charged.Milliseconds(),
		BeforeMs: a.Before.Milliseconds(), AfterMs: a.After.Milliseconds(), Detail: a.Detail,
		Slot: a.Slot, Outcome: string(a.Outcome),
	}
	if d.At.IsZero() {
		d.At = time.Now()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	d.Seq = r.seq
	if len(r.docs) == activityRingSize {
		r.docs = append(r.docs[:0], r.docs[1:]...)
	}
	r.docs = append(r.docs, d)
}

// recent returns a copy of the kept activities, oldest first.
func (r *activityRing) recent() []activityDoc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]activityDoc{}, r.docs...)
}
