package rfid_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"go.bug.st/serial"
	"pgregory.net/rapid"

	"wartelsuspas/cardid"
	"wartelsuspas/clock"
	"wartelsuspas/drivers/rfid"
	"wartelsuspas/drivers/rfid/rfidtest"
)

func pn532Hexb(t *testing.T, s string) []byte {
	t.Helper()
	var b []byte
	for _, f := range strings.Fields(s) {
		var v byte
		for _, c := range f {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= byte(c - '0')
			case c >= 'A' && c <= 'F':
				v |= byte(c - 'A' + 10)
			default:
				t.Fatalf("bad hex %q", f)
			}
		}
		b = append(b, v)
	}
	return b
}

// Known answers from the PN532 user manual and checked on modules.
func TestEncodePN532FrameKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want string
	}{
		{"GetFirmwareVersion", "02", "00 00 FF 02 FE D4 02 2A 00"},
		{"SAMConfiguration normal", "14 01", "00 00 FF 03 FD D4 14 01 17 00"},
		{"InListPassiveTarget 1 target 106A", "4A 01 00", "00 00 FF 04 FC D4 4A 01 00 E1 00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rfid.EncodePN532Frame(nil, rfid.PN532HostToChip, pn532Hexb(t, tc.data))
			if want := pn532Hexb(t, tc.want); !bytes.Equal(got, want) {
				t.Fatalf("EncodePN532Frame(D4, %s) = % X, want % X", tc.data, got, want)
			}
		})
	}
}

func TestPN532FrameParser(t *testing.T) {
	type res struct {
		kind rfid.PN532FrameKind
		data string
		err  error
	}
	ext := rfid.EncodePN532Frame(nil, rfid.PN532ChipToHost, bytes.Repeat([]byte{0x5A}, 299-40))
	for _, tc := range []struct {
		name string
		in   []byte
		want []res
	}{
		{"ACK", pn532Hexb(t, "00 00 FF 00 FF 00"), []res{{kind: rfid.PN532AckFrame}}},
		{"NACK", pn532Hexb(t, "00 00 FF FF 00 00"), []res{{kind: rfid.PN532NackFrame}}},
		{"error frame", pn532Hexb(t, "00 00 FF 01 FF 7F 81 00"), []res{{kind: rfid.PN532ErrorFrame}}},
		{"firmware answer", pn532Hexb(t, "00 00 FF 06 FA D5 03 32 01 06 07 E8 00"), []res{{kind: rfid.PN532InfoFrame, data: "\x03\x32\x01\x06\x07"}}},
		{"no preamble", pn532Hexb(t, "00 FF 02 FE D4 02 2A"), []res{{kind: rfid.PN532InfoFrame, data: "\x02"}}},
		{"garbage then ACK", pn532Hexb(t, "55 55 13 FF 00 37 00 00 FF 00 FF 00"), []res{{kind: rfid.PN532AckFrame}}},
		{"bad LCS then resync", pn532Hexb(t, "00 00 FF 02 FD D4 02 2A 00 00 00 FF 00 FF 00"), []res{{err: rfid.ErrPN532LCS}, {kind: rfid.PN532AckFrame}}},
		{"bad DCS", pn532Hexb(t, "00 00 FF 02 FE D4 02 2B 00"), []res{{err: rfid.ErrPN532DCS}}},
		{"bad ACK", pn532Hexb(t, "00 00 FF 00 FE 00"), []res{{err: rfid.ErrPN532Ack}}},
		{"bad NACK", pn532Hexb(t, "00 00 FF FF 01 00"), []res{{err: rfid.ErrPN532Ack}}},
		{"extended too long", pn532Hexb(t, "00 00 FF FF FF 01 0A F5"), []res{{err: rfid.ErrPN532TooLong}}},
		{"extended empty", pn532Hexb(t, "00 00 FF FF FF 00 00 00"), []res{{err: rfid.ErrPN532EmptyData}}},
		{"extended", ext, []res{{kind: rfid.PN532InfoFrame, data: strings.Repeat("\x5A", 259)}}},
		{"truncated answer, then ACK and answer", pn532Hexb(t, "00 00 FF 0C F4 D5 4B 00 00 FF 00 FF 00 00 00 FF 06 FA D5 03 32 01 06 07 E8 00"),
			[]res{{err: rfid.ErrPN532DCS}, {kind: rfid.PN532AckFrame}, {kind: rfid.PN532InfoFrame, data: "\x03\x32\x01\x06\x07"}}},
		{"false start in noise", pn532Hexb(t, "00 FF 05 00 00 FF 00 FF 00"), []res{{err: rfid.ErrPN532LCS}, {kind: rfid.PN532AckFrame}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Whole, and one byte at a time: a split write changes nothing.
			for _, step := range []int{len(tc.in), 1} {
				var p rfid.PN532FrameParser
				var got []res
				for i := 0; i < len(tc.in); i += step {
					b := tc.in[i:min(i+step, len(tc.in))]
					for len(b) > 0 || p.Buffered() > 0 {
						n, f, err := p.Feed(b)
						b = b[n:]
						if err != nil || f.Kind != rfid.PN532NoFrame {
							got = append(got, res{f.Kind, string(f.Data), err})
						}
					}
				}
				if len(got) != len(tc.want) {
					t.Fatalf("step %d: got %+v, want %+v", step, got, tc.want)
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Fatalf("step %d: result %d = %+v, want %+v", step, i, got[i], tc.want[i])
					}
				}
			}
		})
	}
}

