package booth

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"periph.io/x/conn/v3/gpio"
)

// Go runs fn on a new goroutine that, if fn panics, opens the relay before
// the panic goes on to crash the program. Every long-lived goroutine of the
// firmware is started through it.
func (b *Booth) Go(fn func()) {
	go b.guarded(fn, func(v any) { panic(v) })
}

// Guard opens the relay if the calling goroutine is panicking, then lets the
// panic go on. Defer it first thing in main: `defer b.Guard()`.
func (b *Booth) Guard() {
	if r := recover(); r != nil {
		b.failOff(r)
		panic(r)
	}
}

// guarded runs fn; on a panic it opens the relay and hands the value to
// rethrow (panic in production, a recorder in tests).
func (b *Booth) guarded(fn func(), rethrow func(any)) {
	defer func() {
		if r := recover(); r != nil {
			b.failOff(r)
			rethrow(r)
		}
	}()
	fn()
}

func (b *Booth) failOff(r any) {
	err := b.relayOff("panic")
	b.log.Error("booth: panic: relay driven off, the program will crash and restart", "panic", fmt.Sprint(r), "relay_off_err", err, "stack", string(debug.Stack()))
}

// OffOnSignal opens the relay as soon as one of sigs arrives (SIGTERM and
// SIGINT if none are given), then passes the signal on the returned channel
// so the caller can shut down in order. stop undoes it.
func (b *Booth) OffOnSignal(sigs ...os.Signal) (got <-chan os.Signal, stop func()) {
	if len(sigs) == 0 {
		sigs = []os.Signal{syscall.SIGTERM, os.Interrupt}
	}
	in := make(chan os.Signal, 1)
	out := make(chan os.Signal, 1)
	quit := make(chan struct{})
	signal.Notify(in, sigs...)
	go func() {
		select {
		case s := <-in:
			b.log.Info("booth: signal: relay off", "signal", s.String())
			_ = b.relayOff("signal " + s.String())
			out <- s
		case <-quit:
		}
	}()
	return out, func() {
		signal.Stop(in)
		close(quit)
	}
}

// SafeOff opens only the relay pin of cfg and drives it off, touching no
// other pin: the service manager runs it after any exit of the firmware
// (`wartel-kiosk safe-off`, ExecStopPost=).
func SafeOff(cfg Config, backend Backend) error {
	if err := checkPinName(cfg.Relay); err != nil {
		return fmt.Errorf("booth: safe-off: %srelay: %w", keyPrefix, err)
	}
	off := gpio.Level(cfg.RelayActiveLow)
	out, err := backend.Output(cfg.Relay, off)
	if err != nil {
		return fmt.Errorf("booth: safe-off: %srelay=%s on %s: %w", keyPrefix, cfg.Relay, backend, err)
	}
	if err := out.Out(off); err != nil {
		return fmt.Errorf("booth: safe-off: %srelay=%s on %s: %w", keyPrefix, cfg.Relay, backend, err)
	}
	return nil
}
