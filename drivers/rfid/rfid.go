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
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// CardID is a card's canonical identity: the technology, a colon, and the
// UID in upper-case hex, e.g. "em:0F00275624" or "14a:04A1B2C3D4E5F6". It is
// the same whichever reader of that technology read the card.
type CardID string

// Technology prefixes of CardID.
const (
	TechEM        = "em"  // 125 kHz EM4100/EM4102: 5 bytes (version/customer + 32-bit id)
	TechISO14443A = "14a" // 13.56 MHz ISO 14443A: 4-, 7- or 10-byte UID
	TechRaw       = "raw" // an ASCII-line reader whose output cannot be mapped to a technology
)

// EMCard returns the canonical id of a 125 kHz EM4100 card.
func EMCard(data [5]byte) CardID {
	var b [len(TechEM) + 1 + 10]byte
	n := copy(b[:], TechEM+":")
	hexUpper(b[n:], data[:])
	return CardID(b[:])
}

// ISO14443ACard returns the canonical id of an ISO 14443A card from its UID.
func ISO14443ACard(uid []byte) CardID {
	return CardID(TechISO14443A + ":" + strings.ToUpper(hex.EncodeToString(uid)))
}

// Tech returns the technology prefix of id.
func (id CardID) Tech() string {
	t, _, _ := strings.Cut(string(id), ":")
	return t
}

// UID returns the hex UID part of id.
func (id CardID) UID() string {
	_, u, _ := strings.Cut(string(id), ":")
	return u
}

// Valid reports whether id is a plausible card: a known prefix, a non-empty
// even-length hex UID, and not all zeros or all ones (line noise and
// unprogrammed tags produce those; they are never a card).
func (id CardID) Valid() bool {
	t, u, ok := strings.Cut(string(id), ":")
	if !ok || u == "" || (t != TechEM && t != TechISO14443A && t != TechRaw) {
		return false
	}
	if t != TechRaw && len(u)%2 != 0 {
		return false
	}
	allZero, allF := true, true
	for i := 0; i < len(u); i++ {
		c := u[i]
		if t != TechRaw && !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
		allZero = allZero && c == '0'
		allF = allF && c == 'F'
	}
	return !allZero && !allF
}

// String returns the canonical form.
func (id CardID) String() string { return string(id) }

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
	Card CardID    // Present and Removed
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
	Seen(id CardID)
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
