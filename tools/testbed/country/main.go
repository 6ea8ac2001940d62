// Command country is a simulated country of booths: a load generator that
// runs thousands of booth clients in one process against two real
// `wartel-gateway serve` replicas over one throwaway PostgreSQL, all on
// loopback. Each booth has its own device certificate, issued by the
// gateway's CA (tools/centre/ca, cached in -cache for later runs), and its
// own mutual-TLS connection, and speaks /v1 with real records on a real
// hash chain (kiosk/record, kiosk/protocol).
//
// Three scenarios, bounded in count and time, each ending by itself:
//
//   - ramp: online booths heartbeat and tap at the busy hour's rate (Load
//     says why that rate); the count steps up until authorise's p99 crosses
//     the booth's 400 ms deadline; the last step that held is the figure,
//     with the replicas' CPU and memory per booth from /proc.
//   - outage: a region's booths come back at once, each with a week of
//     records, while others keep tapping: the time until the ledger holds
//     every record (counted in the database), and authorise meanwhile.
//   - roster: the booths of a 50,000-card facility sync it from nothing at
//     once: the time, the pages and the bytes.
//
// `make bench` runs it as its "country" suite (`go run ./tools/testbed/bench
// -only country` for that one alone); docs/gateway.md turns the figures into
// a sizing.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Results is what a run measured, for -json (the bench reads it).
type Results struct {
	Ramp   *RampResult   `json:"ramp,omitempty"`
	Outage *OutageResult `json:"outage,omitempty"`
	Roster *RosterResult `json:"roster,omitempty"`
}

