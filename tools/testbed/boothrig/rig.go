// Package boothrig runs real booths on one machine: the reference gateway
// (wartel-gateway on SQLite, on loopback) and any number of
// `wartel-kiosk run` daemons, each with its card reader emulated on a
// pseudo-terminal and its GPIO on the simulated backend (one file per
// pin). The simulator page of `make run`, the fault drills and the
// end-to-end benchmarks all drive booths through it, so what they show is
// what the shipped binaries do.
package boothrig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
)

// Options configures Start.
type Options struct {
	// Dir holds everything: gateway/ (CA, gateway.db) and booths/bNN/.
	// A folder kept from an earlier run is reused: the gateway's ledger and
	// each booth's journal go on.
	Dir string
	// Booths is how many booths to run; 0: one.
	Booths int
	// Facility is the facility id; "": "lapas-demo".
	Facility string
	// KioskBin and GatewayBin are the binaries (see Build).
	KioskBin, GatewayBin string
	// Roster is loaded into the gateway; nil: DemoRoster.
	Roster []record.CardInfo
	// Rules; zero: DemoRules.
	Rules Rules
	// Protocol of the emulated readers; "": rdm6300.
	Protocol string
	// Log, if set, receives every daemon's log lines, prefixed with its
	// name; they are also kept in each one's folder.
	Log io.Writer
	// Env is added to the daemons' environment (e.g. LANG).
	Env []string
	// Configure, if set, edits each booth's kiosk.toml before its first
	// start (SetKey helps), e.g. to dial the gateway through a fault proxy
	// or to put the store on a small file system.
	Configure func(b *Booth, doc string) (string, error)
	// Console, when set, is the address the gateway serves the centre's
	// console on (e.g. "127.0.0.1:0"); Gateway.Console is then its URL.
	Console string
	// Modems is how many of the booths, the last ones, have a cellular
	// module (modem.go); the others are relay-only.
	Modems int
	// ModemFamily is the emulated modules' dialect; "": simcom (whose DTMF
	// reports are the keypad).
	ModemFamily string
	// Numbers are registered and approved at the gateway, Blocked put on
	// its blocked list; nil with Modems > 0: DemoNumbers and DemoBlocked.
	Numbers []Number
	Blocked []string
}

// Rig is a running gateway and its booths.
type Rig struct {
	o       Options
	Gateway *Gateway
	Booths  []*Booth

	ledgerOnce sync.Once
	ledger     ledger.Store
	ledgerErr  error
}

// Start starts the gateway, loads the roster and rules, enrols the booths
// and starts them; it returns when every booth is ready and has heard the
// gateway (its clock trusted, its roster synced), or ctx ends. On error it stops what it
// started.
func Start(ctx context.Context, o Options) (*Rig, error) {
	if o.Booths <= 0 {
		o.Booths = 1
	}
	if o.Facility == "" {
		o.Facility = "lapas-demo"
	}
	if o.Roster == nil {
		for _, p := range DemoRoster {
			o.Roster = append(o.Roster, p.Info)
		}
	}
	if o.Rules == (Rules{}) {
		o.Rules = DemoRules
	}
	if o.Protocol == "" {
		o.Protocol = "rdm6300"
	}
	if o.Modems > o.Booths {
		return nil, fmt.Errorf("boothrig: Options.Modems %d is more than the %d booth(s)", o.Modems, o.Booths)
	}
	if o.Modems > 0 && o.Numbers == nil {
		o.Numbers = DemoNumbers
	}
	if o.Modems > 0 && o.Blocked == nil {
		o.Blocked = DemoBlocked
	}
	if o.ModemFamily == "" {
		o.ModemFamily = "simcom"
	}
	if o.KioskBin == "" || o.GatewayBin == "" {
		return nil, errors.New("boothrig: Options.KioskBin and GatewayBin are required (see Build)")
	}
	r := &Rig{o: o}
	ok := false
	defer func() {
		if !ok {
			r.Close()
		}
	}()
	g, err := startGateway(ctx, o)
	if err != nil {
		return nil, err
	}
	r.Gateway = g
	for i := 1; i <= o.Booths; i++ {
		b, err := newBooth(ctx, r, fmt.Sprintf("b%02d", i), i > o.Booths-o.Modems)
		if err != nil {
			return nil, err
		}
		r.Booths = append(r.Booths, b)
	}
	for _, b := range r.Booths {
		if err := b.Start(ctx); err != nil {
			return nil, err
		}
	}
	// Ready for a tap: the clock trusted (a heartbeat answered) and the
	// roster synced, or a tap would be refused for the clock or as unknown.
	for _, b := range r.Booths {
		if _, err := b.WaitStatus(ctx, func(s Status) bool { return s.Session.ClockTrusted && !s.Gateway.LastSync.IsZero() }); err != nil {
			return nil, fmt.Errorf("boothrig: %s never trusted its clock or synced its roster (no answer from the gateway?): %w", b.Device, err)
		}
	}
	ok = true
	return r, nil
}

