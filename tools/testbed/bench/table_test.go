package main

import (
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{5, 5, 1, 9, 7}, 5},
		{[]float64{-1, -3}, -2},
	} {
		in := slices.Clone(tc.in)
		if got := Median(in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("Median reordered its input: %v, was %v", in, tc.in)
		}
	}
	if got := Median(nil); !math.IsNaN(got) {
		t.Errorf("Median(nil) = %v, want NaN", got)
	}
}

// TestMedianProperties: the median splits the sample in halves and lies
// within its range, whatever the order.
func TestMedianProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		xs := rapid.SliceOfN(rapid.Float64Range(-1e9, 1e9), 1, 50).Draw(t, "xs")
		m := Median(xs)
		below, above := 0, 0
		for _, x := range xs {
			if x <= m {
				below++
			}
			if x >= m {
				above++
			}
		}
		if 2*below < len(xs) || 2*above < len(xs) {
			t.Fatalf("Median %v of %v: %d at or below, %d at or above", m, xs, below, above)
		}
		if m < slices.Min(xs) || m > slices.Max(xs) {
			t.Fatalf("Median %v outside [%v, %v]", m, slices.Min(xs), slices.Max(xs))
		}
		rev := slices.Clone(xs)
		slices.Reverse(rev)
		if Median(rev) != m {
			t.Fatalf("Median depends on order: %v vs %v", Median(rev), m)
		}
	})
}

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 … 1, unsorted
	}
	for _, tc := range []struct {
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{ms(5), 0.99, 5 * time.Millisecond},
		{ms(hundred...), 0.50, 50 * time.Millisecond},
		{ms(hundred...), 0.99, 99 * time.Millisecond},
		{ms(hundred...), 1, 100 * time.Millisecond},
		{ms(hundred...), 0, 1 * time.Millisecond},
		{ms(3, 1, 2), 0.5, 2 * time.Millisecond},
		{nil, 0.5, 0},
	} {
		if got := Percentile(tc.in, tc.q); got != tc.want {
			t.Errorf("Percentile(%d samples, %v) = %v, want %v", len(tc.in), tc.q, got, tc.want)
		}
	}
}

func TestMergeTakesMediansByName(t *testing.T) {
	runs := [][]Figure{
		{{Name: "a", Value: 10, Unit: "ms", Limit: 2, Note: "first"}, {Name: "b", Value: 1}},
		{{Name: "a", Value: 30, Unit: "ms", Limit: 4, Note: "second"}, {Name: "b", Value: 3}},
		{{Name: "b", Value: 2}, {Name: "a", Value: 20, Unit: "ms", Limit: 3}, {Name: "c", Value: 7}},
	}
	rows := Merge("s", runs)
	var names []string
	for _, r := range rows {
		names = append(names, r.Name)
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Fatalf("rows %v, want a, b, c in order of first appearance", names)
	}
	a := rows[0]
	if a.Value != 20 || a.Limit != 3 || a.Runs != 3 || a.Suite != "s" || a.Unit != "ms" || a.Note != "first" {
		t.Errorf("row a = %+v, want median value 20, median limit 3, 3 runs, suite s, the first run's unit and note", a)
	}
	if q, ok := a.Ratio(); !ok || math.Abs(q-20.0/3) > 1e-12 {
		t.Errorf("ratio of a = %v, %v; want 20/3", q, ok)
	}
	if rows[2].Runs != 1 || rows[2].Value != 7 {
		t.Errorf("row c = %+v, want one run of 7", rows[2])
	}
}

func TestRatioAndVerdict(t *testing.T) {
	for _, tc := range []struct {
		f       Figure
		ratio   string
		verdict string
	}{
		{Figure{Value: 5, Limit: 10}, "0.500", ""},
		{Figure{Value: 15, Limit: 10, Goal: Max}, "1.50", "MISSED"},
		{Figure{Value: 10, Limit: 10, Goal: Max}, "1.00", "met"},
		{Figure{Value: 0.5, Limit: 1, Goal: Min}, "0.500", "MISSED"},
		{Figure{Value: 21, Limit: 1, Goal: Min}, "21.0", "met"},
		{Figure{Value: 0, Goal: Max}, "-", "met"}, // goal 0, e.g. allocations
		{Figure{Value: 2, Goal: Max}, "-", "MISSED"},
		{Figure{Value: 3}, "-", ""},
	} {
		ratio := "-"
		if q, ok := tc.f.Ratio(); ok {
			ratio = Num(q)
		}
		if ratio != tc.ratio || tc.f.Verdict() != tc.verdict {
			t.Errorf("%+v: ratio %s, verdict %q; want %s, %q", tc.f, ratio, tc.f.Verdict(), tc.ratio, tc.verdict)
		}
	}
}

