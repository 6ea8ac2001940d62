package boothrig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/modem/modemtest"
	"wartelsuspas/drivers/rfid/rfidtest"
	"wartelsuspas/kiosk/session"
)

// Booth is one `wartel-kiosk run` daemon with its emulated reader and
// simulated GPIO.
type Booth struct {
	Name   string // "b01"
	Device string // facility/booth
	Dir    string
	Config string // its kiosk.toml
	SimDir string // one file per pin
	Socket string // status socket

	rig   *Rig
	emu   *rfidtest.Emulator
	modem *modemtest.Emulator // nil: a relay-only booth

	mu      sync.Mutex
	scripts map[string]modemtest.Script
	proc    *process
	notify  *net.UnixConn
	starts  int
}

func newBooth(ctx context.Context, r *Rig, name string, withModem bool) (*Booth, error) {
	dir := filepath.Join(r.o.Dir, "booths", name)
	b := &Booth{
		Name: name, Device: r.o.Facility + "/" + name, Dir: dir,
		Config: filepath.Join(dir, "kiosk.toml"), SimDir: filepath.Join(dir, "gpio"),
		// A unix socket path is limited to 108 bytes: keep it short.
		Socket: filepath.Join(dir, "st.sock"), rig: r,
	}
	if err := os.MkdirAll(b.SimDir, 0o755); err != nil {
		return nil, fmt.Errorf("boothrig: %w", err)
	}
	bundle := filepath.Join(dir, "bundle")
	if _, err := os.Stat(filepath.Join(bundle, "bundle.json")); errors.Is(err, os.ErrNotExist) {
		os.RemoveAll(bundle)
		if err := r.Gateway.Run(ctx, "enroll", "-facility", r.o.Facility, "-booth", name, "-out", bundle); err != nil {
			return nil, err
		}
	}
	emu, err := rfidtest.NewEmulator(rfidtest.EmulatorOptions{Protocol: r.o.Protocol, Link: filepath.Join(dir, "reader")})
	if err != nil {
		return nil, fmt.Errorf("boothrig: %s: reader emulator: %w", name, err)
	}
	b.emu = emu
	// The configuration wants a path under /dev: the pty's own. (The link
	// under Dir names the reader for people; a replugged emulator gets a
	// new pty, which this booth will not follow.)
	doc, err := boothConfig(b.Device, emu.PtyPath(), r.o.Protocol, filepath.Join(dir, "booth.db"), "https://"+r.Gateway.Addr, bundle, r.o.Rules)
	if err != nil {
		emu.Close()
		return nil, err
	}
	if withModem {
		m, err := modemtest.New(modemtest.Options{Family: r.o.ModemFamily})
		if err != nil {
			emu.Close()
			return nil, fmt.Errorf("boothrig: %s: modem emulator: %w", name, err)
		}
		b.modem, b.scripts = m, map[string]modemtest.Script{}
		for _, n := range r.o.Numbers {
			b.scripts[n.E164] = n.Script
			m.Script(n.E164, n.Script)
		}
		if doc, err = modemConfig(doc, m.Path(), r.o.ModemFamily); err != nil {
			b.closeEmulators()
			return nil, err
		}
	}
	if r.o.Configure != nil {
		if doc, err = r.o.Configure(b, doc); err != nil {
			b.closeEmulators()
			return nil, fmt.Errorf("boothrig: %s: Options.Configure: %w", name, err)
		}
	}
	if err := os.WriteFile(b.Config, []byte(doc), 0o644); err != nil {
		b.closeEmulators()
		return nil, fmt.Errorf("boothrig: %w", err)
	}
	// The switches at rest before the daemon first reads them: handset on
	// the hook (active low: 1), panel closed (0).
	for pin, level := range map[string]string{"hook": "1", "tamper": "0"} {
		if _, err := os.Stat(filepath.Join(b.SimDir, pin)); errors.Is(err, os.ErrNotExist) {
			if err := b.setInput(pin, level); err != nil {
				b.closeEmulators()
				return nil, err
			}
		}
	}
	return b, nil
}

func (b *Booth) closeEmulators() {
	b.emu.Close()
	if b.modem != nil {
		b.modem.Close()
	}
}

