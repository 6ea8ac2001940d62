package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"wartelsuspas/firmware/i18n"
)

// parseLogLine splits one line of log/slog's text handler
// (`time=… level=INFO msg="call ended" call=3 reason=quota`) into its
// fields. Values quoted by the handler are unquoted. It reports false for a
// line that is not key=value pairs (a panic trace, a truncated write).
func parseLogLine(line string) (map[string]string, bool) {
	f := map[string]string{}
	s := strings.TrimRight(line, "\r\n")
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			break
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || strings.ContainsAny(s[:eq], " \"") {
			return nil, false
		}
		key := s[:eq]
		s = s[eq+1:]
		var val string
		if strings.HasPrefix(s, `"`) {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, false
			}
			val, _ = strconv.Unquote(q) // QuotedPrefix vouched for it
			s = s[len(q):]
		} else {
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			val = s[:end]
			s = s[end:]
		}
		if s != "" && s[0] != ' ' {
			return nil, false
		}
		f[key] = val
	}
	if f["msg"] == "" {
		return nil, false
	}
	return f, true
}

// event is one line of a booth's recent events on the page.
type event struct {
	At   string `json:"at"`   // local time of day, 15:04:05
	Kind string `json:"kind"` // granted, talking, denied, ended, officer, …
	Text string `json:"text"` // in the page's language
}

// describe turns a daemon log line into an event for people, or reports
// false for lines the page leaves out (heartbeats, debug detail).
func describe(f map[string]string, cat *i18n.Catalogue, name func(person string) string) (event, bool) {
	ev := event{}
	if t, err := time.Parse(time.RFC3339Nano, f["time"]); err == nil {
		ev.At = t.Format("15:04:05")
	}
	call := func() int64 { n, _ := strconv.ParseInt(f["call"], 10, 64); return n }
	switch f["msg"] {
	case "booth ready":
		ev.Kind, ev.Text = "ready", cat.T("sim.ev.ready")
	case "booth stopped":
		ev.Kind, ev.Text = "stopped", cat.T("sim.ev.stopped")
	case "call granted":
		ev.Kind, ev.Text = "granted", cat.T("sim.ev.granted", call(), name(f["inmate"]), clockText(parseDur(f["max"])))
	case "talking":
		ev.Kind, ev.Text = "talking", cat.T("sim.ev.talking", call())
	case "tap denied":
		who := cat.T("sim.unknown_card")
		if f["inmate"] != "" {
			who = name(f["inmate"])
		}
		ev.Kind, ev.Text = "denied", cat.T("sim.ev.denied", who, cat.Denial(f["reason"]))
	case "call ended":
		ev.Kind, ev.Text = "ended", cat.T("sim.ev.ended", call(), cat.End(f["reason"]), clockText(parseMs(f["talked_ms"])), clockText(parseMs(f["charged_ms"])))
	case "handset not lifted in time: call cancelled, not charged":
		ev.Kind, ev.Text = "ended", cat.T("sim.ev.no_offhook", call())
	case "officer mode":
		ev.Kind, ev.Text = "officer_mode", cat.T("sim.ev.officer_mode", name(f["officer"]))
	case "officer mode left", "officer mode timed out":
		ev.Kind, ev.Text = "officer_mode", cat.T("sim.ev.officer_left")
	case "officer action":
		action := f["action"]
		if cat.Has("action." + action) {
			action = cat.Action(action)
		}
		ev.Kind, ev.Text = "officer", cat.T("sim.ev.officer", name(f["officer"]), action, name(f["inmate"]),
			clockText(parseDur(f["before"])), clockText(parseDur(f["after"])))
	case "fault cleared by an officer":
		ev.Kind, ev.Text = "officer", cat.T("sim.ev.fault_cleared", name(f["officer"]))
	case "panel opened: booth out of service until an officer card clears it":
		ev.Kind, ev.Text = "fault", cat.T("sim.ev.panel_open")
	case "panel closed; an officer card clears the tamper state":
		ev.Kind, ev.Text = "fault", cat.T("sim.ev.panel_closed")
	case "card reader down: no new calls; check the reader's cable":
		ev.Kind, ev.Text = "fault", cat.T("sim.ev.reader_down")
	case "card reader back":
		ev.Kind, ev.Text = "fault", cat.T("sim.ev.reader_up")
	default:
		// Warnings and errors are for people even when the page has no
		// words of its own for them: show the daemon's (English) message.
		if f["level"] != "WARN" && f["level"] != "ERROR" {
			return event{}, false
		}
		ev.Kind, ev.Text = "fault", f["msg"]
	}
	return ev, true
}

func parseDur(s string) time.Duration {
	d, _ := time.ParseDuration(s)
	return d
}

func parseMs(s string) time.Duration {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.Duration(n) * time.Millisecond
}

// clockText shows a duration as m:ss, as the page's time left does.
func clockText(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// maxEvents is how many recent events a booth's panel keeps.
const maxEvents = 12

// logTail follows a daemon's log file from an offset and keeps its recent
// events. The file only grows (the rig appends); a shorter file means it
// was replaced, and the tail starts over.
type logTail struct {
	path string
	cat  *i18n.Catalogue
	name func(string) string

	mu      sync.Mutex
	off     int64
	partial []byte
	events  []event
}

// newLogTail follows path from its current end: events of earlier runs
// are not this run's.
func newLogTail(path string, cat *i18n.Catalogue, name func(string) string) *logTail {
	t := &logTail{path: path, cat: cat, name: name}
	if fi, err := os.Stat(path); err == nil {
		t.off = fi.Size()
	}
	return t
}

// Events reads what was appended since the last call and returns the
// recent events, newest first.
func (t *logTail) Events() ([]event, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.read(); err != nil {
		return t.recent(), err
	}
	return t.recent(), nil
}

func (t *logTail) recent() []event {
	out := make([]event, len(t.events))
	for i, e := range t.events {
		out[len(t.events)-1-i] = e
	}
	return out
}

func (t *logTail) read() error {
	f, err := os.Open(t.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("booth log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("booth log: %w", err)
	}
	if fi.Size() < t.off {
		t.off, t.partial = 0, nil
	}
	if fi.Size() == t.off {
		return nil
	}
	b, err := io.ReadAll(io.NewSectionReader(f, t.off, fi.Size()-t.off))
	if err != nil {
		return fmt.Errorf("booth log %s: %w", t.path, err)
	}
	t.off += int64(len(b))
	b = append(t.partial, b...)
	last := bytes.LastIndexByte(b, '\n')
	t.partial = append([]byte(nil), b[last+1:]...) // an unfinished line waits
	for line := range strings.SplitSeq(string(b[:last+1]), "\n") {
		fields, ok := parseLogLine(line)
		if !ok {
			continue
		}
		if ev, ok := describe(fields, t.cat, t.name); ok {
			t.events = append(t.events, ev)
		}
	}
	if n := len(t.events); n > maxEvents {
		t.events = append([]event(nil), t.events[n-maxEvents:]...)
	}
	return nil
}
