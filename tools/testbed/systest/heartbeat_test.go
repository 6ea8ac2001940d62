package systest

import (
	"context"
	"sync"
	"testing"
	"time"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/uplink"
)

// TestHeartbeatOnChange: a change of the booth's state reaches the gateway
// at the uplink's next wake (DrainInterval), not at the heartbeat interval;
// an unchanged booth sends no extra heartbeat. Fake clock: only the drain
// interval passes.
func TestHeartbeatOnChange(t *testing.T) {
	g := newTestGateway(t, nil)
	st, _ := newBooth(t, device, 0)
	fc := clock.NewFake(time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC))
	o := fastOptions(g, g.addr(), st)
	o.Clock = fc
	o.DrainInterval, o.HeartbeatInterval, o.SyncInterval = 5*time.Second, time.Hour, time.Hour
	var mu sync.Mutex
	state := uplink.BoothState{State: "ready", OutOfService: []string{}}
	o.State = func() uplink.BoothState { mu.Lock(); defer mu.Unlock(); return state }
	u, err := uplink.New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer runUplink(t, u)()
	gatewayState := func() (string, time.Time) {
		ds, err := g.ledger.Devices(context.Background(), facility)
		if err != nil || len(ds) != 1 {
			return "", time.Time{}
		}
		return ds[0].State, ds[0].LastSeen
	}
	// The first heartbeat and sync done, the uplink sleeps a drain interval.
	fc.WaitTimers(1)
	if s, _ := gatewayState(); s != "ready" {
		t.Fatalf("gateway state %q after the first heartbeat, want ready", s)
	}
	_, first := gatewayState()
	// Unchanged: a wake sends no heartbeat.
	fc.Advance(5 * time.Second)
	fc.WaitTimers(1)
	if _, seen := gatewayState(); !seen.Equal(first) {
		t.Errorf("an unchanged booth heartbeat again at %v", seen)
	}
	mu.Lock()
	state = uplink.BoothState{State: "tamper", OutOfService: []string{"tamper"}, Faults: []string{"panel_open"}}
	mu.Unlock()
	fc.Advance(5 * time.Second)
	deadline := time.Now().Add(30 * time.Second) // bounds a hang only
	for {
		if s, _ := gatewayState(); s == "tamper" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the tamper never reached the gateway within a drain interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
