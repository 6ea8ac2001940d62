package rfid

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"

	"wartelsuspas/cardid"
	"wartelsuspas/clock"
)

// Options configures a Reader. Zero fields take DefaultOptions' values (no
// count or wait of zero is meant: a tap confirmed by no frame, a card
// removed after no poll); a negative one is refused. Protocol and one of
// Path or VID/PID are required.
type Options struct {
	// Path is the serial device, e.g. "/dev/ttyUSB0" or a stable udev name
	// such as "/dev/serial/by-id/usb-…". It is resolved at every (re)open.
	Path string
	// VID and PID select a USB serial reader by its USB ids (4 hex digits,
	// either case) when Path is empty; SerialNumber picks one of several.
	VID, PID     string
	SerialNumber string

	// Protocol is what the reader speaks (see ProtocolByName).
	Protocol Protocol

	// ConfirmFrames and ConfirmWindow: a repeating reader's tap is
	// confirmed by this many same-UID frames in a row within the window.
	// Default 2 within 300 ms. Non-repeating readers confirm at once.
	ConfirmFrames int
	ConfirmWindow time.Duration
	// Silence without a frame makes a repeating (or never-polling)
	// reader's card removed. Default 500 ms.
	Silence time.Duration
	// AbsentPolls empty polls in a row make a polling reader's card
	// removed. Default 2.
	AbsentPolls int

	// RetryMin and RetryMax bound the exponential backoff between reopens
	// of a reader that is down. Default 250 ms and 10 s.
	RetryMin, RetryMax time.Duration

	// Clock times silence and backoff. Default the real clock.
	Clock clock.Clock
	// Log receives bad frames and reopen attempts. Default none.
	Log *slog.Logger

	// Open opens a port; default go.bug.st/serial at the protocol's baud,
	// 8N1. Tests replace it.
	Open func(path string, baud int) (Port, error)
	// ListPorts lists the serial ports, for VID/PID lookup and for errors.
	// Default go.bug.st/serial/enumerator.GetDetailedPortsList.
	ListPorts func() ([]*enumerator.PortDetails, error)
}

// DefaultOptions are the values New gives zero fields.
var DefaultOptions = Options{
	ConfirmFrames: 2,
	ConfirmWindow: 300 * time.Millisecond,
	Silence:       500 * time.Millisecond,
	AbsentPolls:   2,
	RetryMin:      250 * time.Millisecond,
	RetryMax:      10 * time.Second,
}

// Stats are a Reader's counters, for the status page.
type Stats struct {
	Frames    uint64 // valid frames or successful polls
	BadFrames uint64 // frames dropped for a bad checksum or format
	Opens     uint64 // successful opens of the port
	Reopens   uint64 // successful opens after the reader was down
	Up        bool   // the port is open and the protocol running
	Port      string // the path last opened or tried
	LastBad   string // why the last bad frame was dropped
	LastErr   string // why the reader last went down
}

// Reader owns one card reader: it opens the port, runs the protocol,
// turns sightings into events, and reopens the port with backoff when the
// reader goes away. Build it with New and start it with Run.
type Reader struct {
	o      Options
	events chan Event

	frames, bad, opens, reopens atomic.Uint64
	up                          atomic.Bool

	mu      sync.Mutex
	port    string
	lastBad string
	lastErr string
	cancel  context.CancelFunc
	halted  bool
}

// New checks o and returns a Reader that is not yet reading.
func New(o Options) (*Reader, error) {
	if o.Protocol == nil {
		return nil, errors.New("rfid: no protocol set: choose one of " + strings.Join(ProtocolNames, ", "))
	}
	if o.Path == "" && (o.VID == "" || o.PID == "") {
		return nil, errors.New("rfid: no reader port set: give a device path (e.g. /dev/ttyUSB0) or a USB VID and PID (see `wartel-reader ports`)")
	}
	if o.ConfirmFrames < 0 || o.AbsentPolls < 0 || o.ConfirmWindow < 0 || o.Silence < 0 || o.RetryMin < 0 || o.RetryMax < 0 {
		return nil, fmt.Errorf("rfid: negative option (confirm frames %d, absent polls %d, confirm window %v, silence %v, retry %v..%v): leave a field zero for its default in rfid.DefaultOptions",
			o.ConfirmFrames, o.AbsentPolls, o.ConfirmWindow, o.Silence, o.RetryMin, o.RetryMax)
	}
	d := DefaultOptions
	if o.ConfirmFrames == 0 {
		o.ConfirmFrames = d.ConfirmFrames
	}
	if o.ConfirmWindow == 0 {
		o.ConfirmWindow = d.ConfirmWindow
	}
	if o.Silence == 0 {
		o.Silence = d.Silence
	}
	if o.AbsentPolls == 0 {
		o.AbsentPolls = d.AbsentPolls
	}
	if o.RetryMin == 0 {
		o.RetryMin = d.RetryMin
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(d.RetryMax, o.RetryMin)
	}
	if o.Clock == nil {
		o.Clock = clock.NewReal()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Open == nil {
		o.Open = openSerial
	}
	if o.ListPorts == nil {
		o.ListPorts = func() ([]*enumerator.PortDetails, error) { return enumerator.GetDetailedPortsList() }
	}
	return &Reader{o: o, events: make(chan Event, 16)}, nil
}

func openSerial(path string, baud int) (Port, error) {
	return serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
}

// Events delivers the reader's events; it is closed when Run returns.
// Events are not dropped: a consumer that stops reading stalls the reader.
func (r *Reader) Events() <-chan Event { return r.events }

// String names the reader for logs, e.g. "rdm6300 reader on /dev/ttyUSB0".
func (r *Reader) String() string {
	where := r.o.Path
	if where == "" {
		where = "USB " + r.o.VID + ":" + r.o.PID
		if r.o.SerialNumber != "" {
			where += " serial " + r.o.SerialNumber
		}
	}
	return r.o.Protocol.Name() + " reader on " + where
}

// Stats returns the counters.
func (r *Reader) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{
		Frames: r.frames.Load(), BadFrames: r.bad.Load(),
		Opens: r.opens.Load(), Reopens: r.reopens.Load(), Up: r.up.Load(),
		Port: r.port, LastBad: r.lastBad, LastErr: r.lastErr,
	}
}

