package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/tools/centre/ledger"
)

// TestHeartbeatKeepsBoothState: what the booth says in its heartbeat —
// state, out-of-service causes, faults, clock, start — is what the centre
// lists (issue 13 item 1).
func TestHeartbeatKeepsBoothState(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		a := e.booth(facility, "b01")
		a.call(protocol.PathHeartbeat, protocol.HeartbeatRequest{Firmware: "1.4.0", State: "tamper", OutboxDepth: 3, ClockTrusted: true,
			Faults: []string{"panel_open"}, OutOfService: []string{"tamper"}, ClockOffsetMs: -1200, BootID: "0123abcd"}, nil)
		ds, err := store.Devices(context.Background(), facility)
		if err != nil || len(ds) != 1 {
			t.Fatal(ds, err)
		}
		d := ds[0]
		if d.State != "tamper" || !slices.Equal(d.OutOfService, []string{"tamper"}) || !slices.Equal(d.Faults, []string{"panel_open"}) ||
			!d.ClockTrusted || d.ClockOffset != -1200*time.Millisecond || d.BootID != "0123abcd" || d.Source != "127.0.0.1" || d.Firmware != "1.4.0" {
			t.Errorf("device %+v, want what the heartbeat said, from 127.0.0.1", d)
		}
	})
}

// TestHeartbeatBoothTextBounded: booth text over its bounds, or that could
// forge a row or reach a terminal, is refused at ingest with the field
// named, and nothing of it is stored (issue 13 item 7).
func TestHeartbeatBoothTextBounded(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		a := e.booth(facility, "b01")
		tests := []struct {
			name  string
			req   protocol.HeartbeatRequest
			field string
		}{
			// Just under the body limit, so the decoder reads it whole.
			{"firmware of almost 1 MiB", protocol.HeartbeatRequest{Firmware: strings.Repeat("9", protocol.MaxBodyBytes-400)}, "firmware"},
			{"firmware with a forged row", protocol.HeartbeatRequest{Firmware: "1.0\nlapas-test/b99  online"}, "firmware"},
			{"state with escape codes", protocol.HeartbeatRequest{State: "ready\x1b[2J"}, "state"},
			{"fault with a newline", protocol.HeartbeatRequest{Faults: []string{"reader_down", "x\ny"}}, "faults[1]"},
			{"too many causes", protocol.HeartbeatRequest{OutOfService: make([]string, protocol.MaxCauses+1)}, "out_of_service"},
		}
		for _, tt := range tests {
			status, got, _, err := a.post(protocol.PathHeartbeat, tt.req)
			var body protocol.Error
			json.Unmarshal(got, &body)
			if err != nil || status != http.StatusBadRequest || body.Field != tt.field {
				t.Errorf("%s: %d %.200s (%v), want 400 naming %s", tt.name, status, got, err, tt.field)
			}
		}
		if ds, err := store.Devices(context.Background(), facility); err != nil || len(ds) != 1 || !ds[0].LastSeen.IsZero() {
			t.Errorf("devices %+v, %v: want no heartbeat stored", ds, err)
		}
	})
}

// TestHeartbeatCloneSuspected: one certificate heartbeating from two boots
// at once raises clone_suspected once and counts it; a restart does not
// (issue 13 item 6). The gateway's clock is fake.
func TestHeartbeatCloneSuspected(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		a := e.booth(facility, "b01")
		beat := func(boot string) {
			t.Helper()
			a.call(protocol.PathHeartbeat, protocol.HeartbeatRequest{State: "ready", Faults: []string{}, OutOfService: []string{}, BootID: boot}, nil)
		}
		// A restart: boot 1 stops, boot 2 starts 30 s later.
		beat("1")
		e.clk.Advance(time.Minute)
		beat("1")
		e.clk.Advance(30 * time.Second)
		beat("2")
		e.clk.Advance(time.Minute)
		beat("2")
		if n := testutil.ToFloat64(e.h.metrics.clones.WithLabelValues(facility)); n != 0 {
			t.Fatalf("a restart counted as %v clones", n)
		}
		// A copy starts beside boot 2; both go on heartbeating.
		e.clk.Advance(10 * time.Second)
		beat("3")
		for range 3 {
			e.clk.Advance(30 * time.Second)
			beat("2")
			beat("3")
		}
		want := `
# HELP wartel_clone_suspected_total Pairs of starts of one device identity seen heartbeating at once (a copied bundle?), by facility.
# TYPE wartel_clone_suspected_total counter
wartel_clone_suspected_total{facility="lapas-test"} 1
`
		if err := testutil.GatherAndCompare(e.reg, strings.NewReader(want), "wartel_clone_suspected_total"); err != nil {
			t.Error(err)
		}
		evs, err := store.CentreEvents(context.Background(), facility, start)
		if err != nil || len(evs) != 1 || evs[0].Kind != ledger.EventCloneSuspected || evs[0].Device != a.device ||
			!evs[0].At.Equal(start.Add(3*time.Minute+10*time.Second)) {
			t.Errorf("centre events %+v, %v; want one clone_suspected for %s when boot 2 beat after boot 3 started", evs, err, a.device)
		}
		ds, err := store.Devices(context.Background(), facility)
		if err != nil || len(ds) != 1 || ds[0].CloneSuspected.IsZero() {
			t.Errorf("devices %+v, %v; want %s flagged", ds, err, a.device)
		}
	})
}
