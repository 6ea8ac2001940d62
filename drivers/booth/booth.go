package booth

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"wartelsuspas/clock"
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

type request struct {
	fn   func(now time.Duration) error
	done chan error
}

type sample struct {
	in *input
	l  gpio.Level
}

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

type input struct {
	key       string
	in        Input
	edges     bool
	activeLow bool
	deb       *Debouncer
}

func (i *input) active(l gpio.Level) bool { return bool(l) != i.activeLow }

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

// Events delivers input changes and faults in order. It is never full: the
// driver queues what the reader has not taken yet. It is closed by Close.
func (b *Booth) Events() <-chan Event { return b.events }

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

// do runs fn on the loop goroutine and returns once its effect is on the pins.
func (b *Booth) do(fn func(now time.Duration) error) error {
	r := request{fn: fn, done: make(chan error, 1)}
	select {
	case b.reqs <- r:
	case <-b.done:
		return ErrClosed
	}
	select {
	case err := <-r.done:
		return err
	case <-b.done:
		select {
		case err := <-r.done:
			return err
		default:
			return ErrClosed
		}
	}
}

// readEdges forwards the level of an input after each edge. A timed-out
// wait also reads the line, so a lost edge is caught within EdgeWait.
func (b *Booth) readEdges(in *input) {
	defer b.wg.Done()
	last := in.in.Read()
	for {
		select {
		case <-b.done:
			return
		default:
		}
		changed := in.in.WaitForEdge(b.opts.EdgeWait)
		l := in.in.Read()
		if !changed && l == last {
			continue
		}
		last = l
		select {
		case b.samples <- sample{in: in, l: l}:
		case <-b.done:
			return
		}
	}
}

// loop is the driver's one goroutine of logic: patterns, debounce, relay
// feedback, events. It sleeps on a single timer until the next change.
func (b *Booth) loop() {
	defer b.wg.Done()
	defer close(b.events)
	timer := b.clk.NewTimer(time.Hour)
	timer.Stop()
	var pending *request
	var replyErr error
	fired, observed := false, false
	for {
		now := b.clk.Mono()
		next, ok := b.step(now)
		if ok {
			timer.Reset(max(next-b.clk.Mono(), 0))
		} else {
			timer.Stop()
		}
		if pending != nil {
			pending.done <- replyErr
			pending = nil
		}
		if fired || observed {
			b.firedMu.Lock()
			if fired {
				b.fired++
			}
			if observed {
				b.observed++
			}
			b.firedC.Broadcast()
			b.firedMu.Unlock()
			fired, observed = false, false
		}
		var out chan<- Event
		var ev Event
		if len(b.queue) > 0 {
			out, ev = b.events, b.queue[0]
		}
		select {
		case <-b.done:
			timer.Stop()
			return
		case r := <-b.reqs:
			replyErr = r.fn(b.clk.Mono())
			pending = &r
		case s := <-b.samples:
			s.in.deb.Observe(s.l, b.clk.Mono())
			observed = true
		case <-timer.C():
			fired = true
		case <-b.wake:
		case out <- ev:
			b.queue = b.queue[1:]
		}
	}
}

// step brings inputs, latches and outputs up to now and returns when it
// must run next.
func (b *Booth) step(now time.Duration) (time.Duration, bool) {
	b.relayMu.Lock()
	seq, at, relayOn := b.relaySeq, b.relayAt, b.relayOn
	b.relayMu.Unlock()
	if b.feedback != nil && seq != b.seenSeq {
		b.seenSeq = seq
		b.settleAt, b.settlePending = at+b.opts.Settle, true
	}
	polling := false
	for _, in := range b.inputs {
		if !in.edges {
			polling = true
		}
	}
	if polling && now >= b.pollAt {
		for _, in := range b.inputs {
			if !in.edges {
				in.deb.Observe(in.in.Read(), now)
			}
		}
		b.pollAt = now + b.opts.PollInterval
	}
	for _, in := range b.inputs {
		if due, ok := in.deb.Due(); ok && now >= due {
			in.deb.Observe(in.in.Read(), now) // a lost edge or a late bounce restarts the wait
		}
		if l, changed := in.deb.Settle(now); changed {
			b.inputChanged(in, in.active(l), now, relayOn)
		}
	}
	if b.settlePending && now >= b.settleAt {
		b.settlePending = false
		if got := b.feedback.active(b.feedback.in.Read()); got != relayOn {
			b.relayFault(now, fmt.Errorf("relay did not follow its command: commanded %s, feedback %s=%s still reads %s after %v: %s",
				onOff(relayOn), keyPrefix+"relay_feedback", b.opts.Config.Feedback, onOff(got), b.opts.Settle, faultHint(relayOn)))
		}
	}
	st, next, ok := b.sched.at(now)
	b.apply(st)

	wake := func(t time.Duration) {
		if !ok || t < next {
			next, ok = t, true
		}
	}
	if polling {
		wake(b.pollAt)
	}
	for _, in := range b.inputs {
		if due, d := in.deb.Due(); d {
			wake(due)
		}
	}
	if b.settlePending {
		wake(b.settleAt)
	}
	return next, ok
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

func (b *Booth) inputChanged(in *input, active bool, now time.Duration, relayOn bool) {
	switch in {
	case b.hook:
		k := HookOn
		if active {
			k = HookOff
		}
		b.emit(Event{Kind: k, At: now})
	case b.tamper:
		if active {
			b.tamperOpened(now)
		} else {
			b.emit(Event{Kind: TamperClosed, At: now})
		}
	case b.feedback:
		if !b.settlePending && active != relayOn {
			b.relayFault(now, fmt.Errorf("relay changed without a command: commanded %s, feedback %s=%s reads %s: %s",
				onOff(relayOn), keyPrefix+"relay_feedback", b.opts.Config.Feedback, onOff(active), faultHint(relayOn)))
		}
	}
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

func (b *Booth) emit(e Event) { b.queue = append(b.queue, e) }

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

// waitFired blocks until the loop has handled n timer wake-ups (tests).
func (b *Booth) waitFired(n uint64) {
	b.firedMu.Lock()
	defer b.firedMu.Unlock()
	for b.fired < n {
		b.firedC.Wait()
	}
}

// waitObserved blocks until the loop has taken n edge samples (tests).
func (b *Booth) waitObserved(n uint64) {
	b.firedMu.Lock()
	defer b.firedMu.Unlock()
	for b.observed < n {
		b.firedC.Wait()
	}
}

func (b *Booth) firedCount() uint64 {
	b.firedMu.Lock()
	defer b.firedMu.Unlock()
	return b.fired
}