// Halt stops Run; it returns at once and Run returns soon after.
func (r *Reader) Halt() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.halted = true
	if r.cancel != nil {
		r.cancel()
	}
	return nil
}

// Run reads until ctx ends or Halt is called, then closes Events and
// returns nil. A reader that cannot be opened or fails is reported Down and
// reopened with backoff; Run never gives up on it.
func (r *Reader) Run(ctx context.Context) error {
	defer close(r.events)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.mu.Lock()
	if r.halted {
		r.mu.Unlock()
		return nil
	}
	r.cancel = cancel
	r.mu.Unlock()

	wait := r.o.RetryMin
	down := false // a Down was sent and no Up since
	for ctx.Err() == nil {
		port, path, err := r.open()
		if err == nil {
			if r.opens.Add(1) > 1 && down {
				r.reopens.Add(1)
			}
			r.up.Store(true)
			down, wait = false, r.o.RetryMin
			r.o.Log.Info("card reader up", "reader", r.String(), "port", path)
			if !r.emit(ctx, Event{Kind: Up, At: r.o.Clock.Now()}) {
				port.Close()
				break
			}
			err = r.serve(ctx, port, path)
			r.up.Store(false)
			if ctx.Err() != nil {
				break
			}
		}
		r.mu.Lock()
		r.lastErr = err.Error()
		r.mu.Unlock()
		r.o.Log.Warn("card reader down", "reader", r.String(), "err", err, "retry_in", wait)
		if !down {
			down = true
			if !r.emit(ctx, Event{Kind: Down, Err: err, At: r.o.Clock.Now()}) {
				break
			}
		}
		t := r.o.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C():
		}
		wait = min(2*wait, r.o.RetryMax)
	}
	return nil
}

func (r *Reader) emit(ctx context.Context, e Event) bool {
	select {
	case r.events <- e:
		return true
	case <-ctx.Done():
		return false
	}
}

// open resolves the port and opens it, with an error a technician can act on.
func (r *Reader) open() (Port, string, error) {
	path := r.o.Path
	if path == "" {
		var err error
		if path, err = r.findUSB(); err != nil {
			return nil, "", err
		}
	}
	r.mu.Lock()
	r.port = path
	r.mu.Unlock()
	p, err := r.o.Open(path, r.o.Protocol.Baud())
	if err == nil {
		return p, path, nil
	}
	var pe *serial.PortError
	code := serial.PortErrorCode(-1)
	if errors.As(err, &pe) {
		code = pe.Code()
	}
	switch {
	case errors.Is(err, fs.ErrNotExist) || code == serial.PortNotFound:
		return nil, path, fmt.Errorf("no such port %s: is the %s reader plugged in? ports seen: %s", path, r.o.Protocol.Name(), r.portsSeen())
	case code == serial.PortBusy:
		return nil, path, fmt.Errorf("port %s is busy: another program holds it (a serial console, a second booth service, wartel-reader?); stop it: %w", path, err)
	case errors.Is(err, fs.ErrPermission) || code == serial.PermissionDenied:
		return nil, path, fmt.Errorf("no permission to open %s: add the booth's user to the dialout group: %w", path, err)
	case code == serial.InvalidSerialPort:
		return nil, path, fmt.Errorf("%s is not a serial port: check the reader's configured path: %w", path, err)
	}
	return nil, path, fmt.Errorf("open %s at %d baud: %w: check the reader's cable and power", path, r.o.Protocol.Baud(), err)
}

