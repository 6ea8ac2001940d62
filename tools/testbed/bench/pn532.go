package main

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"
	"go.bug.st/serial"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/rfid"
	"wartelsuspas/drivers/rfid/rfidtest"
)

func init() {
	register("rfid-pn532", benchPN532)
}

// pn532LineBitsPerByte is 8N1 framing: start, 8 data bits, stop.
const pn532LineBitsPerByte = 10

// benchPN532 measures the PN532 frame parser against the goal and the
// line, and one poll cycle through a pty against the line time of its
// bytes at 115200 baud.
func benchPN532(r *Report) error {
	uid := []byte{0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6}
	answer := append([]byte{0x4B, 0x01, 0x01, 0x00, 0x44, 0x08, byte(len(uid))}, uid...)
	frame := rfid.EncodePN532Frame(nil, rfid.PN532ChipToHost, answer)

	var rates []float64
	var allocs int64
	for range 3 {
		res := testing.Benchmark(func(b *testing.B) {
			var p rfid.PN532FrameParser
			b.ReportAllocs()
			for b.Loop() {
				for in := frame; len(in) > 0 || p.Buffered() > 0; {
					n, _, _ := p.Feed(in)
					in = in[n:]
				}
			}
		})
		rates = append(rates, float64(res.N)/res.T.Seconds())
		allocs = max(allocs, res.AllocsPerOp())
	}
	sort.Float64s(rates)
	rate := rates[1]
	note := fmt.Sprintf("median of 3 testing.Benchmark runs, %d-byte poll answer (7-byte UID)", len(frame))
	lineRate := 115200.0 / pn532LineBitsPerByte / float64(len(frame))
	r.Add(Figure{Name: "PN532 parser throughput", Value: rate / 1e6, Unit: "M frames/s", Limit: 1, Goal: Min,
		LimitNote: fmt.Sprintf("goal; the line brings %.0f frames/s at 115200 baud", lineRate), Note: note})
	r.Add(Figure{Name: "PN532 parser allocations", Value: float64(allocs), Unit: "allocs/frame", LimitNote: "goal 0", Goal: Max, Note: "worst of the 3 runs"})

	cycle, polls, err := pn532PollCycle(uid, 2*time.Second)
	if err != nil {
		return err
	}
	// One cycle with a card: InListPassiveTarget and its ACK and answer,
	// InRelease and its ACK and answer.
	list := rfid.EncodePN532Frame(nil, rfid.PN532HostToChip, []byte{0x4A, 0x01, 0x00})
	release := rfid.EncodePN532Frame(nil, rfid.PN532HostToChip, []byte{0x52, 0x00})
	released := rfid.EncodePN532Frame(nil, rfid.PN532ChipToHost, []byte{0x53, 0x00})
	lineBytes := len(list) + len(rfid.PN532Ack) + len(frame) + len(release) + len(rfid.PN532Ack) + len(released)
	lineTime := time.Duration(lineBytes*pn532LineBitsPerByte) * time.Second / 115200
	r.Add(Figure{
		Name:  "PN532 poll cycle with a card, through a pty",
		Value: Ms(cycle), Unit: "ms",
		Limit: Ms(lineTime), LimitNote: fmt.Sprintf("its %d bytes at 115200 baud", lineBytes),
		Note: fmt.Sprintf("mean of %d polls over %v, emulated PN532, go.bug.st/serial on the pty (a pty has no baud rate)", polls, 2*time.Second),
	})
	return nil
}

// pn532Counter counts sightings.
type pn532Counter struct{ seen atomic.Int64 }

func (c *pn532Counter) Seen(cardid.ID)  { c.seen.Add(1) }
func (c *pn532Counter) Absent()         {}
func (c *pn532Counter) BadFrame(string) {}
func (c *pn532Counter) count() int64    { return c.seen.Load() }
func (c *pn532Counter) reset()          { c.seen.Store(0) }

// pn532PollCycle runs the real driver against the emulator through a pty
// with no pause between polls and returns the mean poll cycle.
func pn532PollCycle(uid []byte, span time.Duration) (time.Duration, int64, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return 0, 0, fmt.Errorf("open pty: %w", err)
	}
	defer master.Close()
	port, err := serial.Open(slave.Name(), &serial.Mode{BaudRate: 115200})
	slave.Close()
	if err != nil {
		return 0, 0, fmt.Errorf("open %s: %w", slave.Name(), err)
	}
	defer port.Close()
	emu := rfidtest.NewPN532()
	emu.PlaceCard(uid)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go emu.Serve(ctx, master)
	sink := &pn532Counter{}
	proto := rfid.NewPN532(rfid.PN532Options{
		PortName:        slave.Name(),
		PollInterval:    time.Nanosecond,
		AckTimeout:      time.Second,
		ResponseTimeout: time.Second,
		PassiveRetries:  rfid.DefaultPN532Options.PassiveRetries,
	})
	done := make(chan error, 1)
	go func() { done <- proto.Run(ctx, port, sink) }()
	// Start counting once the module is initialised and polling.
	for sink.count() == 0 {
		select {
		case err := <-done:
			return 0, 0, fmt.Errorf("pn532 driver ended before its first poll: %w", err)
		case <-time.After(time.Millisecond):
		}
	}
	sink.reset()
	time.Sleep(span)
	n := sink.count()
	cancel()
	master.Close()
	if err := <-done; err != nil {
		return 0, 0, fmt.Errorf("pn532 driver: %w", err)
	}
	if n == 0 {
		return 0, 0, fmt.Errorf("no poll completed in %v", span)
	}
	return span / time.Duration(n), n, nil
}
