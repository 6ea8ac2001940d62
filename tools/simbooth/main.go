// Command simbooth is a simulated booth in the terminal, for trying the
// firmware's real pieces on a machine without a Raspberry Pi (`make run`).
//
// It wires what the firmware's run command will wire: an emulated RDM6300
// (or ID-12, or ASCII) reader on a real pseudo-terminal read by the real
// rfid.Reader, the booth driver on its simulated GPIO backend (every pin
// mirrored as a file under -state/gpio), the SQLite store under -state and
// the session engine on the real clock. A line console on stdin taps cards,
// lifts the handset and opens the panel; every event is printed as one line.
//
// Usage: simbooth [-state DIR] [-protocol rdm6300|id12|ascii] [-lang id|en] [-demo-fast=false]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"periph.io/x/conn/v3/gpio"

	"wartelsuspas/drivers/booth"
	"wartelsuspas/drivers/rfid"
	"wartelsuspas/drivers/rfid/rfidtest"
	"wartelsuspas/kiosk/clock"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/kiosk/store"
)

// options are simbooth's flags.
type options struct {
	state    string
	protocol string
	lang     string
	fast     bool
}

// device is the booth id the simulator's records carry.
const device = "simbooth/b01"

func main() {
	var o options
	fs := flag.NewFlagSet("simbooth", flag.ExitOnError)
	fs.StringVar(&o.state, "state", filepath.Join("state", "simbooth"), "directory for booth.db, booth.log, the reader link and the GPIO mirror gpio/")
	fs.StringVar(&o.protocol, "protocol", "rdm6300", "protocol of the emulated reader: rdm6300, id12 or ascii")
	fs.StringVar(&o.lang, "lang", langFromEnv(), "console language: id (Bahasa Indonesia) or en")
	fs.BoolVar(&o.fast, "demo-fast", true, "short allowance (3 min a day, 90 s a call, per second) so a warning and a cut-off come within two minutes")
	fs.Parse(os.Args[1:])
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "simbooth: unexpected argument %q; commands are typed on the console once it runs\n", fs.Arg(0))
		os.Exit(2)
	}
	if err := run(o, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "simbooth:", err)
		os.Exit(1)
	}
}

