// Booth: the driver's handle, its options, New (the relay off first),
// State, Halt and Close.

package booth

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"wartelsuspas/clock"
)

// Errors callers tell apart.
var (
	// ErrOutOfService refuses to close the relay after a tamper or a relay
	// fault, until ClearFaults.
	ErrOutOfService = errors.New("booth is out of service")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("booth is closed")
)

// Options configures New.
type Options struct {
	Config  Config
	Backend Backend
	Clock   clock.Clock // nil: clock.NewReal()
	// Debounce is how long the hook and tamper switches must hold a level
	// before it counts; 0: 30 ms.
	Debounce time.Duration
	// FeedbackDebounce is the same for the relay feedback contact; 0: 5 ms.
	FeedbackDebounce time.Duration
	// Settle is how soon the feedback contact must follow a relay command;
	// 0: 50 ms.
	Settle time.Duration
	// PollInterval is how often inputs without edge detection are read;
	// 0: 10 ms.
	PollInterval time.Duration
	// EdgeWait bounds one wait for an edge (real time), so Close is prompt
	// on backends whose waits cannot be interrupted; 0: 250 ms.
	EdgeWait time.Duration
	// Patterns replaces DefaultPatterns.
	Patterns map[string]Pattern
	Logger   *slog.Logger // nil: slog.Default()
}

// State is a snapshot of the booth's inputs and latches.
type State struct {
	OffHook   bool
	PanelOpen bool
	RelayOn   bool  // as commanded
	Tampered  bool  // latched until ClearFaults
	Fault     error // latched relay fault, or nil
	Signal    string
}

// Booth is the driver. Its methods are safe for concurrent use.
type Booth struct {
	opts Options
	clk  clock.Clock
	log  *slog.Logger

	// relayMu guards the relay pin and its commanded state, so every
	// goroutine (the loop, Close, a signal, a panic) can drive it off.
	relayMu    sync.Mutex
	relay      Output
	relayOn    bool
	relayAt    time.Duration
	relaySeq   uint64
	relayLevel func(on bool) gpio.Level

	lamps    []*output // green, amber, red; or red, green of an RGB lamp
	buzzer   *output
	hook     *input
	tamper   *input
	feedback *input
	inputs   []*input

	reqs    chan request
	samples chan sample
	wake    chan struct{}
	events  chan Event
	done    chan struct{}
	wg      sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	// Owned by the loop goroutine.
	patterns      map[string]Pattern
	sched         scheduler
	requested     string
	tampered      bool
	fault         error
	seenSeq       uint64
	settleAt      time.Duration
	settlePending bool
	pollAt        time.Duration
	queue         []Event
	outErr        bool

	// fired counts handled timer wake-ups and observed the edge samples,
	// for tests driving a fake clock.
	firedMu  sync.Mutex
	fired    uint64
	observed uint64
	firedC   *sync.Cond
}

