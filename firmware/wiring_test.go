package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"wartelsuspas/clock"
	"wartelsuspas/drivers/booth"
	"wartelsuspas/firmware/i18n"
	"wartelsuspas/kiosk/cardtag"
	"wartelsuspas/kiosk/session"
)

func TestNotify(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, addr, listen string
	}{
		{"path", filepath.Join(dir, "notify"), filepath.Join(dir, "notify")},
		{"abstract", "@wartel-test-" + filepath.Base(dir), "\x00wartel-test-" + filepath.Base(dir)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: tt.listen, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			n := notifier{addr: tt.addr}
			for _, msg := range []string{"READY=1", "WATCHDOG=1"} {
				if err := n.Notify(msg); err != nil {
					t.Fatal(err)
				}
				c.SetReadDeadline(time.Now().Add(hang))
				buf := make([]byte, 64)
				k, err := c.Read(buf)
				if err != nil || string(buf[:k]) != msg {
					t.Fatalf("read %q, %v; want %q", buf[:k], err, msg)
				}
			}
		})
	}
	if err := (notifier{}).Notify("READY=1"); err != nil {
		t.Errorf("no socket: %v, want nil (not under systemd)", err)
	}
	if err := (notifier{addr: filepath.Join(dir, "none")}).Notify("READY=1"); err == nil || !strings.Contains(err.Error(), "READY=1") {
		t.Errorf("missing socket: %v, want an error naming the message", err)
	}
}

func TestWatchdogInterval(t *testing.T) {
	tests := []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"", "", 0, false},
		{"junk", "", 0, false},
		{"0", "", 0, false},
		{"-5", "", 0, false},
		{"2000000", "", time.Second, true},
		{"10000000", "self", 5 * time.Second, true},
		{"10000000", "1", 0, false}, // meant for another process
	}
	for _, tt := range tests {
		t.Setenv("WATCHDOG_USEC", tt.usec)
		pid := tt.pid
		if pid == "self" {
			pid = strconv.Itoa(os.Getpid())
		}
		t.Setenv("WATCHDOG_PID", pid)
		got, ok := watchdogInterval()
		if got != tt.want || ok != tt.ok {
			t.Errorf("USEC %q PID %q: %v %v, want %v %v", tt.usec, tt.pid, got, ok, tt.want, tt.ok)
		}
	}
}

// TestAlive checks the watchdog's probe: it passes only while the engine's
// loop takes inputs, and resends the current clock trust unchanged.
func TestAlive(t *testing.T) {
	ctx := context.Background()
	w := &wiring{in: make(chan session.Input), log: slog.New(slog.NewTextHandler(io.Discard, nil)), ctx: ctx}
	if w.alive(ctx, 10*time.Millisecond) {
		t.Fatal("alive with no loop reading")
	}
	got := make(chan session.Input, 1)
	go func() { got <- <-w.in }()
	w.trusted.Store(true)
	if !w.alive(ctx, hang) {
		t.Fatal("not alive with a loop reading")
	}
	if in := <-got; in != (session.ClockTrust{Trusted: true}) {
		t.Errorf("probe %#v, want the current trust", in)
	}
}

// TestServerTime checks that the gateway's time marks the clock trusted
// only when the offset is small, and sends only changes.
func TestServerTime(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &wiring{in: make(chan session.Input, 8), log: slog.New(slog.NewTextHandler(io.Discard, nil)), ctx: ctx}
	steps := []struct {
		offset time.Duration
		want   []session.Input
	}{
		{5 * time.Second, nil}, // untrusted already
		{-1500 * time.Millisecond, []session.Input{session.ClockTrust{Trusted: true}}},
		{time.Second, nil},
		{-3 * time.Second, []session.Input{session.ClockTrust{Trusted: false}}},
	}
	for _, s := range steps {
		w.serverTime(time.Now(), s.offset)
		var got []session.Input
		for len(w.in) > 0 {
			got = append(got, <-w.in)
		}
		if len(got) != len(s.want) || (len(got) == 1 && got[0] != s.want[0]) {
			t.Errorf("offset %v: sent %v, want %v", s.offset, got, s.want)
		}
	}
}

