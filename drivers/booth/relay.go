// Relay: closing the handset relay on a command, and driving it off from
// any goroutine (a command, Halt, Close, a signal, a fault).

package booth

import (
	"fmt"
	"time"
)

// SetRelay closes (true) or opens the handset relay. Opening is never
// refused and does not wait for the driver's goroutine; closing is refused
// with ErrOutOfService while a tamper or a relay fault is latched.
func (b *Booth) SetRelay(on bool) error {
	if !on {
		return b.relayOff("command")
	}
	return b.do(func(now time.Duration) error {
		if b.tampered {
			return fmt.Errorf("booth: relay stays open: %w: the panel was opened; close it and tap an officer card", ErrOutOfService)
		}
		if b.fault != nil {
			return fmt.Errorf("booth: relay stays open: %w: %v", ErrOutOfService, b.fault)
		}
		return b.driveRelay(true)
	})
}

// relayOff opens the relay from any goroutine.
func (b *Booth) relayOff(why string) error {
	err := b.driveRelay(false)
	if err != nil {
		b.log.Error("booth: RELAY MAY BE CLOSED: driving it off failed; only the hardware pull-down holds it open now: check the relay board and its GPIO wiring",
			"why", why, "pin", b.opts.Config.Relay, "err", err)
	}
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return err
}

func (b *Booth) driveRelay(on bool) error {
	b.relayMu.Lock()
	defer b.relayMu.Unlock()
	err := b.relay.Out(b.relayLevel(on))
	if err != nil && on {
		_ = b.relay.Out(b.relayLevel(false))
		on = false
	}
	b.relayOn = on
	b.relayAt = b.clk.Mono()
	b.relaySeq++
	if err != nil {
		return fmt.Errorf("booth: %srelay=%s: drive %v: %w", keyPrefix, b.opts.Config.Relay, on, err)
	}
	return nil
}