func TestNum(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{123456.7, "123457"},
		{150, "150"},
		{14.583, "14.6"},
		{4.396, "4.40"},
		{0.17553, "0.176"},
		{0.000842, "0.000842"},
		{-0.5, "-0.500"},
		{math.NaN(), "-"},
	} {
		if got := Num(tc.v); got != tc.want {
			t.Errorf("Num(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// TestNumNeverExponent: the table never shows 1e-05.
func TestNumNeverExponent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.Float64Range(-1e12, 1e12).Draw(t, "v")
		s := Num(v)
		if strings.ContainsAny(s, "eE") {
			t.Fatalf("Num(%v) = %q", v, s)
		}
	})
}

func TestMarkdown(t *testing.T) {
	rows := Merge("e2e", [][]Figure{{
		{Name: "tap → relay on p99", Value: 7.5, Unit: "ms", Limit: 15, LimitNote: "frame on the wire", Note: "200 taps | pty"},
		{Name: "resident set", Value: 30, Unit: "MiB", Limit: 25, LimitNote: "goal", Goal: Max},
		{Name: "ingest, PostgreSQL", Value: math.NaN(), Unit: "rec/s", Note: "not run"},
	}})
	tab := Table{Rows: rows, Runs: 3, Took: 95 * time.Second, Failures: []string{"gateway (run 1): no\nPostgreSQL"}}
	m := Machine{CPU: "AMD EPYC", Cores: 2, Memory: "23.5 GiB", Kernel: "6.18.44", Go: "go1.26.0", Load: "1.20 → 3.05"}
	md := tab.Markdown(m, time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC), "abc1234+dirty", "-out docs/benchmarks.md")
	for _, want := range []string{
		"# Benchmarks",
		"`go run ./tools/testbed/bench -out docs/benchmarks.md`",
		"- Date: 2026-11-29 09:00 UTC",
		"- Commit: abc1234+dirty",
		"- CPU: AMD EPYC, 2 cores",
		"- Memory: 23.5 GiB",
		"- Kernel: 6.18.44",
		"- Go: go1.26.0",
		"- Load average (1 min) at start → end: 1.20 → 3.05",
		"| suite | figure | value | limit | ratio | runs | how |",
		"| e2e | tap → relay on p99 | 7.50 ms | 15.0 ms (frame on the wire) | 0.500 | 1 | 200 taps \\| pty |",
		"| e2e | resident set | 30.0 MiB | 25.0 MiB (goal) | 1.20 MISSED | 1 |  |",
		"| e2e | ingest, PostgreSQL | - | - | - | 1 | not run |",
		"- gateway (run 1): no PostgreSQL",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	// Every table line has as many cells as the header.
	for _, l := range strings.Split(md, "\n") {
		if !strings.HasPrefix(l, "|") {
			continue
		}
		cells := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|") - 1
		if cells != len(header) {
			t.Errorf("line %q has %d cells, want %d", l, cells, len(header))
		}
	}
	text := tab.Text()
	if !strings.Contains(text, "FAILED: gateway") || !strings.Contains(text, "1.20 MISSED") {
		t.Errorf("text table lacks the failure or the verdict:\n%s", text)
	}
}

