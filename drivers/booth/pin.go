package booth

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// Output is a GPIO line the booth drives.
type Output interface {
	// Out drives the line to a physical level.
	Out(l gpio.Level) error
	String() string
}

// Input is a GPIO line the booth reads.
type Input interface {
	// Read returns the line's physical level.
	Read() gpio.Level
	// WaitForEdge blocks until the line changed or timeout passed, and
	// reports whether it saw a change. Callers always pass a finite timeout:
	// on the GPIO character device WaitForEdge(-1) returns at once.
	WaitForEdge(timeout time.Duration) bool
	// Halt interrupts a pending WaitForEdge where the backend can.
	Halt() error
	String() string
}

// Backend opens GPIO lines by name ("GPIO17").
type Backend interface {
	// Output opens pin as an output and drives it to l at once.
	Output(pin string, l gpio.Level) (Output, error)
	// Input opens pin as an input with the given pull. edges reports
	// whether WaitForEdge works on it; where it does not, the caller polls.
	Input(pin string, pull gpio.Pull) (in Input, edges bool, err error)
	String() string
}

// Periph is a Backend over periph.io pins.
type Periph struct {
	name   string
	lookup func(string) gpio.PinIO
}

// NewPeriph initialises periph.io's host drivers and returns a Backend that
// finds pins by name in its registry. On current Raspberry Pi OS the pins
// come from the GPIO character device (periph's gpioioctl driver).
func NewPeriph() (*Periph, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("booth: periph.io host init (is /dev/gpiochip0 present and readable by this user?): %w", err)
	}
	return &Periph{name: "periph", lookup: gpioreg.ByName}, nil
}

// NewPins returns a Backend over the given pins, keyed by name; tests pass
// gpiotest.Pin values. A gpiotest.Pin without EdgesChan has no edges, so the
// booth polls it.
func NewPins(pins map[string]gpio.PinIO) *Periph {
	names := make([]string, 0, len(pins))
	for n := range pins {
		names = append(names, n)
	}
	sort.Strings(names)
	return &Periph{
		name:   "pins(" + strings.Join(names, ",") + ")",
		lookup: func(n string) gpio.PinIO { return pins[n] },
	}
}

// String names the backend.
func (p *Periph) String() string { return p.name }

// Output implements Backend.
func (p *Periph) Output(pin string, l gpio.Level) (Output, error) {
	g := p.lookup(pin)
	if g == nil {
		return nil, fmt.Errorf("booth: %s has no pin %s: %s", p.name, pin, noPinHint)
	}
	if err := g.Out(l); err != nil {
		return nil, fmt.Errorf("booth: drive %s %s: %w", pin, l, err)
	}
	return &periphLine{name: pin, PinIO: g}, nil
}

// Input implements Backend. It asks for both edges and falls back to a
// plain input when the pin cannot report them.
func (p *Periph) Input(pin string, pull gpio.Pull) (Input, bool, error) {
	g := p.lookup(pin)
	if g == nil {
		return nil, false, fmt.Errorf("booth: %s has no pin %s: %s", p.name, pin, noPinHint)
	}
	if err := g.In(pull, gpio.BothEdges); err == nil {
		return &periphLine{name: pin, PinIO: g}, true, nil
	}
	if err := g.In(pull, gpio.NoEdge); err != nil {
		return nil, false, fmt.Errorf("booth: set %s as input with %s: %w", pin, pull, err)
	}
	return &periphLine{name: pin, PinIO: g}, false, nil
}

const noPinHint = "no GPIO driver registered it (not a Raspberry Pi, or /dev/gpiochip* missing or not readable by this user)"

// periphLine names a periph pin by the name it was opened with: gpioioctl's
// own String is a JSON document.
type periphLine struct {
	name string
	gpio.PinIO
}

func (l *periphLine) String() string { return l.name }
