package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// One run: the Go benchmarks of every package take over a minute, and
// each result is already the mean of its b.N iterations.
func init() { registerSlow("go-bench", 1, benchGoTest) }

// GoBench is one result line of `go test -bench`.
type GoBench struct {
	Pkg  string // import path, from the "pkg:" line before it
	Name string // without the -GOMAXPROCS suffix
	N    int
	// Metrics by unit: "ns/op", "B/op", "allocs/op", and any the
	// benchmark reports itself (b.ReportMetric, b.SetBytes' "MB/s").
	Metrics map[string]float64
	Units   []string // the metrics' units in the line's order
}

// ParseGoBench reads the output of `go test -bench` (several packages)
// and returns its result lines; other lines are skipped.
func ParseGoBench(text string) []GoBench {
	var out []GoBench
	pkg := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if b, ok := parseGoBenchLine(line); ok {
			b.Pkg = pkg
			out = append(out, b)
		}
	}
	return out
}

// parseGoBenchLine reads "BenchmarkX-2  N  v unit  v unit …".
func parseGoBenchLine(line string) (GoBench, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 || !strings.HasPrefix(f[0], "Benchmark") {
		return GoBench{}, false
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n <= 0 {
		return GoBench{}, false
	}
	name := f[0]
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	b := GoBench{Name: name, N: n, Metrics: map[string]float64{}}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return GoBench{}, false
		}
		if _, dup := b.Metrics[f[i+1]]; !dup {
			b.Units = append(b.Units, f[i+1])
		}
		b.Metrics[f[i+1]] = v
	}
	if _, ok := b.Metrics["ns/op"]; !ok {
		return GoBench{}, false
	}
	return b, true
}

// figure is the result as a table row: ns/op as the value, the other
// metrics in the note. Go benchmarks have no limit beside them: their
// limits are the bench tool's own figures.
func (b GoBench) figure() Figure {
	var others []string
	for _, u := range b.Units {
		if u != "ns/op" {
			others = append(others, strconv.FormatFloat(b.Metrics[u], 'f', -1, 64)+" "+u)
		}
	}
	pkg := strings.TrimPrefix(b.Pkg, "wartelsuspas/")
	return Figure{Name: pkg + " " + strings.TrimPrefix(b.Name, "Benchmark"), Value: b.Metrics["ns/op"], Unit: "ns/op",
		Note: fmt.Sprintf("go test -bench, one run of %d iterations; %s", b.N, strings.Join(others, ", "))}
}

// benchGoTest runs the packages' Go benchmarks once and adds each result.
func benchGoTest(r *Report) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1", "./...")
	out, runErr := cmd.CombinedOutput()
	bs := ParseGoBench(string(out))
	for _, b := range bs {
		r.Add(b.figure())
	}
	if runErr != nil {
		// Keep the others' figures; name what failed.
		if failed := GoBenchFailures(string(out)); len(failed) > 0 {
			return fmt.Errorf("go test -bench ./...: %w: failed: %s", runErr, strings.Join(failed, "; "))
		}
		tail := string(out)
		if len(tail) > 3000 {
			tail = tail[len(tail)-3000:]
		}
		return fmt.Errorf("go test -bench ./...: %w\n%s", runErr, tail)
	}
	if len(bs) == 0 {
		return fmt.Errorf("go test -bench ./... printed no result line:\n%s", out)
	}
	return nil
}

// GoBenchFailures lists the failed benchmarks of `go test -bench` output,
// each with the message it logged and its package, e.g.
// "BenchmarkCall (engine_test.go:641: state closed after the calls) in
// wartelsuspas/kiosk/session".
func GoBenchFailures(text string) []string {
	var out []string
	var pending []string // failed benchmarks of the package being read
	var msg map[string]string
	cur := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "--- FAIL: "); ok {
			cur = strings.Fields(name + " x")[0]
			pending = append(pending, cur)
			if msg == nil {
				msg = map[string]string{}
			}
			continue
		}
		if cur != "" && strings.HasPrefix(line, "    ") && msg[cur] == "" {
			msg[cur] = strings.TrimSpace(line)
			continue
		}
		cur = ""
		if rest, ok := strings.CutPrefix(line, "FAIL\t"); ok {
			pkg := strings.Fields(rest)[0]
			for _, b := range pending {
				s := b
				if m := msg[b]; m != "" {
					s += " (" + m + ")"
				}
				out = append(out, s+" in "+pkg)
			}
			pending, msg = nil, nil
		}
	}
	return out
}