// TestBoothInputs checks the translation of the booth driver's events.
func TestBoothInputs(t *testing.T) {
	sim, err := booth.NewSim(booth.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := booth.DefaultConfig()
	clk := clock.NewFake(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	sim.SetInput(cfg.Tamper, gpio.Low) // panel closed
	b, err := booth.New(booth.Options{Config: cfg, Backend: sim, Clock: clk, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &wiring{in: make(chan session.Input), log: slog.New(slog.NewTextHandler(io.Discard, nil)), ctx: ctx}
	go w.boothInputs(ctx, b)
	steps := []struct {
		pin   string
		level gpio.Level
		want  session.Input
	}{
		{cfg.Hook, gpio.Low, session.Hook{OffHook: true}}, // active low: lifted
		{cfg.Hook, gpio.High, session.Hook{OffHook: false}},
		{cfg.Tamper, gpio.High, session.Tamper{Open: true}},
		{cfg.Tamper, gpio.Low, session.Tamper{Open: false}},
	}
	for _, s := range steps {
		if err := sim.SetInput(s.pin, s.level); err != nil {
			t.Fatal(err)
		}
		var got session.Input
		deadline := time.Now().Add(hang)
		for got == nil {
			if time.Now().After(deadline) {
				t.Fatalf("%s → %v: no input", s.pin, s.level)
			}
			select {
			case got = <-w.in:
			default:
				clk.Advance(10 * time.Millisecond) // past the debounce
				time.Sleep(time.Millisecond)       // let the driver's goroutine run
			}
		}
		if got != s.want {
			t.Errorf("%s → %v: got %#v, want %#v", s.pin, s.level, got, s.want)
		}
	}
}

func TestRedacting(t *testing.T) {
	card := "em:0400D8B2A5"
	inner := errors.Join(context.DeadlineExceeded, errors.New("authorise card "+card+" of A-1"))
	tags := cardtag.Random()
	r := redacting{a: fakeAuthoriser{err: inner}, tags: tags}
	_, err := r.Authorise(context.Background(), card, "A-1", "2026-11-30")
	if err == nil || strings.Contains(err.Error(), card) || !strings.Contains(err.Error(), tags.Tag(card)) {
		t.Errorf("error %v: want the card hashed", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v no longer unwraps to the deadline", err)
	}
	want := session.Remote{Remaining: time.Minute}
	if got, err := (redacting{a: fakeAuthoriser{rem: want}, tags: tags}).Authorise(context.Background(), card, "A-1", "p"); err != nil || got != want {
		t.Errorf("success: %v %v", got, err)
	}
}

type fakeAuthoriser struct {
	rem session.Remote
	err error
}

func (f fakeAuthoriser) Authorise(context.Context, string, string, string) (session.Remote, error) {
	return f.rem, f.err
}

func TestPrintStatus(t *testing.T) {
	base := statusDoc{Device: "a/b", Firmware: "dev", Outbox: 7}
	talking := base
	talking.Session = sessionDoc{State: session.StateTalking, LeftMs: 90_000}
	talking.Reader.Up = true
	offline := base
	offline.Session.State = session.StateReady
	offline.Reader.LastErr = "unplugged"
	offline.Gateway = gatewayDoc{Configured: true, ClockKnown: true, ClockOffsetMs: -1500}
	stuckDown := base
	stuckDown.Session = sessionDoc{State: session.StateReady, HookSuspect: true}
	stuckUp := stuckDown
	stuckUp.Session.OffHook = true
	tests := []struct {
		name, lang string
		d          statusDoc
		want, not  []string
	}{
		{"talking en", "en", talking, []string{"State: Call in progress", "Time left: 1m30s", "Reader: working", "Records waiting to upload: 7"}, []string{"Gateway"}},
		{"offline en", "en", offline, []string{"Reader: down (unplugged)", "Gateway: offline since never", "Clock offset: -1.5s", "Last sync: never"}, []string{"Time left"}},
		{"talking id", "id", talking, []string{"Sisa waktu: 1m30s", "Catatan menunggu diunggah: 7"}, nil},
		{"hook stuck on-hook", "en", stuckDown, []string{"Hook switch: suspect, reads on-hook"}, []string{"off-hook"}},
		{"hook stuck off-hook", "en", stuckUp, []string{"Hook switch: suspect, reads off-hook"}, nil},
		{"hook switch working", "en", offline, nil, []string{"Hook switch"}},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		printStatus(&b, i18n.New(tt.lang), tt.d)
		for _, w := range tt.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: lacks %q:\n%s", tt.name, w, b.String())
			}
		}
		for _, w := range tt.not {
			if strings.Contains(b.String(), w) {
				t.Errorf("%s: has %q:\n%s", tt.name, w, b.String())
			}
		}
	}
}

// FuzzStatusDoc feeds the status client arbitrary documents: it must print
// or refuse them, never panic.
func FuzzStatusDoc(f *testing.F) {
	good, _ := json.Marshal(statusDoc{Device: "a/b", Session: sessionDoc{State: session.StateTalking, LeftMs: 1000}})
	f.Add(good)
	f.Add([]byte(`{"session":{"state":"nonsense","left_ms":-5},"gateway":{"configured":true}}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var d statusDoc
		if json.Unmarshal(raw, &d) != nil {
			return
		}
		for _, l := range i18n.Languages {
			printStatus(io.Discard, i18n.New(l), d)
		}
	})
}

// TestListenStatus checks the socket's mode, that a socket left by a killed
// daemon is replaced, and that a live daemon's socket is refused.
func TestListenStatus(t *testing.T) {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	path := filepath.Join(dir, "run", "kiosk.sock")

	// A stale socket: its listener is gone, the file stays.
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()

	srv, err := listenStatus(path, discard)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer srv.close()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, %v; want 0660", fi.Mode().Perm(), err)
	}
	if _, err := listenStatus(path, discard); err == nil || !strings.Contains(err.Error(), "another wartel-kiosk daemon") {
		t.Errorf("second daemon: %v, want a refusal", err)
	}

	srv.doc = func() statusDoc { return statusDoc{Device: "a/b", Outbox: 3} }
	go srv.serve()
	raw, err := queryStatus(path)
	if err != nil {
		t.Fatal(err)
	}
	var d statusDoc
	if err := json.Unmarshal(raw, &d); err != nil || d.Device != "a/b" || d.Outbox != 3 {
		t.Errorf("answer %s: %v", raw, err)
	}
}

// BenchmarkStatusQuery measures one `status` round trip over the socket.
func BenchmarkStatusQuery(b *testing.B) {
	path := filepath.Join(b.TempDir(), "kiosk.sock")
	srv, err := listenStatus(path, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.close()
	srv.doc = func() statusDoc { return statusDoc{Device: "a/b", Session: sessionDoc{State: session.StateTalking}} }
	go srv.serve()
	for b.Loop() {
		if _, err := queryStatus(path); err != nil {
			b.Fatal(err)
		}
	}
}