// Start starts the daemon and waits for it to tell systemd's protocol it
// is ready (READY=1 on NOTIFY_SOCKET).
func (b *Booth) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.proc != nil {
		select {
		case <-b.proc.done:
		default:
			return fmt.Errorf("boothrig: %s is already running", b.Name)
		}
	}
	sock := filepath.Join(b.Dir, "nt.sock")
	os.Remove(sock)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("boothrig: %s: notify socket: %w", b.Name, err)
	}
	if b.notify != nil {
		b.notify.Close()
	}
	b.notify = conn
	cmd := exec.Command(b.rig.o.KioskBin, "run", "-config", b.Config, "-gpio-backend", "sim", "-sim-dir", b.SimDir, "-status-socket", b.Socket)
	cmd.Env = append(append(os.Environ(), b.rig.o.Env...), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=5000000")
	p, err := startProcess(cmd, b.Name, filepath.Join(b.Dir, "kiosk.log"), b.rig.o.Log)
	if err != nil {
		return err
	}
	b.proc = p
	b.starts++
	ready := make(chan error, 1)
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				ready <- err
				return
			}
			if strings.Contains(string(buf[:n]), "READY=1") {
				ready <- nil
				// Keep draining WATCHDOG=1 so the daemon's writes never block.
				for {
					if _, err := conn.Read(buf); err != nil {
						return
					}
				}
			}
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			return fmt.Errorf("boothrig: %s: notify socket: %w", b.Name, err)
		}
		return nil
	case <-p.done:
		return fmt.Errorf("boothrig: %s exited before it was ready: %v\n%s", b.Name, p.err, p.tail())
	case <-ctx.Done():
		p.kill()
		return fmt.Errorf("boothrig: %s not ready: %w\n%s", b.Name, ctx.Err(), p.tail())
	}
}

// Stop ends the daemon with SIGTERM, as systemd stops the service: a call
// in progress ends, billed and recorded, relay off.
func (b *Booth) Stop() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.proc == nil {
		return nil
	}
	err := b.proc.stop(syscall.SIGTERM)
	b.proc = nil
	return err
}

// Kill ends the daemon with SIGKILL, as a power cut or the OOM killer
// would, then runs `wartel-kiosk safe-off` as the service's ExecStopPost
// does. A GPIO line holds its level when its process dies, so the relay
// file shows what the pin would: on, until safe-off.
func (b *Booth) Kill(ctx context.Context) error {
	b.mu.Lock()
	p := b.proc
	b.proc = nil
	b.mu.Unlock()
	if p != nil {
		p.kill()
	}
	return b.SafeOff(ctx)
}

// SafeOff runs `wartel-kiosk safe-off` on the booth's pins.
func (b *Booth) SafeOff(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, b.rig.o.KioskBin, "safe-off", "-config", b.Config, "-gpio-backend", "sim", "-sim-dir", b.SimDir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("boothrig: %s: safe-off: %w\n%s", b.Name, err, out)
	}
	return nil
}

// Running reports whether the daemon is running.
func (b *Booth) Running() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.proc == nil {
		return false
	}
	select {
	case <-b.proc.done:
		return false
	default:
		return true
	}
}

// Emulator is the booth's card reader.
func (b *Booth) Emulator() *rfidtest.Emulator { return b.emu }

// Tap presents a card to the reader, as a card held briefly does.
func (b *Booth) Tap(card cardid.ID) error {
	frames := 3
	if b.rig.o.Protocol == "id12" || b.rig.o.Protocol == "ascii" {
		frames = 1
	}
	if err := b.emu.Tap(card, frames); err != nil {
		return fmt.Errorf("boothrig: %s: tap %s: %w", b.Name, card, err)
	}
	return nil
}

// Lift lifts the handset; Hang puts it back. The hook switch is wired
// active low, as the example configuration has it.
func (b *Booth) Lift() error { return b.setInput("hook", "0") }

// Hang puts the handset back on the hook.
func (b *Booth) Hang() error { return b.setInput("hook", "1") }

// Panel opens or closes the booth's panel (tamper switch).
func (b *Booth) Panel(open bool) error {
	if open {
		return b.setInput("tamper", "1")
	}
	return b.setInput("tamper", "0")
}