// pn532NoiseByte is line noise that cannot form a start code.
func pn532NoiseByte() *rapid.Generator[byte] {
	return rapid.Byte().Filter(func(b byte) bool { return b != 0x00 && b != 0xFF })
}

// Property: frames separated by noise come out intact and in order,
// however the stream is cut.
func TestPN532FrameParserRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		frames := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 1, rfid.PN532MaxData-1), 1, 5).Draw(t, "frames")
		var stream []byte
		for i, f := range frames {
			stream = append(stream, rapid.SliceOfN(pn532NoiseByte(), 0, 8).Draw(t, "noise")...)
			stream = rfid.EncodePN532Frame(stream, rfid.PN532ChipToHost, f)
			_ = i
		}
		cut := rapid.IntRange(1, 64).Draw(t, "cut")
		var p rfid.PN532FrameParser
		var got [][]byte
		for i := 0; i < len(stream); i += cut {
			b := stream[i:min(i+cut, len(stream))]
			for len(b) > 0 || p.Buffered() > 0 {
				n, f, err := p.Feed(b)
				b = b[n:]
				if err != nil {
					t.Fatalf("error %v on a clean stream % X", err, stream)
				}
				if f.Kind == rfid.PN532InfoFrame {
					if f.TFI != rfid.PN532ChipToHost {
						t.Fatalf("TFI %02X, want D5", f.TFI)
					}
					got = append(got, append([]byte(nil), f.Data...))
				}
			}
		}
		if len(got) != len(frames) {
			t.Fatalf("got %d frames, want %d", len(got), len(frames))
		}
		for i := range got {
			if !bytes.Equal(got[i], frames[i]) {
				t.Fatalf("frame %d = % X, want % X", i, got[i], frames[i])
			}
		}
	})
}

