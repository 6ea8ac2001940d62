// Package keypad reads a matrix keypad (the booth's 3×4 phone keypad) on
// GPIO through periph: rows are driven low one at a time, columns are read
// with pull-ups, a key counts once it has held for Debounce, each press is
// one key, and two keys at once (which a diode-less matrix cannot tell from
// a ghost third key) are refused until every key is up.
package keypad

import (
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"wartelsuspas/clock"
)

// DefaultLayout is a 3×4 phone keypad: rows top to bottom, columns left
// to right, as the keypad's pins are usually numbered (rows 1-4, cols 5-7
// on the common membrane keypads; check yours).
var DefaultLayout = [][]rune{
	{'1', '2', '3'},
	{'4', '5', '6'},
	{'7', '8', '9'},
	{'*', '0', '#'},
}

// Options configures a Keypad. Start from DefaultOptions; zero durations
// and a nil Layout take its values.
type Options struct {
	// Layout names the key at each row and column.
	Layout [][]rune
	// ScanInterval is the pause between two scans of the matrix. Default 10 ms.
	ScanInterval time.Duration
	// Debounce is how long a key (or no key) must read the same before it
	// counts. Default 30 ms.
	Debounce time.Duration
	// Clock times the scans. Default the real clock.
	Clock clock.Clock
}

// DefaultOptions are the values New gives zero fields.
var DefaultOptions = Options{Layout: DefaultLayout, ScanInterval: 10 * time.Millisecond, Debounce: 30 * time.Millisecond}

// Keypad scans one matrix. Build it with New; stop it with Halt.
type Keypad struct {
	o    Options
	rows []gpio.PinOut
	cols []gpio.PinIn
	keys chan rune
	halt chan struct{}
	done chan struct{}
	once sync.Once
}

// New sets the rows high (idle) and the columns as pulled-up inputs, and
// starts scanning.
func New(rows []gpio.PinOut, cols []gpio.PinIn, o Options) (*Keypad, error) {
	d := DefaultOptions
	if o.Layout == nil {
		o.Layout = d.Layout
	}
	if o.ScanInterval <= 0 {
		o.ScanInterval = d.ScanInterval
	}
	if o.Debounce <= 0 {
		o.Debounce = d.Debounce
	}
	if o.Clock == nil {
		o.Clock = clock.NewReal()
	}
	if len(rows) != len(o.Layout) {
		return nil, fmt.Errorf("keypad: %d row pins for a layout of %d rows: wire one GPIO per row", len(rows), len(o.Layout))
	}
	for i, r := range o.Layout {
		if len(r) != len(cols) {
			return nil, fmt.Errorf("keypad: %d column pins for row %d of %d keys: wire one GPIO per column", len(cols), i+1, len(r))
		}
	}
	for _, p := range rows {
		if err := p.Out(gpio.High); err != nil {
			return nil, fmt.Errorf("keypad: drive row %s high: %w", p, err)
		}
	}
	for _, p := range cols {
		if err := p.In(gpio.PullUp, gpio.NoEdge); err != nil {
			return nil, fmt.Errorf("keypad: column %s as input with pull-up: %w", p, err)
		}
	}
	k := &Keypad{o: o, rows: rows, cols: cols, keys: make(chan rune, 16), halt: make(chan struct{}), done: make(chan struct{})}
	go k.run()
	return k, nil
}

// Keys delivers one key per press; it is closed by Halt. Keys pressed
// while nobody reads are dropped beyond 16.
func (k *Keypad) Keys() <-chan rune { return k.keys }

// String names the keypad for logs.
func (k *Keypad) String() string {
	return fmt.Sprintf("keypad %d×%d", len(k.cols), len(k.rows))
}

// Halt stops scanning and closes Keys.
func (k *Keypad) Halt() error {
	k.once.Do(func() { close(k.halt) })
	<-k.done
	return nil
}

func (k *Keypad) run() {
	defer close(k.done)
	defer close(k.keys)
	s := newScanner(k.o.Debounce)
	for {
		key := k.scan()
		if r, ok := s.observe(key, k.o.Clock.Mono()); ok {
			select {
			case k.keys <- r:
			default:
			}
		}
		t := k.o.Clock.NewTimer(k.o.ScanInterval)
		select {
		case <-k.halt:
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// scan returns the one key down, noKey, or ghost for two or more.
// A row that cannot be driven reads as no key.
func (k *Keypad) scan() rune {
	found := noKey
	for i, row := range k.rows {
		if row.Out(gpio.Low) != nil {
			continue
		}
		for j, col := range k.cols {
			if col.Read() == gpio.Low {
				if found != noKey {
					found = ghost
				} else {
					found = k.o.Layout[i][j]
				}
			}
		}
		row.Out(gpio.High)
	}
	return found
}

const (
	noKey rune = -1
	ghost rune = -2
)

// scanner debounces scans and makes one key per press. It is pure.
type scanner struct {
	window time.Duration
	cand   rune
	since  time.Duration
	stable rune
	armed  bool // every key was up since the last key sent
}

func newScanner(window time.Duration) *scanner {
	return &scanner{window: window, cand: noKey, stable: noKey, armed: true}
}

// observe takes one scan at now and returns a key when a press settled.
func (s *scanner) observe(key rune, now time.Duration) (rune, bool) {
	if key != s.cand {
		s.cand, s.since = key, now
	}
	if s.cand == s.stable || now-s.since < s.window {
		return 0, false
	}
	s.stable = s.cand
	switch s.stable {
	case noKey:
		s.armed = true
	case ghost:
		s.armed = false // two keys: nothing until all are up
	default:
		if s.armed {
			s.armed = false
			return s.stable, true
		}
	}
	return 0, false
}
