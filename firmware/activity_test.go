package main

import (
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
)

// TestActivityRing: the ring numbers activities from 1, keeps the last
// activityRingSize oldest first, and carries the typed words as the JSON
// strings a reader compares with.
func TestActivityRing(t *testing.T) {
	var r activityRing
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	r.add(session.Activity{Kind: session.ActivityEnded, At: at, CallID: 3, End: record.EndQuota, Talked: 1500 * time.Millisecond})
	d := r.recent()
	if len(d) != 1 || d[0].Seq != 1 || d[0].Kind != session.ActivityEnded || d[0].End != "quota" || d[0].TalkedMs != 1500 || !d[0].At.Equal(at) {
		t.Fatalf("recent() = %+v", d)
	}
	for range activityRingSize + 5 {
		r.add(session.Activity{Kind: session.ActivityTalking})
	}
	d = r.recent()
	if len(d) != activityRingSize || d[0].Seq != 7 || d[len(d)-1].Seq != activityRingSize+6 {
		t.Fatalf("kept %d, seqs %d..%d; want %d, 7..%d", len(d), d[0].Seq, d[len(d)-1].Seq, activityRingSize, activityRingSize+6)
	}
	for i := 1; i < len(d); i++ {
		if d[i].Seq != d[i-1].Seq+1 {
			t.Fatalf("seq %d follows %d", d[i].Seq, d[i-1].Seq)
		}
	}
}
