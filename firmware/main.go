// Command wartel-kiosk is the booth firmware. It is a small dispatcher of
// subcommands: `run` is the daemon, `status` asks it what it is doing, `selftest` is the technician's test,
// `safe-off` drives the handset relay off (the service manager runs it after
// any exit, ExecStopPost=), `config check` validates the configuration file,
// `version` prints the build.
//
// Usage:
//
//	wartel-kiosk run [-config /etc/wartel/kiosk.toml] [-gpio-backend periph|sim] [-sim-dir DIR] [-status-socket /run/wartel/kiosk.sock]
//	wartel-kiosk status [-status-socket /run/wartel/kiosk.sock] [-json]
//	wartel-kiosk selftest [-config /etc/wartel/kiosk.toml] [-skip interactive,gateway] [-wait 30s]
//	wartel-kiosk safe-off [-config /etc/wartel/kiosk.toml] [-gpio-backend periph|sim] [-sim-dir DIR] [-relay-pin GPIO17] [-relay-active-low]
//	wartel-kiosk config check [-config /etc/wartel/kiosk.toml] [-no-files]
//	wartel-kiosk version
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"wartelsuspas/drivers/booth"
)

// Set with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "none"
)

// command is one subcommand. Hidden ones are test fixtures, not listed.
type command struct {
	run    func(args []string, stdout, stderr io.Writer) error
	help   string
	hidden bool
}

var commands = map[string]command{
	"safe-off": {run: safeOff, help: "drive the handset relay off and exit (for ExecStopPost=)"},
	"version":  {run: printVersion, help: "print the firmware version and commit"},
	// Fixtures for the fail-closed integration tests.
	"hold-relay": {run: holdRelay, hidden: true},
}

// errUsage reports a bad command line; the message has been printed.
var errUsage = errors.New("usage")

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

// dispatch runs the subcommand named by args[0] and returns the exit code.
func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" || args[0] == "--help" {
		usage(stderr)
		return 2
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "wartel-kiosk: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	if err := cmd.run(args[1:], stdout, stderr); err != nil {
		if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
			return 2
		}
		fmt.Fprintf(stderr, "wartel-kiosk %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: wartel-kiosk <command> [flags]\n\ncommands:")
	var names []string
	for n, c := range commands {
		if !c.hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].help)
	}
}

func printVersion(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	fmt.Fprintf(stdout, "wartel-kiosk %s (commit %s)\n", version, commit)
	return nil
}

// gpioFlags are the GPIO flags shared by subcommands, until the config file
// supplies them.
type gpioFlags struct {
	backend        string
	simDir         string
	relayPin       string
	relayActiveLow bool
}

// register adds the backend flags and, for safe-off without a
// configuration file, the relay's.
func (g *gpioFlags) register(fs *flag.FlagSet) {
	def := booth.DefaultConfig()
	g.registerBackend(fs)
	fs.StringVar(&g.relayPin, "relay-pin", def.Relay, "BCM name of the handset relay pin")
	fs.BoolVar(&g.relayActiveLow, "relay-active-low", def.RelayActiveLow, "the relay board switches on when its input is low")
}

// registerBackend adds -gpio-backend and -sim-dir, which every command that
// drives the pins takes.
func (g *gpioFlags) registerBackend(fs *flag.FlagSet) {
	fs.StringVar(&g.backend, "gpio-backend", "periph", "GPIO backend: periph (the Raspberry Pi) or sim (simulated)")
	fs.StringVar(&g.simDir, "sim-dir", "", "state directory of the simulated backend (one file per pin)")
}

func (g *gpioFlags) config() booth.Config {
	c := booth.DefaultConfig()
	c.Relay, c.RelayActiveLow = g.relayPin, g.relayActiveLow
	return c
}

// open returns the backend; close releases it (the sim's file watcher).
func (g *gpioFlags) open(labels map[string]string) (b booth.Backend, close func(), err error) {
	switch g.backend {
	case "periph":
		p, err := booth.NewPeriph()
		return p, func() {}, err
	case "sim":
		s, err := booth.NewSim(booth.SimOptions{Dir: g.simDir, Labels: labels})
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
	return nil, nil, fmt.Errorf("-gpio-backend %q: want periph or sim", g.backend)
}

func safeOff(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("safe-off", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var g gpioFlags
	g.register(fs)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg := g.config()
	backend, closeBackend, err := g.open(cfg.Labels())
	if err != nil {
		return err
	}
	defer closeBackend()
	if err := booth.SafeOff(cfg, backend); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "relay %s off\n", cfg.Relay)
	return nil
}

// holdRelay closes the relay and waits for SIGTERM/SIGINT: the integration
// test checks the relay ends off. With -panic a child goroutine panics once
// the relay is on, and the process must die with the relay off.
func holdRelay(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hold-relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var g gpioFlags
	g.register(fs)
	panicChild := fs.Bool("panic", false, "panic in a child goroutine once the relay is on")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg := g.config()
	cfg.Tamper = "" // no panel switch in the fixture
	backend, closeBackend, err := g.open(cfg.Labels())
	if err != nil {
		return err
	}
	defer closeBackend()
	b, err := booth.New(booth.Options{
		Config:  cfg,
		Backend: backend,
		Logger:  slog.New(slog.NewTextHandler(stderr, nil)),
	})
	if err != nil {
		return err
	}
	defer b.Close()
	defer b.Guard()
	sigs, stop := b.OffOnSignal()
	defer stop()
	if err := b.SetRelay(true); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "holding")
	if *panicChild {
		b.Go(func() { panic("hold-relay: deliberate panic in a child goroutine") })
	}
	s := <-sigs
	fmt.Fprintf(stdout, "%s: relay off\n", strings.ToLower(s.String()))
	return nil
}
