package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/booth"
	"wartelsuspas/drivers/modem"
	"wartelsuspas/drivers/rfid"
	"wartelsuspas/firmware/config"
	"wartelsuspas/firmware/i18n"
	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/store"
	"wartelsuspas/kiosk/uplink"
)

func init() {
	commands["selftest"] = command{run: selfTest, help: "the technician's test at the booth: lamps, buzzer, relay, handset, card, gateway, clock, disk"}
}

// Free disk below either bound fails the self-test: the store needs room to
// journal calls, and a full disk makes the booth refuse them.
const (
	minFreeBytes   = 100 << 20
	minFreePercent = 5
)

// selftestFlags are selftest's command line.
type selftestFlags struct {
	config       string
	gpio         gpioFlags // -gpio-backend, -sim-dir
	statusSocket string
	lang         string
	wait         time.Duration
	skip         string
}

// result is the outcome of one self-test step, a catalogue key.
type result string

const (
	pass result = "selftest.pass"
	fail result = "selftest.fail"
	skip result = "selftest.skip"
)

// selftestSkips are the step groups -skip accepts.
var selftestSkips = []string{"interactive", "gateway"}

// errSelftestFailed makes the exit status 1 once the table is printed.
var errSelftestFailed = errors.New("self-test failed: see the FAIL rows above")

