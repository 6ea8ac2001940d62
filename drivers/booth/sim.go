package booth

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"wartelsuspas/clock"
)

// SimOptions configures NewSim.
type SimOptions struct {
	// Clock stamps the recorded changes; nil: clock.NewReal().
	Clock clock.Clock
	// Dir, if set, mirrors the pins into files there (see Sim).
	Dir string
	// Labels names the files: pin → label ("GPIO17" → "relay", as
	// Config.Labels gives). A pin without a label uses its own name.
	Labels map[string]string
	// NoEdges makes inputs report no edge detection, so the booth polls
	// them, as on a backend without edges.
	NoEdges bool
	// FilePoll is how often input files in Dir are read; 0: 20 ms.
	FilePoll time.Duration
	// OnChange, if set, is called (synchronously, from Out) with every
	// output change; benchmarks take their timestamps there.
	OnChange func(Change)
}

// Change is one recorded output change.
type Change struct {
	Pin   string
	Label string
	Level gpio.Level
	At    time.Duration // Clock.Mono when it was driven
}

// Sim is a simulated GPIO backend. It records every output change with a
// timestamp and takes input changes from SetInput.
//
// With SimOptions.Dir set it also mirrors the pins into that directory, one
// file per pin named by its label (e.g. "relay", "lamp_green", "hook"),
// holding the physical level of the line as "0\n" or "1\n" (with an
// active-low pin, "0" means on). Output files are written atomically (a
// temporary file renamed over the old one) on every change; watchers read
// them. Input files are created with the input's level when the booth opens
// the pin, then read every FilePoll: another process changes an input by
// writing the file, best atomically, e.g. `echo 0 > hook.tmp && mv hook.tmp
// hook` lifts a handset wired active-low.
type Sim struct {
	o   SimOptions
	clk clock.Clock

	mu      sync.Mutex
	pins    map[string]*simPin
	changes []Change

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

type simPin struct {
	s      *Sim
	name   string
	label  string
	output bool
	opened bool
	preset bool // SetInput gave a level before the booth opened it
	level  gpio.Level
	edges  chan struct{}
	halt   chan struct{}
}

// NewSim returns a simulated backend; with o.Dir it creates the directory
// and starts reading input files.
func NewSim(o SimOptions) (*Sim, error) {
	if o.Clock == nil {
		o.Clock = clock.NewReal()
	}
	if o.FilePoll <= 0 {
		o.FilePoll = 20 * time.Millisecond
	}
	s := &Sim{o: o, clk: o.Clock, pins: map[string]*simPin{}, stop: make(chan struct{})}
	if o.Dir != "" {
		if err := os.MkdirAll(o.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("booth: sim state directory: %w", err)
		}
		s.wg.Add(1)
		go s.pollFiles()
	}
	return s, nil
}

// String names the backend.
func (s *Sim) String() string {
	if s.o.Dir != "" {
		return "sim(" + s.o.Dir + ")"
	}
	return "sim"
}

// Close stops reading input files.
func (s *Sim) Close() error {
	s.once.Do(func() { close(s.stop) })
	s.wg.Wait()
	return nil
}

func (s *Sim) pinLocked(name string) *simPin {
	p := s.pins[name]
	if p == nil {
		label := s.o.Labels[name]
		if label == "" {
			label = name
		}
		p = &simPin{s: s, name: name, label: label, edges: make(chan struct{}, 1), halt: make(chan struct{}, 1)}
		s.pins[name] = p
	}
	return p
}

// Output implements Backend. The same pin may be opened as an output again
// (the safe-off path does); not as an input.
func (s *Sim) Output(pin string, l gpio.Level) (Output, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pinLocked(pin)
	if p.opened && !p.output {
		return nil, fmt.Errorf("booth: sim: %s is open as an input", pin)
	}
	p.opened, p.output = true, true
	if err := p.setLocked(l, true); err != nil {
		return nil, err
	}
	return p, nil
}

// Input implements Backend. The level is the one SetInput (or the input
// file) gave, else the pull's.
func (s *Sim) Input(pin string, pull gpio.Pull) (Input, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pinLocked(pin)
	if p.opened && p.output {
		return nil, false, fmt.Errorf("booth: sim: %s is open as an output", pin)
	}
	if !p.opened && !p.preset {
		p.level = pull == gpio.PullUp
	}
	p.opened = true
	if s.o.Dir != "" {
		if b, err := os.ReadFile(s.path(p)); err == nil {
			if l, ok := parseLevel(b); ok {
				p.level = l
			}
		} else if err := s.writeFile(p); err != nil {
			return nil, false, err
		}
	}
	return p, !s.o.NoEdges, nil
}

// SetInput sets an input's level, as a switch would; a change is an edge.
// It may be called before the booth opens the pin.
func (s *Sim) SetInput(pin string, l gpio.Level) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pinLocked(pin)
	if p.output {
		return fmt.Errorf("booth: sim: SetInput on %s, which is an output", pin)
	}
	if !p.opened {
		p.preset = true
	}
	return p.setLocked(l, false)
}