// findUSB returns the path of the one USB serial port matching VID/PID.
func (r *Reader) findUSB() (string, error) {
	ports, err := r.o.ListPorts()
	if err != nil {
		return "", fmt.Errorf("list serial ports to find USB %s:%s: %w: set the reader's device path instead", r.o.VID, r.o.PID, err)
	}
	var match []string
	for _, p := range ports {
		if p.IsUSB && strings.EqualFold(p.VID, r.o.VID) && strings.EqualFold(p.PID, r.o.PID) &&
			(r.o.SerialNumber == "" || p.SerialNumber == r.o.SerialNumber) {
			match = append(match, p.Name)
		}
	}
	switch len(match) {
	case 0:
		what := r.o.VID + ":" + r.o.PID
		if r.o.SerialNumber != "" {
			what += " with serial number " + r.o.SerialNumber
		}
		return "", fmt.Errorf("no USB serial port %s: is the %s reader plugged in? ports seen: %s", what, r.o.Protocol.Name(), describePorts(ports))
	case 1:
		return match[0], nil
	}
	return "", fmt.Errorf("%d USB serial ports match %s:%s (%s): set the reader's serial number to pick one (see `wartel-reader ports`)", len(match), r.o.VID, r.o.PID, strings.Join(match, ", "))
}

func (r *Reader) portsSeen() string {
	ports, err := r.o.ListPorts()
	if err != nil {
		return "(cannot list ports: " + err.Error() + ")"
	}
	return describePorts(ports)
}

func describePorts(ports []*enumerator.PortDetails) string {
	if len(ports) == 0 {
		return "none"
	}
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = p.Name
		if p.IsUSB {
			s[i] += " (USB " + p.VID + ":" + p.PID + ")"
		}
	}
	return strings.Join(s, ", ")
}

// sighting is one Sink call, stamped when the protocol made it so the
// confirmation window measures the line, not the scheduling of Run.
type sighting struct {
	kind   uint8
	id     cardid.ID
	reason string
	at     time.Duration
}

const (
	sawCard = iota
	sawAbsent
	sawBad
)

type readerSink struct {
	clk  clock.Clock
	ch   chan<- sighting
	stop <-chan struct{}
}

func (s readerSink) send(x sighting) {
	x.at = s.clk.Mono()
	select {
	case s.ch <- x:
	case <-s.stop:
	}
}

func (s readerSink) Seen(id cardid.ID)      { s.send(sighting{kind: sawCard, id: id}) }
func (s readerSink) Absent()                { s.send(sighting{kind: sawAbsent}) }
func (s readerSink) BadFrame(reason string) { s.send(sighting{kind: sawBad, reason: reason}) }

// serve runs the protocol on an open port until it fails or ctx ends, and
// closes the port. It returns why the reader went down.
func (r *Reader) serve(ctx context.Context, port Port, path string) error {
	pctx, cancel := context.WithCancel(ctx)
	ch := make(chan sighting, 64)
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- r.o.Protocol.Run(pctx, port, readerSink{clk: r.o.Clock, ch: ch, stop: stop})
	}()
	to := TrackerOptions{ConfirmFrames: 1, AbsentPolls: r.o.AbsentPolls}
	_, silent := r.o.Protocol.(SilentProtocol)
	if r.o.Protocol.Repeating() {
		to.ConfirmFrames, to.ConfirmWindow = r.o.ConfirmFrames, r.o.ConfirmWindow
	}
	if r.o.Protocol.Repeating() || silent {
		to.Silence = r.o.Silence
	}
	tr := NewTracker(to)
	evs := make([]Event, 0, 4)
	var timer clock.Timer
	var timerC <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()

	// deliver stamps and sends evs, then re-arms the silence timer.
	deliver := func() bool {
		for _, e := range evs {
			e.At = r.o.Clock.Now()
			if !r.emit(ctx, e) {
				return false
			}
		}
		evs = evs[:0]
		d, ok := tr.Deadline()
		if !ok {
			if timer != nil {
				timer.Stop()
			}
			timerC = nil
			return true
		}
		wait := d - r.o.Clock.Mono()
		if timer == nil {
			timer = r.o.Clock.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		timerC = timer.C()
		return true
	}
	handle := func(s sighting) {
		switch s.kind {
		case sawCard:
			r.frames.Add(1)
			evs = tr.Seen(evs, s.at, s.id)
		case sawAbsent:
			r.frames.Add(1)
			evs = tr.Absent(evs)
		case sawBad:
			r.bad.Add(1)
			r.mu.Lock()
			r.lastBad = s.reason
			r.mu.Unlock()
			r.o.Log.Debug("bad frame dropped", "reader", r.String(), "port", path, "reason", s.reason)
		}
	}
	finish := func() {
		close(stop)
		cancel()
		port.Close()
	}
	for {
		select {
		case s := <-ch:
			handle(s)
			if !deliver() {
				finish()
				<-done
				return ctx.Err()
			}
		case <-timerC:
			timerC = nil
			evs = tr.Tick(evs, r.o.Clock.Mono())
			if !deliver() {
				finish()
				<-done
				return ctx.Err()
			}
		case err := <-done:
			// Frames read before the failure still count.
		drain:
			for {
				select {
				case s := <-ch:
					handle(s)
				default:
					break drain
				}
			}
			finish()
			evs = tr.Flush(evs)
			deliver()
			if err == nil {
				err = ctx.Err()
			}
			if err == nil {
				err = errors.New("protocol stopped without an error")
			}
			return fmt.Errorf("reader on %s stopped: %w: check its cable and power; reopening", path, err)
		case <-ctx.Done():
			finish()
			<-done
			return ctx.Err()
		}
	}
}