func selfTest(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("selftest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f selftestFlags
	fs.StringVar(&f.config, "config", config.DefaultPath, "the configuration file")
	f.gpio.registerBackend(fs)
	fs.StringVar(&f.statusSocket, "status-socket", defaultStatusSocket, "the daemon's status socket: the self-test refuses to run while it answers")
	fs.StringVar(&f.lang, "lang", "", "language of the table: id or en (default: the config file's, then LANG)")
	fs.DurationVar(&f.wait, "wait", 30*time.Second, "how long to wait for the technician at each interactive step")
	fs.StringVar(&f.skip, "skip", "", "comma-separated step groups to skip: interactive (handset and card), gateway")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	skips := map[string]bool{}
	for _, s := range strings.Split(f.skip, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(selftestSkips, s) {
			fmt.Fprintf(stderr, "-skip %q: want one or more of %s\n", s, strings.Join(selftestSkips, ","))
			return errUsage
		}
		skips[s] = true
	}
	if fs.NArg() > 0 || f.wait <= 0 {
		fmt.Fprintln(stderr, "usage: wartel-kiosk selftest [-config FILE] [-gpio-backend periph|sim] [-sim-dir DIR] [-lang id|en] [-wait 30s] [-skip interactive,gateway]")
		return errUsage
	}
	// Both would drive the same pins and serial port.
	if c, err := net.DialTimeout("unix", f.statusSocket, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("the daemon answers on %s: stop the service first: systemctl stop wartel-kiosk", f.statusSocket)
	}

	t := &selftest{f: f, skips: skips, out: stdout, log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	cfg, cfgErr := config.Load(f.config)
	lang := f.lang
	if lang == "" && cfg != nil {
		lang = cfg.Lang()
	}
	if lang == "" {
		lang = i18n.Choose("")
	}
	t.c = i18n.New(lang)
	device := ""
	if cfg != nil {
		device = cfg.Device
	}
	fmt.Fprintln(stdout, t.c.T("selftest.title", device))
	if cfgErr != nil {
		t.row("selftest.step.config", fail, t.c.T("selftest.config_bad", f.config, strings.ReplaceAll(cfgErr.Error(), "\n", "; ")))
		return t.finish()
	}
	t.row("selftest.step.config", pass, t.c.T("selftest.config_ok", cfg.File(), cfg.Device))
	return t.run(cfg)
}

// selftest is one run's state: the catalogue, the rows so far.
type selftest struct {
	f     selftestFlags
	skips map[string]bool
	c     *i18n.Catalogue
	out   io.Writer
	log   *slog.Logger
	rows  []result
	// failed are the steps failed so far, as the heartbeat's faults
	// ("selftest_relay").
	failed []string

	offset    time.Duration // from the gateway; valid when hasOffset
	hasOffset bool
}

// row prints one line of the table as soon as the step ends, so the
// technician sees progress.
func (t *selftest) row(step string, r result, detail string) {
	t.rows = append(t.rows, r)
	if r == fail {
		t.failed = append(t.failed, "selftest_"+strings.TrimPrefix(step, "selftest.step."))
	}
	fmt.Fprintf(t.out, "%-9s %-12s %s\n", t.c.T(string(r)), t.c.T(step), detail)
}

// prompt tells the technician what to do now, on a line of its own.
func (t *selftest) prompt(key string, args ...any) {
	fmt.Fprintf(t.out, ">> %s\n", t.c.T(key, args...))
}

// finish prints the summary and turns any FAIL into the exit status.
func (t *selftest) finish() error {
	passed, failed := 0, 0
	for _, r := range t.rows {
		switch r {
		case pass:
			passed++
		case fail:
			failed++
		}
	}
	fmt.Fprintln(t.out, t.c.T("selftest.summary", passed, len(t.rows)))
	if failed > 0 {
		return errSelftestFailed
	}
	return nil
}

// run does steps 2 to 10 with the booth driver and the reader open. The
// relay ends off on every path: Guard on a panic, OffOnSignal on
// SIGINT/SIGTERM, and an explicit off before returning.
func (t *selftest) run(cfg *config.Config) error {
	g := t.f.gpio
	pins := cfg.GPIO()
	backend, closeBackend, err := g.open(pins.Labels())
	if err != nil {
		return fmt.Errorf("opening the GPIO backend: %w", err)
	}
	defer closeBackend()
	bo := cfg.BoothOptions()
	bo.Backend = backend
	bo.Logger = t.log.With("part", "booth")
	bo.Patterns = selftestPatterns()
	b, err := booth.New(bo)
	if err != nil {
		return fmt.Errorf("starting the booth driver on %s: %w: check the [gpio] pins in %s", backend, err, cfg.File())
	}
	defer b.Close()
	defer b.SetRelay(false)
	defer b.Guard()
	sigs, stopSignals := b.OffOnSignal()
	defer stopSignals()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()

	hooks := make(chan booth.EventKind, 16)
	go func() {
		for ev := range b.Events() {
			if ev.Kind == booth.HookOff || ev.Kind == booth.HookOn {
				select {
				case hooks <- ev.Kind:
				default:
				}
			}
		}
	}()

	reader, err := newReader(cfg, t.f.gpio.backend, t.log)
	if err != nil {
		return err
	}
	cards := make(chan cardid.ID, 16)
	up := make(chan struct{})
	readerDone := make(chan struct{})
	go func() { defer close(readerDone); reader.Run(ctx) }()
	go func() {
		seenUp := false
		for ev := range reader.Events() {
			switch ev.Kind {
			case rfid.Up:
				if !seenUp {
					seenUp = true
					close(up)
				}
			case rfid.Present:
				select {
				case cards <- ev.Card:
				default:
				}
			}
		}
	}()
	defer func() { cancel(); <-readerDone }()

	steps := []func(context.Context, *config.Config, *booth.Booth) bool{
		t.lamps, t.buzzer, t.relay,
		func(ctx context.Context, _ *config.Config, b *booth.Booth) bool { return t.hook(ctx, b, hooks) },
		func(ctx context.Context, cfg *config.Config, _ *booth.Booth) bool { return t.card(ctx, cfg, cards) },
		func(ctx context.Context, cfg *config.Config, _ *booth.Booth) bool {
			return t.reader(ctx, cfg, reader, up)
		},
		func(ctx context.Context, cfg *config.Config, _ *booth.Booth) bool { return t.modem(ctx, cfg) },
		func(ctx context.Context, cfg *config.Config, b *booth.Booth) bool {
			return t.gateway(ctx, cfg, b, reader)
		},
		func(ctx context.Context, _ *config.Config, _ *booth.Booth) bool { return t.clockState(ctx) },
		func(_ context.Context, cfg *config.Config, _ *booth.Booth) bool { return t.disk(cfg) },
	}
	for _, step := range steps {
		if !step(ctx, cfg, b) || ctx.Err() != nil {
			b.SetRelay(false)
			fmt.Fprintln(t.out, t.c.T("selftest.interrupted"))
			t.finish()
			return errSelftestFailed
		}
	}
	return t.finish()
}

// selftestPatterns are the default signals plus one per lamp and a beep,
// so each output can be shown alone.
func selftestPatterns() map[string]booth.Pattern {
	p := booth.DefaultPatterns()
	p["selftest_off"] = booth.Pattern{Intro: []booth.Step{{}}}
	p["selftest_green"] = booth.Pattern{Intro: []booth.Step{{Lamps: booth.Green}}}
	p["selftest_amber"] = booth.Pattern{Intro: []booth.Step{{Lamps: booth.Amber}}}
	p["selftest_red"] = booth.Pattern{Intro: []booth.Step{{Lamps: booth.Red}}}
	p["selftest_buzzer"] = booth.Pattern{Intro: []booth.Step{{Buzzer: true}}}
	return p
}

// pause waits d, or less if ctx ends. The operator watches the lamps.
func pause(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (t *selftest) lamps(ctx context.Context, _ *config.Config, b *booth.Booth) bool {
	t.prompt("selftest.lamps")
	for _, l := range []string{"green", "amber", "red"} {
		t.prompt("selftest.lamp", t.c.T("word."+l))
		if err := b.Show("selftest_" + l); err != nil {
			b.Show("selftest_off")
			t.row("selftest.step.lamps", fail, t.c.T("selftest.pin_error", err))
			return true
		}
		if !pause(ctx, time.Second) {
			return false
		}
	}
	if err := b.Show("selftest_off"); err != nil {
		t.row("selftest.step.lamps", fail, t.c.T("selftest.pin_error", err))
		return true
	}
	t.row("selftest.step.lamps", pass, t.c.T("selftest.lamps_done"))
	return true
}

func (t *selftest) buzzer(ctx context.Context, _ *config.Config, b *booth.Booth) bool {
	t.prompt("selftest.buzzer")
	if err := b.Show("selftest_buzzer"); err != nil {
		b.Show("selftest_off")
		t.row("selftest.step.buzzer", fail, t.c.T("selftest.pin_error", err))
		return true
	}
	ok := pause(ctx, time.Second)
	err := b.Show("selftest_off")
	if !ok {
		return false
	}
	if err != nil {
		t.row("selftest.step.buzzer", fail, t.c.T("selftest.pin_error", err))
		return true
	}
	t.row("selftest.step.buzzer", pass, t.c.T("selftest.buzzer_done"))
	return true
}

// relay clicks the relay on for 300 ms. With a feedback contact wired, the
// driver latches a fault when the contact does not follow; that fails the
// step.
func (t *selftest) relay(ctx context.Context, cfg *config.Config, b *booth.Booth) bool {
	t.prompt("selftest.relay")
	err := b.SetRelay(true)
	ok := err == nil && pause(ctx, 300*time.Millisecond)
	if offErr := b.SetRelay(false); err == nil {
		err = offErr
	}
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		t.row("selftest.step.relay", fail, t.c.T("selftest.relay_fault", err))
		return true
	}
	if !ok {
		return false
	}
	if cfg.GPIO().Feedback == "" {
		t.row("selftest.step.relay", pass, t.c.T("selftest.relay_done"))
		return true
	}
	// Give the contact the settle time to follow the off command too.
	if !pause(ctx, 2*cfg.BoothOptions().Settle+100*time.Millisecond) {
		return false
	}
	st, err := b.State()
	if err == nil {
		err = st.Fault
	}
	if err != nil {
		t.row("selftest.step.relay", fail, t.c.T("selftest.relay_fault", err))
		return true
	}
	t.row("selftest.step.relay", pass, t.c.T("selftest.relay_done")+" "+t.c.T("selftest.relay_feedback", cfg.GPIO().Feedback))
	return true
}

// waitHook waits for the hook event want, up to -wait.
func (t *selftest) waitHook(ctx context.Context, hooks <-chan booth.EventKind, want booth.EventKind) (seen, alive bool) {
	tm := time.NewTimer(t.f.wait)
	defer tm.Stop()
	for {
		select {
		case k := <-hooks:
			if k == want {
				return true, true
			}
		case <-tm.C:
			return false, true
		case <-ctx.Done():
			return false, false
		}
	}
}

func (t *selftest) hook(ctx context.Context, b *booth.Booth, hooks <-chan booth.EventKind) bool {
	if t.skips["interactive"] {
		t.row("selftest.step.hook", skip, t.c.T("selftest.skipped_by", "interactive"))
		return true
	}
	t.prompt("selftest.lift")
	if st, err := b.State(); err != nil || !st.OffHook {
		seen, alive := t.waitHook(ctx, hooks, booth.HookOff)
		if !alive {
			return false
		}
		if !seen {
			t.row("selftest.step.hook", fail, t.c.T("selftest.timeout", t.f.wait)+" "+t.c.T("selftest.lift"))
			return true
		}
	}
	t.prompt("selftest.hang_up")
	seen, alive := t.waitHook(ctx, hooks, booth.HookOn)
	if !alive {
		return false
	}
	if !seen {
		t.row("selftest.step.hook", fail, t.c.T("selftest.timeout", t.f.wait)+" "+t.c.T("selftest.hang_up"))
		return true
	}
	t.row("selftest.step.hook", pass, t.c.T("selftest.hook_seen", t.c.T("word.lifted"))+" "+t.c.T("selftest.hook_seen", t.c.T("word.hung_up")))
	return true
}

func (t *selftest) card(ctx context.Context, cfg *config.Config, cards <-chan cardid.ID) bool {
	if t.skips["interactive"] {
		t.row("selftest.step.card", skip, t.c.T("selftest.skipped_by", "interactive"))
		return true
	}
	_, proto, _ := cfg.Reader()
	t.prompt("selftest.tap")
	tm := time.NewTimer(t.f.wait)
	defer tm.Stop()
	select {
	case id := <-cards:
		t.row("selftest.step.card", pass, t.c.T("selftest.card_proto", id, proto))
	case <-tm.C:
		o, _, _ := cfg.Reader()
		t.row("selftest.step.card", fail, t.c.T("selftest.timeout", t.f.wait)+" "+t.c.T("selftest.reader_missing", readerWhere(o)))
	case <-ctx.Done():
		return false
	}
	return true
}

// readerWhere names the reader's port for a message: its path or USB ids.
func readerWhere(o rfid.Options) string {
	if o.Path != "" {
		return o.Path
	}
	return fmt.Sprintf("USB %s:%s", o.VID, o.PID)
}

// reader checks the port is open and the protocol running, waiting up to
// -wait for the first open (it runs since the start of the test).
func (t *selftest) reader(ctx context.Context, cfg *config.Config, r *rfid.Reader, up <-chan struct{}) bool {
	tm := time.NewTimer(t.f.wait)
	defer tm.Stop()
	select {
	case <-up:
	case <-tm.C:
	case <-ctx.Done():
		return false
	}
	o, proto, _ := cfg.Reader()
	s := r.Stats()
	if !s.Up {
		detail := t.c.T("selftest.reader_missing", readerWhere(o))
		if s.LastErr != "" {
			detail += " (" + s.LastErr + ")"
		}
		t.row("selftest.step.reader", fail, detail)
		return true
	}
	detail := t.c.T("selftest.reader_stats", proto, s.Port, s.Frames, s.BadFrames)
	if s.LastBad != "" {
		detail += " (" + s.LastBad + ")"
	}
	t.row("selftest.step.reader", pass, detail)
	return true
}

// modem opens the module (ATH first, as the daemon does) and waits for its
// first health report: it answers, the SIM is ready, it is registered and
// the signal is at least modem.min_signal; a failure says what to do.
func (t *selftest) modem(ctx context.Context, cfg *config.Config) bool {
	port, _, ok := cfg.ModemOptions()
	if !ok {
		t.row("selftest.step.modem", skip, t.c.T("selftest.modem_none"))
		return true
	}
	m, err := newModem(cfg, t.f.gpio.backend, t.log)
	if err != nil {
		t.row("selftest.step.modem", fail, err.Error())
		return true
	}
	defer m.Halt()
	tm := time.NewTimer(t.f.wait + modem.DefaultOptions.CommandTimeout*10)
	defer tm.Stop()
	for {
		select {
		case ev := <-m.Events():
			if ev.Kind != modem.Health {
				continue
			}
			st := m.Status()
			if !ev.Up {
				t.row("selftest.step.modem", fail, t.c.T("selftest.modem_down", string(ev.Cause), ev.Err))
				return true
			}
			t.row("selftest.step.modem", pass, t.c.T("selftest.modem_ok", port, st.Operator, st.RSSI))
			return true
		case <-tm.C:
			t.row("selftest.step.modem", fail, t.c.T("selftest.modem_silent", port))
			return true
		case <-ctx.Done():
			return false
		}
	}
}

// gateway loads the device bundle, checks it names this booth, and posts a
// heartbeat over mutual TLS: the answer proves reachability and identity
// and carries the server's clock.
func (t *selftest) gateway(ctx context.Context, cfg *config.Config, b *booth.Booth, r *rfid.Reader) bool {
	if t.skips["gateway"] {
		t.row("selftest.step.gateway", skip, t.c.T("selftest.skipped_by", "gateway"))
		return true
	}
	if cfg.Gateway.URL == "" {
		t.row("selftest.step.gateway", skip, t.c.T("selftest.gateway_down", "-", "gateway.url"))
		return true
	}
	detail, err := t.heartbeat(ctx, cfg, b, r)
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		t.row("selftest.step.gateway", fail, err.Error())
		return true
	}
	t.row("selftest.step.gateway", pass, detail)
	return true
}

// heartbeat returns the PASS detail, or an error already in the catalogue's
// words. It goes through the daemon's own /v1 client (kiosk/uplink), so
// the centre sees what the booth is: under self-test, taking no calls, with
// the faults found so far and the outbox the store holds.
func (t *selftest) heartbeat(ctx context.Context, cfg *config.Config, b *booth.Booth, r *rfid.Reader) (string, error) {
	gw := cfg.Gateway.URL
	bnd, err := bundle.Read(cfg.Gateway.Bundle)
	if err != nil {
		return "", errors.New(t.c.T("selftest.tls_bad", err))
	}
	if bnd.Device != cfg.Device {
		return "", errors.New(t.c.T("selftest.tls_bad", t.c.T("selftest.identity_mismatch", bnd.Device, cfg.Device)))
	}
	u, err := url.Parse(gw)
	if err != nil {
		return "", errors.New(t.c.T("selftest.gateway_down", gw, err))
	}
	tlsc, err := bundle.ClientTLSConfig(bnd, bundle.ClientOpts{ServerName: u.Hostname()})
	if err != nil {
		return "", errors.New(t.c.T("selftest.tls_bad", err))
	}
	st, closeStore := t.outbox(cfg)
	defer closeStore()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsc}}
	defer client.CloseIdleConnections()
	up, err := uplink.New(uplink.Options{
		BaseURL: gw, HTTPClient: client, Store: st, Log: t.log, Firmware: version,
		RequestTimeout: 10 * time.Second, BootID: uplink.NewBootID(),
		State: func() uplink.BoothState {
			bs, bsErr := b.State()
			return uplink.BoothState{
				State: stateSelftest, OutOfService: []string{causeSelftest},
				Faults: append(partFaults(bs, bsErr, r.Stats().Up), t.failed...),
			}
		},
	})
	if err != nil {
		return "", errors.New(t.c.T("selftest.gateway_down", gw, err))
	}
	beat, err := up.Heartbeat(ctx)
	var op *net.OpError // crypto/tls reports a peer's alert as Op "remote error"
	var verify *tls.CertificateVerificationError
	var he *uplink.HTTPError
	switch {
	case errors.As(err, &op) && op.Op == "remote error": // the gateway refused our certificate
		return "", errors.New(t.c.T("selftest.tls_refused", gw, op.Err))
	case errors.As(err, &verify): // we refused the gateway's
		return "", errors.New(t.c.T("selftest.tls_bad", err))
	case errors.As(err, &he):
		msg := fmt.Sprintf("%d %s %s", he.StatusCode, http.StatusText(he.StatusCode), he.Message)
		return "", errors.New(t.c.T("selftest.gateway_down", gw, t.c.T("selftest.http_status", strings.TrimSpace(msg))))
	case err != nil:
		return "", errors.New(t.c.T("selftest.gateway_down", gw, err))
	}
	// Gateway minus booth, as the daemon reports it (docs/uplink.md).
	t.offset = beat.Offset.Round(time.Millisecond)
	t.hasOffset = true
	return t.c.T("selftest.gateway", gw, beat.RTT.Round(time.Millisecond)) + " " +
		t.c.T("selftest.tls", bnd.Device, bnd.NotAfter.Format("2006-01-02")), nil
}