// Property: one corrupted byte between LEN and DCS never yields a frame,
// only an error; the next good frame is still found.
func TestPN532FrameParserCorruptionProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		// Data without 00 or FF holds no start code of its own.
		data := rapid.SliceOfN(pn532NoiseByte(), 1, 40).Draw(t, "data")
		frame := rfid.EncodePN532Frame(nil, rfid.PN532ChipToHost, data)
		at := rapid.IntRange(3, len(frame)-2).Draw(t, "at") // LEN .. DCS
		flip := rapid.ByteRange(1, 255).Draw(t, "flip")
		bad := append([]byte(nil), frame...)
		bad[at] ^= flip
		stream := append(bad, rfid.PN532Ack...)
		var p rfid.PN532FrameParser
		errs, acks := 0, 0
		for b := stream; len(b) > 0 || p.Buffered() > 0; {
			n, f, err := p.Feed(b)
			b = b[n:]
			switch {
			case err != nil:
				errs++
			case f.Kind == rfid.PN532InfoFrame:
				t.Fatalf("frame % X from corrupted % X", f.Data, bad)
			case f.Kind == rfid.PN532AckFrame:
				acks++
			}
		}
		if errs == 0 {
			t.Fatalf("corrupted frame % X went unreported", bad)
		}
		// Its bytes are searched again, so the ACK after it is found
		// even when a corrupted LEN made the parser read it as data.
		if acks != 1 {
			t.Fatalf("the ACK after a corrupted frame was lost (%d acks)", acks)
		}
	})
}

// BenchmarkPN532FrameParser measures the parser on the frames the booth
// parses (goal: over 1M frames/s and no allocation per frame).
func BenchmarkPN532FrameParser(b *testing.B) {
	for _, bc := range []struct {
		name  string
		frame []byte
	}{
		{"ack", rfid.PN532Ack},
		{"poll-answer-7B-uid", rfid.EncodePN532Frame(nil, rfid.PN532ChipToHost, []byte{0x4B, 0x01, 0x01, 0x00, 0x44, 0x00, 0x07, 0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6})},
		{"extended-264B", rfid.EncodePN532Frame(nil, rfid.PN532ChipToHost, bytes.Repeat([]byte{0xA5}, rfid.PN532MaxData-1))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var p rfid.PN532FrameParser
			b.SetBytes(int64(len(bc.frame)))
			b.ReportAllocs()
			frames := 0
			for b.Loop() {
				for in := bc.frame; len(in) > 0; {
					n, f, err := p.Feed(in)
					in = in[n:]
					if err != nil {
						b.Fatal(err)
					}
					if f.Kind != rfid.PN532NoFrame {
						frames++
					}
				}
			}
			if frames != b.N {
				b.Fatalf("parsed %d frames in %d runs", frames, b.N)
			}
			b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// pn532RecSink records what a protocol reports.
type pn532RecSink struct {
	mu     sync.Mutex
	events []string // "seen:<id>", "absent", "bad:<reason>"
	notify chan struct{}
}

func pn532NewRecSink() *pn532RecSink { return &pn532RecSink{notify: make(chan struct{}, 1)} }

func (s *pn532RecSink) add(e string) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *pn532RecSink) Seen(id cardid.ID)      { s.add("seen:" + string(id)) }
func (s *pn532RecSink) Absent()                { s.add("absent") }
func (s *pn532RecSink) BadFrame(reason string) { s.add("bad:" + reason) }

func (s *pn532RecSink) snapshot() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

func (s *pn532RecSink) count(prefix string) int {
	n := 0
	for _, e := range s.snapshot() {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n
}

// waitFor waits until cond holds; the timeout only bounds a hang.
// pn532TB is what the rigs need of *testing.T and *rapid.T.
type pn532TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Cleanup(func())
}

func (s *pn532RecSink) waitFor(t pn532TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-s.notify:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; events: %v", what, s.snapshot())
		}
	}
}

// pn532PtyRig is an emulated PN532 on a pty master and the driver's port on
// the slave, opened with go.bug.st/serial as on a booth.
type pn532PtyRig struct {
	emu    *rfidtest.PN532
	master *os.File
	port   serial.Port
	serve  chan error
	cancel context.CancelFunc
}

