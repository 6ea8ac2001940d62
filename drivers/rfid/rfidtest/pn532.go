package rfidtest

import (
	"context"
	"fmt"
	"io"
	"sync"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"wartelsuspas/drivers/rfid"
)

// PN532Corruption says how the emulated PN532 spoils a response frame.
type PN532Corruption int

// Ways to spoil a response.
const (
	// CorruptLCS flips the length checksum.
	CorruptLCS PN532Corruption = iota + 1
	// CorruptDCS flips the last data byte (the last UID byte of a target)
	// and leaves the data checksum as it was, so a parser that skipped the
	// check would report a wrong card.
	CorruptDCS
)

// PN532Stats counts what the emulated PN532 received.
type PN532Stats struct {
	Commands map[byte]int // answered commands by command code
	Frames   int          // host frames parsed, bad and ignored ones included
	Ignored  int          // frames dropped while hung (bytes sent in power-down vanish)
	// LastIgnored is set when the last command or NACK got no answer.
	LastIgnored bool
	Nacks       int // NACKs answered with the last response again
	WakeUps     int // wake-ups from power-down
	Resets      int // resets (Reset or a pulse on ResetPin)
	BadFrames   int // host frames with a bad checksum
}

// PN532 emulates an NXP PN532 on HSU: it needs a wake-up before its first
// command, acknowledges each command, answers it with correct checksums,
// and sends its last response again on a NACK. A test places and removes
// a card, makes it hang, injects noise, and reads what it received.
type PN532 struct {
	// Firmware is GetFirmwareVersion's answer: IC, Ver, Rev, Support.
	Firmware [4]byte
	// SplitWrites sends every frame one byte per write, as a slow UART
	// or a USB adapter's latency timer would split it. Set before Serve.
	SplitWrites bool

	mu       sync.Mutex
	uid      []byte
	hung     bool
	hangLeft int // frames a HangFor still ignores; <0 while Hang lasts
	dead     bool
	awake    bool
	noise    []byte
	corrupt  PN532Corruption
	corruptC byte // command whose responses are spoiled
	corruptN int
	last     []byte // last response frame, for a NACK
	lastCmd  byte   // command code of last
	stats    PN532Stats
}

// NewPN532 returns an emulated PN532 v1.6 with no card on it.
func NewPN532() *PN532 {
	return &PN532{
		Firmware: [4]byte{0x32, 0x01, 0x06, 0x07},
		stats:    PN532Stats{Commands: map[byte]int{}},
	}
}

// PlaceCard puts an ISO 14443A card with uid (4, 7 or 10 bytes) on the
// reader.
func (e *PN532) PlaceCard(uid []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.uid = append([]byte(nil), uid...)
}

// RemoveCard takes the card away.
func (e *PN532) RemoveCard() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.uid = nil
}

// Hang makes the module stop answering, as a real PN532 sometimes does
// after hours of polling, until Revive or Reset.
func (e *PN532) Hang() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hung, e.hangLeft = true, -1
}

// HangFor makes the module ignore the next n frames and then answer
// again by itself, as a module does whose hang clears.
func (e *PN532) HangFor(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hung, e.hangLeft = true, n
}

// Revive makes a hung module answer again, keeping its state.
func (e *PN532) Revive() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hung = false
}

// Kill makes the module dead: it never answers again, resets included.
func (e *PN532) Kill() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dead = true
}

// Hung reports whether the module is hung or dead.
func (e *PN532) Hung() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hung || e.dead
}

// Reset does what a pulse on RSTPD_N does: the module restarts, no longer
// hung, in power-down, and needs a wake-up again.
func (e *PN532) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hung, e.awake, e.last = false, false, nil
	e.stats.Resets++
}

// Noise queues b to be written on the line just before the next frame
// the module sends.
func (e *PN532) Noise(b []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.noise = append(e.noise, b...)
}

// Corrupt spoils the next n responses to command cmd (e.g. 0x4A,
// InListPassiveTarget), resends after a NACK included, in the way c says.
// ACKs are never spoiled.
func (e *PN532) Corrupt(c PN532Corruption, cmd byte, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.corrupt, e.corruptC, e.corruptN = c, cmd, n
}

// Stats returns a copy of the counters.
func (e *PN532) Stats() PN532Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Commands = make(map[byte]int, len(e.stats.Commands))
	for k, v := range e.stats.Commands {
		s.Commands[k] = v
	}
	return s
}

// Serve answers the host on rw (the master side of a pty, or one end of a
// pipe) until ctx ends (checked between reads: close rw to stop a blocked
// read) or rw fails. It returns nil when ctx ended.
func (e *PN532) Serve(ctx context.Context, rw io.ReadWriter) error {
	var p rfid.PN532FrameParser
	buf := make([]byte, 512)
	for {
		if ctx.Err() != nil {
			return nil
		}
		n, err := rw.Read(buf)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("emulated pn532: read: %w", err)
		}
		b := buf[:n]
		e.mu.Lock()
		if !e.awake {
			// In power-down the first bytes only wake the oscillator.
			i := 0
			for i < len(b) && b[i] != 0x55 {
				i++
			}
			if i < len(b) {
				e.awake = true
				e.stats.WakeUps++
				p.Reset()
			}
			b = b[i:]
		}
		e.mu.Unlock()
		for len(b) > 0 || p.Buffered() > 0 {
			k, f, ferr := p.Feed(b)
			b = b[k:]
			out, err := e.handle(f, ferr)
			if err != nil {
				return err
			}
			if err := e.send(rw, out); err != nil {
				return err
			}
		}
	}
}