// outbox opens the booth's store for the heartbeat's outbox depth and
// roster version, when the daemon has made it: the self-test never
// creates a store, which would claim the file for the configured device.
func (t *selftest) outbox(cfg *config.Config) (uplink.Store, func()) {
	path, so := cfg.StoreOptions()
	if _, err := os.Stat(path); err != nil {
		return noStore{}, func() {}
	}
	st, err := store.Open(path, so)
	if err != nil {
		t.log.Warn("store not readable: the heartbeat reports an empty outbox", "store", path, "err", err)
		return noStore{}, func() {}
	}
	return st, func() { st.Close() }
}

// noStore is the outbox of a booth whose daemon has not run yet: empty.
type noStore struct{}

func (noStore) PendingAfter(uint64, int) ([]record.Record, error) { return nil, nil }
func (noStore) Ack(uint64) error                                  { return errors.New("selftest: no store to acknowledge in") }
func (noStore) Depth() (int, error)                               { return 0, nil }
func (noStore) RosterVersion() (int64, error)                     { return 0, nil }

func (noStore) RosterStage() (record.RosterStage, bool, error) {
	return record.RosterStage{}, false, nil
}
func (noStore) StageRoster(record.RosterStage, []record.CardInfo, []string) error {
	return errors.New("selftest: no store to stage a roster in")
}
func (noStore) ApplyStaged(int64) error   { return errors.New("selftest: no store to apply a roster to") }
func (noStore) DiscardRosterStage() error { return nil }