func pn532NewPTYRig(t *testing.T, emu *rfidtest.PN532) *pn532PtyRig {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	path := slave.Name()
	port, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
	slave.Close()
	if err != nil {
		master.Close()
		t.Fatalf("serial.Open(%s): %v", path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &pn532PtyRig{emu: emu, master: master, port: port, serve: make(chan error, 1), cancel: cancel}
	go func() { r.serve <- emu.Serve(ctx, master) }()
	t.Cleanup(func() {
		cancel()
		port.Close()
		master.Close()
		<-r.serve
	})
	return r
}

// pn532RunProto runs proto on port and returns a channel with Run's result.
func pn532RunProto(proto rfid.Protocol, port rfid.Port, s rfid.Sink) (context.CancelFunc, <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proto.Run(ctx, port, s) }()
	return cancel, done
}

func pn532WaitRun(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// pn532Generous are timeouts for real-clock tests: they only bound a hang on a
// loaded machine and never fire in a passing run.
func pn532Generous() rfid.PN532Options {
	return rfid.PN532Options{
		PollInterval:    2 * time.Millisecond,
		AckTimeout:      5 * time.Second,
		ResponseTimeout: 5 * time.Second,
		PassiveRetries:  rfid.DefaultPN532Options.PassiveRetries,
	}
}

func TestPN532Contract(t *testing.T) {
	p := rfid.NewPN532(rfid.PN532Options{PortName: "/dev/ttyAMA0"})
	var _ rfid.Protocol = p
	if p.Name() != "pn532" || p.Baud() != 115200 || p.Repeating() {
		t.Fatalf("Name/Baud/Repeating = %q %d %v", p.Name(), p.Baud(), p.Repeating())
	}
	if !strings.Contains(p.String(), "/dev/ttyAMA0") {
		t.Fatalf("String() = %q does not name the port", p.String())
	}
}

// A card placed is seen on every poll, then absent once removed, for each
// UID size, through a real pty.
func TestPN532CardThroughPTY(t *testing.T) {
	for _, tc := range []struct {
		name string
		uid  []byte
	}{
		{"4-byte", []byte{0x04, 0xA1, 0xB2, 0xC3}},
		{"7-byte", []byte{0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66}},
		{"10-byte", []byte{0x04, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu := rfidtest.NewPN532()
			rig := pn532NewPTYRig(t, emu)
			sink := pn532NewRecSink()
			o := pn532Generous()
			o.PortName = "pty"
			proto := rfid.NewPN532(o)
			cancel, done := pn532RunProto(proto, rig.port, sink)
			id := "seen:" + string(cardid.ISO14443ACard(tc.uid))

			sink.waitFor(t, "absent before a card", func() bool { return sink.count("absent") >= 1 })
			emu.PlaceCard(tc.uid)
			sink.waitFor(t, "the card seen 3 times", func() bool { return sink.count(id) >= 3 })
			emu.RemoveCard()
			sink.waitFor(t, "absent after removal", func() bool {
				ev := sink.snapshot()
				return len(ev) > 0 && ev[len(ev)-1] == "absent" && sink.count(id) >= 3
			})
			cancel()
			if err := pn532WaitRun(t, done); err != nil {
				t.Fatalf("Run after cancel = %v, want nil", err)
			}
			// Exactly: absent while empty, seen while held, absent after.
			var runs []string
			for _, e := range sink.snapshot() {
				if len(runs) == 0 || runs[len(runs)-1] != e {
					runs = append(runs, e)
				}
			}
			if want := []string{"absent", id, "absent"}; !slices.Equal(runs, want) {
				t.Fatalf("events in runs %v, want %v; all: %v", runs, want, sink.snapshot())
			}
			st := emu.Stats()
			if st.WakeUps != 1 || st.Commands[0x14] != 1 || st.Commands[0x02] != 1 || st.Commands[0x32] != 1 {
				t.Fatalf("init sequence: %+v, want one wake-up, SAMConfiguration, GetFirmwareVersion, RFConfiguration", st)
			}
			// Every sighting released its target, so a card that leaves
			// and returns is seen to leave.
			if seen := sink.count(id); st.Commands[0x52] < seen-1 || st.Commands[0x52] > seen {
				t.Fatalf("%d InRelease for %d sightings", st.Commands[0x52], seen)
			}
			if proto.Reinits() != 0 {
				t.Fatalf("Reinits = %d on a healthy module", proto.Reinits())
			}
		})
	}
}

// A target whose UID is not 4, 7 or 10 bytes long is a bad frame, never
// a card, and is released like any other.
func TestPN532OddUIDIsBadFrame(t *testing.T) {
	emu := rfidtest.NewPN532()
	emu.PlaceCard([]byte{0x04, 0xA1, 0xB2, 0xC3, 0xD4})
	rig := pn532NewPTYRig(t, emu)
	sink := pn532NewRecSink()
	cancel, done := pn532RunProto(rfid.NewPN532(pn532Generous()), rig.port, sink)
	defer func() { cancel(); pn532WaitRun(t, done) }()
	sink.waitFor(t, "three bad frames", func() bool { return sink.count("bad:pn532: ISO 14443A UID of 5 bytes") >= 3 })
	if n := sink.count("seen:"); n != 0 {
		t.Fatalf("%d sightings of a 5-byte UID; events %v", n, sink.snapshot())
	}
	if st := emu.Stats(); st.Commands[0x52] < 2 {
		t.Fatalf("%d InRelease for 3 listed targets", st.Commands[0x52])
	}
}

// Noise between frames and frames split into single-byte writes cost
// nothing but BadFrame reports for the noise that looked like a frame.
func TestPN532NoiseAndSplitWrites(t *testing.T) {
	emu := rfidtest.NewPN532()
	emu.SplitWrites = true
	rig := pn532NewPTYRig(t, emu)
	sink := pn532NewRecSink()
	proto := rfid.NewPN532(pn532Generous())
	uid := []byte{0x04, 0xA1, 0xB2, 0xC3}
	emu.PlaceCard(uid)
	cancel, done := pn532RunProto(proto, rig.port, sink)
	defer func() { cancel(); pn532WaitRun(t, done) }()
	id := "seen:" + string(cardid.ISO14443ACard(uid))
	sink.waitFor(t, "first sighting", func() bool { return sink.count(id) >= 1 })
	for i := range 5 {
		// Garbage, a false start code with a bad LCS, a lone preamble.
		emu.Noise([]byte{0x55, 0x13, byte(i), 0x00, 0xFF, 0x05, 0x37, 0x00})
		want := sink.count(id) + 2
		sink.waitFor(t, "sightings after noise", func() bool { return sink.count(id) >= want })
	}
	if n := sink.count("bad:"); n < 5 {
		t.Fatalf("%d BadFrame reports for 5 false frames; events %v", n, sink.snapshot())
	}
	for _, e := range sink.snapshot() {
		if strings.HasPrefix(e, "seen:") && e != id {
			t.Fatalf("wrong card %q from noise", e)
		}
	}
	if proto.Reinits() != 0 {
		t.Fatalf("Reinits = %d: noise between frames must not cost an answer", proto.Reinits())
	}
}

// A poll answer with a bad LCS or DCS is reported, NACKed and never gives
// a card id; the module's resend gives the right one. An answer spoiled on
// every resend counts as missed: the module is re-initialised at once.
func TestPN532CorruptAnswer(t *testing.T) {
	for _, tc := range []struct {
		name        string
		c           rfidtest.PN532Corruption
		spoil       int
		wantNacks   int
		wantReinits uint64
	}{
		{"LCS", rfidtest.CorruptLCS, 1, 1, 0},
		{"DCS", rfidtest.CorruptDCS, 1, 1, 0},
		{"DCS twice", rfidtest.CorruptDCS, 2, 2, 0},
		{"LCS on every resend", rfidtest.CorruptLCS, 3, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu := rfidtest.NewPN532()
			rig := pn532NewPTYRig(t, emu)
			sink := pn532NewRecSink()
			proto := rfid.NewPN532(pn532Generous())
			uid := []byte{0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66}
			emu.PlaceCard(uid)
			cancel, done := pn532RunProto(proto, rig.port, sink)
			defer func() { cancel(); pn532WaitRun(t, done) }()
			id := "seen:" + string(cardid.ISO14443ACard(uid))
			sink.waitFor(t, "first sighting", func() bool { return sink.count(id) >= 1 })
			emu.Corrupt(tc.c, 0x4A, tc.spoil)
			sink.waitFor(t, "bad frames and two more sightings", func() bool {
				return sink.count("bad:") >= tc.spoil && sink.count(id) >= 3
			})
			for _, e := range sink.snapshot() {
				if strings.HasPrefix(e, "seen:") && e != id {
					t.Fatalf("card %q from a corrupted frame", e)
				}
			}
			if st := emu.Stats(); st.Nacks != tc.wantNacks {
				t.Fatalf("emulator got %d NACKs, want %d", st.Nacks, tc.wantNacks)
			}
			if got := proto.Reinits(); got != tc.wantReinits {
				t.Fatalf("Reinits = %d, want %d", got, tc.wantReinits)
			}
		})
	}
}

// Closing the pty master, as unplugging a USB adapter does, ends Run with
// an error that wraps the port-closed error and names the port.
func TestPN532PortClosed(t *testing.T) {
	emu := rfidtest.NewPN532()
	rig := pn532NewPTYRig(t, emu)
	sink := pn532NewRecSink()
	o := pn532Generous()
	o.PortName = "/dev/ttyUSB7"
	cancel, done := pn532RunProto(rfid.NewPN532(o), rig.port, sink)
	defer cancel()
	sink.waitFor(t, "polling", func() bool { return sink.count("absent") >= 1 })
	rig.master.Close()
	err := pn532WaitRun(t, done)
	var pe *serial.PortError
	if !errors.As(err, &pe) || pe.Code() != serial.PortClosed {
		t.Fatalf("Run = %v, want a wrapped serial PortClosed error", err)
	}
	if !strings.Contains(err.Error(), "/dev/ttyUSB7") || !strings.Contains(err.Error(), "check the cable") {
		t.Fatalf("error %q does not name the port and what to do", err)
	}
}

// pn532PipePort is a Port over one end of net.Pipe, for tests under the fake
// clock.
type pn532PipePort struct {
	net.Conn
	mu      sync.Mutex
	timeout time.Duration
	sent    rfid.PN532FrameParser
	frames  int // frames the driver wrote
}

func (p *pn532PipePort) Write(b []byte) (int, error) {
	p.mu.Lock()
	for in := b; len(in) > 0 || p.sent.Buffered() > 0; {
		n, f, err := p.sent.Feed(in)
		in = in[n:]
		if err != nil || f.Kind != rfid.PN532NoFrame {
			p.frames++
		}
	}
	p.mu.Unlock()
	return p.Conn.Write(b)
}

func (p *pn532PipePort) written() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frames
}

