package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Row is one figure of the table: the median of its runs.
type Row struct {
	Suite string
	Figure
	Runs int // how many runs the medians are of
}

// Merge turns the runs of one suite into rows: one per figure name, in the
// order of first appearance, with the median value and the median limit (a
// limit such as one fsync is measured in each run as well).
func Merge(suite string, runs [][]Figure) []Row {
	var order []string
	byName := map[string][]Figure{}
	for _, run := range runs {
		for _, f := range run {
			if _, ok := byName[f.Name]; !ok {
				order = append(order, f.Name)
			}
			byName[f.Name] = append(byName[f.Name], f)
		}
	}
	rows := make([]Row, 0, len(order))
	for _, name := range order {
		fs := byName[name]
		vals := make([]float64, len(fs))
		lims := make([]float64, len(fs))
		for i, f := range fs {
			vals[i], lims[i] = f.Value, f.Limit
		}
		f := fs[0]
		f.Value, f.Limit = Median(vals), Median(lims)
		rows = append(rows, Row{Suite: suite, Figure: f, Runs: len(fs)})
	}
	return rows
}

// Median is the middle of xs (the mean of the two middle ones for an even
// count); NaN for none. xs is not changed.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// Percentile is the q-quantile (0 ≤ q ≤ 1) of ds by the nearest-rank
// method: the smallest sample with at least q of the samples at or below it.
func Percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(q * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// Ms is d in milliseconds, the unit of every latency figure.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Ratio is Value/Limit, false when the figure has no limit.
func (f Figure) Ratio() (float64, bool) {
	if f.Limit == 0 || math.IsNaN(f.Limit) {
		return 0, false
	}
	return f.Value / f.Limit, true
}

// Verdict says whether a goal is met: "met", "MISSED", or "" when the
// limit is no goal.
func (f Figure) Verdict() string {
	switch f.Goal {
	case Max:
		if f.Value <= f.Limit {
			return "met"
		}
		return "MISSED"
	case Min:
		if f.Value >= f.Limit {
			return "met"
		}
		return "MISSED"
	}
	return ""
}

// Num formats a figure's number with about three significant digits and
// never with an exponent: 12345, 123, 12.3, 1.23, 0.123, 0.00123.
func Num(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "-"
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	decimals := 2 - int(math.Floor(math.Log10(a)))
	return fmt.Sprintf("%.*f", decimals, v)
}

// cells is a row as the table shows it.
func (r Row) cells() []string {
	value := Num(r.Value) + " " + r.Unit
	if math.IsNaN(r.Value) {
		value = "-" // not measured; the note says why
	}
	limit, ratio := "-", "-"
	if q, ok := r.Ratio(); ok {
		limit = Num(r.Limit) + " " + r.Unit
		ratio = Num(q)
	}
	if v := r.Verdict(); v != "" {
		if ratio == "-" {
			ratio = v
		} else {
			ratio += " " + v
		}
	}
	if r.LimitNote != "" {
		if limit == "-" {
			limit = r.LimitNote
		} else {
			limit += " (" + r.LimitNote + ")"
		}
	}
	return []string{r.Suite, r.Name, value, limit, ratio, fmt.Sprint(r.Runs), r.Note}
}

var header = []string{"suite", "figure", "value", "limit", "ratio", "runs", "how"}

// Table is the whole result.
type Table struct {
	Rows     []Row
	Failures []string
	Runs     int           // the -runs asked for
	Took     time.Duration // the whole run
	// Kept are table lines of suites this run did not run (-only), taken
	// from the previous table (KeepRows), and KeptFrom says which run
	// they are of; Markdown puts them in suite order among the new rows.
	Kept     []string
	KeptFrom string
}

// KeepRows returns the table lines of previous (a docs/benchmarks.md as
// Markdown writes it) whose suite is not in ran, and the date and commit of
// that table, so that `bench -only X -out FILE` replaces X's rows and keeps
// the rest.
func KeepRows(previous string, ran map[string]bool) (lines []string, from string) {
	var date, commit string
	for _, l := range strings.Split(previous, "\n") {
		if v, ok := strings.CutPrefix(l, "- Date: "); ok {
			date = v
		}
		if v, ok := strings.CutPrefix(l, "- Commit: "); ok {
			commit = v
		}
		if !strings.HasPrefix(l, "| ") || strings.HasPrefix(l, "| "+header[0]+" |") || strings.HasPrefix(l, "| --- |") {
			continue
		}
		suite, _, _ := strings.Cut(strings.TrimPrefix(l, "| "), " |")
		if !ran[suite] {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return nil, ""
	}
	return lines, date + ", commit " + commit
}

// Text renders the table for a terminal.
func (t Table) Text() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range t.Rows {
		fmt.Fprintln(tw, strings.Join(r.cells(), "\t"))
	}
	tw.Flush()
	for _, f := range t.Failures {
		fmt.Fprintf(&b, "FAILED: %s\n", f)
	}
	fmt.Fprintf(&b, "(%d figures, median of up to %d runs, in %v)\n", len(t.Rows), t.Runs, t.Took.Round(time.Second))
	return b.String()
}

// Markdown renders the table as docs/benchmarks.md: what ran where, then
// one Markdown table.
func (t Table) Markdown(m Machine, at time.Time, commit, args string) string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Generated by `make bench` (`go run ./tools/testbed/bench")
	if args != "" {
		b.WriteString(" " + args)
	}
	b.WriteString("`); do not edit by hand.\n")
	b.WriteString("Each figure is the median of its runs (column *runs*); the ratio is value / limit. ")
	b.WriteString("A limit is a physical reference measured on the same machine (one fsync, the raw insert rate, a frame's time on the wire) ")
	b.WriteString("or a goal (marked met / MISSED).\n\n")
	fmt.Fprintf(&b, "- Date: %s\n", at.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Commit: %s\n", orDash(commit))
	fmt.Fprintf(&b, "- CPU: %s, %d cores\n", orDash(m.CPU), m.Cores)
	fmt.Fprintf(&b, "- Memory: %s\n", orDash(m.Memory))
	fmt.Fprintf(&b, "- Kernel: %s\n", orDash(m.Kernel))
	fmt.Fprintf(&b, "- Go: %s\n", orDash(m.Go))
	fmt.Fprintf(&b, "- Load average (1 min) at start → end: %s (the machine is shared: other work shows in the p99s)\n", orDash(m.Load))
	fmt.Fprintf(&b, "- Whole run: %v\n", t.Took.Round(time.Second))
	if len(t.Kept) > 0 {
		fmt.Fprintf(&b, "- Rows of the suites this run did not run (`-only`) are kept from the table of %s\n", t.KeptFrom)
	}
	b.WriteString("\n| " + strings.Join(header, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", len(header)) + "\n")
	type line struct{ suite, text string }
	var lines []line
	for _, r := range t.Rows {
		c := r.cells()
		for i := range c {
			c[i] = mdCell(c[i])
		}
		lines = append(lines, line{r.Suite, "| " + strings.Join(c, " | ") + " |"})
	}
	for _, l := range t.Kept {
		suite, _, _ := strings.Cut(strings.TrimPrefix(l, "| "), " |")
		lines = append(lines, line{suite, l})
	}
	slices.SortStableFunc(lines, func(a, b line) int { return strings.Compare(a.suite, b.suite) })
	for _, l := range lines {
		b.WriteString(l.text + "\n")
	}
	if len(t.Failures) > 0 {
		b.WriteString("\nFailed suites (their figures are missing or partial):\n\n")
		for _, f := range t.Failures {
			b.WriteString("- " + strings.ReplaceAll(f, "\n", " ") + "\n")
		}
	}
	return b.String()
}

// mdCell escapes what would break a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// NotesHeading starts the part of the benchmark file written by people
// (where the time goes, what the profiles showed), which a new run keeps
// below its table.
const NotesHeading = "\n## Notes"

// KeptNotes returns the people's part of an earlier benchmark file, from
// NotesHeading on ("" when it has none).
func KeptNotes(old string) string {
	i := strings.Index(old, NotesHeading)
	if i < 0 {
		return ""
	}
	return old[i:]
}
