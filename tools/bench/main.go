// Command bench measures the booth against its physical limits and prints
// one table: each figure beside its limit and the ratio. Each measured area
// registers a suite from its own file; `bench -only NAME` runs one.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
)

// Figure is one measured number beside its physical limit.
type Figure struct {
	Name  string // what was measured, e.g. "tap → present p99"
	Value string // the figure with its unit
	Limit string // the limit or goal it is compared with, with its unit
	Ratio string // Value/Limit, or a verdict when a ratio means nothing
	Note  string // how it was measured (runs, sample size)
}

// Report collects the figures of one suite.
type Report struct {
	suite   string
	figures []Figure
}

// Add records a figure.
func (r *Report) Add(f Figure) { r.figures = append(r.figures, f) }

type suite struct {
	name string
	run  func(*Report) error
}

var suites []suite

// register adds a suite; files call it from init.
func register(name string, run func(*Report) error) {
	suites = append(suites, suite{name: name, run: run})
}

func main() {
	only := flag.String("only", "", "run only the suites whose name contains this")
	flag.Parse()
	sort.Slice(suites, func(i, j int) bool { return suites[i].name < suites[j].name })
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "suite\tfigure\tvalue\tlimit\tratio\thow")
	failed := false
	for _, s := range suites {
		if *only != "" && !strings.Contains(s.name, *only) {
			continue
		}
		r := &Report{suite: s.name}
		if err := s.run(r); err != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %v\n", s.name, err)
			failed = true
		}
		for _, f := range r.figures {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.name, f.Name, f.Value, f.Limit, f.Ratio, f.Note)
		}
	}
	tw.Flush()
	if failed {
		os.Exit(1)
	}
}
