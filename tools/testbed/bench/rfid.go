package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/rfid"
	"wartelsuspas/drivers/rfid/rfidtest"
)

// rfidWireTime is one RDM6300 frame on the wire: 14 bytes of 10 bits at
// 9600 baud.
const rfidWireTime = 14 * 10 * time.Second / 9600

func init() {
	register("rfid", benchRFID)
}

func benchRFID(r *Report) error {
	if err := rfidTapLatency(r, 1000); err != nil {
		return err
	}
	return rfidParserFigures(r)
}

// rfidTapLatency taps n cards through a pty and the real Reader and
// measures from the write of a tap's last byte to its Present event.
// Taps alternate between two cards, so each tap is a new card and no
// silence has to pass between taps.
func rfidTapLatency(r *Report, n int) error {
	emu, err := rfidtest.NewEmulator(rfidtest.EmulatorOptions{})
	if err != nil {
		return err
	}
	defer emu.Close()
	rd, err := rfid.New(rfid.Options{Path: emu.Path(), Protocol: rfid.NewRDM6300(), Silence: time.Minute})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rd.Run(ctx)
	wait := func(kind rfid.EventKind) (rfid.Event, error) {
		for {
			select {
			case e := <-rd.Events():
				if e.Kind == kind {
					return e, nil
				}
				if e.Kind == rfid.Down {
					return e, fmt.Errorf("reader down: %w", e.Err)
				}
			case <-time.After(10 * time.Second):
				return rfid.Event{}, fmt.Errorf("no %v event within 10s", kind)
			}
		}
	}
	if _, err := wait(rfid.Up); err != nil {
		return err
	}
	cards := []cardid.ID{"em:0400D8B2A5", "em:0C000621A5"}
	var frames [2][]byte
	for i, c := range cards {
		f, err := emu.Frame(c)
		if err != nil {
			return err
		}
		frames[i] = append(f, f...) // two frames confirm a tap
	}
	lat := make([]time.Duration, 0, n)
	for i := range n {
		t0 := time.Now()
		if err := emu.Write(frames[i%2]); err != nil {
			return err
		}
		e, err := wait(rfid.Present)
		if err != nil {
			return err
		}
		if e.Card != cards[i%2] {
			return fmt.Errorf("tap %d: present %s, want %s", i, e.Card, cards[i%2])
		}
		lat = append(lat, time.Since(t0))
	}
	for _, q := range []struct {
		name string
		p    float64
	}{{"p50", 0.50}, {"p99", 0.99}} {
		r.Add(Figure{
			Name:  "tap → present " + q.name + " (driver only)",
			Value: Ms(Percentile(lat, q.p)), Unit: "ms",
			Limit: Ms(rfidWireTime), LimitNote: "frame on the wire",
			Note: fmt.Sprintf("%d taps through a pty, go.bug.st/serial and rfid.Reader; from the write of the confirming frame's last byte to the event", n),
		})
	}
	return nil
}

// rfidParserFigures runs the frame parsers as Go benchmarks.
func rfidParserFigures(r *Report) error {
	ascii, _ := rfid.NewASCIILineParser(rfid.ASCIIOptions{Tech: "14a"})
	for _, tc := range []struct {
		name  string
		p     rfid.ByteParser
		frame string
	}{
		{"rdm6300", rfid.NewRDM6300Parser(), "\x020400D8B2A5CB\x03"},
		{"id12", rfid.NewID12Parser(), "\x020C000621A58E\r\n\x03"},
		{"ascii", ascii, "04A1B2C3D4E5F6\r\n"},
	} {
		frame := []byte(tc.frame)
		var got int
		res := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				for _, c := range frame {
					if id, _ := tc.p.Feed(c); id != "" {
						got++
					}
				}
			}
		})
		if got == 0 {
			return fmt.Errorf("%s parser read no frame from %q", tc.name, tc.frame)
		}
		perSec := float64(res.N) / res.T.Seconds()
		r.Add(Figure{
			Name:  tc.name + " parser throughput",
			Value: perSec / 1e6, Unit: "M frames/s",
			Limit: 1, LimitNote: fmt.Sprintf("goal; the line brings %.0f frames/s", float64(time.Second)/float64(rfidWireTime)), Goal: Min,
			Note: fmt.Sprintf("testing.Benchmark, %d frames, %d B/frame", res.N, res.AllocedBytesPerOp()),
		})
		r.Add(Figure{
			Name:  tc.name + " parser allocations",
			Value: float64(res.AllocsPerOp()), Unit: "allocs/frame",
			LimitNote: "goal 0", Goal: Max,
			Note: "steady state: the same card repeated",
		})
	}
	return nil
}