// handle decides what to send for one parsed frame.
func (e *PN532) handle(f rfid.PN532Frame, ferr error) ([][]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ferr != nil {
		e.stats.Frames++
		e.stats.BadFrames++
		return nil, nil
	}
	if f.Kind == rfid.PN532NoFrame {
		return nil, nil
	}
	e.stats.Frames++
	if f.Kind == rfid.PN532AckFrame {
		return nil, nil
	}
	if !e.awake || e.hung || e.dead {
		e.stats.Ignored++
		e.stats.LastIgnored = true
		if e.hangLeft > 0 {
			e.hangLeft--
			e.hung = e.hangLeft > 0
		}
		return nil, nil
	}
	e.stats.LastIgnored = false
	if f.Kind == rfid.PN532NackFrame {
		if e.last == nil {
			return nil, nil
		}
		e.stats.Nacks++
		return [][]byte{e.spoil(e.last)}, nil
	}
	if f.Kind != rfid.PN532InfoFrame || f.TFI != rfid.PN532HostToChip || len(f.Data) == 0 {
		e.stats.Ignored++
		return nil, nil
	}
	resp := e.answer(f.Data)
	var frame []byte
	if resp == nil {
		// The application-level error frame: a command it does not know.
		frame = []byte{0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00}
	} else {
		e.stats.Commands[f.Data[0]]++
		frame = rfid.EncodePN532Frame(nil, rfid.PN532ChipToHost, resp)
	}
	e.last, e.lastCmd = frame, f.Data[0]
	return [][]byte{rfid.PN532Ack, e.spoil(frame)}, nil
}

// answer returns the response data (response code first) to cmd, or nil
// for a command the emulator does not know.
func (e *PN532) answer(cmd []byte) []byte {
	r := []byte{cmd[0] + 1}
	switch cmd[0] {
	case 0x02: // GetFirmwareVersion
		return append(r, e.Firmware[:]...)
	case 0x14, 0x32: // SAMConfiguration, RFConfiguration
		return r
	case 0x4A: // InListPassiveTarget
		if len(cmd) < 3 || cmd[2] != 0x00 || e.uid == nil {
			return append(r, 0x00)
		}
		sens := byte(0x04) // SENS_RES by UID size (ISO 14443-3 6.4.2)
		switch len(e.uid) {
		case 7:
			sens = 0x44
		case 10:
			sens = 0x84
		}
		r = append(r, 0x01, 0x01, 0x00, sens, 0x08, byte(len(e.uid)))
		return append(r, e.uid...)
	case 0x52: // InRelease
		return append(r, 0x00)
	}
	return nil
}

// spoil returns frame, or a spoiled copy while corruption is pending.
func (e *PN532) spoil(frame []byte) []byte {
	if e.corruptN <= 0 || e.lastCmd != e.corruptC || len(frame) < 8 {
		return frame
	}
	e.corruptN--
	c := append([]byte(nil), frame...)
	switch e.corrupt {
	case CorruptLCS:
		c[4] ^= 0x01
	case CorruptDCS:
		c[len(c)-3] ^= 0x01
	}
	return c
}

// send writes the queued noise and frames.
func (e *PN532) send(w io.Writer, frames [][]byte) error {
	if len(frames) == 0 {
		return nil
	}
	e.mu.Lock()
	noise := e.noise
	e.noise = nil
	split := e.SplitWrites
	e.mu.Unlock()
	write := func(b []byte) error {
		if len(b) == 0 {
			return nil
		}
		if !split {
			_, err := w.Write(b)
			return err
		}
		for i := range b {
			if _, err := w.Write(b[i : i+1]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := write(noise); err != nil {
		return fmt.Errorf("emulated pn532: write noise: %w", err)
	}
	for _, f := range frames {
		if err := write(f); err != nil {
			return fmt.Errorf("emulated pn532: write: %w", err)
		}
	}
	return nil
}

// PN532ResetPin is a fake GPIO wired to the emulator's RSTPD_N: driving it
// low and then high resets the emulated module.
type PN532ResetPin struct {
	*gpiotest.Pin
	e   *PN532
	mu  sync.Mutex
	low bool
}

// ResetPin returns a fake RSTPD_N pin for e, to put in PN532Options.Reset.
func (e *PN532) ResetPin() *PN532ResetPin {
	return &PN532ResetPin{Pin: &gpiotest.Pin{N: "RSTPD_N", Num: 17, L: gpio.High}, e: e}
}

// Out drives the pin; a low-to-high edge resets the module.
func (p *PN532ResetPin) Out(l gpio.Level) error {
	if err := p.Pin.Out(l); err != nil {
		return err
	}
	p.mu.Lock()
	wasLow := p.low
	p.low = l == gpio.Low
	p.mu.Unlock()
	if wasLow && l == gpio.High {
		p.e.Reset()
	}
	return nil
}
