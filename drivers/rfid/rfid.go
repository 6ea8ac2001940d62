// Package rfid reads cards from serial RFID readers and turns what the line
// carries into booth events: one Present per tap, one Removed when the card
// is gone, Down/Up when the reader is unplugged or stops answering.
//
// Each reader protocol (RDM6300/EM4100, ID-12LA/ID-20LA, PN532 over HSU,
// plain ASCII lines) implements Protocol. A Protocol only reports what it
// sees on the line to a Sink; the Reader owns the port, reopens it with
// backoff, and turns sightings into events (confirmation of repeating
// readers, removal after silence).
package rfid

import (
	"context"
	"fmt"
	"time"
	"wartelsuspas/cardid"
)

const hexDigits = "0123456789ABCDEF"

func hexUpper(dst, src []byte) {
	for i, v := range src {
		dst[2*i] = hexDigits[v>>4]
		dst[2*i+1] = hexDigits[v&0x0f]
	}
}

// EventKind says what happened at a reader.
type EventKind int

const (
	// Present: a card was tapped (confirmed). Sent once per tap.
	Present EventKind = iota + 1
	// Removed: the card of the last Present is gone.
	Removed
	// Down: the reader is unplugged or stopped answering; Err says why.
	// The booth must treat the reader as out of service until Up.
	Down
	// Up: the reader answers again (also sent once after the first open).
	Up
)

func (k EventKind) String() string {
	switch k {
	case Present:
		return "present"
	case Removed:
		return "removed"
	case Down:
		return "down"
	case Up:
		return "up"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is what a Reader delivers.
type Event struct {
	Kind EventKind
	Card cardid.ID // Present and Removed
	At   time.Time // wall clock when the event was decided
	Err  error     // Down: what failed and what to do
}

// Port is the part of a serial port a protocol uses. go.bug.st/serial's
// Port satisfies it; so does a pty in tests.
type Port interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	// SetReadTimeout bounds each Read; a Read that times out returns (0, nil).
	SetReadTimeout(t time.Duration) error
	Close() error
}

// Sink receives what a protocol sees on the line. Calls come from the
// protocol's Run goroutine, one at a time.
type Sink interface {
	// Seen reports one valid frame (or one successful poll) carrying id.
	Seen(id cardid.ID)
	// Absent reports that an active reader polled and found no card.
	// Passive protocols never call it; silence means absence for them.
	Absent()
	// BadFrame reports a frame dropped for a bad checksum or format.
	BadFrame(reason string)
}

// Protocol speaks one reader protocol on an open port.
type Protocol interface {
	// Name is the protocol's name as config and logs spell it, e.g. "rdm6300".
	Name() string
	// Baud is the line speed the module uses.
	Baud() int
	// Repeating reports whether the module repeats frames while a card is
	// held (then a tap needs confirmation and removal is decided by silence).
	Repeating() bool
	// Run reads (and, for active protocols, polls) until ctx ends or the
	// port fails; it returns the error that ended it, nil only when ctx
	// ended. An error means the reader is down: the Reader reopens the port.
	Run(ctx context.Context, p Port, s Sink) error
}