// New opens the pins of o.Config, drives the relay off before anything
// else, then the lamps and buzzer off, and starts watching the inputs. A
// panel already open at start is reported as TamperOpen.
func New(o Options) (*Booth, error) {
	if o.Backend == nil {
		return nil, errors.New("booth: no GPIO backend given")
	}
	if err := o.Config.Validate(); err != nil {
		return nil, fmt.Errorf("booth: config: %w", err)
	}
	c := o.Config
	// The relay before anything else, even before the defaults.
	relayLevel := func(on bool) gpio.Level { return gpio.Level(on != c.RelayActiveLow) }
	relay, err := o.Backend.Output(c.Relay, relayLevel(false))
	if err != nil {
		return nil, fmt.Errorf("booth: %srelay=%s: cannot drive the relay off: %w; the relay is held open only by its hardware pull-down now: check the pin and the wiring", keyPrefix, c.Relay, err)
	}
	if o.Clock == nil {
		o.Clock = clock.NewReal()
	}
	o.Debounce = orDefault(o.Debounce, 30*time.Millisecond)
	o.FeedbackDebounce = orDefault(o.FeedbackDebounce, 5*time.Millisecond)
	o.Settle = orDefault(o.Settle, 50*time.Millisecond)
	o.PollInterval = orDefault(o.PollInterval, 10*time.Millisecond)
	o.EdgeWait = orDefault(o.EdgeWait, 250*time.Millisecond)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Patterns == nil {
		o.Patterns = DefaultPatterns()
	}
	for name, p := range o.Patterns {
		if err := p.Check(); err != nil {
			return nil, fmt.Errorf("booth: pattern %q: %w", name, err)
		}
	}
	b := &Booth{
		opts:       o,
		clk:        o.Clock,
		log:        o.Logger,
		relay:      relay,
		relayLevel: relayLevel,
		patterns:   o.Patterns,
		reqs:       make(chan request),
		samples:    make(chan sample),
		wake:       make(chan struct{}, 1),
		events:     make(chan Event),
		done:       make(chan struct{}),
	}
	b.firedC = sync.NewCond(&b.firedMu)
	b.relaySeq = 1 // a settle check of the initial off command
	b.relayAt = b.clk.Mono()

	var outs []outSpec
	if c.RGBRed != "" {
		b.lamps = make([]*output, 2)
		outs = append(outs,
			outSpec{"rgb_red", c.RGBRed, c.LampsActiveLow, &b.lamps[0]},
			outSpec{"rgb_green", c.RGBGreen, c.LampsActiveLow, &b.lamps[1]})
	} else {
		b.lamps = make([]*output, 3)
		for i, kp := range [][2]string{{"lamp_green", c.LampGreen}, {"lamp_amber", c.LampAmber}, {"lamp_red", c.LampRed}} {
			outs = append(outs, outSpec{kp[0], kp[1], c.LampsActiveLow, &b.lamps[i]})
		}
	}
	if c.Buzzer != "" {
		outs = append(outs, outSpec{"buzzer", c.Buzzer, c.BuzzerActiveLow, &b.buzzer})
	}
	for _, x := range outs {
		off := gpio.Level(x.activeLow)
		out, err := o.Backend.Output(x.pin, off)
		if err != nil {
			return nil, fmt.Errorf("booth: %s%s=%s: %w", keyPrefix, x.key, x.pin, err)
		}
		*x.dst = &output{key: x.key, out: out, activeLow: x.activeLow, known: true}
	}
	now := b.clk.Mono()
	for _, x := range []struct {
		key, pin  string
		activeLow bool
		window    time.Duration
		dst       **input
	}{
		{"hook", c.Hook, c.HookActiveLow, o.Debounce, &b.hook},
		{"tamper", c.Tamper, c.TamperActiveLow, o.Debounce, &b.tamper},
		{"relay_feedback", c.Feedback, c.FeedbackActiveLow, o.FeedbackDebounce, &b.feedback},
	} {
		if x.pin == "" {
			continue
		}
		// Pull-up on every input: a switch or contact closes to ground.
		in, edges, err := o.Backend.Input(x.pin, gpio.PullUp)
		if err != nil {
			return nil, fmt.Errorf("booth: %s%s=%s: %w", keyPrefix, x.key, x.pin, err)
		}
		if !edges {
			b.log.Info("booth: no edge detection on this input; polling it", "key", keyPrefix+x.key, "pin", x.pin, "every", o.PollInterval)
		}
		i := &input{key: x.key, in: in, edges: edges, activeLow: x.activeLow}
		i.deb = NewDebouncer(x.window, in.Read())
		*x.dst = i
		b.inputs = append(b.inputs, i)
	}
	b.pollAt = now
	if b.tamper != nil && b.tamper.active(b.tamper.deb.Level()) {
		b.tamperOpened(now)
	}
	// A handset already lifted at start (left off its cradle through a
	// power cut, or a switch stuck up) is told as a lift: else the engine
	// takes it as down, its status says on-hook, and the next call waits
	// for a lift that came before it, talking into a dead line.
	if b.hook != nil && b.hook.active(b.hook.deb.Level()) {
		b.emit(Event{Kind: HookOff, At: now})
	}
	b.wg.Add(1)
	go b.guarded(b.loop, func(v any) { panic(v) })
	for _, in := range b.inputs {
		if in.edges {
			b.wg.Add(1)
			go b.guarded(func() { b.readEdges(in) }, func(v any) { panic(v) })
		}
	}
	// Return once the loop has shown the initial state and armed its timer.
	if err := b.do(func(time.Duration) error { return nil }); err != nil {
		return nil, err
	}
	return b, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// String describes the booth for logs.
func (b *Booth) String() string {
	return fmt.Sprintf("booth(relay %s on %s)", b.opts.Config.Relay, b.opts.Backend)
}

// State returns a snapshot of the inputs and latches.
func (b *Booth) State() (State, error) {
	var s State
	err := b.do(func(time.Duration) error {
		if b.hook != nil {
			s.OffHook = b.hook.active(b.hook.deb.Level())
		}
		if b.tamper != nil {
			s.PanelOpen = b.tamper.active(b.tamper.deb.Level())
		}
		b.relayMu.Lock()
		s.RelayOn = b.relayOn
		b.relayMu.Unlock()
		s.Tampered, s.Fault, s.Signal = b.tampered, b.fault, b.sched.baseName
		return nil
	})
	return s, err
}

// Halt opens the relay at once; the driver keeps running.
func (b *Booth) Halt() error { return b.relayOff("halt") }

// Close opens the relay first, then stops the driver and turns the lamps and
// buzzer off. It closes Events.
func (b *Booth) Close() error {
	b.closeOnce.Do(func() {
		errs := []error{b.relayOff("close")}
		close(b.done)
		for _, in := range b.inputs {
			_ = in.in.Halt()
		}
		b.wg.Wait()
		for _, l := range b.lamps {
			errs = append(errs, l.set(false))
		}
		errs = append(errs, b.buzzer.set(false))
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}
