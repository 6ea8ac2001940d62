package ledger

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

func TestAlerts(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := open1(t, b)
			now := time.Now().UTC().Truncate(time.Millisecond)
			for _, d := range []string{"lapas-a/b01", "lapas-a/b02", "lapas-a/b03", "lapas-a/b04", "lapas-b/b01"} {
				if err := s.RegisterDevice(ctx, d, now.Add(-48*time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			hb := func(device string, at time.Time, faults, oos []string, outbox int) {
				t.Helper()
				if _, err := s.RecordHeartbeat(ctx, Heartbeat{Device: device, At: at, Faults: faults, OutOfService: oos, OutboxDepth: outbox, State: "ready"}); err != nil {
					t.Fatal(err)
				}
			}
			// b01 stopped an hour ago; b02 has every part fault and a full
			// outbox; b03 never spoke; b04 is healthy but for a gap in
			// its chain; lapas-b's booth is offline but another facility's.
			hb("lapas-a/b01", now.Add(-time.Hour), nil, nil, 0)
			b2 := &booth{device: "lapas-a/b02"}
			tamper := b2.event(record.EventTamper)
			if _, err := s.Ingest(ctx, b2.device, []record.Record{tamper}); err != nil {
				t.Fatal(err)
			}
			hb("lapas-a/b02", now, []string{"panel_open", "relay_fault", "reader_down", "hook_suspect"}, []string{"reader", "relay", "tamper"}, 500)
			b4 := &booth{device: "lapas-a/b04"}
			b4.event(record.EventReaderUp)
			gap := b4.event(record.EventReaderUp)
			if _, err := s.Ingest(ctx, b4.device, []record.Record{gap}); err != nil {
				t.Fatal(err)
			}
			hb("lapas-a/b04", now, nil, nil, 0)
			hb("lapas-b/b01", now.Add(-time.Hour), nil, nil, 0)

			as, err := Alerts(ctx, s, "lapas-a", now, DefaultAlertRules)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range as {
				got = append(got, a.Device+" "+string(a.Kind))
			}
			want := []string{
				"lapas-a/b01 booth_offline",
				"lapas-a/b02 tamper", "lapas-a/b02 relay_fault", "lapas-a/b02 reader_down", "lapas-a/b02 hook_suspect", "lapas-a/b02 outbox_growing",
				"lapas-a/b03 booth_offline",
				"lapas-a/b04 chain_flags",
			}
			if !slices.Equal(got, want) {
				t.Fatalf("alerts:\n%q\nwant\n%q", got, want)
			}
			if !as[0].Since.Equal(now.Add(-time.Hour)) {
				t.Errorf("offline since %v, want the last heartbeat %v", as[0].Since, now.Add(-time.Hour))
			}
			if as[1].Since.IsZero() {
				t.Error("the tamper alert is not dated by the booth's tamper event")
			}
			// Within the window a booth is not offline.
			if as, _ := Alerts(ctx, s, "lapas-a", now.Add(-time.Hour+DefaultAlertRules.OfflineAfter), DefaultAlertRules); slices.ContainsFunc(as, func(a Alert) bool {
				return a.Device == "lapas-a/b01" && a.Kind == AlertOffline
			}) {
				t.Error("a booth heard within OfflineAfter is offline")
			}

			// Acknowledged: that occurrence only.
			if err := s.AckAlert(ctx, as[0], AlertAck{Account: "siti", Note: "power cut in block C", At: now}); err != nil {
				t.Fatal(err)
			}
			if err := s.AckAlert(ctx, as[4], AlertAck{Account: "siti", Note: "uplink down, ticket 12", At: now}); err != nil {
				t.Fatal(err)
			}
			as, _ = Alerts(ctx, s, "lapas-a", now, DefaultAlertRules)
			if as[0].Ack == nil || as[0].Ack.Account != "siti" || as[0].Ack.Note != "power cut in block C" || as[4].Ack == nil || as[1].Ack != nil {
				t.Errorf("acknowledgements: %+v / %+v / %+v", as[0].Ack, as[4].Ack, as[1].Ack)
			}
			// b01 comes back and goes silent again: a new occurrence, not
			// acknowledged.
			hb("lapas-a/b01", now.Add(time.Minute), nil, nil, 0)
			as, _ = Alerts(ctx, s, "lapas-a", now.Add(time.Hour), DefaultAlertRules)
			if as[0].Kind != AlertOffline || as[0].Ack != nil {
				t.Errorf("the second outage: %+v", as[0])
			}
			// The outbox drains, then fills again: the undated ack lapsed.
			hb("lapas-a/b02", now, []string{"panel_open"}, []string{"tamper"}, 0)
			Alerts(ctx, s, "lapas-a", now, DefaultAlertRules)
			hb("lapas-a/b02", now, []string{"panel_open"}, []string{"tamper"}, 900)
			as, _ = Alerts(ctx, s, "lapas-a", now, DefaultAlertRules)
			for _, a := range as {
				if a.Kind == AlertOutboxGrowing && a.Ack != nil {
					t.Errorf("the outbox's acknowledgement outlived its condition: %+v", a.Ack)
				}
			}
			_ = fmt.Sprint
		})
	}
}