func (p *pn532PipePort) SetReadTimeout(d time.Duration) error {
	p.mu.Lock()
	p.timeout = d
	p.mu.Unlock()
	return nil
}

func (p *pn532PipePort) Read(b []byte) (int, error) {
	p.mu.Lock()
	d := p.timeout
	p.mu.Unlock()
	p.Conn.SetReadDeadline(time.Now().Add(d))
	n, err := p.Conn.Read(b)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return n, nil
	}
	return n, err
}

// pn532FakeRig runs the emulator and the driver over a pipe under a fake clock.
type pn532FakeRig struct {
	emu   *rfidtest.PN532
	clk   *clock.Fake
	proto *rfid.PN532
	sink  *pn532RecSink
	o     rfid.PN532Options
	done  chan struct{} // closed when Run returned, with err set
	err   error
}

func pn532NewFakeRig(t pn532TB, withPin bool, setup func(*rfidtest.PN532)) *pn532FakeRig {
	t.Helper()
	emu := rfidtest.NewPN532()
	setup(emu)
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- emu.Serve(ctx, b) }()
	clk := clock.NewFake(time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC))
	o := rfid.PN532Options{
		PortName:        "/dev/ttyAMA0",
		Clock:           clk,
		PollInterval:    100 * time.Millisecond,
		AckTimeout:      50 * time.Millisecond,
		ResponseTimeout: 200 * time.Millisecond,
		PassiveRetries:  rfid.DefaultPN532Options.PassiveRetries,
		ResetPulse:      10 * time.Millisecond,
		ResetStartup:    30 * time.Millisecond,
	}
	if withPin {
		o.Reset = emu.ResetPin()
	}
	r := &pn532FakeRig{emu: emu, clk: clk, proto: rfid.NewPN532(o), sink: pn532NewRecSink(), o: o}
	port := &pn532PipePort{Conn: a}
	runCancel, runDone := pn532RunProto(r.proto, port, r.sink)
	r.done = make(chan struct{})
	go func() { r.err = <-runDone; close(r.done) }()
	// Move the clock through poll pauses and reset waits always, and
	// through an answer timeout only once the module has taken every
	// frame the driver wrote and ignored the last: a slow goroutine never
	// times out an answer that is on its way.
	stop := make(chan struct{})
	driven := make(chan struct{})
	go func() {
		defer close(driven)
		for {
			select {
			case <-stop:
				return
			default:
			}
			d, ok := clk.NextDeadline()
			st := emu.Stats()
			unanswered := st.LastIgnored && st.Frames == port.written()
			if ok && (d == o.PollInterval || d == o.ResetPulse || d == o.ResetStartup || unanswered) {
				clk.Advance(d)
				continue
			}
			time.Sleep(100 * time.Microsecond) // yield to the goroutines under test
		}
	}()
	t.Cleanup(func() {
		runCancel()
		close(stop)
		<-driven
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return")
		}
		cancel()
		a.Close()
		b.Close()
		<-served
	})
	return r
}

