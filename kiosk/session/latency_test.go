package session

import (
	"context"
	"testing"
	"time"

	"wartelsuspas/kiosk/policy"
)

// slowAuth answers as the centre does on a slow link: after taking d of
// the booth's clock (inside the 400 ms deadline).
type slowAuth struct {
	r      *rig
	d      time.Duration
	remote Remote
}

func (a *slowAuth) Authorise(ctx context.Context, card, inmate, period string) (Remote, error) {
	a.r.fc.Advance(a.d)
	return a.remote, nil
}

// TestInstantsCountFromTheDecision: closing and a turn's end are instants,
// and a call ends at them (within tens of milliseconds), however long the
// centre took to answer the tap. Before, they were counted from the grant,
// after the centre's answer and the journal, and a call ran past closing
// by the centre's latency.
func TestInstantsCountFromTheDecision(t *testing.T) {
	closing := time.Date(2026, 11, 30, 17, 0, 0, 0, wib)
	for _, tc := range []struct {
		name    string
		mod     func(*Config)
		at      time.Time // the tap
		ends    time.Time // the instant it must end at
		reason  string
		latency time.Duration
	}{
		{name: "closing, the centre answering in 390 ms", at: closing.Add(-time.Minute), ends: closing, reason: "closing", latency: 390 * time.Millisecond},
		{name: "closing, the centre answering at once", at: closing.Add(-time.Minute), ends: closing, reason: "closing"},
		{name: "a turn's end, the centre answering in 390 ms", mod: func(c *Config) {
			c.Rules.Rotation = policy.Rotation{"A": {Weekly: map[time.Weekday][]policy.Window{time.Monday: {{From: 9 * 60, To: 9*60 + 4}}}}}
		}, at: start, ends: start.Add(4 * time.Minute), reason: "turn_end", latency: 390 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.mod)
			r.au = &slowAuth{r: r, d: tc.latency, remote: Remote{Remaining: 10 * time.Minute}}
			r.boot()
			r.fc.Advance(tc.at.Sub(r.fc.Now()))
			r.play(offHook, tap(inmate1), 10*time.Minute)
			c := r.onlyCall()
			end := c.TalkStartAt.Add(ms(c.TalkedMs))
			if string(c.EndReason) != tc.reason || end.Before(tc.ends.Add(-50*time.Millisecond)) || end.After(tc.ends.Add(50*time.Millisecond)) {
				t.Errorf("call ended %s at %s after talking %d ms; want %s at %s", c.EndReason, end.Format("15:04:05.000"), c.TalkedMs, tc.reason, tc.ends.Format("15:04:05.000"))
			}
		})
	}
}