// TestRunSuites: each suite runs as often as asked (a slow one at most its
// cap), figures become medians, a failing suite stops and is listed, and a
// group's cleanup runs right after the group's last suite.
func TestRunSuites(t *testing.T) {
	progress = io.Discard
	defer func() { progress = os.Stderr }()
	var log []string
	calls := map[string]int{}
	fig := func(name string, values ...float64) func(*Report) error {
		return func(r *Report) error {
			v := values[calls[name]]
			calls[name]++
			log = append(log, name)
			r.Add(Figure{Name: "f", Value: v, Unit: "ms"})
			return nil
		}
	}
	atGroupEnd("e2e", func() { log = append(log, "e2e closed") })
	selected := []suite{
		{name: "a", run: fig("a", 5, 1, 3)},
		{name: "e2e-cut", maxRuns: 1, run: fig("e2e-cut", 7, 100, 100)},
		{name: "e2e-tap", run: fig("e2e-tap", 1, 2, 9)},
		{name: "fails", run: func(*Report) error { calls["fails"]++; return errors.New("no gateway") }},
		{name: "z", run: fig("z", 4, 4, 4)},
	}
	rows, failures := runSuites(selected, 3)
	want := []struct {
		suite string
		value float64
		runs  int
	}{{"a", 3, 3}, {"e2e-cut", 7, 1}, {"e2e-tap", 2, 3}, {"z", 4, 3}}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i, w := range want {
		if rows[i].Suite != w.suite || rows[i].Value != w.value || rows[i].Runs != w.runs {
			t.Errorf("row %d = %+v, want suite %s median %v of %d runs", i, rows[i], w.suite, w.value, w.runs)
		}
	}
	if len(failures) != 1 || !strings.Contains(failures[0], "fails (run 1): no gateway") || calls["fails"] != 1 {
		t.Errorf("failures %q after %d runs, want one, run once", failures, calls["fails"])
	}
	got := strings.Join(log, ",")
	if wantLog := "a,a,a,e2e-cut,e2e-tap,e2e-tap,e2e-tap,e2e closed,z,z,z"; got != wantLog {
		t.Errorf("order %s, want %s", got, wantLog)
	}
}

// TestKeepRows: `bench -only X -out FILE` replaces X's rows and keeps the
// other suites' rows of FILE, in suite order, saying which run they are of.
func TestKeepRows(t *testing.T) {
	m := Machine{CPU: "AMD EPYC", Cores: 2}
	old := Table{Rows: append(Merge("booth", [][]Figure{{{Name: "relay p99", Value: 1, Unit: "ms"}}}),
		append(Merge("country", [][]Figure{{{Name: "booths carried", Value: 100, Unit: "booths"}}}),
			Merge("store", [][]Figure{{{Name: "fsync", Value: 0.2, Unit: "ms"}}})...)...)}
	prev := old.Markdown(m, time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC), "abc1234", "")

	kept, from := KeepRows(prev, map[string]bool{"country": true})
	if len(kept) != 2 || from != "2026-11-29 09:00 UTC, commit abc1234" {
		t.Fatalf("KeepRows = %q, %q; want the booth and store rows of 2026-11-29 09:00 UTC, commit abc1234", kept, from)
	}
	now := Table{Rows: Merge("country", [][]Figure{{{Name: "booths carried", Value: 2000, Unit: "booths"}}}), Kept: kept, KeptFrom: from}
	md := now.Markdown(m, time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC), "def5678", "-only country")
	var rows []string
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "| ") && !strings.HasPrefix(l, "| suite") && !strings.HasPrefix(l, "| ---") {
			rows = append(rows, l)
		}
	}
	want := []string{
		"| booth | relay p99 | 1.00 ms | - | - | 1 |  |",
		"| country | booths carried | 2000 booths | - | - | 1 |  |",
		"| store | fsync | 0.200 ms | - | - | 1 |  |",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(md, "kept from the table of 2026-11-29 09:00 UTC, commit abc1234") {
		t.Errorf("the table does not say where the kept rows come from:\n%s", md)
	}
}

// A new run keeps what people wrote below the table, and -only takes
// several suites.
func TestKeptNotesAndSelection(t *testing.T) {
	old := "# Benchmarks\n\n| a | b |\n" + NotesHeading + " (ingest)\n\nprofiles say X\n"
	if got := KeptNotes(old); got != NotesHeading+" (ingest)\n\nprofiles say X\n" {
		t.Errorf("KeptNotes = %q", got)
	}
	if got := KeptNotes("# Benchmarks\n| a |\n"); got != "" {
		t.Errorf("KeptNotes of a file without notes = %q", got)
	}
	for _, tc := range []struct {
		name, only string
		want       bool
	}{{"gateway", "", true}, {"gateway", "gate", true}, {"store", "gateway,store", true}, {"uplink", "gateway, store", false}, {"decode", " decode ,", true}} {
		if got := selectedSuite(tc.name, tc.only); got != tc.want {
			t.Errorf("selectedSuite(%q, %q) = %v, want %v", tc.name, tc.only, got, tc.want)
		}
	}
}
