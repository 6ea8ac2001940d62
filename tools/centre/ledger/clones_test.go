package ledger

import (
	"strings"
	"testing"
	"time"
)

// TestCloneSuspected: one identity heartbeating from two starts (boot ids
// or source addresses) whose spans overlap is flagged clone_suspected and
// raised once per pair; a restart, an address change and a self-test
// before the daemon are not (issue 13 item 6). Times are the gateway's,
// given, as a fake clock would.
func TestCloneSuspected(t *testing.T) {
	const window = 2 * time.Minute
	type beat struct {
		at           time.Duration // after t0
		boot, source string
	}
	tests := []struct {
		name   string
		beats  []beat
		events int // clone_suspected events raised
	}{
		{"one start", []beat{{0, "a", "10.0.0.1"}, {time.Minute, "a", "10.0.0.1"}, {2 * time.Minute, "a", "10.0.0.1"}}, 0},
		{"restart within the window", []beat{
			{0, "a", "10.0.0.1"}, {time.Minute, "a", "10.0.0.1"},
			{90 * time.Second, "b", "10.0.0.1"}, {150 * time.Second, "b", "10.0.0.1"}, {210 * time.Second, "b", "10.0.0.1"}}, 0},
		{"two restarts", []beat{
			{0, "a", "10.0.0.1"}, {10 * time.Second, "b", "10.0.0.1"}, {20 * time.Second, "c", "10.0.0.1"}, {80 * time.Second, "c", "10.0.0.1"}}, 0},
		{"self-test, then the daemon", []beat{{0, "s", "10.0.0.1"}, {30 * time.Second, "d", "10.0.0.1"}, {90 * time.Second, "d", "10.0.0.1"}}, 0},
		{"address changed", []beat{{0, "a", "10.0.0.1"}, {time.Minute, "a", "10.0.0.1"}, {2 * time.Minute, "a", "10.0.0.9"}, {3 * time.Minute, "a", "10.0.0.9"}}, 0},
		{"old firmware, no boot id", []beat{{0, "", "10.0.0.1"}, {time.Minute, "", "10.0.0.1"}}, 0},
		{"two boots at once", []beat{
			{0, "a", "10.0.0.1"}, {10 * time.Second, "b", "10.0.0.2"}, {time.Minute, "a", "10.0.0.1"},
			{70 * time.Second, "b", "10.0.0.2"}, {2 * time.Minute, "a", "10.0.0.1"}, {130 * time.Second, "b", "10.0.0.2"}}, 1},
		{"same machine, two daemons", []beat{{0, "a", "10.0.0.1"}, {10 * time.Second, "b", "10.0.0.1"}, {time.Minute, "a", "10.0.0.1"}}, 1},
		{"one boot id from two addresses", []beat{{0, "a", "10.0.0.1"}, {10 * time.Second, "a", "10.0.0.2"}, {time.Minute, "a", "10.0.0.1"}}, 1},
		{"old firmware from two addresses", []beat{{0, "", "10.0.0.1"}, {10 * time.Second, "", "10.0.0.2"}, {time.Minute, "", "10.0.0.1"}, {70 * time.Second, "", "10.0.0.2"}}, 1},
		{"copy started after a long quiet", []beat{
			{0, "a", "10.0.0.1"}, {time.Hour, "b", "10.0.0.2"}, {time.Hour + 10*time.Second, "a", "10.0.0.1"}, {time.Hour + time.Minute, "b", "10.0.0.2"}}, 1},
		{"three at once", []beat{
			{0, "a", "10.0.0.1"}, {time.Second, "b", "10.0.0.2"}, {2 * time.Second, "c", "10.0.0.3"},
			{time.Minute, "a", "10.0.0.1"}, {61 * time.Second, "b", "10.0.0.2"}, {62 * time.Second, "c", "10.0.0.3"}, {2 * time.Minute, "a", "10.0.0.1"}}, 3},
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					s := open1(t, be)
					const device = "lp/b03"
					if err := s.RegisterDevice(ctx, device, t0); err != nil {
						t.Fatal(err)
					}
					raised := 0
					for i, b := range tt.beats {
						res, err := s.RecordHeartbeat(ctx, Heartbeat{Device: device, At: t0.Add(b.at), State: "ready", BootID: b.boot, Source: b.source, Window: window})
						if err != nil {
							t.Fatalf("beat %d: %v", i, err)
						}
						raised += res.NewClonePairs
					}
					evs, err := s.CentreEvents(ctx, "lp", t0)
					if err != nil {
						t.Fatal(err)
					}
					if len(evs) != tt.events || raised != tt.events {
						t.Fatalf("events %+v (%d reported raised), want %d clone_suspected", evs, raised, tt.events)
					}
					for _, e := range evs {
						if e.Kind != EventCloneSuspected || e.Device != device || !strings.Contains(e.Detail, "revoke") {
							t.Errorf("event %+v, want clone_suspected for %s saying what to do", e, device)
						}
					}
					ds, err := s.Devices(ctx, "lp")
					if err != nil || len(ds) != 1 {
						t.Fatal(ds, err)
					}
					if flagged := !ds[0].CloneSuspected.IsZero(); flagged != (tt.events > 0) {
						t.Errorf("device flagged %v (%v), want %v", flagged, ds[0].CloneSuspected, tt.events > 0)
					}
					if tt.events == 0 {
						return
					}
					// Enrolled again, the identity starts clean.
					if err := s.RegisterDevice(ctx, device, t0.Add(3*time.Hour)); err != nil {
						t.Fatal(err)
					}
					if ds, err := s.Devices(ctx, "lp"); err != nil || !ds[0].CloneSuspected.IsZero() {
						t.Errorf("after re-enrolment: %+v, %v; want the flag cleared", ds, err)
					}
				})
			}
		})
	}
}