// ChainHead of no store is an empty chain, which the gateway pins nothing to.
func (noStore) ChainHead() (string, uint64, string) { return "", 0, record.GenesisHash }
func (noStore) ApplyRosterBlocked(int64, []record.CardInfo, []string, []string) error {
	return errors.New("selftest: no store to apply a roster to")
}

// clockState reports the offset from the gateway when the gateway step
// learnt it, else the system's NTP state.
func (t *selftest) clockState(ctx context.Context) bool {
	if t.hasOffset {
		if t.offset.Abs() < trustedOffset {
			t.row("selftest.step.clock", pass, t.c.T("selftest.clock_trusted", t.offset))
		} else {
			t.row("selftest.step.clock", fail, t.c.T("selftest.clock_offset_bad", t.offset))
		}
		return true
	}
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(tctx, "timedatectl", "show", "-p", "NTPSynchronized", "--value").Output()
	if ctx.Err() != nil {
		return false
	}
	switch v := strings.TrimSpace(string(out)); {
	case err == nil && v == "yes":
		t.row("selftest.step.clock", pass, t.c.T("selftest.ntp_yes"))
	case err == nil && v == "no":
		t.row("selftest.step.clock", fail, t.c.T("selftest.ntp_no"))
	default:
		why := v
		if err != nil {
			why = err.Error()
		}
		t.row("selftest.step.clock", skip, t.c.T("selftest.clock_unknown", why))
	}
	return true
}