// setInput writes an input pin's file atomically, as the simulated backend
// wants.
func (b *Booth) setInput(pin, level string) error {
	p := filepath.Join(b.SimDir, pin)
	if err := os.WriteFile(p+".tmp", []byte(level+"\n"), 0o644); err != nil {
		return fmt.Errorf("boothrig: %s: %w", b.Name, err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return fmt.Errorf("boothrig: %s: %w", b.Name, err)
	}
	return nil
}

// Pins reads every pin file: label → "0" or "1" (physical levels).
func (b *Booth) Pins() (map[string]string, error) {
	ents, err := os.ReadDir(b.SimDir)
	if err != nil {
		return nil, fmt.Errorf("boothrig: %s: %w", b.Name, err)
	}
	pins := map[string]string{}
	for _, e := range ents {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		v, err := os.ReadFile(filepath.Join(b.SimDir, e.Name()))
		if err != nil {
			continue // replaced while read: the next look sees it
		}
		pins[e.Name()] = strings.TrimSpace(string(v))
	}
	return pins, nil
}

// Relay reports whether the handset relay is on (active high, as the
// example configuration wires it).
func (b *Booth) Relay() (bool, error) {
	v, err := os.ReadFile(filepath.Join(b.SimDir, "relay"))
	if err != nil {
		return false, fmt.Errorf("boothrig: %s: relay: %w", b.Name, err)
	}
	return strings.TrimSpace(string(v)) == "1", nil
}

// pollEvery is how often the Wait methods look; the daemons leave no
// other trace of a change than a file or the status socket.
const pollEvery = 10 * time.Millisecond

// WaitRelay waits until the relay is on (or off).
func (b *Booth) WaitRelay(ctx context.Context, on bool) error {
	for {
		if got, err := b.Relay(); err == nil && got == on {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("boothrig: %s: relay never turned %s: %w", b.Name, map[bool]string{true: "on", false: "off"}[on], ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// Status is the part of `wartel-kiosk status -json` the rig reads; Raw is
// the whole document.
type Status struct {
	Device  string `json:"device"`
	Session struct {
		State        string   `json:"state"`
		Inmate       string   `json:"inmate"`
		CallID       int64    `json:"call_id"`
		LeftMs       int64    `json:"left_ms"`
		OutOfService []string `json:"out_of_service"`
		ClockTrusted bool     `json:"clock_trusted"`
		OffHook      bool     `json:"off_hook"`
		HookSuspect  bool     `json:"hook_suspect"`
		Calls        int      `json:"calls"`
		Denials      int      `json:"denials"`
		OfficerActs  int      `json:"officer_acts"`
	} `json:"session"`
	Gateway struct {
		Online     bool      `json:"online"`
		LastSync   time.Time `json:"last_sync"`
		ClockKnown bool      `json:"clock_known"`
		LastError  string    `json:"last_error"`
		Uploaded   uint64    `json:"uploaded"`
	} `json:"gateway"`
	Outbox int `json:"outbox_depth"`
	// BootID names the daemon's start; Activity is what it did lately,
	// oldest first, each with a seq that counts from 1 at each start.
	BootID   string          `json:"boot_id"`
	Activity []Activity      `json:"activity"`
	Raw      json.RawMessage `json:"-"`
}

// Activity is one typed event of the daemon's status socket (the
// firmware's activityDoc): programs follow these, never the log text.
type Activity struct {
	Seq       uint64               `json:"seq"`
	Kind      session.ActivityKind `json:"kind"`
	At        time.Time            `json:"at"`
	CallID    int64                `json:"call_id"`
	Card      string               `json:"card"`
	Inmate    string               `json:"inmate"`
	Officer   string               `json:"officer"`
	Denial    string               `json:"denial"`
	End       string               `json:"end"`
	Action    string               `json:"action"`
	MaxMs     int64                `json:"max_ms"`
	TalkedMs  int64                `json:"talked_ms"`
	ChargedMs int64                `json:"charged_ms"`
	BeforeMs  int64                `json:"before_ms"`
	AfterMs   int64                `json:"after_ms"`
	Detail    string               `json:"detail"`
	Slot      int                  `json:"slot"`
	Outcome   string               `json:"outcome"`
}

// After returns the activities of s newer than seq, oldest first.
func (s Status) After(seq uint64) []Activity {
	var out []Activity
	for _, a := range s.Activity {
		if a.Seq > seq {
			out = append(out, a)
		}
	}
	return out
}

// LastSeq is the seq of the newest activity of s (0: none yet).
func (s Status) LastSeq() uint64 {
	if n := len(s.Activity); n > 0 {
		return s.Activity[n-1].Seq
	}
	return 0
}

// WaitActivity polls the status until an activity newer than seq (of the
// same start of the daemon) satisfies ok, and returns it.
func (b *Booth) WaitActivity(ctx context.Context, seq uint64, ok func(Activity) bool) (Activity, error) {
	var found Activity
	_, err := b.WaitStatus(ctx, func(s Status) bool {
		for _, a := range s.After(seq) {
			if ok(a) {
				found = a
				return true
			}
		}
		return false
	})
	return found, err
}

// Status asks the daemon over its status socket.
func (b *Booth) Status(ctx context.Context) (Status, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", b.Socket)
	if err != nil {
		return Status{}, fmt.Errorf("boothrig: %s: status: %w", b.Name, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	} else {
		c.SetDeadline(time.Now().Add(10 * time.Second))
	}
	var raw json.RawMessage
	if err := json.NewDecoder(c).Decode(&raw); err != nil {
		return Status{}, fmt.Errorf("boothrig: %s: status: %w", b.Name, err)
	}
	var s Status
	if err := json.Unmarshal(raw, &s); err != nil {
		return Status{}, fmt.Errorf("boothrig: %s: status: %w", b.Name, err)
	}
	s.Raw = raw
	return s, nil
}

// WaitStatus polls the status until ok accepts it.
func (b *Booth) WaitStatus(ctx context.Context, ok func(Status) bool) (Status, error) {
	var last Status
	var lastErr error
	for {
		s, err := b.Status(ctx)
		if err == nil && ok(s) {
			return s, nil
		}
		if err == nil {
			last = s
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("boothrig: %s: status never as wanted (last %s, %v): %w", b.Name, last.Raw, lastErr, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}
