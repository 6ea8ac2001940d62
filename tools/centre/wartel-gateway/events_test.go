package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
)

// TestEventsCLI: after a booth uploads an event record of every kind (and
// one forged with escape codes and a newline), and the gateway raises a
// centre event, `wartel-gateway events` lists them all, oldest first, one
// line each with its label, the booth's text made inert; -device and
// -since select; a bad -since is refused with what to write; the metrics
// counted each kind.
func TestEventsCLI(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	mustGW(t, "init", "-state", state)
	for _, b := range []string{"b01", "b02"} {
		mustGW(t, "enroll", "-state", state, "-facility", "lapas-uji", "-booth", b, "-out", filepath.Join(dir, b))
	}
	mustGW(t, "enroll", "-state", state, "-facility", "lapas-uji2", "-booth", "b01", "-out", filepath.Join(dir, "other"))
	g := serve(t, "-state", state)
	b1, b2, other := newBooth(t, filepath.Join(dir, "b01")), newBooth(t, filepath.Join(dir, "b02")), newBooth(t, filepath.Join(dir, "other"))

	boothAt := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	var recs []record.Record
	recs = append(recs, b1.call("em:0400D8B2A5", "w1", "2026-11-29", boothAt, time.Minute))
	for _, k := range record.AllEvents {
		recs = append(recs, b1.next(record.KindEvent, record.Event{At: boothAt, Event: k, Detail: "detail of " + string(k), ClockTrusted: true}))
	}
	const forged = "\x1b[2J\nlapas-uji/b09  online"
	recs = append(recs, b1.next(record.KindEvent, record.Event{At: boothAt, Event: forged, Detail: "a\nb\x1b[31m"}))
	var res protocol.UploadResponse
	b1.must(g, protocol.PathUpload, protocol.UploadRequest{Records: recs}, &res)
	b2.must(g, protocol.PathUpload, protocol.UploadRequest{Records: []record.Record{b2.next(record.KindEvent, record.Event{At: boothAt, Event: record.EventRelayFault})}}, &res)
	other.must(g, protocol.PathUpload, protocol.UploadRequest{Records: []record.Record{other.next(record.KindEvent, record.Event{At: boothAt, Event: record.EventTamper})}}, &res)

	// The gateway's own notice, as the chain and heartbeat checks raise it.
	s, err := ledger.OpenSQLite(filepath.Join(state, "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ledger.AllCentreEventKinds {
		if err := s.RaiseEvent(context.Background(), ledger.CentreEvent{Device: "lapas-uji/b02", Kind: k, Detail: "seen by the gateway", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	out := mustGW(t, "events", "-state", state, "-facility", "lapas-uji")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if want := 1 + len(record.AllEvents) + 1 + 1 + len(ledger.AllCentreEventKinds); len(lines) != want {
		t.Fatalf("events: %d lines, want %d (header, one per event):\n%s", len(lines), want, out)
	}
	if strings.ContainsAny(out, "\x1b\r") || strings.Contains(out, "lapas-uji2") || regexp.MustCompile(`(?m)^lapas-uji/b09`).MatchString(out) {
		t.Errorf("events output carries raw booth text or another facility:\n%q", out)
	}
	for i, k := range record.AllEvents {
		label, _ := ledger.EventLabel(ledger.SourceBooth, string(k))
		re := regexp.MustCompile(`booth\s+lapas-uji/b01\s+` + strconv.Itoa(i+2) + `\s+2026-11-29T08:00:00Z\s+` + regexp.QuoteMeta(string(k)) + `\s+` + regexp.QuoteMeta(label) + `\s+detail of ` + regexp.QuoteMeta(string(k)))
		if !re.MatchString(lines[1+i]) {
			t.Errorf("line %d: %q, want %s", 1+i, lines[1+i], re)
		}
	}
	if l := lines[1+len(record.AllEvents)]; !strings.Contains(l, `\x1b[2J\nlapas-uji/b09`) || !strings.Contains(l, "unknown event") || !strings.Contains(l, `a\nb\x1b[31m`) {
		t.Errorf("forged event listed as %q, want it escaped and marked unknown", l)
	}
	for _, k := range ledger.AllCentreEventKinds {
		label, _ := ledger.EventLabel(ledger.SourceCentre, string(k))
		if !regexp.MustCompile(`centre\s+lapas-uji/b02\s+-\s+-\s+` + string(k) + `\s+` + regexp.QuoteMeta(label) + `\s+seen by the gateway`).MatchString(out) {
			t.Errorf("centre event %s not listed:\n%s", k, out)
		}
	}

	out = mustGW(t, "events", "-state", state, "-facility", "lapas-uji", "-device", "b02", "-since", "1h")
	if n := strings.Count(out, "\n"); n != 2+len(ledger.AllCentreEventKinds) || !strings.Contains(out, "relay_fault") || strings.Contains(out, "lapas-uji/b01") {
		t.Errorf("events of b02 in the last hour:\n%s", out)
	}
	future := time.Now().Add(time.Hour).Format(time.RFC3339)
	if out := mustGW(t, "events", "-state", state, "-facility", "lapas-uji", "-since", future); strings.Count(out, "\n") != 1 {
		t.Errorf("events since %s:\n%s\nwant the header only", future, out)
	}
	for _, bad := range []string{"yesterday", "-24h", "2026-11-29"} {
		_, errOut, err := gw(t, "events", "-state", state, "-facility", "lapas-uji", "-since", bad)
		if err == nil || !strings.Contains(errOut, "RFC 3339") || !strings.Contains(errOut, "24h") {
			t.Errorf("-since %s: %v %q, want an error saying what to write", bad, err, errOut)
		}
	}

	resp, err := http.Get("http://" + g.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, k := range record.AllEvents {
		want := `wartel_events_total{kind="` + string(k) + `",source="booth"} `
		n := "1"
		if k == record.EventRelayFault || k == record.EventTamper {
			n = "2" // b02's relay fault, the other facility's tamper
		}
		if !bytes.Contains(metrics, []byte(want+n+"\n")) {
			t.Errorf("metrics lack %s%s", want, n)
		}
	}
	if !bytes.Contains(metrics, []byte(`wartel_events_total{kind="unknown",source="booth"} 1`+"\n")) {
		t.Error("the forged event word is not counted as unknown")
	}
	g.stop(t)
}
