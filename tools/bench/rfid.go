package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

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
	rfidParserFigures(r)
	return nil
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
	cards := []rfid.CardID{"em:0400D8B2A5", "em:0C000621A5"}
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
	slices.Sort(lat)
	for _, q := range []struct {
		name string
		p    float64
	}{{"p50", 0.50}, {"p99", 0.99}} {
		v := lat[int(q.p*float64(len(lat)-1))]
		r.Add(Figure{
			Name:  "tap → present " + q.name,
			Value: fmt.Sprintf("%.3f ms", float64(v)/1e6),
			Limit: fmt.Sprintf("%.1f ms frame on the wire; goal < 2 ms added", float64(rfidWireTime)/1e6),
			Ratio: fmt.Sprintf("%.3f", float64(v)/float64(rfidWireTime)),
			Note:  fmt.Sprintf("%d taps through a pty, go.bug.st/serial and rfid.Reader; from write of the last byte to the event", n),
		})
	}
	return nil
}

// rfidParserFigures runs the frame parsers as Go benchmarks.
func rfidParserFigures(r *Report) {
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
			r.Add(Figure{Name: tc.name + " parser", Value: "no frame read", Ratio: "broken"})
			continue
		}
		perSec := float64(res.N) / res.T.Seconds()
		r.Add(Figure{
			Name:  tc.name + " parser throughput",
			Value: fmt.Sprintf("%.1f M frames/s", perSec/1e6),
			Limit: fmt.Sprintf("goal > 1 M frames/s; the line brings %.0f frames/s", float64(time.Second)/float64(rfidWireTime)),
			Ratio: fmt.Sprintf("%.1f× goal", perSec/1e6),
			Note:  fmt.Sprintf("testing.Benchmark, %d frames, %d B/frame", res.N, res.AllocedBytesPerOp()),
		})
		r.Add(Figure{
			Name:  tc.name + " parser allocations",
			Value: fmt.Sprintf("%d allocs/frame", res.AllocsPerOp()),
			Limit: "goal 0",
			Ratio: map[bool]string{true: "met", false: "missed"}[res.AllocsPerOp() == 0],
			Note:  "steady state: the same card repeated",
		})
	}
}
