// Command drill runs the booth's fault drills with the real binaries: the
// firmware daemon (`wartel-kiosk run`) with an emulated reader and
// simulated GPIO, its SQLite store on disk, and the reference gateway on
// loopback, all through tools/testbed/boothrig. Each drill cuts something — the
// power, the network, the disk, the reader, the gateway, the wall clock —
// and then checks that nothing was lost: no record, no relay left on, no
// minute billed that was not talked.
//
// Usage:
//
//	drill [-calls 200] [-records 2000] [-only NAME,...] [-seed N] [-keep DIR] [-short] [-v]
//
// It prints one summary line per drill and exits 1 if any drill lost
// anything (or could not be carried out). docs/drills.md describes each
// drill and what it proves.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"wartelsuspas/tools/testbed/boothrig"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	calls := fs.Int("calls", 200, "calls of the power-cut drill, one kill each")
	records := fs.Int("records", 2000, "records the network drill queues while the gateway is unreachable")
	only := fs.String("only", "", "run only these drills (comma-separated): "+names())
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "seed of every random choice")
	keep := fs.String("keep", "", "keep the rigs (logs, stores, gateway ledgers) in this folder")
	verbose := fs.Bool("v", false, "show the daemons' logs")
	short := fs.Bool("short", false, "the bounded form's sizes: 2 booths in network, 2 unplugs, a 450-record backlog, one clock jump")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	selected, err := selectDrills(*only)
	if err != nil {
		fmt.Fprintln(stderr, "drill:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir := *keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "drill-"); err != nil {
			fmt.Fprintln(stderr, "drill:", err)
			return 1
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(stderr, "drill:", err)
		return 1
	}
	fmt.Fprintf(stderr, "drill: building wartel-kiosk and wartel-gateway; seed %d; folder %s\n", *seed, dir)
	kiosk, gateway, err := boothrig.Build(ctx, dir)
	if err != nil {
		fmt.Fprintln(stderr, "drill:", err)
		return 1
	}
	c := &Config{KioskBin: kiosk, GatewayBin: gateway, Dir: dir, Seed: *seed, Calls: *calls, Records: *records, Short: *short}
	if *verbose {
		c.Log = stderr
	}
	failed := false
	for _, d := range selected {
		fmt.Fprintf(stderr, "drill: %s …\n", d.Name)
		sum, lost, err := d.Run(ctx, c)
		if errors.Is(err, errSkip) {
			fmt.Fprintf(stdout, "%s: skipped: %s\n", d.Name, sum)
			continue
		}
		fmt.Fprintln(stdout, Line(d.Name, sum, lost, err))
		failed = failed || err != nil || len(lost) > 0
	}
	if failed {
		return 1
	}
	return 0
}

func names() string {
	var n []string
	for _, d := range Drills {
		n = append(n, d.Name)
	}
	return strings.Join(n, ", ")
}

// selectDrills picks the drills named in only (all when empty).
func selectDrills(only string) ([]Drill, error) {
	if only == "" {
		return Drills, nil
	}
	var out []Drill
	for _, name := range strings.Split(only, ",") {
		found := false
		for _, d := range Drills {
			if d.Name == strings.TrimSpace(name) {
				out = append(out, d)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("-only: no drill %q; the drills are %s", name, names())
		}
	}
	return out, nil
}
