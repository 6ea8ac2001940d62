package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"wartelsuspas/firmware/i18n"
	"wartelsuspas/tools/boothrig"
)

func TestParseLogLine(t *testing.T) {
	tests := []struct {
		line string
		want map[string]string // nil: not a log line
	}{
		{`time=2026-11-29T07:43:39.598Z level=INFO msg="call ended" part=session call=1 reason=shutdown talked_ms=4859`,
			map[string]string{"time": "2026-11-29T07:43:39.598Z", "level": "INFO", "msg": "call ended", "part": "session", "call": "1", "reason": "shutdown", "talked_ms": "4859"}},
		{`level=INFO msg=talking call=2 max=12s` + "\n", map[string]string{"level": "INFO", "msg": "talking", "call": "2", "max": "12s"}},
		{`msg="say \"hi\"=x" err=""`, map[string]string{"msg": `say "hi"=x`, "err": ""}},
		{`level=INFO msg=`, nil}, // no message
		{`panic: runtime error`, nil},
		{`goroutine 1 [running]:`, nil},
		{`msg="unterminated`, nil},
		{`msg="a"b=c`, nil},
		{`=x msg=y`, nil},
		{``, nil},
	}
	for _, tt := range tests {
		got, ok := parseLogLine(tt.line)
		if ok != (tt.want != nil) {
			t.Errorf("parseLogLine(%q) ok = %v, want %v (%v)", tt.line, ok, tt.want != nil, got)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("parseLogLine(%q)[%s] = %q, want %q", tt.line, k, got[k], v)
			}
		}
		if ok && len(got) != len(tt.want) {
			t.Errorf("parseLogLine(%q) = %v, want %v", tt.line, got, tt.want)
		}
	}
}

// TestParseLogLineRoundTrip checks the parser against what log/slog's text
// handler really writes, for any message and string attributes.
func TestParseLogLineRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		msg := rapid.StringN(1, 40, -1).Draw(t, "msg")
		keys := rapid.SliceOfDistinct(rapid.StringMatching(`[a-z_]{1,8}`), func(s string) string { return s }).Draw(t, "keys")
		want := map[string]string{"msg": msg, "level": "INFO"}
		var args []any
		for _, k := range keys {
			if k == "msg" || k == "level" || k == "time" {
				continue
			}
			v := rapid.String().Draw(t, "v")
			want[k] = v
			args = append(args, k, v)
		}
		var buf bytes.Buffer
		h := slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(g []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(g) == 0 {
				return slog.Attr{}
			}
			return a
		}})
		slog.New(h).Info(msg, args...)
		got, ok := parseLogLine(buf.String())
		if !ok {
			t.Fatalf("parseLogLine(%q) refused slog's own line", buf.String())
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("parseLogLine(%q)[%q] = %q, want %q", buf.String(), k, got[k], v)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("parseLogLine(%q) = %v, want %v", buf.String(), got, want)
		}
	})
}

func FuzzParseLogLine(f *testing.F) {
	f.Add(`time=2026-11-29T07:43:39.598Z level=INFO msg="call ended" call=1 reason=quota talked_ms=4859 charged_ms=4000`)
	f.Add(`level=INFO msg="tap denied" card=ab inmate="" reason=unknown_card`)
	f.Add(`msg="officer action" officer=PTG-0001 action=reset inmate=WBP-0001 before=28s after=40s`)
	f.Add(`msg="\u00e9\"x" k=`)
	cat := i18n.New("id")
	f.Fuzz(func(t *testing.T, line string) {
		fields, ok := parseLogLine(line)
		if !ok {
			return
		}
		if fields["msg"] == "" {
			t.Fatalf("parseLogLine(%q) accepted a line without a message", line)
		}
		// Whatever a line holds, describing it must not panic or leave a
		// catalogue key unresolved.
		if ev, ok := describe(fields, cat, func(s string) string { return s }); ok && strings.HasPrefix(ev.Text, "!sim.") {
			t.Fatalf("describe(%v) = %q: a missing catalogue key", fields, ev.Text)
		}
	})
}