// run starts the booth, serves the console until quit, end of input or a
// signal, then shuts down in order: the engine ends a call (billing it) and
// opens the relay, then the reader, its emulator and the booth driver close.
func run(o options, stdin io.Reader, stdout io.Writer) error {
	if _, ok := catalogue[o.lang]; !ok {
		return fmt.Errorf("-lang %q: want id or en", o.lang)
	}
	frames := 1
	switch o.protocol {
	case "rdm6300":
		frames = 2 // a repeating reader confirms a tap on the second frame
	case "id12", "ascii":
	default:
		return fmt.Errorf("-protocol %q: want rdm6300, id12 or ascii", o.protocol)
	}
	con := &console{out: stdout, lang: o.lang}
	rules, err := demoRules(o.fast)
	if err != nil {
		return err
	}

	state, err := filepath.Abs(o.state)
	if err != nil {
		return fmt.Errorf("state directory %s: %w", o.state, err)
	}
	gpioDir := filepath.Join(state, "gpio")
	if err := os.MkdirAll(gpioDir, 0o755); err != nil {
		return fmt.Errorf("creating the state directory: %w (check -state and its permissions)", err)
	}
	logFile, err := os.OpenFile(filepath.Join(state, "booth.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening the booth log: %w", err)
	}
	defer logFile.Close()
	log := slog.New(slog.NewTextHandler(logFile, nil))
	clk := clock.NewReal()

	st, err := store.Open(filepath.Join(state, "booth.db"), store.Options{Device: device, Clock: clk})
	if err != nil {
		return fmt.Errorf("opening the store: %w (delete %s to start afresh)", err, state)
	}
	defer st.Close()
	if err := loadDemoRoster(st); err != nil {
		return err
	}

	// The sim backend reads its input files over SetInput, and a file left
	// by an earlier run wins when the pin opens: start idle, on-hook with
	// the panel closed.
	cfg := booth.DefaultConfig()
	sw := switches{dir: gpioDir, cfg: cfg}
	if err := sw.set("hook", false); err != nil {
		return err
	}
	if err := sw.set("tamper", false); err != nil {
		return err
	}
	sim, err := booth.NewSim(booth.SimOptions{Clock: clk, Dir: gpioDir, Labels: cfg.Labels()})
	if err != nil {
		return fmt.Errorf("starting the simulated GPIO: %w", err)
	}
	defer sim.Close()
	sw.sim = sim
	var translators sync.WaitGroup
	defer translators.Wait() // after Close has closed the booth's events
	b, err := booth.New(booth.Options{Config: cfg, Backend: sim, Clock: clk, Logger: log})
	if err != nil {
		return fmt.Errorf("starting the booth driver: %w", err)
	}
	defer b.Close()
	defer b.Guard()

	link := filepath.Join(state, "reader")
	if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the old reader link: %w", err)
	}
	ascii := rfid.ASCIIOptions{Format: "hex", Tech: rfid.TechEM}
	emu, err := rfidtest.NewEmulator(rfidtest.EmulatorOptions{Protocol: o.protocol, ASCII: ascii, Link: link})
	if err != nil {
		return fmt.Errorf("starting the reader emulator: %w", err)
	}
	defer emu.Close()
	proto, err := rfid.ProtocolByName(o.protocol, rfid.ProtocolOptions{ASCII: ascii})
	if err != nil {
		return err
	}
	reader, err := rfid.New(rfid.Options{Path: emu.Path(), Protocol: proto, Clock: clk, Log: log, RetryMax: time.Second})
	if err != nil {
		return fmt.Errorf("starting the card reader: %w", err)
	}

	con.say("start")
	con.say("state", state)
	con.say("reader", o.protocol, emu.Path(), emu.PtyPath())
	con.say("gpio", gpioDir, gpioDir)
	con.say("rules", rules.Allowance, rules.PerCall, rules.Billing.Unit)
	printRoster(con)

	// The wall clock of a PC is NTP-synchronised: trusted from the start.
	out := &boothOutputs{b: b, con: con}
	eng, err := session.New(session.Config{Rules: rules, ClockTrustedAtStart: true},
		session.Deps{Clock: clk, Store: &journal{Store: st, con: con}, Booth: out, Log: log})
	if err != nil {
		return fmt.Errorf("starting the session engine: %w", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	inputs := make(chan session.Input)
	readerDone := make(chan struct{})
	defer func() { <-readerDone }()
	engineDone := make(chan error, 1)
	defer cancel() // first of the deferred: stops the engine and the reader
	b.Go(func() { defer close(readerDone); reader.Run(ctx) })
	translators.Add(2)
	b.Go(func() { defer translators.Done(); readerInputs(ctx, reader, inputs, con) })
	b.Go(func() { defer translators.Done(); boothInputs(ctx, b, inputs, con) })
	b.Go(func() { engineDone <- eng.Run(ctx, inputs) })

	sigs, stopSigs := b.OffOnSignal(os.Interrupt, syscall.SIGTERM)
	defer stopSigs()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	sh := &shell{con: con, emu: emu, frames: frames, sw: sw, eng: eng, st: st, ctx: ctx}
	con.say("ready")
loop:
	for {
		select {
		case l, ok := <-lines:
			if !ok || !sh.do(l) {
				break loop
			}
		case <-sigs:
			break loop
		case err := <-engineDone:
			cancel()
			if err == nil {
				err = errors.New("it returned before being stopped")
			}
			return fmt.Errorf("session engine stopped; see %s: %w", logFile.Name(), err)
		}
	}
	con.say("stopping")
	cancel()
	if err := <-engineDone; err != nil {
		return fmt.Errorf("session engine: %w", err)
	}
	sh.holds.Wait()
	con.say("stopped")
	return nil
}

// loadDemoRoster fills an empty store's roster with the demo cards.
func loadDemoRoster(st *store.Store) error {
	v, err := st.RosterVersion()
	if err != nil {
		return fmt.Errorf("reading the roster version: %w", err)
	}
	if v != 0 {
		return nil
	}
	var cards []record.CardInfo
	for _, p := range demoRoster {
		cards = append(cards, p.info)
	}
	if err := st.ApplyRoster(demoRosterVersion, cards, nil); err != nil {
		return fmt.Errorf("loading the demo roster: %w", err)
	}
	return nil
}

func printRoster(con *console) {
	con.say("roster")
	for _, p := range demoRoster {
		blocked := ""
		if p.info.Blocked {
			blocked = msg(con.lang, "blocked")
		}
		con.line(msg(con.lang, "roster.entry", p.short, p.info.Card, p.info.Role, p.info.Name, p.info.Block, blocked))
	}
}

// switches sets the booth's input switches the way a person would: by the
// sim backend's input files (which it polls, and which win over SetInput),
// then SetInput so the edge comes at once. Either way the booth driver
// debounces the change.
type switches struct {
	dir string
	cfg booth.Config
	sim *booth.Sim
}

// set puts the switch labelled "hook" or "tamper" in its active state
// (handset lifted, panel open) or not.
func (s switches) set(label string, active bool) error {
	pin, activeLow := s.cfg.Hook, s.cfg.HookActiveLow
	if label == "tamper" {
		pin, activeLow = s.cfg.Tamper, s.cfg.TamperActiveLow
	}
	level := gpio.Level(active != activeLow)
	v := "0\n"
	if level {
		v = "1\n"
	}
	path := filepath.Join(s.dir, label)
	if err := os.WriteFile(path+".tmp", []byte(v), 0o644); err != nil {
		return fmt.Errorf("setting the %s switch: %w", label, err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("setting the %s switch: %w", label, err)
	}
	if s.sim != nil {
		if err := s.sim.SetInput(pin, level); err != nil {
			return fmt.Errorf("setting the %s switch: %w", label, err)
		}
	}
	return nil
}

// shell runs console commands.
type shell struct {
	con    *console
	emu    *rfidtest.Emulator
	frames int
	sw     switches
	eng    *session.Engine
	st     *store.Store
	ctx    context.Context
	holds  sync.WaitGroup
}

// do runs one console line; it returns false on quit.
func (s *shell) do(line string) bool {
	c, err := parseCommand(line)
	if err != nil {
		s.con.say("error", err)
		return true
	}
	if err := s.exec(c); err != nil {
		s.con.say("error", err)
	}
	return c.verb != "quit"
}

func (s *shell) exec(c command) error {
	switch c.verb {
	case "", "quit":
	case "help":
		s.con.line(msg(s.con.lang, "help"))
	case "tap":
		return s.emu.Tap(rfid.CardID(c.card), s.frames)
	case "hold":
		s.con.say("hold", nameOf(c.card), c.hold)
		s.holds.Add(1)
		go func() {
			defer s.holds.Done()
			if err := s.emu.Hold(s.ctx, rfid.CardID(c.card), c.hold); err != nil && s.ctx.Err() == nil {
				s.con.say("error", err)
			}
		}()
	case "lift", "hang":
		return s.sw.set("hook", c.verb == "lift")
	case "tamper":
		return s.sw.set("tamper", c.open)
	case "unplug":
		return s.emu.Unplug()
	case "replug":
		return s.emu.Replug()
	case "status":
		return s.status()
	case "records":
		return s.records(c.n)
	}
	return nil
}

func (s *shell) status() error {
	es := s.eng.Status()
	depth, err := s.st.Depth()
	if err != nil {
		return fmt.Errorf("reading the outbox depth: %w", err)
	}
	head, _ := s.st.Head()
	extra := ""
	if es.Card != "" {
		extra = msg(s.con.lang, "status.call", nameOf(es.Card), es.Left.Round(time.Second))
	}
	if len(es.OutOfService) > 0 {
		extra += msg(s.con.lang, "status.oos", strings.Join(es.OutOfService, ","))
	}
	s.con.say("status", es.State, extra, es.Calls, es.Denials, es.OfficerActs, depth, head)
	return nil
}

// recordFields are the payload fields records prints, per kind.
var recordFields = map[string][]string{
	"call":    {"call_id", "inmate", "end_reason", "max_ms", "talked_ms", "charged_ms", "offline"},
	"denial":  {"card", "inmate", "reason"},
	"officer": {"officer", "action", "inmate", "before_ms", "after_ms", "credit_ms"},
	"event":   {"event", "detail"},
}

// records prints the last n records waiting in the outbox.
func (s *shell) records(n int) error {
	rs, err := s.st.Pending(0)
	if err != nil {
		return fmt.Errorf("reading the outbox: %w", err)
	}
	if len(rs) == 0 {
		s.con.say("records.none")
		return nil
	}
	rs = rs[max(len(rs)-n, 0):]
	var b strings.Builder
	for i, r := range rs {
		var p map[string]any
		d := json.NewDecoder(bytes.NewReader(r.Payload))
		d.UseNumber() // 90000, not 9e+04
		if err := d.Decode(&p); err != nil {
			return fmt.Errorf("record %d: payload: %w", r.Seq, err)
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "#%d %s", r.Seq, r.Kind)
		keys := recordFields[string(r.Kind)]
		if keys == nil {
			for k := range p {
				keys = append(keys, k)
			}
			sort.Strings(keys)
		}
		for _, k := range keys {
			if v, ok := p[k]; ok {
				fmt.Fprintf(&b, " %s=%v", k, v)
			}
		}
	}
	s.con.line(b.String())
	return nil
}
