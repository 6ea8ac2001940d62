// Lamps: rendering the signal's pattern (pattern.go) onto the lamp and
// buzzer pins, an RGB lamp included.

package booth

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"periph.io/x/conn/v3/gpio"
)

type output struct {
	key       string
	out       Output
	activeLow bool
	on, known bool
}

func (o *output) set(on bool) error {
	if o == nil || (o.known && o.on == on) {
		return nil
	}
	if err := o.out.Out(gpio.Level(on != o.activeLow)); err != nil {
		o.known = false
		return fmt.Errorf("booth: %s%s (%s): drive %v: %w", keyPrefix, o.key, o.out, on, err)
	}
	o.on, o.known = on, true
	return nil
}

type outSpec struct {
	key, pin  string
	activeLow bool
	dst       **output
}

// Show sets the lamp and buzzer pattern of a signal (see DefaultPatterns).
// An overlay signal (card_accepted, denied_*) plays once over the current
// pattern. While the booth is out of service its own pattern stays; the
// last requested signal returns after ClearFaults.
func (b *Booth) Show(signal string) error {
	p, ok := b.patterns[signal]
	if !ok {
		known := make([]string, 0, len(b.patterns))
		for n := range b.patterns {
			known = append(known, n)
		}
		sort.Strings(known)
		return fmt.Errorf("booth: unknown signal %q (known: %v)", signal, known)
	}
	return b.do(func(now time.Duration) error {
		latched := b.tampered || b.fault != nil
		switch {
		case p.Overlay && !latched:
			b.sched.setOverlay(p, now)
		case !p.Overlay:
			b.requested = signal
			if !latched {
				b.sched.setBase(signal, p, now)
			}
		}
		return nil
	})
}

// refreshBase shows the latch's pattern, or the engine's last signal.
func (b *Booth) refreshBase(now time.Duration) {
	name := b.requested
	switch {
	case b.tampered:
		name = "tamper"
	case b.fault != nil:
		name = "out_of_service"
	}
	if p, ok := b.patterns[name]; ok {
		b.sched.setBase(name, p, now)
	}
}

// apply drives the lamps and buzzer to st, logging a failure once.
func (b *Booth) apply(st Step) {
	var errs []error
	if len(b.lamps) == 2 { // RGB: the most urgent colour
		r, g := false, false
		switch {
		case st.Lamps&Red != 0:
			r = true
		case st.Lamps&Amber != 0:
			r, g = true, true
		case st.Lamps&Green != 0:
			g = true
		}
		errs = append(errs, b.lamps[0].set(r), b.lamps[1].set(g))
	} else {
		for i, l := range []Lamp{Green, Amber, Red} {
			errs = append(errs, b.lamps[i].set(st.Lamps&l != 0))
		}
	}
	errs = append(errs, b.buzzer.set(st.Buzzer))
	if err := errors.Join(errs...); err != nil {
		if !b.outErr {
			b.log.Error("booth: lamp or buzzer output failed; inmates may not see the booth's state: check the lamp wiring and transistors", "err", err)
		}
		b.outErr = true
	} else {
		b.outErr = false
	}
}
