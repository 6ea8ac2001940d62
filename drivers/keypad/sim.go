package keypad

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// Sim is a simulated keypad matrix: the wiring of a membrane keypad, for
// the simulated GPIO backend and for tests. Its rows are outputs and its
// columns inputs; a column reads low while a key down on it has its row
// driven low, as the key's contact joins the two lines. The real Keypad
// scans it, debounces it and sends its keys, so a simulated booth reads
// its keypad through the same code as a booth on a Pi.
//
// Keys are held down with Down and Up, or typed with Type: each typed key
// is held for hold scans of the matrix and then every key is up for as
// many, one key after the other. Counting scans rather than time keeps
// every press seen once however slowly a loaded machine scans (a scan is
// never shorter than the Keypad's ScanInterval).
type Sim struct {
	layout [][]rune
	hold   int

	mu     sync.Mutex
	rowLow []bool
	down   map[rune]bool
	typed  []rune // waiting to be pressed
	cur    rune   // the typed key held now, or noKey
	scans  int    // scans into cur's hold, or into the gap after it
	gap    bool   // in the all-up gap after a typed key
}

// SimHold is how many scans a typed key is held (and released) to count
// once with Options d: its debounce and two scans more.
func SimHold(d Options) int {
	if d.ScanInterval <= 0 || d.Debounce <= 0 {
		d = DefaultOptions
	}
	return int((d.Debounce+d.ScanInterval-1)/d.ScanInterval) + 2
}

// NewSim returns a matrix of layout (nil: DefaultLayout) whose typed keys
// are held for hold scans (SimHold).
func NewSim(layout [][]rune, hold int) *Sim {
	if layout == nil {
		layout = DefaultLayout
	}
	return &Sim{layout: layout, hold: max(hold, 1), rowLow: make([]bool, len(layout)), down: map[rune]bool{}, cur: noKey}
}

// Rows are the matrix's row lines, for New.
func (s *Sim) Rows() []gpio.PinOut {
	out := make([]gpio.PinOut, len(s.layout))
	for i := range s.layout {
		out[i] = &simRow{Pin: gpiotest.Pin{N: fmt.Sprintf("keypad row %d", i+1)}, s: s, i: i}
	}
	return out
}

// Cols are the matrix's column lines, for New.
func (s *Sim) Cols() []gpio.PinIn {
	out := make([]gpio.PinIn, len(s.layout[0]))
	for j := range s.layout[0] {
		out[j] = &simCol{Pin: gpiotest.Pin{N: fmt.Sprintf("keypad col %d", j+1)}, s: s, j: j}
	}
	return out
}

// Down holds key down until Up.
func (s *Sim) Down(key rune) error {
	if !s.has(key) {
		return fmt.Errorf("keypad sim: no key %q on the keypad", key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down[key] = true
	return nil
}

// Up releases a key held by Down.
func (s *Sim) Up(key rune) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.down, key)
}

// Type presses keys one after the other, each once; it returns at once
// (Typing says whether they are all pressed and released).
func (s *Sim) Type(keys string) error {
	for _, k := range keys {
		if !s.has(k) {
			return fmt.Errorf("keypad sim: no key %q on the keypad: type 0-9, * or #", k)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.typed = append(s.typed, []rune(keys)...)
	return nil
}

// Typing reports whether typed keys are still to be pressed or released.
func (s *Sim) Typing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.typed) > 0 || s.cur != noKey || s.gap
}

func (s *Sim) has(key rune) bool {
	for _, row := range s.layout {
		for _, k := range row {
			if k == key {
				return true
			}
		}
	}
	return false
}

// scanned moves the typed keys on by one scan (the first row driven low
// starts a scan).
func (s *Sim) scanned() {
	switch {
	case s.cur != noKey:
		if s.scans++; s.scans >= s.hold {
			s.cur, s.gap, s.scans = noKey, true, 0
		}
	case s.gap:
		if s.scans++; s.scans >= s.hold {
			s.gap, s.scans = false, 0
		}
	}
	if s.cur == noKey && !s.gap && len(s.typed) > 0 {
		s.cur, s.typed, s.scans = s.typed[0], s.typed[1:], 0
	}
}

type simRow struct {
	gpiotest.Pin
	s *Sim
	i int
}

func (p *simRow) Out(l gpio.Level) error {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.i == 0 && l == gpio.Low && !s.rowLow[0] {
		s.scanned()
	}
	s.rowLow[p.i] = l == gpio.Low
	return nil
}

type simCol struct {
	gpiotest.Pin
	s *Sim
	j int
}

func (p *simCol) In(gpio.Pull, gpio.Edge) error { return nil }

func (p *simCol) Read() gpio.Level {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, row := range s.layout {
		if !s.rowLow[i] {
			continue
		}
		if k := row[p.j]; s.down[k] || k == s.cur {
			return gpio.Low
		}
	}
	return gpio.High
}

// WatchFile types into s what another process appends to the file at
// path: the keys typed so far ("12#"), rewritten whole (best atomically:
// write a temporary file, rename it over). Keys already in the file when
// the watch starts are not typed again: keys pressed while the booth was
// down are gone, as on a real keypad. It reads the file every poll until
// stop is closed.
func (s *Sim) WatchFile(path string, poll time.Duration, stop <-chan struct{}) {
	seen := 0
	if b, err := os.ReadFile(path); err == nil {
		seen = len(bytes.TrimSpace(b))
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			seen = 0
			continue
		}
		if err != nil {
			continue
		}
		b = bytes.TrimSpace(b)
		if len(b) < seen { // started over
			seen = 0
		}
		if len(b) > seen {
			for _, k := range string(b[seen:]) {
				s.Type(string(k)) // a key the keypad has not is skipped
			}
			seen = len(b)
		}
	}
}
