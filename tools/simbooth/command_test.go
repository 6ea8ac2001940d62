package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"wartelsuspas/drivers/rfid"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line string
		want command
		err  string
	}{
		{line: "", want: command{}},
		{line: "tap budi", want: command{verb: "tap", card: "em:0400D8B2A5"}},
		{line: "TAP Joko", want: command{verb: "tap", card: "em:0BADC0FFEE"}},
		{line: "tap em:DEADBEEF01", want: command{verb: "tap", card: "em:DEADBEEF01"}},
		{line: "tap", err: "usage: tap"},
		{line: "tap nobody", err: "neither a demo name"},
		{line: "hold siti 2s", want: command{verb: "hold", card: "em:0C000621A5", hold: 2 * time.Second}},
		{line: "hold siti", err: "usage: hold"},
		{line: "hold siti forever", err: "want a duration"},
		{line: "hold siti -1s", err: "want a duration"},
		{line: "hold siti 6m", err: "want a duration"},
		{line: "lift", want: command{verb: "lift"}},
		{line: "hang up", err: "no arguments"},
		{line: "tamper open", want: command{verb: "tamper", open: true}},
		{line: "tamper close", want: command{verb: "tamper"}},
		{line: "tamper ajar", err: "usage: tamper"},
		{line: "records", want: command{verb: "records", n: 10}},
		{line: "records 3", want: command{verb: "records", n: 3}},
		{line: "records 0", err: "at least 1"},
		{line: "records 1 2", err: "usage: records"},
		{line: "exit", want: command{verb: "quit"}},
		{line: "dial 123", err: `unknown command "dial"`},
	} {
		got, err := parseCommand(tc.line)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseCommand(%q) error %v, want one with %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseCommand(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
}

// FuzzParseCommand: any line is either a well-formed command or an error,
// never a panic, and a command's fields fit its verb.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"tap budi", "hold em:0400D8B2A5 2s", "tamper open", "records 5", "quit", "\x00 \t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := parseCommand(line)
		if err != nil {
			if c != (command{}) {
				t.Fatalf("%q: error %v with a command %+v", line, err, c)
			}
			return
		}
		switch c.verb {
		case "tap", "hold":
			if c.card == "" {
				t.Fatalf("%q: %s without a card", line, c.verb)
			}
			if c.verb == "hold" && (c.hold <= 0 || c.hold > maxHold) {
				t.Fatalf("%q: hold %s out of bounds", line, c.hold)
			}
		case "records":
			if c.n < 1 {
				t.Fatalf("%q: records %d", line, c.n)
			}
		case "", "lift", "hang", "tamper", "unplug", "replug", "status", "help", "quit":
		default:
			t.Fatalf("%q: unexpected verb %q", line, c.verb)
		}
	})
}

var verb = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z]`)

// TestCatalogue: every message exists in every language with the same
// arguments, so a -lang id console never prints %!v(MISSING).
func TestCatalogue(t *testing.T) {
	for lang, m := range catalogue {
		for key, en := range catalogue["en"] {
			f, ok := m[key]
			if !ok {
				t.Errorf("%s: message %q missing", lang, key)
				continue
			}
			if a, b := verb.FindAllString(en, -1), verb.FindAllString(f, -1); fmt.Sprint(a) != fmt.Sprint(b) {
				t.Errorf("%s: message %q has verbs %v, English %v", lang, key, b, a)
			}
		}
		if len(m) != len(catalogue["en"]) {
			t.Errorf("%s has %d messages, English %d", lang, len(m), len(catalogue["en"]))
		}
	}
}

// TestDemoRoster: names and cards are unique and valid, one officer, one
// blocked card, inmates in two blocks, as the console and docs promise.
func TestDemoRoster(t *testing.T) {
	names, cards, blocks := map[string]bool{}, map[string]bool{}, map[string]bool{}
	officers, blocked := 0, 0
	for _, p := range demoRoster {
		if names[p.short] || cards[p.info.Card] {
			t.Errorf("duplicate %s / %s", p.short, p.info.Card)
		}
		names[p.short], cards[p.info.Card] = true, true
		if !rfid.CardID(p.info.Card).Valid() {
			t.Errorf("%s: card %q is not valid", p.short, p.info.Card)
		}
		if c, ok := cardOf(p.short); !ok || c != p.info.Card {
			t.Errorf("cardOf(%q) = %q, %v", p.short, c, ok)
		}
		switch {
		case p.info.Role == "officer":
			officers++
		case p.info.Blocked:
			blocked++
		default:
			blocks[p.info.Block] = true
		}
	}
	if officers != 1 || blocked != 1 || len(blocks) != 2 || len(demoRoster) != 5 {
		t.Errorf("roster has %d officers, %d blocked, blocks %v", officers, blocked, blocks)
	}
	for _, fast := range []bool{true, false} {
		if _, err := demoRules(fast); err != nil {
			t.Errorf("demoRules(%v): %v", fast, err)
		}
	}
}