// A module that hangs misses an answer, is re-initialised and resumes.
func TestPN532HangRecovers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		withPin bool
	}{
		{"revived by itself", false},
		{"reset through RSTPD_N", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uid := []byte{0x04, 0xA1, 0xB2, 0xC3}
			r := pn532NewFakeRig(t, tc.withPin, func(e *rfidtest.PN532) { e.PlaceCard(uid) })
			id := "seen:" + string(cardid.ISO14443ACard(uid))
			r.sink.waitFor(t, "first sighting", func() bool { return r.sink.count(id) >= 2 })
			before := r.sink.count(id)
			if tc.withPin {
				r.emu.Hang()
			} else {
				// The lost poll and the first re-initialisation go
				// unanswered; the second re-initialisation succeeds.
				r.emu.HangFor(2)
			}
			r.sink.waitFor(t, "sightings after the hang", func() bool { return r.sink.count(id) >= before+3 })
			want := uint64(1)
			if !tc.withPin {
				want = 2
			}
			if got := r.proto.Reinits(); got != want {
				t.Fatalf("Reinits = %d, want %d", got, want)
			}
			st := r.emu.Stats()
			if tc.withPin && st.Resets == 0 {
				t.Fatalf("RSTPD_N was not pulsed: %+v", st)
			}
			if tc.withPin && st.WakeUps < 2 {
				t.Fatalf("module was not woken after its reset: %+v", st)
			}
			select {
			case <-r.done:
				t.Fatalf("Run ended: %v", r.err)
			default:
			}
		})
	}
}

