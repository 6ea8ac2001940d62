package ledger

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// TestEvents: a facility's event log lists its booths' event records
// (decoded, with device, seq, booth time and receipt time) and its centre
// events, oldest first by the gateway's clock; not another facility's, even
// one whose name starts alike; by device and since when asked.
func TestEvents(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			clock := t0
			s.(*sqlStore).now = func() time.Time { return clock }
			ingest := func(b *booth, recs ...record.Record) {
				t.Helper()
				if _, err := s.Ingest(ctx, b.device, recs); err != nil {
					t.Fatal(err)
				}
			}
			b1, b2 := &booth{device: "lp/b01"}, &booth{device: "lp/b02"}
			ingest(b1, b1.call("W-1", "2026-11-29", time.Minute), b1.add(record.KindEvent, record.Event{At: t0.Add(-time.Hour), Event: record.EventTamper, Detail: "panel opened", ClockTrusted: true}))
			clock = t0.Add(time.Minute)
			ingest(b2, b2.event(record.EventRelayFault))
			clock = t0.Add(2 * time.Minute)
			if err := s.RaiseEvent(ctx, CentreEvent{Device: "lp/b02", Kind: EventStoreReplaced, Detail: "old chain stored up to #1", At: clock}); err != nil {
				t.Fatal(err)
			}
			clock = t0.Add(3 * time.Minute)
			edited := b1.event(record.EventReaderDown)
			edited.Payload = []byte(`{"at":"2026-11-29T09:00:00Z","event":"reader_up","clock_trusted":false}`)
			ingest(b1, edited)
			for _, other := range []string{"lp-x/b01", "lp2/b01", "lp.a/b01", "l/b01"} { // facilities named alike
				o := &booth{device: other}
				ingest(o, o.event(record.EventTamper))
				if err := s.RaiseEvent(ctx, CentreEvent{Device: other, Kind: EventCloneSuspected, At: clock}); err != nil {
					t.Fatal(err)
				}
			}

			got, err := s.Events(ctx, EventQuery{Facility: "lp"})
			if err != nil {
				t.Fatal(err)
			}
			type row struct {
				src    EventSource
				device string
				seq    uint64
				kind   string
				at     time.Duration
			}
			var rows []row
			for _, e := range got {
				rows = append(rows, row{e.Source, e.Device, e.Seq, e.Kind, e.At.Sub(t0)})
			}
			want := []row{
				{SourceBooth, "lp/b01", 2, "tamper", 0},
				{SourceBooth, "lp/b02", 1, "relay_fault", time.Minute},
				{SourceCentre, "lp/b02", 0, string(EventStoreReplaced), 2 * time.Minute},
				{SourceBooth, "lp/b01", 3, "reader_up", 3 * time.Minute},
			}
			if !slices.Equal(rows, want) {
				t.Fatalf("events of lp\n got %+v\nwant %+v", rows, want)
			}
			if e := got[0]; e.Detail != "panel opened" || !e.BoothAt.Equal(t0.Add(-time.Hour)) || !e.ClockTrusted || e.Problem != "" {
				t.Errorf("tamper entry %+v, want the booth's detail, time and clock trust", e)
			}
			if e := got[2]; e.Detail != "old chain stored up to #1" {
				t.Errorf("centre entry %+v", e)
			}
			if e := got[3]; !strings.Contains(e.Problem, "hash") {
				t.Errorf("edited record listed as %+v, want its problem said", e)
			}

			got, err = s.Events(ctx, EventQuery{Facility: "lp", Device: "lp/b02", Since: t0.Add(time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].Kind != "relay_fault" || got[1].Kind != string(EventStoreReplaced) {
				t.Errorf("events of lp/b02 since t0+1m: %+v, want relay_fault and store_replaced", got)
			}
			got, err = s.Events(ctx, EventQuery{Facility: "lp", Since: t0.Add(150 * time.Second)})
			if err != nil || len(got) != 1 || got[0].Seq != 3 {
				t.Errorf("events of lp since t0+2m30s: %+v, %v; want only the reader event", got, err)
			}
			if _, err := s.Events(ctx, EventQuery{Facility: "lp", Device: "lp2/b01"}); err == nil {
				t.Error("a device of another facility was accepted")
			}
			if _, err := s.Events(ctx, EventQuery{}); err == nil {
				t.Error("no facility accepted")
			}
		})
	}
}

// TestEventLabels: every booth event word and every centre event kind has
// its label in the listing.
func TestEventLabels(t *testing.T) {
	for _, k := range record.AllEvents {
		if l, ok := EventLabel(SourceBooth, string(k)); !ok || l == "" {
			t.Errorf("booth event %q has no label", k)
		}
	}
	for _, k := range AllCentreEventKinds {
		if l, ok := EventLabel(SourceCentre, string(k)); !ok || l == "" {
			t.Errorf("centre event %q has no label", k)
		}
	}
	if _, ok := EventLabel(SourceBooth, "made_up"); ok {
		t.Error("an unknown booth event has a label")
	}
	if len(boothEventLabels) != len(record.AllEvents) || len(centreEventLabels) != len(AllCentreEventKinds) {
		t.Error("a label for a kind no All list names")
	}
}

// TestObserveCentreEvents: an observer hears of each centre event once it
// is committed, and never of one whose transaction rolled back.
func TestObserveCentreEvents(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			var heard []string
			s.ObserveCentreEvents(func(e CentreEvent) { heard = append(heard, string(e.Kind)+" "+e.Device) })
			if err := s.RaiseEvent(ctx, CentreEvent{Device: "lp/b01", Kind: EventCloneSuspected, At: t0}); err != nil {
				t.Fatal(err)
			}
			ss := s.(*sqlStore)
			boom := errors.New("boom")
			for i, fail := range []bool{true, false} {
				err := ss.tx(ctx, nil, func(tx *sql.Tx) error {
					if err := ss.raiseEvent(ctx, tx, CentreEvent{Device: fmt.Sprintf("lp/b0%d", i+2), Kind: EventStoreReplaced, At: t0}); err != nil {
						return err
					}
					if len(heard) != 1 {
						t.Errorf("heard %q before the commit", heard)
					}
					if fail {
						return boom
					}
					return nil
				})
				if fail != (err != nil) {
					t.Fatalf("tx %d: %v", i, err)
				}
			}
			if want := []string{"clone_suspected lp/b01", "store_replaced lp/b03"}; !slices.Equal(heard, want) {
				t.Errorf("heard %q, want %q (the rolled-back lp/b02 not)", heard, want)
			}
		})
	}
}
