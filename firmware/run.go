package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio/gpioreg"

	"wartelsuspas/clock"
	"wartelsuspas/drivers/booth"
	"wartelsuspas/drivers/rfid"
	"wartelsuspas/firmware/config"
	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/cardtag"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/kiosk/store"
	"wartelsuspas/kiosk/uplink"
)

func init() {
	commands["run"] = command{run: runDaemon, help: "run the booth daemon (systemd Type=notify service)"}
}

// trustedOffset is the largest clock offset from the gateway at which the
// booth's wall clock counts as trusted. This version never sets the clock.
const trustedOffset = 2 * time.Second

// runFlags are run's command line.
type runFlags struct {
	config       string
	gpio         gpioFlags // -gpio-backend, -sim-dir
	statusSocket string
	logFormat    string
	debug        bool
}

func runDaemon(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f runFlags
	fs.StringVar(&f.config, "config", config.DefaultPath, "the configuration file")
	f.gpio.registerBackend(fs)
	fs.StringVar(&f.statusSocket, "status-socket", defaultStatusSocket, "unix socket `wartel-kiosk status` asks")
	fs.StringVar(&f.logFormat, "log-format", "text", "log line format: text or json")
	fs.BoolVar(&f.debug, "debug", false, "log at debug level (card ids in clear)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: wartel-kiosk run [-config FILE] [-gpio-backend periph|sim] [-sim-dir DIR] [-status-socket PATH]")
		return errUsage
	}
	log, err := newLogger(stderr, f.logFormat, f.debug)
	if err != nil {
		return err
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		n := 0
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(stderr, line)
			n++
		}
		return fmt.Errorf("%d problem(s) in %s: fix them and run `wartel-kiosk config check` again", n, f.config)
	}
	return runBooth(cfg, f, log)
}