// disk checks the free space of the file system that holds the store.
func (t *selftest) disk(cfg *config.Config) bool {
	path, _ := cfg.StoreOptions()
	dir := filepath.Dir(path)
	for { // the store's directory may not exist yet: measure its parent
		if _, err := os.Stat(dir); err == nil || dir == filepath.Dir(dir) {
			break
		}
		dir = filepath.Dir(dir)
	}
	var s syscall.Statfs_t
	if err := syscall.Statfs(dir, &s); err != nil {
		t.row("selftest.step.disk", fail, fmt.Sprintf("%s: %v", dir, err))
		return true
	}
	free := s.Bavail * uint64(s.Bsize)
	total := s.Blocks * uint64(s.Bsize)
	if diskLow(free, total) {
		t.row("selftest.step.disk", fail, t.c.T("selftest.disk_low", humanBytes(free))+" ("+dir+")")
		return true
	}
	t.row("selftest.step.disk", pass, t.c.T("selftest.disk", humanBytes(free), humanBytes(total))+" ("+dir+")")
	return true
}

// diskLow reports whether free bytes of total are too few for the store.
func diskLow(free, total uint64) bool {
	return free < minFreeBytes || (total > 0 && free*100 < total*minFreePercent)
}

// humanBytes prints n in MB or GB, as df -h would.
func humanBytes(n uint64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%d MB", n>>20)
}
