// Command bench measures the booth against its physical limits and prints
// one table: each figure is the median of several runs of its suite, beside
// its limit (a physical floor such as one fsync or a frame's time on the
// wire, or a goal) and the ratio of the two. With -out the same table is
// written as Markdown with the machine, the date and the commit, for
// docs/benchmarks.md.
//
// Each measured area registers a suite from its own file; `bench -only NAME`
// runs the suites whose name contains NAME.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// Figure is one measured number beside its limit, in the same unit.
type Figure struct {
	Name  string  // what was measured, e.g. "tap → relay on p99"
	Value float64 // in Unit
	Unit  string  // "ms", "rec/s", "MB", …
	// Limit is the physical limit or goal in Unit; 0: the figure has none.
	Limit float64
	// LimitNote says what the limit is, e.g. "frame on the wire".
	LimitNote string
	// Goal makes the limit a goal the value must meet: Max (value ≤ limit)
	// or Min (value ≥ limit). None: a physical reference, shown as a ratio.
	Goal Goal
	Note string // how it was measured (sample size, setup)
}

// Goal is how a figure's value must relate to its limit.
type Goal int

// The kinds of limit.
const (
	None Goal = iota // a physical reference: ratio only
	Max              // value must not exceed the limit
	Min              // value must reach the limit
)

// Report collects the figures of one run of a suite.
type Report struct {
	figures []Figure
}

// Add records a figure.
func (r *Report) Add(f Figure) { r.figures = append(r.figures, f) }

type suite struct {
	name string
	// maxRuns caps the runs of a slow suite; 0: the -runs flag.
	maxRuns int
	run     func(*Report) error
}

var suites []suite

// register adds a suite that runs -runs times; files call it from init.
func register(name string, run func(*Report) error) {
	suites = append(suites, suite{name: name, run: run})
}

// registerSlow adds a suite that runs at most maxRuns times, whatever
// -runs says: its own samples already make its figures (its notes say so).
func registerSlow(name string, maxRuns int, run func(*Report) error) {
	suites = append(suites, suite{name: name, maxRuns: maxRuns, run: run})
}

// exits are cleanups that run when the bench ends, last registered first.
var exits []func()

// atExit registers a cleanup for the end of the bench.
func atExit(f func()) { exits = append(exits, f) }

func runExits() {
	for i := len(exits) - 1; i >= 0; i-- {
		exits[i]()
	}
	exits = nil
}

// groupEnds are cleanups of a group of suites (the name before its first
// "-", e.g. "e2e"): they run once the group's last suite has run, so what
// the group shares (a rig of daemons) does not load the suites after it.
var groupEnds = map[string][]func(){}

// atGroupEnd registers a cleanup for the end of a group of suites.
func atGroupEnd(group string, f func()) { groupEnds[group] = append(groupEnds[group], f) }

func group(suite string) string {
	g, _, _ := strings.Cut(suite, "-")
	return g
}

func endGroup(g string) {
	fs := groupEnds[g]
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
	delete(groupEnds, g)
}

// exitCode is main's exit status, set where deferred profiles must still
// be written.
var exitCode int

func main() {
	run()
	os.Exit(exitCode)
}

func run() {
	only := flag.String("only", "", "run only the suites whose name contains this (several: comma-separated); with -out, the other suites' rows of the file are kept")
	runs := flag.Int("runs", 3, "runs of each suite; each figure is the median (slow suites run fewer, see their notes)")
	out := flag.String("out", "", "also write the table as Markdown to this file (e.g. docs/benchmarks.md)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	memProfile := flag.String("memprofile", "", "write an allocation profile of the whole run to this file at the end")
	flag.Parse()
	if *runs < 1 {
		fmt.Fprintln(os.Stderr, "bench: -runs must be at least 1")
		os.Exit(2)
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(2)
		}
		defer stop()
	}
	if *memProfile != "" {
		defer writeMemProfile(*memProfile)
	}
	sort.Slice(suites, func(i, j int) bool { return suites[i].name < suites[j].name })
	begin := time.Now()
	var selected []suite
	for _, s := range suites {
		if selectedSuite(s.name, *only) {
			selected = append(selected, s)
		}
	}
	loadBefore := LoadAverage()
	rows, failures := runSuites(selected, *runs)
	runExits()
	t := Table{Rows: rows, Failures: failures, Runs: *runs, Took: time.Since(begin)}
	fmt.Print(t.Text())
	if *out != "" {
		m, err := ReadMachine()
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: machine description incomplete: %v\n", err)
		}
		m.Load = loadBefore + " → " + LoadAverage()
		if *only != "" {
			// Only some suites ran: the others keep their rows.
			if prev, err := os.ReadFile(*out); err == nil {
				ran := map[string]bool{}
				for _, s := range selected {
					ran[s.name] = true
				}
				t.Kept, t.KeptFrom = KeepRows(string(prev), ran)
			}
		}
		md := t.Markdown(m, time.Now(), Commit(), strings.Join(os.Args[1:], " "))
		// What people wrote below the table (profiles, findings) stays.
		if old, err := os.ReadFile(*out); err == nil {
			md += KeptNotes(string(old))
		}
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "bench: write the table: %v\n", err)
			exitCode = 1
			return
		}
	}
	if len(failures) > 0 {
		exitCode = 1
	}
}

// progress receives a line as each run starts and ends.
var progress io.Writer = os.Stderr

// runSuites runs each suite runs times (fewer for a slow one) and merges
// its figures; a suite that fails stops after that run and is listed in
// failures. A group's cleanups run after its last suite.
func runSuites(selected []suite, runs int) (rows []Row, failures []string) {
	for i, s := range selected {
		n := runs
		if s.maxRuns > 0 {
			n = min(n, s.maxRuns)
		}
		var reports [][]Figure
		for run := 1; run <= n; run++ {
			fmt.Fprintf(progress, "bench: %s, run %d of %d\n", s.name, run, n)
			r := &Report{}
			t := time.Now()
			err := s.run(r)
			fmt.Fprintf(progress, "bench: %s, run %d took %v\n", s.name, run, time.Since(t).Round(time.Millisecond))
			if err != nil {
				failures = append(failures, fmt.Sprintf("%s (run %d): %v", s.name, run, err))
				fmt.Fprintf(progress, "bench: %s failed: %v\n", s.name, err)
				// Keep what it measured; its later runs would only
				// repeat the failure.
				reports = append(reports, r.figures)
				break
			}
			reports = append(reports, r.figures)
		}
		rows = append(rows, Merge(s.name, reports)...)
		if i+1 == len(selected) || group(selected[i+1].name) != group(s.name) {
			endGroup(group(s.name))
		}
	}
	return rows, failures
}

// selectedSuite reports whether -only (comma-separated parts; "" for all)
// selects the suite called name.
func selectedSuite(name, only string) bool {
	if only == "" {
		return true
	}
	for part := range strings.SplitSeq(only, ",") {
		if part = strings.TrimSpace(part); part != "" && strings.Contains(name, part) {
			return true
		}
	}
	return false
}
