package server

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
)

// TestEventMetrics: wartel_events_total counts each booth event word once
// when its record is stored (not again when uploaded twice), an unknown
// word as "unknown", and each centre event kind as it is raised.
func TestEventMetrics(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		b := e.booth("lapas-uji", "b01")
		var recs []record.Record
		for i, k := range record.AllEvents {
			for range i%2 + 1 { // every other kind twice
				recs = append(recs, b.next(record.KindEvent, record.Event{At: e.clk.Now(), Event: k}))
			}
		}
		recs = append(recs, b.next(record.KindEvent, record.Event{At: e.clk.Now(), Event: "made_up\x1b[2J"}))
		recs = append(recs, b.callRec("em:0400D8B2A5", "w1", "2026-11-29", 0))
		var res protocol.UploadResponse
		b.call(protocol.PathUpload, protocol.UploadRequest{Records: recs}, &res)
		b.call(protocol.PathUpload, protocol.UploadRequest{Records: recs}, &res) // duplicates: not counted again
		for i, k := range record.AllEvents {
			if n := testutil.ToFloat64(e.h.metrics.events.WithLabelValues("booth", string(k))); n != float64(i%2+1) {
				t.Errorf("wartel_events_total{source=booth,kind=%s} = %v, want %d", k, n, i%2+1)
			}
		}
		if n := testutil.ToFloat64(e.h.metrics.events.WithLabelValues("booth", "unknown")); n != 1 {
			t.Errorf("unknown booth events counted %v, want 1", n)
		}
		for i, k := range ledger.AllCentreEventKinds {
			for range i + 1 {
				if err := store.RaiseEvent(context.Background(), ledger.CentreEvent{Device: b.device, Kind: k, At: e.clk.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			if n := testutil.ToFloat64(e.h.metrics.events.WithLabelValues("centre", string(k))); n != float64(i+1) {
				t.Errorf("wartel_events_total{source=centre,kind=%s} = %v, want %d", k, n, i+1)
			}
		}
		if n := testutil.CollectAndCount(e.h.metrics.events); n != len(record.AllEvents)+len(ledger.AllCentreEventKinds)+1 {
			t.Errorf("%d event series, want one per kind and source, and unknown", n)
		}
	})
}

// TestOfficerActionMetrics: wartel_officer_actions_total counts each
// officer action word of record.AllOfficerActions once when its record is
// stored, and a word this gateway does not know as "unknown": counted, not
// dropped, and not labelled as a plausible known action.
func TestOfficerActionMetrics(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		b := e.booth("lapas-uji", "b01")
		var recs []record.Record
		for i, a := range record.AllOfficerActions {
			for range i%2 + 1 {
				recs = append(recs, b.next(record.KindOfficer, record.Officer{At: e.clk.Now(), Officer: "PTG-1", OfficerCard: "em:0000000001", Action: a}))
			}
		}
		recs = append(recs, b.next(record.KindOfficer, record.Officer{At: e.clk.Now(), Officer: "PTG-1", OfficerCard: "em:0000000001", Action: "made_up"}))
		var res protocol.UploadResponse
		b.call(protocol.PathUpload, protocol.UploadRequest{Records: recs}, &res)
		b.call(protocol.PathUpload, protocol.UploadRequest{Records: recs}, &res) // duplicates: not counted again
		for i, a := range record.AllOfficerActions {
			if n := testutil.ToFloat64(e.h.metrics.officer.WithLabelValues(string(a))); n != float64(i%2+1) {
				t.Errorf("wartel_officer_actions_total{action=%s} = %v, want %d", a, n, i%2+1)
			}
		}
		if n := testutil.ToFloat64(e.h.metrics.officer.WithLabelValues("unknown")); n != 1 {
			t.Errorf("unknown officer actions counted %v, want 1", n)
		}
		if n := testutil.CollectAndCount(e.h.metrics.officer); n != len(record.AllOfficerActions)+1 {
			t.Errorf("%d officer action series, want one per action, and unknown", n)
		}
	})
}