func TestDescribe(t *testing.T) {
	name := personNamer(boothrig.DemoRoster)
	tests := []struct {
		lang   string
		line   string
		kind   string
		text   string // "": not shown
		notAny []string
	}{
		{"en", `time=2026-11-29T07:43:33.1Z level=INFO msg="call granted" call=1 card=bf inmate=WBP-0001 max=1m30s`, "granted", "Call 1 granted to Budi Santoso, up to 1:30", nil},
		{"id", `level=INFO msg="call granted" call=7 inmate=WBP-0002 max=12s`, "granted", "Panggilan 7 diizinkan untuk Siti Rahayu, paling lama 0:12", nil},
		{"en", `level=INFO msg="tap denied" card=ab inmate="" reason=unknown_card`, "denied", "Denied Unknown card: Card not registered", nil},
		{"id", `level=INFO msg="tap denied" card=ab inmate=WBP-0004 reason=blocked_card`, "denied", "Ditolak Joko Susilo: Kartu diblokir", nil},
		{"en", `level=INFO msg="call ended" call=3 reason=quota talked_ms=12040 charged_ms=12000`, "ended", "Call 3 ended: Minutes used up; talked 0:12, billed 0:12", nil},
		{"en", `level=INFO msg="officer action" officer=PTG-0001 action=reset inmate=WBP-0001 before=28s after=40s`, "officer", "Officer Pak Agus (petugas): quota reset for Budi Santoso (remaining 0:28 → 0:40)", nil},
		{"en", `level=INFO msg="officer mode" officer=PTG-0001`, "officer_mode", "Officer Pak Agus (petugas) at the booth", nil},
		{"en", `level=WARN msg="something odd" x=1`, "fault", "something odd", nil},
		{"en", `level=INFO msg="gateway time" offset=1ms`, "", "", nil},
	}
	for _, tt := range tests {
		f, ok := parseLogLine(tt.line)
		if !ok {
			t.Fatalf("parseLogLine(%q) refused", tt.line)
		}
		ev, shown := describe(f, i18n.New(tt.lang), name)
		if shown != (tt.text != "") || ev.Kind != tt.kind || ev.Text != tt.text {
			t.Errorf("describe(%s, %q) = %+v, %v; want kind %q text %q", tt.lang, tt.line, ev, shown, tt.kind, tt.text)
		}
	}
}

func TestClockText(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0:00"}, {-time.Second, "0:00"}, {12 * time.Second, "0:12"}, {90 * time.Second, "1:30"},
		{1499 * time.Millisecond, "0:01"}, {30 * time.Minute, "30:00"},
	}
	for _, tt := range tests {
		if got := clockText(tt.d); got != tt.want {
			t.Errorf("clockText(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestLogTail follows a log written in pieces, as a daemon appends it: an
// unfinished line waits for its end, earlier runs' lines are skipped, and
// only the last maxEvents are kept, newest first.
func TestLogTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kiosk.log")
	appendLog := func(s string) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	appendLog("level=INFO msg=\"booth ready\"\n") // an earlier run
	tail := newLogTail(path, i18n.New("en"), personNamer(boothrig.DemoRoster))
	if ev, err := tail.Events(); err != nil || len(ev) != 0 {
		t.Fatalf("Events() before anything new = %v, %v; want none", ev, err)
	}
	appendLog("level=INFO msg=talking call=1\nlevel=INFO msg=\"call en")
	ev, err := tail.Events()
	if err != nil || len(ev) != 1 || ev[0].Kind != "talking" {
		t.Fatalf("Events() = %v, %v; want the talking line only", ev, err)
	}
	appendLog("ded\" call=1 reason=hangup talked_ms=1000 charged_ms=1000\n")
	ev, _ = tail.Events()
	if len(ev) != 2 || ev[0].Kind != "ended" || ev[1].Kind != "talking" {
		t.Fatalf("Events() = %v; want ended then talking", ev)
	}
	for i := range maxEvents + 5 {
		appendLog("level=INFO msg=talking call=" + string(rune('0'+i%10)) + "\n")
	}
	ev, _ = tail.Events()
	if len(ev) != maxEvents {
		t.Fatalf("kept %d events, want %d", len(ev), maxEvents)
	}
	// A replaced (shorter) log starts over.
	if err := os.WriteFile(path, []byte("level=INFO msg=\"booth stopped\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ev, _ = tail.Events()
	if ev[0].Kind != "stopped" {
		t.Fatalf("after the log was replaced, newest event = %+v, want stopped", ev[0])
	}
}

// BenchmarkParseLogLine is the cost of reading one daemon log line: the
// page reads each booth's new lines four times a second.
func BenchmarkParseLogLine(b *testing.B) {
	line := `time=2026-11-29T07:43:39.598Z level=INFO msg="call ended" part=session call=1 card=bf498602 reason=shutdown talked_ms=4859 charged_ms=4000`
	cat := i18n.New("id")
	name := personNamer(boothrig.DemoRoster)
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		f, ok := parseLogLine(line)
		if !ok {
			b.Fatal("refused")
		}
		describe(f, cat, name)
	}
}