// Level returns a pin's level and whether the pin exists.
func (s *Sim) Level(pin string) (gpio.Level, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pins[pin]
	if !ok {
		return false, false
	}
	return p.level, true
}

// Changes returns the recorded output changes, oldest first.
func (s *Sim) Changes() []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Change(nil), s.changes...)
}

// Pins lists the pins opened or set so far.
func (s *Sim) Pins() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n []string
	for k := range s.pins {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

func (p *simPin) setLocked(l gpio.Level, record bool) error {
	s := p.s
	changed := l != p.level
	p.level = l
	if p.output && (changed || record) {
		c := Change{Pin: p.name, Label: p.label, Level: l, At: s.clk.Mono()}
		s.changes = append(s.changes, c)
		if s.o.OnChange != nil {
			s.o.OnChange(c)
		}
	}
	if !p.output && changed {
		select {
		case p.edges <- struct{}{}:
		default:
		}
	}
	if s.o.Dir != "" && p.output && (changed || record) {
		return s.writeFile(p)
	}
	return nil
}

func (s *Sim) path(p *simPin) string { return filepath.Join(s.o.Dir, p.label) }

// writeFile replaces the pin's file atomically.
func (s *Sim) writeFile(p *simPin) error {
	path := s.path(p)
	tmp := path + ".tmp"
	v := []byte("0\n")
	if p.level {
		v = []byte("1\n")
	}
	if err := os.WriteFile(tmp, v, 0o644); err != nil {
		return fmt.Errorf("booth: sim: mirror %s: %w", p.name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("booth: sim: mirror %s: %w", p.name, err)
	}
	return nil
}

func parseLevel(b []byte) (gpio.Level, bool) {
	switch string(bytes.TrimSpace(b)) {
	case "0":
		return gpio.Low, true
	case "1":
		return gpio.High, true
	}
	return false, false
}

// pollFiles reads the input files into the inputs.
func (s *Sim) pollFiles() {
	defer s.wg.Done()
	t := time.NewTicker(s.o.FilePoll)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		for _, p := range s.pins {
			if p.output || !p.opened {
				continue
			}
			b, err := os.ReadFile(s.path(p))
			if err != nil {
				continue
			}
			if l, ok := parseLevel(b); ok {
				_ = p.setLocked(l, false)
			}
		}
		s.mu.Unlock()
	}
}

// Out implements Output.
func (p *simPin) Out(l gpio.Level) error {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.setLocked(l, false)
}

// Read implements Input.
func (p *simPin) Read() gpio.Level {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.level
}

// WaitForEdge implements Input; the timeout is real time.
func (p *simPin) WaitForEdge(timeout time.Duration) bool {
	if p.s.o.NoEdges {
		return false
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.edges:
		return true
	case <-p.halt:
		return false
	case <-t.C:
		return false
	}
}

// Halt implements Input: it ends a pending WaitForEdge.
func (p *simPin) Halt() error {
	select {
	case p.halt <- struct{}{}:
	default:
	}
	return nil
}

func (p *simPin) String() string { return p.name }
