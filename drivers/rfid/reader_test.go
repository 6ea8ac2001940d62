package rfid_test

import (
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.bug.st/serial/enumerator"

	"wartelsuspas/clock"
	"wartelsuspas/drivers/rfid"
)

// fakePort is a Port fed by the test; Read blocks until data or Close.
type fakePort struct {
	data   chan []byte
	closed chan struct{}
	once   sync.Once
}

func newFakePort() *fakePort {
	return &fakePort{data: make(chan []byte, 16), closed: make(chan struct{})}
}

func (p *fakePort) Read(b []byte) (int, error) {
	select {
	case d := <-p.data:
		return copy(b, d), nil
	case <-p.closed:
		return 0, io.ErrClosedPipe
	}
}
func (p *fakePort) Write(b []byte) (int, error)        { return len(b), nil }
func (p *fakePort) SetReadTimeout(time.Duration) error { return nil }
func (p *fakePort) Close() error                       { p.once.Do(func() { close(p.closed) }); return nil }

var start = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

// TestReaderBackoff: while the port cannot be opened the Reader retries
// after 250 ms, 500 ms, 1 s … up to RetryMax, reports Down once, and Up
// when the port opens; after that the backoff starts again from RetryMin.
func TestReaderBackoff(t *testing.T) {
	fk := clock.NewFake(start)
	var attempts atomic.Int32
	var port atomic.Pointer[fakePort]
	o := rfid.Options{
		Path: "/dev/ttyUSB0", Protocol: rfid.NewRDM6300(), Clock: fk,
		RetryMin: 250 * time.Millisecond, RetryMax: 2 * time.Second,
		Open: func(path string, baud int) (rfid.Port, error) {
			attempts.Add(1)
			if p := port.Load(); p != nil {
				return p, nil
			}
			return nil, syscall.ENOENT
		},
		ListPorts: func() ([]*enumerator.PortDetails, error) {
			return []*enumerator.PortDetails{{Name: "/dev/ttyS0"}, {Name: "/dev/ttyACM0", IsUSB: true, VID: "2341", PID: "0043"}}, nil
		},
	}
	r := startReader(t, o)
	e := expect(t, r, rfid.Down, "")
	if want := "no such port /dev/ttyUSB0: is the rdm6300 reader plugged in? ports seen: /dev/ttyS0, /dev/ttyACM0 (USB 2341:0043)"; e.Err.Error() != want {
		t.Errorf("down error %q, want %q", e.Err, want)
	}
	for i, want := range []time.Duration{250, 500, 1000, 2000, 2000} {
		fk.WaitTimers(1)
		if d, _ := fk.NextDeadline(); d != want*time.Millisecond {
			t.Fatalf("retry %d after %v, want %v", i, d, want*time.Millisecond)
		}
		fk.Advance(want * time.Millisecond)
	}
	fk.WaitTimers(1) // the 6th attempt failed and armed its retry
	p := newFakePort()
	port.Store(p)
	d, _ := fk.NextDeadline()
	fk.Advance(d)
	expect(t, r, rfid.Up, "")
	if n := attempts.Load(); n != 7 {
		t.Errorf("%d open attempts, want 7", n)
	}

	// Unplugged again: Down, and the first retry is RetryMin again.
	port.Store(nil)
	p.Close()
	expect(t, r, rfid.Down, "")
	fk.WaitTimers(1)
	if d, _ := fk.NextDeadline(); d != 250*time.Millisecond {
		t.Errorf("first retry after a new outage in %v, want 250ms", d)
	}
}

// TestReaderSilenceOnFakeClock: removal by silence is timed by the
// injected clock, not by wall time.
func TestReaderSilenceOnFakeClock(t *testing.T) {
	fk := clock.NewFake(start)
	p := newFakePort()
	r := startReader(t, rfid.Options{
		Path: "/dev/ttyUSB0", Protocol: rfid.NewRDM6300(), Clock: fk,
		Open: func(string, int) (rfid.Port, error) { return p, nil },
	})
	expect(t, r, rfid.Up, "")
	p.data <- []byte("\x020400D8B2A5CB\x03\x020400D8B2A5CB\x03")
	if e := expect(t, r, rfid.Present, cardA); !e.At.Equal(start) {
		t.Errorf("present at %v, want the fake clock's %v", e.At, start)
	}
	fk.WaitTimers(1)
	if d, _ := fk.NextDeadline(); d != 500*time.Millisecond {
		t.Fatalf("silence timer in %v, want 500ms", d)
	}
	fk.Advance(499 * time.Millisecond)
	p.data <- []byte("\x020400D8B2A5CB\x03") // still held: the silence starts again
	// The frame re-arms the timer 500 ms after it was seen.
	for {
		fk.WaitTimers(1)
		if d, _ := fk.NextDeadline(); d == 500*time.Millisecond {
			break
		}
		runtime.Gosched() // the reader goroutine has not handled the frame yet
	}
	fk.Advance(500 * time.Millisecond)
	if e := expect(t, r, rfid.Removed, cardA); !e.At.Equal(start.Add(999 * time.Millisecond)) {
		t.Errorf("removed at %v, want %v", e.At, start.Add(999*time.Millisecond))
	}
}

