package rfid_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/rfid"
	"wartelsuspas/drivers/rfid/rfidtest"
)

// eventBound only bounds a hang; tests never assert how long things take.
const eventBound = 10 * time.Second

// startReader runs a Reader with o until the test ends.
func startReader(t *testing.T, o rfid.Options) *rfid.Reader {
	t.Helper()
	if o.Protocol == nil {
		o.Protocol = rfid.NewRDM6300()
	}
	if o.RetryMin == 0 {
		o.RetryMin, o.RetryMax = 20*time.Millisecond, 200*time.Millisecond
	}
	r, err := rfid.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return r
}

func next(t *testing.T, r *rfid.Reader) rfid.Event {
	t.Helper()
	select {
	case e, ok := <-r.Events():
		if !ok {
			t.Fatal("events closed")
		}
		return e
	case <-time.After(eventBound):
		t.Fatalf("no event within %v", eventBound)
	}
	return rfid.Event{}
}

func expect(t *testing.T, r *rfid.Reader, kind rfid.EventKind, card cardid.ID) rfid.Event {
	t.Helper()
	e := next(t, r)
	if e.Kind != kind || e.Card != card {
		t.Fatalf("event %v %q (err %v), want %v %q", e.Kind, e.Card, e.Err, kind, card)
	}
	return e
}

func newEmulator(t *testing.T, o rfidtest.EmulatorOptions) *rfidtest.Emulator {
	t.Helper()
	e, err := rfidtest.NewEmulator(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestReaderPtyTaps(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		proto  string
		ascii  rfid.ASCIIOptions
		frames int // per tap
	}{
		{proto: "rdm6300", frames: 2},
		{proto: "id12", frames: 2},
		{proto: "ascii", ascii: rfid.ASCIIOptions{Tech: "em"}, frames: 1},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			emu := newEmulator(t, rfidtest.EmulatorOptions{Protocol: tc.proto, ASCII: tc.ascii})
			p, err := rfid.ProtocolByName(tc.proto, rfid.ProtocolOptions{ASCII: tc.ascii})
			must(t, err)
			r := startReader(t, rfid.Options{Path: emu.Path(), Protocol: p})
			expect(t, r, rfid.Up, "")
			for _, card := range []cardid.ID{cardA, cardB, cardA} {
				must(t, emu.Tap(card, tc.frames))
				if e := expect(t, r, rfid.Present, card); e.At.IsZero() {
					t.Error("event without a time")
				}
				expect(t, r, rfid.Removed, card)
			}
		})
	}
}

// TestReaderPtyHeldCard: a card held on a repeating reader is one tap,
// whether its frames come in one burst or every 50 ms for a second.
func TestReaderPtyHeldCard(t *testing.T) {
	t.Parallel()
	emu := newEmulator(t, rfidtest.EmulatorOptions{})
	// A long silence keeps a scheduling stall of the loaded test machine
	// from looking like a removal.
	r := startReader(t, rfid.Options{Path: emu.Path(), Silence: 2 * time.Second})
	expect(t, r, rfid.Up, "")
	must(t, emu.Tap(cardA, 50))
	expect(t, r, rfid.Present, cardA)
	expect(t, r, rfid.Removed, cardA)
	must(t, emu.Hold(context.Background(), cardB, time.Second))
	expect(t, r, rfid.Present, cardB)
	expect(t, r, rfid.Removed, cardB)
	if s := r.Stats(); s.Frames < 51 || s.BadFrames != 0 {
		t.Errorf("stats %+v: want at least 51 frames and no bad ones", s)
	}
}

func TestReaderPtySingleFrameIsNotATap(t *testing.T) {
	t.Parallel()
	emu := newEmulator(t, rfidtest.EmulatorOptions{})
	r := startReader(t, rfid.Options{Path: emu.Path()})
	expect(t, r, rfid.Up, "")
	must(t, emu.Tap(cardA, 1)) // one frame: could be noise through the 8-bit checksum
	must(t, emu.Tap(cardB, 2))
	expect(t, r, rfid.Present, cardB)
}

