package rfidtest

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"wartelsuspas/drivers/rfid"
)

// pn532Host is the test's side of a pipe to the emulator. A goroutine reads
// all the emulator writes, as a UART does, so a pipe write never blocks.
type pn532Host struct {
	t    *testing.T
	conn net.Conn
	in   chan byte
	p    rfid.PN532FrameParser
}

func pn532StartEmu(t *testing.T, e *PN532) *pn532Host {
	t.Helper()
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Serve(ctx, b) }()
	t.Cleanup(func() {
		cancel()
		a.Close()
		b.Close()
		<-done
	})
	h := &pn532Host{t: t, conn: a, in: make(chan byte, 4096)}
	go func() {
		var buf [64]byte
		for {
			n, err := a.Read(buf[:])
			for _, c := range buf[:n] {
				h.in <- c
			}
			if err != nil {
				close(h.in)
				return
			}
		}
	}()
	return h
}

func (h *pn532Host) write(b []byte) {
	h.t.Helper()
	if _, err := h.conn.Write(b); err != nil {
		h.t.Fatalf("write: %v", err)
	}
}

func (h *pn532Host) command(data ...byte) {
	h.t.Helper()
	h.write(rfid.EncodePN532Frame(nil, rfid.PN532HostToChip, data))
}

type pn532Frame struct {
	kind rfid.PN532FrameKind
	data []byte
	err  error
}

// next returns the next frame or parse error the emulator sends; the
// deadline only bounds a hang.
func (h *pn532Host) next() pn532Frame {
	h.t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		var in []byte
		if h.p.Buffered() == 0 {
			in = h.read(deadline.C)
		}
		_, f, err := h.p.Feed(in)
		if err != nil {
			return pn532Frame{err: err}
		}
		if f.Kind != rfid.PN532NoFrame {
			if f.Kind == rfid.PN532InfoFrame && f.TFI != rfid.PN532ChipToHost {
				h.t.Fatalf("emulator sent TFI %02X, want D5", f.TFI)
			}
			return pn532Frame{kind: f.Kind, data: append([]byte(nil), f.Data...)}
		}
	}
}

// read returns the next byte from the emulator.
func (h *pn532Host) read(deadline <-chan time.Time) []byte {
	h.t.Helper()
	select {
	case c, ok := <-h.in:
		if !ok {
			h.t.Fatal("the emulator's line closed")
		}
		return []byte{c}
	case <-deadline:
		h.t.Fatal("timed out waiting for the emulator")
	}
	return nil
}

// expect reads an ACK and then a response equal to want.
func (h *pn532Host) expect(want ...byte) {
	h.t.Helper()
	if f := h.next(); f.kind != rfid.PN532AckFrame {
		h.t.Fatalf("got %+v, want ACK", f)
	}
	if f := h.next(); f.kind != rfid.PN532InfoFrame || !bytes.Equal(f.data, want) {
		h.t.Fatalf("got %+v, want response % X", f, want)
	}
}

func TestPN532NeedsWakeUp(t *testing.T) {
	e := NewPN532()
	h := pn532StartEmu(t, e)
	h.command(0x02) // lost: the module is in power-down
	h.write(rfid.PN532WakeUp)
	h.command(0x14, 0x01)
	h.expect(0x15) // the first thing it says answers the second command
	if st := e.Stats(); st.WakeUps != 1 || st.Commands[0x02] != 0 || st.Commands[0x14] != 1 {
		t.Fatalf("stats %+v: want one wake-up and only SAMConfiguration answered", st)
	}
}

func TestPN532Answers(t *testing.T) {
	for _, tc := range []struct {
		name string
		uid  []byte
		cmd  []byte
		want []byte
	}{
		{"GetFirmwareVersion", nil, []byte{0x02}, []byte{0x03, 0x32, 0x01, 0x06, 0x07}},
		{"SAMConfiguration", nil, []byte{0x14, 0x01}, []byte{0x15}},
		{"RFConfiguration retries", nil, []byte{0x32, 0x05, 0xFF, 0x01, 0x02}, []byte{0x33}},
		{"InListPassiveTarget no card", nil, []byte{0x4A, 0x01, 0x00}, []byte{0x4B, 0x00}},
		{"InListPassiveTarget 4-byte", []byte{0xDE, 0xAD, 0xBE, 0xEF}, []byte{0x4A, 0x01, 0x00},
			[]byte{0x4B, 0x01, 0x01, 0x00, 0x04, 0x08, 0x04, 0xDE, 0xAD, 0xBE, 0xEF}},
		{"InListPassiveTarget 7-byte", []byte{1, 2, 3, 4, 5, 6, 7}, []byte{0x4A, 0x01, 0x00},
			[]byte{0x4B, 0x01, 0x01, 0x00, 0x44, 0x08, 0x07, 1, 2, 3, 4, 5, 6, 7}},
		{"InListPassiveTarget 10-byte", []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, []byte{0x4A, 0x01, 0x00},
			[]byte{0x4B, 0x01, 0x01, 0x00, 0x84, 0x08, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"InListPassiveTarget type B finds nothing", []byte{1, 2, 3, 4}, []byte{0x4A, 0x01, 0x03, 0x00}, []byte{0x4B, 0x00}},
		{"InRelease", nil, []byte{0x52, 0x00}, []byte{0x53, 0x00}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := NewPN532()
			if tc.uid != nil {
				e.PlaceCard(tc.uid)
			}
			h := pn532StartEmu(t, e)
			h.write(rfid.PN532WakeUp)
			h.command(tc.cmd...)
			h.expect(tc.want...)
		})
	}
}