func newLogger(w io.Writer, format string, debug bool) (*slog.Logger, error) {
	o := &slog.HandlerOptions{Level: slog.LevelInfo}
	if debug {
		o.Level = slog.LevelDebug
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", format)
}

// sessionBooth is the booth driver as the engine sees it: the driver,
// which imports nothing of kiosk, names its patterns by the words of
// kiosk/signal (a test keeps the two lists equal).
type sessionBooth struct{ *booth.Booth }

// Show implements session.Booth.
func (b sessionBooth) Show(s session.Signal) error { return b.Booth.Show(string(s)) }

// runBooth is the daemon: it returns when a signal ended it (nil) or when a
// part failed to start (the error says which).
func runBooth(cfg *config.Config, f runFlags, log *slog.Logger) error {
	pins := cfg.GPIO()
	g := f.gpio
	backend, closeBackend, err := g.open(pins.Labels())
	if err != nil {
		return fmt.Errorf("opening the GPIO backend: %w", err)
	}
	defer closeBackend()
	bo := cfg.BoothOptions()
	bo.Backend = backend
	bo.Logger = log.With("part", "booth")
	b, err := booth.New(bo) // the relay is off from here on
	if err != nil {
		return fmt.Errorf("starting the booth driver on %s: %w: check the [gpio] pins in %s", backend, err, cfg.File())
	}
	defer b.Close()
	defer b.Guard()
	sigs, stopSignals := b.OffOnSignal()
	defer stopSignals()
	log.Info("booth driver started, relay off", "booth", b.String(), "config", cfg.Summary())

	// The socket first: a second daemon stops here, before it touches the
	// store. Requests wait in the backlog until serve starts.
	srv, err := listenStatus(f.statusSocket, log)
	if err != nil {
		return err
	}
	defer srv.close()

	// The modem next: it hangs up a call a crash left up before the
	// store, the reader or the engine start.
	mod, err := newModem(cfg, f.gpio.backend, log)
	if err != nil {
		return err
	}
	if mod != nil {
		defer mod.Halt()
	}
	stopKeys := make(chan struct{})
	defer close(stopKeys)
	keys, err := newKeypad(cfg, f.gpio.backend, f.gpio.simDir, log, stopKeys)
	if err != nil {
		return err
	}
	if keys != nil {
		defer keys.Halt()
		if mod == nil {
			log.Warn("a keypad without [modem]: its keys are ignored by a relay-only booth")
		}
	}

	storePath, so := cfg.StoreOptions()
	st, err := store.Open(storePath, so)
	if err != nil {
		return fmt.Errorf("opening the store %s: %w: check store.path in %s and the disk", storePath, err, cfg.File())
	}
	defer st.Close()

	reader, err := newReader(cfg, f.gpio.backend, log)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &wiring{in: make(chan session.Input), log: log, ctx: ctx}
	w.trusted.Store(cfg.Calls.ClockTrustedAtStart)
	// A fresh id per start, so the centre tells a restart from a copy of
	// this booth's identity running elsewhere (docs/pki.md).
	bootID := uplink.NewBootID()
	var eng *session.Engine // set below; the uplink asks only once it runs
	report := func() uplink.BoothState {
		bs, bsErr := b.State()
		r := boothReport(eng.Status(), bs, bsErr, reader.Stats().Up)
		r.Faults = append(r.Faults, modemFaults(mod)...)
		return r
	}
	up := newUplink(cfg, st, w, log, bootID, report)

	// One keyed tagger for every card tag this booth shows (logs, errors,
	// status), its key in the store (docs/operations.md).
	tags := st.CardTags()
	act := &activityRing{}
	deps := session.Deps{Clock: clock.NewReal(), Store: st, Booth: sessionBooth{b}, Log: log.With("part", "session"), CardTags: tags,
		Observe: act.add}
	if up != nil {
		deps.Authoriser = redacting{a: up, tags: tags}
	}
	if mod != nil {
		deps.Dialer = modemDialer{mod}
		// The numbers the roster sync brought: the engine dials only these.
		deps.Numbers = st
	}
	sc := cfg.Session()
	sc.Rules = keptRules(sc.Rules, st, log)
	eng, err = session.New(sc, deps)
	if err != nil {
		return fmt.Errorf("starting the call engine: %w: check [policy] and [session] in %s", err, cfg.File())
	}

	var parts sync.WaitGroup
	start := func(fn func()) {
		parts.Add(1)
		b.Go(func() { defer parts.Done(); fn() })
	}
	start(func() { reader.Run(ctx) })
	start(func() { w.readerInputs(ctx, reader) })
	b.Go(func() { w.boothInputs(ctx, b) }) // ends when b.Close closes the events
	if mod != nil {
		b.Go(func() { w.modemInputs(ctx, mod) }) // ends when mod.Halt closes the events
	}
	if keys != nil && mod != nil {
		b.Go(func() { w.keypadInputs(ctx, keys) })
	}
	if up != nil {
		start(func() { up.Run(ctx) })
	}
	engineDone := make(chan error, 1)
	b.Go(func() { engineDone <- eng.Run(ctx, w.in) })

	srv.doc = func() statusDoc {
		d := snapshot(cfg, eng, reader, up, st, bootID, act)
		if mod != nil {
			ms := mod.Status()
			d.Modem = &ms
		}
		return d
	}
	b.Go(srv.serve)

	sd := newNotifier()
	if err := sd.Notify("READY=1"); err != nil {
		log.Warn("could not tell systemd the booth is ready", "err", err)
	}
	if every, ok := watchdogInterval(); ok {
		start(func() { w.watchdog(ctx, every, sd) })
	}
	log.Info("booth ready", "device", cfg.Device, "status_socket", f.statusSocket, "gateway", up != nil, "boot_id", bootID)
	act.add(session.Activity{Kind: session.ActivityReady})

	select {
	case s := <-sigs:
		log.Info("signal received: ending any call and shutting down", "signal", s.String())
	case err := <-engineDone:
		// The engine only returns when told to; this is a bug. Exit so
		// the service manager restarts the daemon (relay off meanwhile).
		cancel()
		parts.Wait()
		return fmt.Errorf("call engine stopped by itself (%v): restarting", err)
	}
	sd.Notify("STOPPING=1")
	act.add(session.Activity{Kind: session.ActivityStopped})
	cancel()
	<-engineDone // the call in progress is billed and recorded, relay off
	parts.Wait()
	log.Info("booth stopped", "calls", eng.Status().Calls)
	return nil
}

// newReader builds the card reader the file describes.
func newReader(cfg *config.Config, backend string, log *slog.Logger) (*rfid.Reader, error) {
	o, name, po := cfg.Reader()
	if pin := cfg.ResetPin(); pin != "" {
		// periph's registry holds the pins once booth.NewPeriph has
		// initialised the host; the simulator has no reset line.
		if p := gpioreg.ByName(pin); backend == "periph" && p != nil {
			po.PN532.Reset = p
		} else {
			log.Warn("PN532 reset pin not available: the reader is re-initialised without a reset pulse", "pin", pin, "backend", backend)
		}
	}
	proto, err := rfid.ProtocolByName(name, po)
	if err != nil {
		return nil, fmt.Errorf("reader protocol: %w: check reader.protocol in %s", err, cfg.File())
	}
	o.Protocol = proto
	o.Log = log.With("part", "reader")
	r, err := rfid.New(o)
	if err != nil {
		return nil, fmt.Errorf("card reader: %w: check [reader] in %s", err, cfg.File())
	}
	return r, nil
}

// newUplink returns the gateway link, or nil for a booth that runs
// standalone: no gateway.url, or a device bundle that does not load.
func newUplink(cfg *config.Config, st *store.Store, w *wiring, log *slog.Logger, bootID string, state func() uplink.BoothState) *uplink.Uplink {
	if cfg.Gateway.URL == "" {
		log.Info("no gateway configured: the booth runs standalone")
		return nil
	}
	u, err := url.Parse(cfg.Gateway.URL)
	if err != nil {
		log.Error("gateway.url unreadable: the booth runs standalone", "url", cfg.Gateway.URL, "err", err)
		return nil
	}
	bnd, err := bundle.Read(cfg.Gateway.Bundle)
	if err != nil {
		log.Error("device bundle unreadable: the booth runs standalone until it is fixed and the service restarted (docs/pki.md)", "bundle", cfg.Gateway.Bundle, "err", err)
		return nil
	}
	if bnd.Device != cfg.Device {
		// As config check refuses it: with another booth's identity the
		// link would authorise from that booth's facility and have every
		// upload of this store refused, its records never reaching the
		// centre. Standalone, they wait in the outbox.
		log.Error("device bundle is another booth's: the booth runs standalone until its own bundle is installed and the service restarted (docs/pki.md)",
			"device", cfg.Device, "bundle", cfg.Gateway.Bundle, "bundle_device", bnd.Device)
		return nil
	}
	tlsc, err := bundle.ClientTLSConfig(bnd, bundle.ClientOpts{ServerName: u.Hostname(), ClockTrusted: w.trusted.Load})
	if err != nil {
		log.Error("device bundle unusable for TLS: the booth runs standalone", "bundle", cfg.Gateway.Bundle, "err", err)
		return nil
	}
	up, err := uplink.New(uplink.Options{
		BaseURL:      cfg.Gateway.URL,
		TLS:          tlsc,
		Store:        st,
		Log:          log.With("part", "uplink"),
		Firmware:     version,
		BootID:       bootID,
		State:        state,
		OnServerTime: w.serverTime,
		OnPolicy:     w.onPolicy(cfg.Session().Rules, st),
	})
	if err != nil {
		log.Error("gateway link not started: the booth runs standalone", "err", err)
		return nil
	}
	return up
}

// wiring carries the drivers' events and the gateway's time into the call
// engine's one input channel.
type wiring struct {
	in  chan session.Input
	log *slog.Logger
	ctx context.Context // ends at shutdown

	// trustMu orders the ClockTrust inputs: the watchdog's liveness probe
	// resends the current value, which must never undo a newer change.
	trustMu sync.Mutex
	trusted atomic.Bool
}

// send hands i to the engine, or gives up when ctx ends.
func (w *wiring) send(ctx context.Context, i session.Input) bool {
	select {
	case w.in <- i:
		return true
	case <-ctx.Done():
		return false
	}
}

// readerInputs turns the card reader's events into engine inputs until the
// reader closes its events.
func (w *wiring) readerInputs(ctx context.Context, r *rfid.Reader) {
	for ev := range r.Events() {
		var i session.Input
		switch ev.Kind {
		case rfid.Present:
			i = session.Tap{Card: string(ev.Card)}
		case rfid.Removed:
			i = session.CardRemoved{Card: string(ev.Card)}
		case rfid.Down:
			i = session.Reader{Up: false, Err: ev.Err}
		case rfid.Up:
			i = session.Reader{Up: true}
		default:
			continue
		}
		if !w.send(ctx, i) {
			for range r.Events() { // let the reader's Run finish
			}
			return
		}
	}
}

// boothInputs turns the booth driver's events into engine inputs until the
// driver closes its events or ctx ends.
func (w *wiring) boothInputs(ctx context.Context, b *booth.Booth) {
	for ev := range b.Events() {
		var i session.Input
		switch ev.Kind {
		case booth.HookOff:
			i = session.Hook{OffHook: true}
		case booth.HookOn:
			i = session.Hook{OffHook: false}
		case booth.TamperOpen:
			i = session.Tamper{Open: true}
		case booth.TamperClosed:
			i = session.Tamper{Open: false}
		case booth.RelayFault:
			w.log.Error("relay fault", "err", ev.Err)
			i = session.RelayFault{Err: ev.Err}
		default:
			continue
		}
		if !w.send(ctx, i) {
			return
		}
	}
}

// serverTime is the uplink's OnServerTime. This version does not set the
// clock: it trusts it while it is within trustedOffset of the gateway's.
func (w *wiring) serverTime(server time.Time, offset time.Duration) {
	trusted := offset.Abs() < trustedOffset
	w.log.Info("gateway time", "server", server, "offset", offset, "trusted", trusted)
	w.trustMu.Lock()
	defer w.trustMu.Unlock()
	if trusted == w.trusted.Load() {
		return
	}
	if w.send(w.ctx, session.ClockTrust{Trusted: trusted}) {
		w.trusted.Store(trusted)
	}
}

// alive reports whether the engine's loop takes an input within d. The probe
// is the current clock trust, which the engine ignores when unchanged.
func (w *wiring) alive(ctx context.Context, d time.Duration) bool {
	w.trustMu.Lock()
	defer w.trustMu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case w.in <- session.ClockTrust{Trusted: w.trusted.Load()}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// watchdog pings systemd's watchdog every interval, but only while the
// engine's loop answers: a stuck loop gets the daemon killed and restarted.
func (w *wiring) watchdog(ctx context.Context, every time.Duration, sd notifier) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !w.alive(ctx, every) {
			if ctx.Err() == nil {
				w.log.Error("call engine loop not answering: withholding the watchdog ping so systemd restarts the daemon")
			}
			continue
		}
		if err := sd.Notify("WATCHDOG=1"); err != nil {
			w.log.Warn("watchdog ping failed", "err", err)
		}
	}
}

// redacting is the engine's Authoriser: the uplink, with the card id in its
// errors replaced by the tag the info-level logs use.
type redacting struct {
	a    session.Authoriser
	tags cardtag.Tagger
}

// Authorise implements session.Authoriser.
func (r redacting) Authorise(ctx context.Context, card, inmate, period string) (session.Remote, error) {
	rem, err := r.a.Authorise(ctx, card, inmate, period)
	if err != nil && card != "" && strings.Contains(err.Error(), card) {
		err = &redactedError{msg: strings.ReplaceAll(err.Error(), card, "card#"+r.tags.Tag(card)), err: err}
	}
	return rem, err
}

// redactedError shows msg and still unwraps to the original error, so
// errors.Is(err, context.DeadlineExceeded) keeps working.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
