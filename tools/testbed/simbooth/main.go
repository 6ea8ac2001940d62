// Command simbooth runs simulated booths with a live web page: `make run`.
//
// It starts, through tools/testbed/boothrig, the real binaries: wartel-gateway on
// SQLite on loopback with a demo roster, and one `wartel-kiosk run` daemon
// per booth, each with its card reader emulated on a pseudo-terminal and its
// GPIO on the simulated backend (one file per pin). A page on localhost
// shows each booth's lamps, relay, handset, panel, state, time left and
// recent events, offers the demo cards to tap, and shows the gateway's view:
// devices, the month's report and each inmate's minutes left today.
//
// Ctrl-C (or SIGTERM) stops the page, then the booths (a call in progress
// ends, billed, relay off), then the gateway. See docs/simbooth.md.
//
// The last booths (-modems, default 1 of the 2) have a cellular modem,
// emulated on a pty, and a keypad: the page shows the call's progress and
// lets you choose what each registered number's far end does.
//
// Usage: simbooth [-state DIR] [-booths N] [-modems M] [-listen ADDR] [-lang id|en] [-fast=false]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"wartelsuspas/firmware/i18n"
	"wartelsuspas/tools/testbed/boothrig"
)

// options are simbooth's flags.
type options struct {
	state   string
	booths  int
	modems  int // how many of the booths, the last ones, have a modem
	listen  string
	kiosk   string
	gateway string
	lang    string
	console string // the console's address; "": none
	fast    bool
	allow   time.Duration // overrides the rules' allowance when set
	perCall time.Duration // overrides the rules' longest call when set
}

// slowRules are a facility's everyday rules, for -fast=false.
var slowRules = boothrig.Rules{Allowance: 30 * time.Minute, PerCall: 10 * time.Minute, Checkpoint: 5 * time.Second}

func main() {
	var o options
	fs := flag.NewFlagSet("simbooth", flag.ExitOnError)
	fs.StringVar(&o.state, "state", "state", "folder for the rig (DIR/rig: the gateway's ledger, each booth's journal, pins and log), kept across runs")
	fs.IntVar(&o.booths, "booths", 2, "how many booths to run")
	fs.IntVar(&o.modems, "modems", 1, "how many of the booths, the last ones, have a modem (emulated) and a keypad; the others are relay-only")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address of the page; if it is busy, any free loopback port")
	fs.StringVar(&o.kiosk, "kiosk", "", "wartel-kiosk binary (default: beside simbooth, else built into DIR/bin)")
	fs.StringVar(&o.gateway, "gateway", "", "wartel-gateway binary (default: beside simbooth, else built into DIR/bin)")
	fs.StringVar(&o.console, "console", "127.0.0.1:0", "address of the centre's console (HTTPS; empty: none); port 0 picks a free one, printed at start")
	fs.StringVar(&o.lang, "lang", i18n.Choose(""), "language of the page and the console: id (Bahasa Indonesia) or en")
	fs.BoolVar(&o.fast, "fast", true, "demo rules: 3 min a day, 90 s a call, so a warning and a cut-off come within two minutes; false: 30 min a day, 10 min a call")
	fs.DurationVar(&o.allow, "allowance", 0, "minutes per inmate per day, overriding -fast's (e.g. 40s, for tests)")
	fs.DurationVar(&o.perCall, "per-call", 0, "longest call, overriding -fast's (e.g. 12s, for tests)")
	fs.Parse(os.Args[1:])
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "simbooth: unexpected argument %q; see simbooth -h\n", fs.Arg(0))
		os.Exit(2)
	}
	// Signals stay caught until the end: a second Ctrl-C (or `go run`
	// relaying the first) must not kill simbooth halfway through stopping
	// its booths; the stop is bounded by the rig's own timeouts.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "simbooth:", err)
		os.Exit(1)
	}
}

