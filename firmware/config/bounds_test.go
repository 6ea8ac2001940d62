package config

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// boundDoc is a file that sets key to value (TOML), and what else that key
// needs to be valid on its own.
func boundDoc(key, value string) string {
	switch key {
	case "session.warnings[N].before":
		return base + "[[session.warnings]]\nbefore = " + value + "\nsignal = \"warning_minute\"\n"
	case "session.warnings":
		n, _ := strconv.Atoi(value)
		var b strings.Builder
		b.WriteString(base)
		for i := range n {
			fmt.Fprintf(&b, "[[session.warnings]]\nbefore = \"%ds\"\nsignal = \"warning_minute\"\n", i+1)
		}
		return b.String()
	}
	table, name := key[:strings.LastIndexByte(key, '.')], key[strings.LastIndexByte(key, '.')+1:]
	extra := ""
	if key == "reader.retry_min" {
		extra = "retry_max = \"10m\"\n"
	}
	return base + "[" + table + "]\n" + name + " = " + value + "\n" + extra
}

// TestBounds: every bounded key accepts its bounds and refuses a value just
// outside them, on its line, saying what to write; the two cases
// among them.
func TestBounds(t *testing.T) {
	type tc struct {
		key, value string
		want       string // "" = accepted, else a substring of the problem
	}
	var tests []tc
	for key, b := range durationBounds {
		tests = append(tests,
			tc{key, strconv.Quote(short(b.hi)), ""},
			tc{key, strconv.Quote(short(b.hi + time.Millisecond)), fmt.Sprintf("write at most %q", short(b.hi))})
		if b.lo > 0 {
			tests = append(tests,
				tc{key, strconv.Quote(short(b.lo)), ""},
				tc{key, strconv.Quote(short(b.lo - time.Millisecond)), fmt.Sprintf("write at least %q", short(b.lo))})
		}
	}
	for key, b := range countBounds {
		tests = append(tests,
			tc{key, strconv.Itoa(b.hi), ""}, tc{key, strconv.Itoa(b.lo), ""},
			tc{key, strconv.Itoa(b.hi + 1), fmt.Sprintf("write at most %d", b.hi)})
		if key != "session.warnings" {
			tests = append(tests, tc{key, strconv.Itoa(b.lo - 1), fmt.Sprintf("write at least %d", b.lo)})
		}
	}
	slices.SortFunc(tests, func(a, b tc) int { return strings.Compare(a.key+a.value, b.key+b.value) })
	tests = append(tests,
		tc{"policy.officer_grant", `"87600h"`, `87600h is more than 4h (the most one officer tap may grant): write at most "4h"`},
		tc{"session.officer_rate_limit", "100000", "100000 is more than 60 (officer taps per window; more is no limit): write at most 60"},
		tc{"policy.allowance", `"24h"`, ""},
		tc{"policy.allowance", `"25h"`, `25h is more than the day period (24h) could ever use: write at most "24h"`},
		tc{"policy.per_call", `"0s"`, ""}, // 0: no cap, not bounded below
		tc{"policy.offline_cap", `"0s"`, ""},
		tc{"policy.untrusted_cap", `"10h"`, `write at most "4h"`},
	)
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			doc := boundDoc(tt.key, tt.value)
			_, err := Parse([]byte(doc), "k.toml")
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused:\n%s\n%v", doc, err)
				}
				return
			}
			key := strings.Replace(tt.key, "[N]", "[0]", 1)
			mark := tt.key[strings.LastIndexByte(tt.key, '.')+1:] + " = " + tt.value
			if key == "session.warnings" {
				key, mark = "session.warnings", "[[session.warnings]]"
			}
			want := "k.toml:" + strconv.Itoa(lineOf(t, doc, mark)) + ": " + key + ": "
			if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v\nwant one problem starting %q containing %q", err, want, tt.want)
			}
		})
	}
}

// TestAllowanceBoundedByPeriod: the longest allowance is the period's length.
func TestAllowanceBoundedByPeriod(t *testing.T) {
	for _, tt := range []struct {
		period, allowance string
		ok                bool
	}{{"day", "24h", true}, {"day", "24h1s", false}, {"week", "168h", true}, {"week", "169h", false},
		{"month", "744h", true}, {"month", "745h", false}} {
		_, err := Parse([]byte(base+"[policy]\nperiod = \""+tt.period+"\"\nallowance = \""+tt.allowance+"\"\n"), "k.toml")
		if (err == nil) != tt.ok {
			t.Errorf("period %s allowance %s: %v, want ok %v", tt.period, tt.allowance, err, tt.ok)
		}
	}
}

// TestUntrustedCap: without untrusted_cap (a file from before it existed)
// the clock-untrusted bound is offline_cap, as it was; set, it is its own.
func TestUntrustedCap(t *testing.T) {
	for _, tt := range []struct {
		name, policy string
		want         time.Duration
	}{
		{"default", "", 10 * time.Minute},
		{"old file: follows offline_cap", "offline_cap = \"5m\"\n", 5 * time.Minute},
		{"empty: follows offline_cap", "offline_cap = \"5m\"\nuntrusted_cap = \"\"\n", 5 * time.Minute},
		{"its own", "offline_cap = \"5m\"\nuntrusted_cap = \"2m\"\n", 2 * time.Minute},
		{"none", "untrusted_cap = \"0s\"\n", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(base+"[policy]\n"+tt.policy), "k.toml")
			if err != nil {
				t.Fatal(err)
			}
			if r, _ := c.Rules(); r.UntrustedCap != tt.want {
				t.Errorf("UntrustedCap = %v, want %v", r.UntrustedCap, tt.want)
			}
		})
	}
}

// TestBoundsDocumented: docs/config.md "Bounds" has a row for every bound,
// with its numbers.
func TestBoundsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for key, b := range durationBounds {
		lo := "—"
		if b.lo > 0 {
			lo = "`" + short(b.lo) + "`"
		}
		rows = append(rows, fmt.Sprintf("| `%s` | %s | `%s` |", key, lo, short(b.hi)))
	}
	for key, b := range countBounds {
		rows = append(rows, fmt.Sprintf("| `%s` | %d | %d |", key, b.lo, b.hi))
	}
	slices.Sort(rows)
	for _, r := range rows {
		if !strings.Contains(string(doc), r) {
			t.Errorf("docs/config.md has no row starting %s", r)
		}
	}
	if t.Failed() {
		t.Logf("rows:\n%s", strings.Join(rows, "\n"))
	}
}
