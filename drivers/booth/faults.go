// Faults: the tamper and relay-fault latches that put the booth out of
// service until an officer card clears them, and what they tell the
// technician.

package booth

import (
	"fmt"
	"time"
)

// ClearFaults lifts the tamper and relay-fault latches (an officer card did
// it). It fails while the panel is still open.
func (b *Booth) ClearFaults() error {
	return b.do(func(now time.Duration) error {
		if b.tamper != nil && b.tamper.active(b.tamper.deb.Level()) {
			return fmt.Errorf("booth: cannot clear: %w: the panel is still open (%s%s=%s)", ErrOutOfService, keyPrefix, "tamper", b.opts.Config.Tamper)
		}
		b.tampered, b.fault = false, nil
		b.sched.hasBase = false
		b.refreshBase(now)
		return nil
	})
}

func (b *Booth) tamperOpened(now time.Duration) {
	_ = b.relayOff("tamper")
	b.log.Warn("booth: panel opened (tamper): relay off, out of service until an officer card clears it", "pin", b.opts.Config.Tamper)
	b.tampered = true
	b.sched.hasOver = false
	b.refreshBase(now)
	b.emit(Event{Kind: TamperOpen, At: now})
}

func (b *Booth) relayFault(now time.Duration, err error) {
	_ = b.relayOff("relay fault")
	if b.fault != nil {
		return // already latched and reported
	}
	b.log.Error("booth: relay fault: out of service until an officer card clears it", "err", err)
	b.fault = err
	b.sched.hasOver = false
	b.refreshBase(now)
	b.emit(Event{Kind: RelayFault, At: now, Err: err})
}

func onOff(on bool) string {
	if on {
		return "closed"
	}
	return "open"
}

func faultHint(commandedOn bool) string {
	if commandedOn {
		return "dead coil, blown fuse, loose relay board supply, or feedback wiring; replace or rewire the relay board"
	}
	return "welded contact or feedback wiring; the handset may still be live: disconnect the handset line and replace the relay"
}