func main() {
	// Interrupted, it still stops the replicas and PostgreSQL it started.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp): // -h: the usage is printed
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "country:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("country", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: country [flags]\n\n"+
			"Runs simulated booths (one certificate and one mutual-TLS connection each) against\n"+
			"-replicas wartel-gateway serve processes over one throwaway PostgreSQL, on loopback\n"+
			"only, and prints what they measured. Every scenario is bounded and ends by itself.\n\n")
		fs.PrintDefaults()
	}
	scen := fs.String("scenarios", "ramp,outage,roster", "which to run, comma-separated: ramp, outage, roster")
	dir := fs.String("dir", "", "working folder (gateway logs; the cache unless -cache); empty: a temporary one, removed at the end")
	cache := fs.String("cache", "", "folder keeping the CA and the booths' bundles between runs; empty: inside -dir")
	gatewayBin := fs.String("gateway", "", "the wartel-gateway binary; empty: built from this module into -dir")
	replicas := fs.Int("replicas", 2, "gateway replicas (serve processes) over the one database")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	timeout := fs.Duration("timeout", 30*time.Minute, "bound on the whole run")

	tapEvery := fs.Duration("tap-every", DefaultTapEvery, "mean time between taps at one booth (the busy hour: see the package doc)")
	heartbeat := fs.Duration("heartbeat", DefaultHeartbeat, "time between a booth's heartbeats")
	spread := fs.Duration("spread", 20*time.Second, "booths starting together make their first request within this")
	drainAfter := fs.Duration("drain-after", DefaultDrainAfter, "a call's record is uploaded this long after the tap")
	batch := fs.Int("batch", DefaultBatch, "most records in one upload")
	weight := fs.Int("weight", 1, "ramp: each client stands for this many booths (taps and heartbeats this many times as often, on one connection)")

	rampStart := fs.Int("ramp-start", 500, "ramp: clients of the first step")
	rampMax := fs.Int("ramp-max", 16000, "ramp: the most clients it tries")
	rampFactor := fs.Float64("ramp-factor", 2, "ramp: each step's clients are the last's times this")
	rampStep := fs.Duration("ramp-step", 40*time.Second, "ramp: measured window of each step, after -spread of warm-up")

	outBooths := fs.Int("outage-booths", 50, "outage: booths that come back at once")
	outDays := fs.Int("outage-days", 7, "outage: days they were cut off")
	outPerDay := fs.Int("outage-per-day", 300, "outage: records a day each")
	outOnline := fs.Int("outage-online", 2000, "outage: booths online and tapping meanwhile")
	outLimit := fs.Duration("outage-limit", 10*time.Minute, "outage: bound on the wait for every record")

	rosterCards := fs.Int("roster-cards", 50000, "roster: cards of the facility")
	rosterBooths := fs.Int("roster-booths", 20, "roster: its booths, syncing at once")
	rosterPage := fs.Int("roster-page", 0, "roster: cards a page (0: the booth's default, kiosk/uplink.DefaultSyncPageCards)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*scen, ",") {
		switch s = strings.TrimSpace(s); s {
		case "ramp", "outage", "roster":
			want[s] = true
		case "":
		default:
			return fmt.Errorf("-scenarios: unknown scenario %q: write ramp, outage or roster", s)
		}
	}
	if *rampStart < 1 || *rampMax < *rampStart || *rampFactor <= 1 {
		return errors.New("-ramp-start must be at least 1, -ramp-max at least -ramp-start and -ramp-factor above 1")
	}
	// Bounded in count: every client holds a connection (a file) here and
	// at a replica.
	raiseFileLimit()
	var nofile syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile); err == nil {
		need := max(*rampMax, *outOnline+*outBooths, *rosterBooths) + 200
		if uint64(need) > nofile.Cur {
			return fmt.Errorf("%d booths need about %d open files and this process may have %d: lower -ramp-max or -outage-online, or raise ulimit -n", need-200, need, nofile.Cur)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	if *dir == "" {
		d, err := os.MkdirTemp("", "country-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	} else if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	if *cache != "" {
		if err := os.MkdirAll(*cache, 0o700); err != nil {
			return err
		}
	}
	if *gatewayBin == "" {
		*gatewayBin = filepath.Join(*dir, "wartel-gateway")
		if err := buildGateway(ctx, *gatewayBin); err != nil {
			return err
		}
	}
	c, err := Start(ctx, Config{Dir: *dir, Cache: *cache, GatewayBin: *gatewayBin, Replicas: *replicas, Log: stderr})
	if err != nil {
		return err
	}
	defer c.Close()
	l := Load{TapEvery: *tapEvery, Heartbeat: *heartbeat, Spread: *spread, DrainAfter: *drainAfter, Batch: *batch}
	var res Results
	var errs []error
	if want["ramp"] {
		lw := l
		lw.Weight = *weight
		r, err := c.RunRamp(ctx, Ramp{Start: *rampStart, Max: *rampMax, Factor: *rampFactor, Step: *rampStep}, lw)
		res.Ramp = &r
		errs = append(errs, err)
		if err == nil {
			fmt.Fprintf(stdout, "ramp: %d booths' load (%d booths a client) held authorise p99 under %v (crossed: %v); gateway %.4f %% of a core a booth and %.0f KiB a connection\n",
				r.Held, r.Weight, authoriseDeadline, r.Crossed, r.CPUPerBoothPct, r.RSSPerBoothKiB)
		}
	}
	if want["outage"] && ctx.Err() == nil {
		o, err := c.RunOutage(ctx, Outage{Booths: *outBooths, Days: *outDays, PerDay: *outPerDay, Online: *outOnline, Limit: *outLimit}, l)
		res.Outage = &o
		errs = append(errs, err)
		if err == nil {
			fmt.Fprintf(stdout, "outage: %d records of %d booths stored in %.1f s (%.0f rec/s, raw insert %.0f rec/s); authorise p99 %.1f ms meanwhile\n",
				o.Records, o.Booths, o.StoredSeconds, o.RatePerSecond, o.RawPerSecond, o.P99Ms)
		}
	}
	if want["roster"] && ctx.Err() == nil {
		r, err := c.RunRosterSync(ctx, RosterSync{Cards: *rosterCards, Booths: *rosterBooths, PageCards: *rosterPage})
		res.Roster = &r
		errs = append(errs, err)
		if err == nil {
			fmt.Fprintf(stdout, "roster: %d cards to %d booths at once in %.2f s: %d pages, %d bytes each\n", r.Cards, r.Booths, r.Seconds, r.Pages, r.BytesEach)
		}
	}
	if *jsonOut != "" {
		raw, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonOut, append(raw, '\n'), 0o644); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// errUsage is a wrong command line: the flag package has said why.
var errUsage = errors.New("usage")

// buildGateway builds wartel-gateway from the module the command runs in.
func buildGateway(ctx context.Context, out string) error {
	mod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(mod)) == "" || strings.TrimSpace(string(mod)) == os.DevNull {
		return errors.New("not inside the wartelsuspas module: run from the repository, or give -gateway")
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./tools/centre/wartel-gateway")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(mod)))
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build wartel-gateway: %w\n%s", err, b)
	}
	return nil
}