// A module that never answers again ends Run with an error saying what to
// check, after MaxReinits re-initialisations (each pulsing RSTPD_N).
func TestPN532HangForever(t *testing.T) {
	for _, tc := range []struct {
		name      string
		withPin   bool
		fromStart bool
		want      string
	}{
		{"no reset line", false, false, "PN532 stopped answering after 3 re-initialisations"},
		{"reset line", true, false, "PN532 stopped answering after 3 re-initialisations"},
		{"dead from the start", true, true, "no PN532 answers, after 3 re-initialisations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := pn532NewFakeRig(t, tc.withPin, func(e *rfidtest.PN532) {
				if tc.fromStart {
					e.Kill()
				}
			})
			if !tc.fromStart {
				r.sink.waitFor(t, "polling", func() bool { return r.sink.count("absent") >= 1 })
				r.emu.Kill()
			}
			select {
			case <-r.done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not give up on a dead module")
			}
			err := r.err
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "SEL0/SEL1") || !strings.Contains(err.Error(), "/dev/ttyAMA0") {
				t.Fatalf("Run = %v, want %q naming the port and the switches", err, tc.want)
			}
			if got := r.proto.Reinits(); got != 3 {
				t.Fatalf("Reinits = %d, want 3", got)
			}
			if st := r.emu.Stats(); tc.withPin && st.Resets != 3 {
				t.Fatalf("RSTPD_N pulsed %d times, want 3", st.Resets)
			}
		})
	}
}