// Facility is the rig's facility id.
func (r *Rig) Facility() string { return r.o.Facility }

// Close stops the booths (SIGTERM: each ends its call, billing it, relay
// off), then the gateway. It returns the first error.
func (r *Rig) Close() error {
	var first error
	for _, b := range r.Booths {
		if err := b.Stop(); err != nil && first == nil {
			first = err
		}
		b.emu.Close()
		if b.modem != nil {
			b.modem.Close()
		}
	}
	if r.ledger != nil {
		r.ledger.Close()
	}
	if r.Gateway != nil {
		if err := r.Gateway.Stop(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Ledger opens the gateway's database (read beside the serving process, as
// SQLite's WAL allows) for the centre's view: balances, reports, devices.
func (r *Rig) Ledger() (ledger.Store, error) {
	r.ledgerOnce.Do(func() {
		r.ledger, r.ledgerErr = ledger.OpenSQLite(filepath.Join(r.Gateway.Dir, "gateway.db"))
	})
	return r.ledger, r.ledgerErr
}

// Gateway is the wartel-gateway serve process.
type Gateway struct {
	Dir     string
	Addr    string // host:port the booths dial
	Console string // the console's URL, when Options.Console was set
	bin     string
	proc    *process
}

func startGateway(ctx context.Context, o Options) (*Gateway, error) {
	g := &Gateway{Dir: filepath.Join(o.Dir, "gateway"), bin: o.GatewayBin}
	if _, err := os.Stat(filepath.Join(g.Dir, "ca")); errors.Is(err, os.ErrNotExist) {
		if err := g.Run(ctx, "init"); err != nil {
			return nil, err
		}
	}
	var cards []record.CardInfo
	cards = append(cards, o.Roster...)
	roster := filepath.Join(g.Dir, "roster.csv")
	if err := os.WriteFile(roster, []byte(rosterCSV(cards)), 0o644); err != nil {
		return nil, fmt.Errorf("boothrig: %w", err)
	}
	if err := g.Run(ctx, "roster", "import", "-facility", o.Facility, "-by", DemoOperator, "-replace", roster); err != nil {
		return nil, err
	}
	if err := approveOfficers(ctx, g, o.Facility); err != nil {
		return nil, err
	}
	pol := filepath.Join(g.Dir, "policy.json")
	if err := os.WriteFile(pol, []byte(policyJSON(o.Rules)), 0o644); err != nil {
		return nil, fmt.Errorf("boothrig: %w", err)
	}
	if err := g.Run(ctx, "policy", "set", "-facility", o.Facility, pol); err != nil {
		return nil, err
	}
	if err := registerNumbers(ctx, g, o); err != nil {
		return nil, err
	}
	var extra []string
	if o.Console != "" {
		extra = append(extra, "-console", o.Console)
	}
	if err := g.Start(ctx, "127.0.0.1:0", o.Log, extra...); err != nil {
		return nil, err
	}
	return g, nil
}

// Run runs a gateway subcommand on the rig's state, e.g. "roster",
// "block", "-facility", F, "-card", C.
func (g *Gateway) Run(ctx context.Context, args ...string) error {
	_, err := g.Output(ctx, args...)
	return err
}

// Output runs a gateway subcommand as Run does and returns what it printed
// (standard output and error), e.g. the table of "devices".
func (g *Gateway) Output(ctx context.Context, args ...string) (string, error) {
	// -state goes after the subcommand's words ("roster import").
	i := 0
	for i < len(args) && !strings.HasPrefix(args[i], "-") {
		i++
	}
	full := append(append(append([]string{}, args[:i]...), "-state", g.Dir), args[i:]...)
	out, err := exec.CommandContext(ctx, g.bin, full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("boothrig: wartel-gateway %s: %w\n%s", strings.Join(full, " "), err, out)
	}
	return string(out), nil
}

// Start starts `wartel-gateway serve` on listen ("127.0.0.1:0": any free
// port) with any extra serve flags (e.g. "-clock-skew", "1h") and waits for
// its address; a restarted gateway keeps its port when listen names it.
func (g *Gateway) Start(ctx context.Context, listen string, log io.Writer, extra ...string) error {
	_, err := g.startServe(ctx, listen, log, extra)
	return err
}

// Stop ends the gateway with SIGTERM (it finishes requests in flight).
func (g *Gateway) Stop() error {
	if g.proc == nil {
		return nil
	}
	err := g.proc.stop(syscall.SIGTERM)
	g.proc = nil
	return err
}

// process is a started daemon whose stderr goes to a log file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
}

func startProcess(cmd *exec.Cmd, name, logPath string, tee io.Writer) (*process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("boothrig: %w", err)
	}
	var w io.Writer = f
	if tee != nil {
		w = io.MultiWriter(f, &prefixWriter{prefix: name + ": ", w: tee})
	}
	cmd.Stderr = w
	// The rig's children must not outlive it, even if it dies; in their
	// own process group, a Ctrl-C at the terminal reaches only the rig,
	// which stops them in order (booths first, so their last records
	// reach the gateway).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("boothrig: start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: f, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// stopTimeout bounds a daemon's shutdown before it is killed.
const stopTimeout = 15 * time.Second

// stop signals the process and waits for it; past stopTimeout it is killed.
func (p *process) stop(sig syscall.Signal) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		var ee *exec.ExitError
		if p.err != nil && !(sig == syscall.SIGKILL && errors.As(p.err, &ee)) {
			return fmt.Errorf("boothrig: %s exited with %v\n%s", p.name, p.err, p.tail())
		}
		return nil
	case <-time.After(stopTimeout):
		p.kill()
		return fmt.Errorf("boothrig: %s did not stop within %v of %v: killed\n%s", p.name, stopTimeout, sig, p.tail())
	}
}

func (p *process) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// tail is the end of the process's log, for error messages.
func (p *process) tail() string {
	b, _ := os.ReadFile(p.log.Name())
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// prefixWriter prefixes each line, for several daemons sharing a terminal.
type prefixWriter struct {
	mu     sync.Mutex
	prefix string
	w      io.Writer
	mid    bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []byte
	for _, c := range b {
		if !p.mid {
			out = append(out, p.prefix...)
			p.mid = true
		}
		out = append(out, c)
		if c == '\n' {
			p.mid = false
		}
	}
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Build builds wartel-kiosk and wartel-gateway into dir and returns their
// paths. It must run inside the module.
func Build(ctx context.Context, dir string) (kiosk, gateway string, err error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", "", err
	}
	kiosk, gateway = filepath.Join(dir, "wartel-kiosk"), filepath.Join(dir, "wartel-gateway")
	for _, b := range []struct{ out, pkg string }{{kiosk, "./firmware"}, {gateway, "./tools/centre/wartel-gateway"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.out, b.pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("boothrig: go build %s: %w\n%s", b.pkg, err, out)
		}
	}
	return kiosk, gateway, nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("boothrig: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("boothrig: not inside the wartelsuspas module")
	}
	return filepath.Dir(mod), nil
}