// An ID-12LA sends one frame per presentation: that frame is the tap.
func TestReaderPtyID12OneFramePerTap(t *testing.T) {
	t.Parallel()
	emu := newEmulator(t, rfidtest.EmulatorOptions{Protocol: "id12"})
	r := startReader(t, rfid.Options{Path: emu.Path(), Protocol: rfid.NewID12()})
	expect(t, r, rfid.Up, "")
	must(t, emu.Tap(cardA, 1))
	expect(t, r, rfid.Present, cardA)
	expect(t, r, rfid.Removed, cardA)
	must(t, emu.Tap(cardB, 1))
	expect(t, r, rfid.Present, cardB)
}

func TestReaderPtyNoiseAndBadChecksum(t *testing.T) {
	t.Parallel()
	emu := newEmulator(t, rfidtest.EmulatorOptions{})
	r := startReader(t, rfid.Options{Path: emu.Path()})
	expect(t, r, rfid.Up, "")
	must(t, emu.BadChecksum(cardA))
	must(t, emu.BadChecksum(cardA))
	must(t, emu.BadChecksum(cardA))
	must(t, emu.Tap(cardB, 2))
	expect(t, r, rfid.Present, cardB) // never A: its frames all failed the checksum
	if s := r.Stats(); s.BadFrames != 3 || s.LastBad != "checksum mismatch" {
		t.Errorf("stats %+v: want 3 bad frames for the checksum", s)
	}
	expect(t, r, rfid.Removed, cardB)

	must(t, emu.Noise(nil))
	must(t, emu.Tap(cardA, 2))
	expect(t, r, rfid.Present, cardA)
	if s := r.Stats(); s.BadFrames <= 3 {
		t.Errorf("stats %+v: noise with broken frames was not counted", s)
	}
}

func TestReaderPtySplitWrites(t *testing.T) {
	t.Parallel()
	emu := newEmulator(t, rfidtest.EmulatorOptions{})
	// A wide window: the point is the byte-by-byte reads, not the timing.
	r := startReader(t, rfid.Options{Path: emu.Path(), ConfirmWindow: time.Minute})
	expect(t, r, rfid.Up, "")
	f, err := emu.Frame(cardA)
	must(t, err)
	must(t, emu.SplitWrite(append(append([]byte("\x02040"), f...), f...)))
	expect(t, r, rfid.Present, cardA)
	if s := r.Stats(); s.BadFrames != 1 {
		t.Errorf("stats %+v: want the one cut-short frame counted", s)
	}
}

func TestReaderPtyUnplugReplug(t *testing.T) {
	t.Parallel()
	link := filepath.Join(t.TempDir(), "ttyRFID")
	emu := newEmulator(t, rfidtest.EmulatorOptions{Link: link})
	r := startReader(t, rfid.Options{Path: link})
	expect(t, r, rfid.Up, "")
	must(t, emu.Tap(cardA, 2))
	expect(t, r, rfid.Present, cardA)

	must(t, emu.Unplug())
	expect(t, r, rfid.Removed, cardA) // whether the card is still there is unknown
	down := expect(t, r, rfid.Down, "")
	if down.Err == nil || !strings.Contains(down.Err.Error(), link) {
		t.Fatalf("down error %v does not name the port %s", down.Err, link)
	}
	t.Logf("down: %v", down.Err)

	must(t, emu.Replug())
	expect(t, r, rfid.Up, "")
	must(t, emu.Tap(cardB, 2))
	expect(t, r, rfid.Present, cardB)
	if s := r.Stats(); s.Reopens != 1 || s.Opens != 2 || !s.Up {
		t.Errorf("stats %+v: want 2 opens, 1 reopen, up", s)
	}
}

func TestReaderNoSuchPort(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ttyUSB9")
	r := startReader(t, rfid.Options{Path: path})
	e := expect(t, r, rfid.Down, "")
	msg := e.Err.Error()
	for _, want := range []string{"no such port " + path, "plugged in", "ports seen: "} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if s := r.Stats(); s.Up || s.LastErr != msg {
		t.Errorf("stats %+v: want down with the error", s)
	}
}
