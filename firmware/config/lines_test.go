package config

import (
	"fmt"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestKeyLines(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want map[string]int
	}{
		{"tables", "a = 1\n[gpio]\n\nrelay = \"GPIO17\"\n[reader.pn532]\nreset = \"\"\n",
			map[string]int{"a": 1, "gpio": 2, "gpio.relay": 4, "reader": 5, "reader.pn532": 5, "reader.pn532.reset": 6}},
		{"dotted keys", "gpio.relay = \"x\"\n[policy]\nbilling.unit = 'second'\nhours . weekly . monday = []\n",
			map[string]int{"gpio": 1, "gpio.relay": 1, "policy.billing": 3, "policy.billing.unit": 3, "policy.hours.weekly.monday": 4}},
		{"quoted keys", "[policy.hours.exceptions]\n\"2026-12-25\" = []\n'2026-12-31' = [\"08:00-10:00\"]\n",
			map[string]int{"policy.hours.exceptions.2026-12-25": 2, "policy.hours.exceptions.2026-12-31[0]": 3}},
		{"inline tables", "booth = { debounce = \"1s\",\n settle = \"2s\" }\nreader = {\n  ascii = { tech = \"em\" } }\n",
			map[string]int{"booth": 1, "booth.debounce": 1, "booth.settle": 2, "reader": 3, "reader.ascii": 4, "reader.ascii.tech": 4}},
		{"arrays", "[policy.hours.weekly]\nmonday = [\n  \"08:00-11:30\",\n  # lunch\n  \"13:00-15:00\",\n]\n",
			map[string]int{"policy.hours.weekly.monday": 2, "policy.hours.weekly.monday[0]": 3, "policy.hours.weekly.monday[1]": 5}},
		{"arrays of tables", "[[session.warnings]]\nbefore = \"1m\"\n\n[[session.warnings]]\nsignal = \"x\"\nbefore = \"10s\"\n[store]\npath = \"/x\"\n",
			map[string]int{"session.warnings": 1, "session.warnings[0]": 1, "session.warnings[0].before": 2,
				"session.warnings[1]": 4, "session.warnings[1].signal": 5, "session.warnings[1].before": 6, "store.path": 8}},
		{"table under an array of tables", "[[a]]\nx = 1\n[a.b]\ny = 2\n[[a]]\n[a.b]\ny = 3\n[[a.c]]\nz = 4\n",
			map[string]int{"a[0].x": 2, "a[0].b": 3, "a[0].b.y": 4, "a[1]": 5, "a[1].b.y": 7, "a[1].c[0].z": 9}},
		{"inline tables in an array", "session.warnings = [\n {before = \"1m\", signal = \"a\"},\n {before = \"2m\"},\n]\n",
			map[string]int{"session.warnings[0].signal": 2, "session.warnings[1].before": 3}},
		{"CRLF", "[gpio]\r\nrelay = \"x\"\r\n", map[string]int{"gpio.relay": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scanLines([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("line of %q = %d, want %d (all: %v)", k, got[k], want, got)
				}
			}
		})
	}
}

func TestLookupFallsBackToTheEnclosingKey(t *testing.T) {
	l, err := scanLines([]byte("device = \"a/b\"\n\n[gateway]\nbundle = \"/x\"\n[policy.hours.weekly]\nmonday = [\"x\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{
		"gateway.url":                   3, // not written: its table's header
		"policy.hours.weekly.monday[0]": 6,
		"policy.hours.weekly.monday[5]": 6, // beyond the array: the key
		"store.path":                    0,
		"device":                        1,
	} {
		if got := l.lookup(key); got != want {
			t.Errorf("lookup(%q) = %d, want %d", key, got, want)
		}
	}
}

// TestKeyLinesProperty writes random documents in the three ways TOML can
// nest a key (a [table] header, a dotted key, an inline table), remembering
// the line of each key as it writes it, and checks scanLines finds the same.
func TestKeyLinesProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ident := rapid.StringMatching(`[a-z][a-z0-9_]{0,5}`)
		tables := rapid.SliceOfNDistinct(ident, 1, 4, func(s string) string { return s }).Draw(t, "tables")
		var b strings.Builder
		line := 1
		want := map[string]int{}
		emit := func(s string) {
			b.WriteString(s + "\n")
			line += strings.Count(s, "\n") + 1
		}
		// Top-level keys first (after a header they would belong to it).
		type tbl struct {
			name  string
			keys  []string
			style int
		}
		var ts []tbl
		for _, name := range tables {
			keys := rapid.SliceOfNDistinct(ident, 1, 4, func(s string) string { return s }).Draw(t, "keys")
			ts = append(ts, tbl{name, keys, rapid.IntRange(0, 2).Draw(t, "style")})
		}
		for _, tb := range ts {
			switch tb.style {
			case 1: // dotted keys at the top
				for _, k := range tb.keys {
					want[tb.name+"."+k] = line
					emit(fmt.Sprintf("%s.%s = %q", tb.name, k, k))
				}
			case 2: // an inline table, one key per line
				want[tb.name] = line
				emit(tb.name + " = {")
				for i, k := range tb.keys {
					want[tb.name+"."+k] = line
					sep := ","
					if i == len(tb.keys)-1 {
						sep = ""
					}

					b.WriteString(fmt.Sprintf("  %s = %q%s", k, k, sep))
					if i < len(tb.keys)-1 {
						b.WriteString("\n")
						line++
					}
				}
				emit("}")
			}
		}
		for _, tb := range ts {
			if tb.style != 0 {
				continue
			}
			want[tb.name] = line
			emit("[" + tb.name + "]")
			for _, k := range tb.keys {
				if rapid.Bool().Draw(t, "blank") {
					emit("")
				}
				want[tb.name+"."+k] = line
				emit(fmt.Sprintf("%s = %q", k, k))
			}
		}
		got, err := scanLines([]byte(b.String()))
		if err != nil {
			t.Fatalf("%v\n%s", err, b.String())
		}
		for k, l := range want {
			if got[k] != l {
				t.Fatalf("line of %q = %d, want %d\n%s", k, got[k], l, b.String())
			}
		}
	})
}
