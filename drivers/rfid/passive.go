package rfid

import (
	"context"
	"fmt"
	"time"
	"wartelsuspas/cardid"
)

// ByteParser is a frame parser fed one byte at a time: EMParser and
// ASCIILineParser. Feed returns a card id for a valid frame, a reason for a
// dropped one, and neither while a frame is incomplete.
type ByteParser interface {
	Feed(c byte) (id cardid.ID, bad string)
	Reset()
}

// Passive is a reader that sends frames on its own, without being asked:
// RDM6300, ID-12LA/ID-20LA and ASCII-line readers. It implements Protocol.
type Passive struct {
	name      string
	baud      int
	repeating bool
	newParser func() ByteParser
}

// passiveReadTimeout bounds each Read so Run sees ctx end; it does not
// delay frames, which Read returns as soon as they arrive.
const passiveReadTimeout = 100 * time.Millisecond

// NewRDM6300 returns the RDM6300 / EM4100 ASCII protocol (9600 8N1,
// repeating while a card is held).
func NewRDM6300() *Passive {
	return &Passive{name: "rdm6300", baud: 9600, repeating: true,
		newParser: func() ByteParser { return NewRDM6300Parser() }}
}

// NewID12 returns the ID-12LA / ID-20LA ASCII protocol (9600 8N1). The
// modules send one frame per card presentation, so a tap is confirmed by its
// first valid frame (waiting for a second would never confirm one) and the
// card is taken as removed after Options.Silence.
func NewID12() *Passive {
	return &Passive{name: "id12", baud: 9600,
		newParser: func() ByteParser { return NewID12Parser() }}
}

// DefaultASCIIBaud is the line speed NewASCII takes for 0: the common
// speed of serial line readers.
const DefaultASCIIBaud = 9600

// NewASCII returns the plain ASCII-line protocol at baud (DefaultASCIIBaud
// when 0; USB CDC readers ignore it). Such readers print a card once per tap, so
// the protocol is not repeating: the Reader reports Present at the first
// line and Removed after Options.Silence without a line.
func NewASCII(o ASCIIOptions, baud int) (*Passive, error) {
	if _, err := NewASCIILineParser(o); err != nil {
		return nil, err
	}
	if baud == 0 {
		baud = DefaultASCIIBaud
	}
	return &Passive{name: "ascii", baud: baud,
		newParser: func() ByteParser { p, _ := NewASCIILineParser(o); return p }}, nil
}

// Name returns "rdm6300", "id12" or "ascii".
func (p *Passive) Name() string { return p.name }

// Baud returns the line speed.
func (p *Passive) Baud() int { return p.baud }

// Repeating reports whether the module repeats frames while a card is held.
func (p *Passive) Repeating() bool { return p.repeating }

// String returns the name.
func (p *Passive) String() string { return p.name }

// NeverPolls returns true: a passive module never reports that a card is
// gone, so the Reader decides removal by silence.
func (p *Passive) NeverPolls() bool { return true }

// SilentProtocol is implemented by protocols that never call Sink.Absent
// even though they do not repeat (ASCII-line readers print once per tap):
// the Reader decides removal by silence for them, as for repeating ones.
type SilentProtocol interface {
	NeverPolls() bool
}

// NewParser returns a fresh frame parser of the protocol.
func (p *Passive) NewParser() ByteParser { return p.newParser() }

// Run parses what the port sends until ctx ends or a read fails.
func (p *Passive) Run(ctx context.Context, port Port, s Sink) error {
	if err := port.SetReadTimeout(passiveReadTimeout); err != nil {
		return fmt.Errorf("%s: set read timeout: %w: is the port a serial device?", p.name, err)
	}
	parser := p.newParser()
	var buf [256]byte
	for ctx.Err() == nil {
		n, err := port.Read(buf[:])
		for _, c := range buf[:n] {
			if id, bad := parser.Feed(c); id != "" {
				s.Seen(id)
			} else if bad != "" {
				s.BadFrame(bad)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("%s: read: %w", p.name, err)
		}
	}
	return nil
}

// ProtocolOptions carries the settings a protocol chosen by name may need.
type ProtocolOptions struct {
	ASCII ASCIIOptions // for "ascii"
	Baud  int          // for "ascii"; 0 means DefaultASCIIBaud
	PN532 PN532Options // for "pn532"
}

// ProtocolNames lists the names ProtocolByName accepts.
var ProtocolNames = []string{"rdm6300", "id12", "ascii", "pn532"}

// ProtocolByName returns the protocol config calls name.
func ProtocolByName(name string, o ProtocolOptions) (Protocol, error) {
	switch name {
	case "rdm6300":
		return NewRDM6300(), nil
	case "id12":
		return NewID12(), nil
	case "ascii":
		return NewASCII(o.ASCII, o.Baud)
	case "pn532":
		return NewPN532(o.PN532), nil
	}
	return nil, fmt.Errorf("unknown reader protocol %q: want one of %v", name, ProtocolNames)
}