func TestPN532UnknownCommandGetsErrorFrame(t *testing.T) {
	h := pn532StartEmu(t, NewPN532())
	h.write(rfid.PN532WakeUp)
	h.command(0x7E)
	if f := h.next(); f.kind != rfid.PN532AckFrame {
		t.Fatalf("got %+v, want ACK", f)
	}
	if f := h.next(); f.kind != rfid.PN532ErrorFrame {
		t.Fatalf("got %+v, want the error frame", f)
	}
}

func TestPN532NackResendsLastResponse(t *testing.T) {
	e := NewPN532()
	e.PlaceCard([]byte{0xDE, 0xAD, 0xBE, 0xEF})
	h := pn532StartEmu(t, e)
	h.write(rfid.PN532WakeUp)
	want := []byte{0x4B, 0x01, 0x01, 0x00, 0x04, 0x08, 0x04, 0xDE, 0xAD, 0xBE, 0xEF}
	h.command(0x4A, 0x01, 0x00)
	h.expect(want...)
	h.write(rfid.PN532Nack)
	if f := h.next(); f.kind != rfid.PN532InfoFrame || !bytes.Equal(f.data, want) {
		t.Fatalf("after NACK got %+v, want the response again", f)
	}
	if st := e.Stats(); st.Nacks != 1 || st.Commands[0x4A] != 1 {
		t.Fatalf("stats %+v: want 1 NACK, 1 InListPassiveTarget", st)
	}
}

func TestPN532Corrupt(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    PN532Corruption
		want error
	}{
		{"LCS", CorruptLCS, rfid.ErrPN532LCS},
		{"DCS", CorruptDCS, rfid.ErrPN532DCS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := NewPN532()
			e.PlaceCard([]byte{0xDE, 0xAD, 0xBE, 0xEF})
			e.Corrupt(tc.c, 0x4A, 1)
			h := pn532StartEmu(t, e)
			h.write(rfid.PN532WakeUp)
			h.command(0x14, 0x01)
			h.expect(0x15) // other commands are left alone
			h.command(0x4A, 0x01, 0x00)
			if f := h.next(); f.kind != rfid.PN532AckFrame {
				t.Fatalf("got %+v, want an intact ACK", f)
			}
			if f := h.next(); f.err != tc.want {
				t.Fatalf("got %+v, want error %v", f, tc.want)
			}
			h.write(rfid.PN532Nack)
			if f := h.next(); f.kind != rfid.PN532InfoFrame || f.data[len(f.data)-1] != 0xEF {
				t.Fatalf("resend got %+v, want an intact response", f)
			}
		})
	}
}

func TestPN532HangReviveAndReset(t *testing.T) {
	e := NewPN532()
	pin := e.ResetPin()
	h := pn532StartEmu(t, e)
	h.write(rfid.PN532WakeUp)
	h.command(0x14, 0x01)
	h.expect(0x15)

	e.Hang()
	h.command(0x02) // ignored
	pn532WaitIgnored(t, e, 1)
	e.Revive()
	h.command(0x14, 0x01)
	h.expect(0x15)

	e.Hang()
	h.command(0x02) // ignored
	pn532WaitIgnored(t, e, 2)
	if err := pin.Out(gpio.Low); err != nil {
		t.Fatal(err)
	}
	if err := pin.Out(gpio.High); err != nil {
		t.Fatal(err)
	}
	h.command(0x02) // lost: reset left it in power-down
	h.write(rfid.PN532WakeUp)
	h.command(0x14, 0x01)
	h.expect(0x15)

	st := e.Stats()
	if st.Ignored != 2 || st.Resets != 1 || st.WakeUps != 2 || st.Commands[0x14] != 3 || st.Commands[0x02] != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// pn532WaitIgnored waits until the emulator has ignored n frames: a pipe write
// returns once the bytes are read, before they are handled.
func pn532WaitIgnored(t *testing.T, e *PN532, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.Stats().Ignored < n {
		if time.Now().After(deadline) {
			t.Fatalf("emulator ignored %d frames, want %d", e.Stats().Ignored, n)
		}
		time.Sleep(100 * time.Microsecond) // polling for an event, not for time
	}
}

func TestPN532HangForClearsItself(t *testing.T) {
	e := NewPN532()
	h := pn532StartEmu(t, e)
	h.write(rfid.PN532WakeUp)
	e.HangFor(2)
	h.command(0x02)
	h.command(0x02)
	h.command(0x14, 0x01)
	h.expect(0x15)
	if st := e.Stats(); st.Ignored != 2 || e.Hung() {
		t.Fatalf("stats %+v hung=%v: want 2 ignored and answering again", st, e.Hung())
	}
}

func TestPN532NoiseAndSplitWrites(t *testing.T) {
	e := NewPN532()
	e.SplitWrites = true
	h := pn532StartEmu(t, e)
	h.write(rfid.PN532WakeUp)
	e.Noise([]byte{0x00, 0xFF, 0x05, 0x37})
	h.command(0x14, 0x01)
	if f := h.next(); f.err != rfid.ErrPN532LCS {
		t.Fatalf("got %+v, want the noise as a bad LCS", f)
	}
	h.expect(0x15)
}