// run starts the rig and the page and serves until ctx ends; then it stops
// the page, the booths and the gateway, in that order.
func run(ctx context.Context, o options, stdout io.Writer) error {
	if o.lang != "id" && o.lang != "en" {
		return fmt.Errorf("-lang %q: want id or en", o.lang)
	}
	if o.booths < 1 || o.booths > 99 {
		return fmt.Errorf("-booths %d: want 1 to 99", o.booths)
	}
	if o.modems < 0 || o.modems > o.booths {
		return fmt.Errorf("-modems %d: want 0 to the number of booths (%d)", o.modems, o.booths)
	}
	cat := i18n.New(o.lang)
	rules := boothrig.DemoRules
	if !o.fast {
		rules = slowRules
	}
	if o.allow > 0 {
		rules.Allowance = o.allow
	}
	if o.perCall > 0 {
		rules.PerCall = o.perCall
	}
	if rules.PerCall > rules.Allowance {
		rules.PerCall = rules.Allowance
	}
	state, err := filepath.Abs(o.state)
	if err != nil {
		return fmt.Errorf("-state: %w", err)
	}
	rigDir := filepath.Join(state, "rig")
	if err := os.MkdirAll(rigDir, 0o755); err != nil {
		return fmt.Errorf("-state: %w", err)
	}
	kiosk, gateway, err := binaries(ctx, o, state, cat, stdout)
	if err != nil {
		return err
	}

	ln, err := listen(o.listen, cat, stdout)
	if err != nil {
		return err
	}
	defer ln.Close()

	fmt.Fprintln(stdout, cat.T("sim.starting", o.booths))
	r, err := boothrig.Start(ctx, boothrig.Options{Dir: rigDir, Booths: o.booths, Modems: o.modems, KioskBin: kiosk, GatewayBin: gateway, Rules: rules, Console: o.console})
	if err != nil {
		return fmt.Errorf("starting the booths: %w", err)
	}
	defer r.Close() // a second Close (below) does nothing
	led, err := r.Ledger()
	if err != nil {
		return fmt.Errorf("opening the gateway's ledger: %w", err)
	}
	// The page follows each booth's typed activity on its status socket
	// (events.go), from the daemon's start.
	sites := make([]*site, len(r.Booths))
	for i, b := range r.Booths {
		sites[i] = &site{name: b.Name, device: b.Device, b: b, feed: newFeed(cat, personNamer(boothrig.DemoRoster))}
		if b.Modem() != nil {
			sites[i].modem = b
		}
	}
	errLog := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := newServer(cat, sites, led, r.Facility(), boothrig.DemoRoster, boothrig.DemoNumbers, rules.Allowance, errLog)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	fmt.Fprintln(stdout, cat.T("sim.start", o.booths, r.Facility()))
	fmt.Fprintln(stdout, cat.T("sim.url", "http://"+ln.Addr().String()+"/"))
	fmt.Fprintln(stdout, cat.T("sim.gateway_addr", r.Gateway.Addr))
	if err := demoConsole(ctx, r, rigDir, cat, stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout, cat.T("sim.state_dir", state, filepath.Join(rigDir, "booths", "*", "kiosk.log")))
	fmt.Fprintln(stdout, cat.T("sim.stop_hint"))

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
		serveErr = fmt.Errorf("the page's server stopped: %w", serveErr)
	}
	fmt.Fprintln(stdout, cat.T("sim.stopping"))
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	if err := r.Close(); err != nil {
		return errors.Join(serveErr, fmt.Errorf("stopping the booths: %w", err))
	}
	if serveErr != nil {
		return serveErr
	}
	fmt.Fprintln(stdout, cat.T("sim.stopped"))
	return nil
}

// binaries finds wartel-kiosk and wartel-gateway: the flags, else beside
// simbooth's own executable (make build puts them there), else it builds
// them into DIR/bin.
func binaries(ctx context.Context, o options, state string, cat *i18n.Catalogue, stdout io.Writer) (kiosk, gateway string, err error) {
	kiosk, gateway = o.kiosk, o.gateway
	if kiosk == "" || gateway == "" {
		if exe, err := os.Executable(); err == nil {
			dir := filepath.Dir(exe)
			if kiosk == "" && isFile(filepath.Join(dir, "wartel-kiosk")) {
				kiosk = filepath.Join(dir, "wartel-kiosk")
			}
			if gateway == "" && isFile(filepath.Join(dir, "wartel-gateway")) {
				gateway = filepath.Join(dir, "wartel-gateway")
			}
		}
	}
	if kiosk == "" || gateway == "" {
		dir := filepath.Join(state, "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", "", fmt.Errorf("building the daemons: %w", err)
		}
		fmt.Fprintln(stdout, cat.T("sim.building", dir))
		k, g, err := boothrig.Build(ctx, dir)
		if err != nil {
			return "", "", fmt.Errorf("wartel-kiosk and wartel-gateway are not beside simbooth (run make build) and building them failed: %w", err)
		}
		if kiosk == "" {
			kiosk = k
		}
		if gateway == "" {
			gateway = g
		}
	}
	for _, b := range []string{kiosk, gateway} {
		if !isFile(b) {
			return "", "", fmt.Errorf("%s: no such binary: check -kiosk and -gateway, or run make build", b)
		}
	}
	return kiosk, gateway, nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// listen opens the page's address; when it is taken (another simbooth, a
// dev server on 8080) it falls back to any free loopback port and says so.
func listen(addr string, cat *i18n.Catalogue, stdout io.Writer) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("-listen %s: %w", addr, err)
	}
	ln, err2 := net.Listen("tcp", "127.0.0.1:0")
	if err2 != nil {
		return nil, fmt.Errorf("-listen %s: %w; and no free loopback port either: %w", addr, err, err2)
	}
	fmt.Fprintln(stdout, cat.T("sim.listen_busy", addr, ln.Addr()))
	return ln, nil
}

// personNamer names a roster person id (WBP-0001) as the page shows it.
func personNamer(roster []boothrig.Person) func(string) string {
	return func(person string) string {
		for _, p := range roster {
			if p.Info.Person == person {
				return p.Info.Name
			}
		}
		return person
	}
}
