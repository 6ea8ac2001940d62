// Events: what an input did or a fault, and the queue that hands them to
// the reader of Events in order, never blocking the loop.

package booth

import (
	"fmt"
	"time"
)

// EventKind says what an input did.
type EventKind uint8

// The booth's events.
const (
	HookOff      EventKind = iota + 1 // handset lifted
	HookOn                            // handset hung up
	TamperOpen                        // panel opened (or the tamper wire cut): relay off, out of service
	TamperClosed                      // panel closed again; the booth stays out of service until ClearFaults
	RelayFault                        // the relay did not follow its command: relay off, out of service
)

// String names the kind as the records do.
func (k EventKind) String() string {
	switch k {
	case HookOff:
		return "hook_off"
	case HookOn:
		return "hook_on"
	case TamperOpen:
		return "tamper_open"
	case TamperClosed:
		return "tamper_closed"
	case RelayFault:
		return "relay_fault"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is a debounced input change or a fault.
type Event struct {
	Kind EventKind
	At   time.Duration // monotonic (Clock.Mono) when it was detected
	Err  error         // for RelayFault: what was seen, for the log and the record
}

// Events delivers input changes and faults in order. It is never full: the
// driver queues what the reader has not taken yet. It is closed by Close.
func (b *Booth) Events() <-chan Event { return b.events }

func (b *Booth) emit(e Event) { b.queue = append(b.queue, e) }