func TestReaderByUSBID(t *testing.T) {
	ports := []*enumerator.PortDetails{
		{Name: "/dev/ttyS0"},
		{Name: "/dev/ttyUSB0", IsUSB: true, VID: "1a86", PID: "7523", SerialNumber: "A1"},
		{Name: "/dev/ttyUSB1", IsUSB: true, VID: "1a86", PID: "7523", SerialNumber: "B2"},
	}
	for _, tc := range []struct {
		name, vid, pid, serial string
		wantPath, wantErr      string
	}{
		{"by serial", "1A86", "7523", "B2", "/dev/ttyUSB1", ""},
		{"ambiguous", "1a86", "7523", "", "", "2 USB serial ports match 1a86:7523 (/dev/ttyUSB0, /dev/ttyUSB1): set the reader's serial number"},
		{"absent", "10c4", "ea60", "", "", "no USB serial port 10c4:ea60: is the rdm6300 reader plugged in? ports seen: /dev/ttyS0, /dev/ttyUSB0 (USB 1a86:7523), /dev/ttyUSB1 (USB 1a86:7523)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opened := make(chan string, 1)
			r := startReader(t, rfid.Options{
				VID: tc.vid, PID: tc.pid, SerialNumber: tc.serial, Protocol: rfid.NewRDM6300(),
				Clock:     clock.NewFake(start),
				ListPorts: func() ([]*enumerator.PortDetails, error) { return ports, nil },
				Open: func(path string, baud int) (rfid.Port, error) {
					opened <- path
					return newFakePort(), nil
				},
			})
			e := next(t, r)
			if tc.wantErr != "" {
				if e.Kind != rfid.Down || !strings.Contains(e.Err.Error(), tc.wantErr) {
					t.Fatalf("event %v %v, want down with %q", e.Kind, e.Err, tc.wantErr)
				}
				return
			}
			if e.Kind != rfid.Up {
				t.Fatalf("event %v %v, want up", e.Kind, e.Err)
			}
			if got := <-opened; got != tc.wantPath {
				t.Errorf("opened %s, want %s", got, tc.wantPath)
			}
		})
	}
}

func TestNewRejectsIncompleteOptions(t *testing.T) {
	for _, o := range []rfid.Options{
		{Path: "/dev/ttyUSB0"},
		{Protocol: rfid.NewRDM6300()},
		{Protocol: rfid.NewRDM6300(), VID: "1a86"},
	} {
		if _, err := rfid.New(o); err == nil {
			t.Errorf("New(%+v) accepted incomplete options", o)
		}
	}
}

func TestProtocolByName(t *testing.T) {
	for _, name := range rfid.ProtocolNames {
		p, err := rfid.ProtocolByName(name, rfid.ProtocolOptions{})
		if err != nil || p.Name() != name {
			t.Errorf("ProtocolByName(%q) = %v, %v", name, p, err)
		}
	}
	_, err := rfid.ProtocolByName("wiegand", rfid.ProtocolOptions{})
	if err == nil || !strings.Contains(err.Error(), "rdm6300") {
		t.Errorf("unknown protocol error %v does not list the known ones", err)
	}
	if _, err := rfid.ProtocolByName("ascii", rfid.ProtocolOptions{ASCII: rfid.ASCIIOptions{Format: "octal"}}); err == nil {
		t.Error("bad ascii options accepted")
	}
}

func TestReaderHaltClosesEvents(t *testing.T) {
	p := newFakePort()
	r, err := rfid.New(rfid.Options{
		Path: "/dev/ttyUSB0", Protocol: rfid.NewRDM6300(), Clock: clock.NewFake(start),
		Open: func(string, int) (rfid.Port, error) { return p, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.String(), "rdm6300 reader on /dev/ttyUSB0"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(t.Context()) }()
	expect(t, r, rfid.Up, "")
	r.Halt()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after Halt = %v, want nil", err)
		}
	case <-time.After(eventBound):
		t.Fatal("Run did not return after Halt")
	}
	if _, ok := <-r.Events(); ok {
		t.Error("events still open after Run returned")
	}
	select {
	case <-p.closed:
	default:
		t.Error("port left open after Halt")
	}
}