// pn532UIDByte avoids 00 and FF (and the bytes a flipped bit turns into
// them), so a corrupted answer holds no start code that would hide the
// resend from the fake clock's driver.
func pn532UIDByte() *rapid.Generator[byte] { return rapid.ByteRange(0x10, 0xEF) }

// Property: whatever happens on the reader (cards of every size placed
// and removed, garbage on the line, spoiled answers, hangs that clear),
// the driver reports only cards that were placed, keeps running, and
// reports the card on the reader after the dust settles.
func TestPN532StateMachineProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := pn532NewFakeRig(t, rapid.Bool().Draw(t, "pin"), func(*rfidtest.PN532) {})
		r.sink.waitFor(t, "polling", func() bool { return r.sink.count("absent") >= 1 })
		placed := map[string]bool{}
		var current string
		// settle waits for two more reports, so the driver saw the change.
		settle := func() {
			n := len(r.sink.snapshot())
			r.sink.waitFor(t, "two more polls", func() bool { return len(r.sink.snapshot()) >= n+2 })
		}
		for range rapid.IntRange(1, 6).Draw(t, "steps") {
			switch rapid.IntRange(0, 4).Draw(t, "action") {
			case 0:
				size := rapid.SampledFrom([]int{4, 7, 10}).Draw(t, "uid size")
				uid := rapid.SliceOfN(pn532UIDByte(), size, size).Draw(t, "uid")
				r.emu.PlaceCard(uid)
				current = "seen:" + string(cardid.ISO14443ACard(uid))
				placed[current] = true
				r.sink.waitFor(t, "the placed card", func() bool {
					ev := r.sink.snapshot()
					return ev[len(ev)-1] == current
				})
			case 1:
				r.emu.RemoveCard()
				current = ""
				r.sink.waitFor(t, "absent", func() bool {
					ev := r.sink.snapshot()
					return ev[len(ev)-1] == "absent"
				})
			case 2:
				// Garbage without 00 or FF forms no start code.
				r.emu.Noise(rapid.SliceOfN(pn532UIDByte(), 1, 32).Draw(t, "noise"))
				settle()
			case 3:
				c := rapid.SampledFrom([]rfidtest.PN532Corruption{rfidtest.CorruptLCS, rfidtest.CorruptDCS}).Draw(t, "corruption")
				r.emu.Corrupt(c, 0x4A, rapid.IntRange(1, 2).Draw(t, "spoiled answers"))
				settle()
			case 4:
				// Up to 3 ignored frames: the lost command and two failed
				// re-initialisations, one fewer than MaxReinits.
				r.emu.HangFor(rapid.IntRange(1, 3).Draw(t, "hang frames"))
				settle()
			}
			select {
			case <-r.done:
				t.Fatalf("Run ended: %v", r.err)
			default:
			}
		}
		if current != "" {
			n := r.sink.count(current)
			r.sink.waitFor(t, "the card on the reader", func() bool { return r.sink.count(current) > n })
		}
		for _, e := range r.sink.snapshot() {
			if strings.HasPrefix(e, "seen:") && !placed[e] {
				t.Fatalf("reported %q, which was never placed; events %v", e, r.sink.snapshot())
			}
		}
	})
}
