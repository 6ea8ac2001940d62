package modem

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.bug.st/serial"
	"periph.io/x/conn/v3/gpio"

	"wartelsuspas/clock"
)

// Family is the module's AT dialect beyond TS 27.007: what it reports by
// itself and how it plays a local tone.
type Family string

const (
	// FamilySIMCom: SIM7600 / SIM800 class. Automatic +CLCC reports
	// (AT+CLCC=1), VOICE CALL: BEGIN/END, local tones with AT+STTONE,
	// DTMF detection with AT+DDET (+DTMF: / +RXDTMF:).
	FamilySIMCom Family = "simcom"
	// FamilyQuectel: EC25 / EG25 class. Call status by ^DSCI (AT^DSCI=1),
	// local tones with AT+QLDTMF, DTMF detection with AT+QTONEDET.
	FamilyQuectel Family = "quectel"
	// FamilyGeneric: TS 27.007 only. Call progress by polling AT+CLCC; no
	// local tones.
	FamilyGeneric Family = "generic"
)

// AllFamilies lists every Family, in the order docs and errors name them.
var AllFamilies = []Family{FamilySIMCom, FamilyQuectel, FamilyGeneric}

// FamilyByName returns the family config names, or an error listing them.
func FamilyByName(name string) (Family, error) {
	for _, f := range AllFamilies {
		if string(f) == name {
			return f, nil
		}
	}
	names := make([]string, len(AllFamilies))
	for i, f := range AllFamilies {
		names[i] = string(f)
	}
	return "", fmt.Errorf("modem: unknown family %q: want one of %s", name, strings.Join(names, ", "))
}

// autoReports reports whether the family reports call status by itself.
func (f Family) autoReports() bool { return f == FamilySIMCom || f == FamilyQuectel }

// Stage is where a dialled call stands.
type Stage string

const (
	StageDialling Stage = "dialling" // ATD accepted, or +CLCC stat 2
	StageAlerting Stage = "alerting" // +CLCC stat 3: the far end rings
	StageActive   Stage = "active"   // +CLCC stat 0: answered
	StageEnded    Stage = "ended"    // gone; Event.Outcome says how
)

// Outcome is how a dialled call ended. The words are record.Outcome's
// (drivers do not import kiosk; firmware maps one to the other and a test
// there keeps the lists equal).
type Outcome string

const (
	OutcomeAnswered    Outcome = "answered"     // answered, then ended by either side
	OutcomeBusy        Outcome = "busy"         // BUSY
	OutcomeNoAnswer    Outcome = "no_answer"    // NO ANSWER, or rang for DialTimeout
	OutcomeFailed      Outcome = "failed"       // NO CARRIER or an error before the answer
	OutcomeNetworkLost Outcome = "network_lost" // registration lost during the call, or NO DIALTONE
	OutcomeModemFault  Outcome = "modem_fault"  // the module stopped answering or its port went away
	OutcomeCancelled   Outcome = "cancelled"    // HangUp before the answer
)

// AllOutcomes lists every Outcome.
var AllOutcomes = []Outcome{
	OutcomeAnswered, OutcomeBusy, OutcomeNoAnswer, OutcomeFailed, OutcomeNetworkLost, OutcomeModemFault, OutcomeCancelled,
}

// Cause is why the module is not usable for calls.
type Cause string

const (
	CauseNone       Cause = ""
	CauseNoSIM      Cause = "no_sim"      // no SIM, or the SIM failed
	CauseSIMPIN     Cause = "sim_pin"     // the SIM asks for a PIN or PUK
	CauseNoNetwork  Cause = "no_network"  // not registered (home or roaming)
	CauseWeakSignal Cause = "weak_signal" // +CSQ below MinSignal, or unknown (99)
	CauseModemFault Cause = "modem_fault" // not answering, or its port is gone
)

// AllCauses lists every Cause but CauseNone.
var AllCauses = []Cause{CauseNoSIM, CauseSIMPIN, CauseNoNetwork, CauseWeakSignal, CauseModemFault}

// Tone is a local tone heard in the earpiece (not sent to the far end).
type Tone int

const (
	ToneWarning60 Tone = iota + 1 // a minute of talk time left
	ToneWarning10                 // ten seconds left
)

func (t Tone) String() string {
	switch t {
	case ToneWarning60:
		return "warning-60s"
	case ToneWarning10:
		return "warning-10s"
	}
	return fmt.Sprintf("Tone(%d)", int(t))
}

// ErrNoTones is returned by Tone on a family that cannot play local tones.
var ErrNoTones = errors.New("modem: this module family plays no local tones (family generic)")

// EventKind says what an Event reports.
type EventKind int

const (
	// Progress: the dialled call moved to Stage (with Outcome at StageEnded).
	Progress EventKind = iota + 1
	// Incoming: a call arrived from From and was refused (ATH) already.
	Incoming
	// Health: the module became usable (Up) or not (Cause, Err). Sent
	// once after the first initialisation and on every change.
	Health
	// Key: the module detected a DTMF key (Key).
	Key
)

func (k EventKind) String() string {
	switch k {
	case Progress:
		return "progress"
	case Incoming:
		return "incoming"
	case Health:
		return "health"
	case Key:
		return "key"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is what a Modem delivers.
type Event struct {
	Kind    EventKind
	Call    int64   // Progress: the id the call was dialled with (Dial)
	Stage   Stage   // Progress
	Outcome Outcome // Progress at StageEnded
	From    string  // Incoming: the caller's number as +CLIP gave it ("" if withheld)
	Up      bool    // Health
	Cause   Cause   // Health when !Up
	Err     error   // Health when !Up: what is wrong and what to do
	Key     rune    // Key
	At      time.Time
}

// Port is the module's AT port: a go.bug.st/serial port, or a pty in
// tests. Close must unblock a pending Read.
type Port = io.ReadWriteCloser

// Options configures a Modem. Start from DefaultOptions and change what you
// mean to. A zero duration or count takes DefaultOptions' value (no wait of
// zero is ever meant); MinSignal is taken as given (0: any measured signal
// will do); Family "" is FamilyGeneric.
type Options struct {
	// Family is the module's dialect. Default FamilyGeneric.
	Family Family
	// Name names the port in logs and errors, e.g. "/dev/ttyUSB2".
	Name string
	// Baud is the UART speed for OpenPort. Default 115200 (SIM7600 and
	// EC25 default; a USB AT port ignores it).
	Baud int

	// CommandTimeout bounds the wait for one command's final result.
	// Default 5 s.
	CommandTimeout time.Duration
	// MaxTimeouts command timeouts in a row mark the module down
	// (modem_fault) and reset it. Default 3.
	MaxTimeouts int
	// DialTimeout is how long a call may ring before the driver hangs up
	// with no_answer. Default 45 s.
	DialTimeout time.Duration
	// HealthInterval is the period of the SIM, registration and signal
	// check. Default 30 s.
	HealthInterval time.Duration
	// PollInterval is the period of AT+CLCC while a call is up on a family
	// that does not report call status by itself. Default 1 s.
	PollInterval time.Duration
	// EndGrace is how long a call reported gone (+CLCC stat 6, VOICE CALL:
	// END) waits for the result code that says why (BUSY, NO ANSWER…)
	// before it ends as failed. Default 2 s.
	EndGrace time.Duration
	// MinSignal is the least +CSQ rssi (0..31) that counts as usable;
	// below it (or 99, unknown) the module is down with weak_signal.
	// Default 5 (about -103 dBm).
	MinSignal int

	// PowerKey is the GPIO that drives the module's PWRKEY (through a
	// transistor), or nil when none is wired. A module that stopped
	// answering gets one press of PowerKeyPulse; a press toggles the
	// module's power, so a module that stays silent is pressed again
	// after StartupWait (off, then on).
	PowerKey gpio.PinOut
	// PowerKeyActiveLow: the press drives PowerKey low (default high).
	PowerKeyActiveLow bool
	// PowerKeyPulse is how long a press lasts. Default 3 s (SIM7600 needs
	// ≥ 2.5 s to power off, EC25 ≥ 650 ms; both power on from ≥ 500 ms).
	PowerKeyPulse time.Duration
	// StartupWait is the wait after a reset before re-initialising.
	// Default 15 s (a SIM7600 takes about 12 s to answer AT).
	StartupWait time.Duration
	// ReopenInterval is how often OpenPort opens a port that failed (an
	// unplugged USB module) again. Default 5 s (a module plugged back
	// enumerates its ports within seconds).
	ReopenInterval time.Duration

	// Clock times every wait. Default the real clock.
	Clock clock.Clock
	// Log receives commands that failed, resets and unknown lines. Default none.
	Log *slog.Logger
}

// DefaultOptions are the values Open gives zero fields.
var DefaultOptions = Options{
	Family:         FamilyGeneric,
	Baud:           115200,
	CommandTimeout: 5 * time.Second,
	MaxTimeouts:    3,
	DialTimeout:    45 * time.Second,
	HealthInterval: 30 * time.Second,
	PollInterval:   time.Second,
	EndGrace:       2 * time.Second,
	MinSignal:      5,
	PowerKeyPulse:  3 * time.Second,
	StartupWait:    15 * time.Second,
	ReopenInterval: 5 * time.Second,
}

func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions
	if o.Family == "" {
		o.Family = d.Family
	}
	if _, err := FamilyByName(string(o.Family)); err != nil {
		return o, err
	}
	if o.MinSignal < 0 || o.MinSignal > 31 {
		return o, fmt.Errorf("modem: min signal %d: want a +CSQ rssi from 0 to 31 (default %d)", o.MinSignal, d.MinSignal)
	}
	if o.Name == "" {
		o.Name = "modem port"
	}
	pos := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	pos(&o.CommandTimeout, d.CommandTimeout)
	pos(&o.DialTimeout, d.DialTimeout)
	pos(&o.HealthInterval, d.HealthInterval)
	pos(&o.PollInterval, d.PollInterval)
	pos(&o.EndGrace, d.EndGrace)
	pos(&o.PowerKeyPulse, d.PowerKeyPulse)
	pos(&o.StartupWait, d.StartupWait)
	pos(&o.ReopenInterval, d.ReopenInterval)
	if o.Baud <= 0 {
		o.Baud = d.Baud
	}
	if o.MaxTimeouts <= 0 {
		o.MaxTimeouts = d.MaxTimeouts
	}
	if o.Clock == nil {
		o.Clock = clock.NewReal()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// Status is what the module last said, for status, selftest and the
// technician's tool.
type Status struct {
	Up       bool
	Cause    Cause
	Err      string // why it is down
	SIM      string // +CPIN state: "READY", "SIM PIN", "NOT INSERTED", … ("" before the first answer)
	CREG     int    // +CREG <stat>; -1 unknown
	CEREG    int    // +CEREG <stat>; -1 unknown (or not supported)
	RSSI     int    // +CSQ rssi; 99 unknown
	Operator string // +COPS
	Call     Stage  // the call's stage, "" when none
	Resets   int    // resets since Open
	Timeouts int    // command timeouts since Open
}

// Registered reports whether either registration says home or roaming.
func (s Status) Registered() bool { return regOK(s.CREG) || regOK(s.CEREG) }

func regOK(stat int) bool { return stat == 1 || stat == 5 }

// Modem owns one module's AT port. Build it with Open or OpenPort; stop it
// with Halt.
type Modem struct {
	o      Options
	events chan Event
	reqs   chan func(*loop)
	halt   chan struct{}
	done   chan struct{}

	mu       sync.Mutex
	st       Status
	inCall   bool
	haltOnce sync.Once
}

// ErrHalted is returned by calls on a halted Modem.
var ErrHalted = errors.New("modem: halted")

// Open starts driving the module on port: the first thing written is ATH
// (a call left up by a crash is hung up before anything else), then the
// initialisation. It returns at once; the first Health event says whether
// the module is usable.
func Open(port Port, o Options) (*Modem, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	return start(port, o, nil), nil
}

func start(port Port, o Options, reopen func() (Port, error)) *Modem {
	m := &Modem{
		o:      o,
		events: make(chan Event, 32),
		reqs:   make(chan func(*loop), 32),
		halt:   make(chan struct{}),
		done:   make(chan struct{}),
		st:     Status{CREG: -1, CEREG: -1, RSSI: 99},
	}
	go newLoop(m, port, reopen).run()
	return m
}

// OpenPort opens the serial device path at o.Baud, 8N1, and Opens the
// module on it. When the port fails later (a USB module unplugged, its
// cable loose) the Modem is down with modem_fault and opens path again
// every o.ReopenInterval; once it opens, the module is initialised again
// (ATH first) and reported up: no restart of the service is needed.
func OpenPort(path string, o Options) (*Modem, error) {
	if o.Name == "" {
		o.Name = path
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	mode := &serial.Mode{BaudRate: o.Baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}
	open := func() (Port, error) {
		p, err := serial.Open(path, mode)
		if err != nil {
			return nil, openError(path, o.Baud, err)
		}
		return p, nil
	}
	p, err := open()
	if err != nil {
		return nil, err
	}
	return start(p, o, open), nil
}

func openError(path string, baud int, err error) error {
	var pe *serial.PortError
	if errors.As(err, &pe) {
		switch pe.Code() {
		case serial.PortNotFound:
			return fmt.Errorf("modem: no such port %s: is the module powered and its USB cable in? (`ls /dev/ttyUSB*`; a SIM7600 or EC25 gives its AT port as the third ttyUSB, usually ttyUSB2): %w", path, err)
		case serial.PortBusy:
			return fmt.Errorf("modem: port %s is busy: another program holds it (ModemManager? `systemctl disable --now ModemManager`; a second wartel-kiosk or wartel-reader modem?): %w", path, err)
		case serial.PermissionDenied:
			return fmt.Errorf("modem: no permission to open %s: add the booth's user to the dialout group: %w", path, err)
		}
	}
	return fmt.Errorf("modem: open %s at %d baud: %w: check the module's cable and power", path, baud, err)
}

// Events delivers the module's events; it is closed when the Modem halts.
// A consumer that stops reading stalls the driver.
func (m *Modem) Events() <-chan Event { return m.events }

// String names the modem for logs, e.g. "simcom modem on /dev/ttyUSB2".
func (m *Modem) String() string { return string(m.o.Family) + " modem on " + m.o.Name }

// Status returns what the module last said.
func (m *Modem) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st
}

// send queues f for the loop without waiting for it.
func (m *Modem) send(f func(*loop)) error {
	select {
	case <-m.done:
		return ErrHalted
	default:
	}
	select {
	case m.reqs <- f:
		return nil
	case <-m.done:
		return ErrHalted
	default:
		return errors.New("modem: too many requests queued: the driver is stalled (is Events being read?)")
	}
}

// Dial places a voice call to number (E.164 "+62…" or national digits).
// It returns at once: the call's stages arrive as Progress events, each
// with id as its Call, so that a caller tells a late event of a call it
// hung up from the call it dialled next (the booth gives its journal's
// call id, never reused; the driver keeps it through a module reset). It
// fails when the module is down or a call is already up.
func (m *Modem) Dial(id int64, number string) error {
	if err := checkNumber(number); err != nil {
		return err
	}
	m.mu.Lock()
	up, cause, busy := m.st.Up, m.st.Cause, m.inCall
	if up && !busy {
		m.inCall = true
	}
	m.mu.Unlock()
	switch {
	case !up:
		return fmt.Errorf("modem: cannot dial: the module is down (%s)", cause)
	case busy:
		return errors.New("modem: cannot dial: a call is already up; hang it up first")
	}
	return m.send(func(l *loop) { l.dial(id, number) })
}

func checkNumber(n string) error {
	digits := strings.TrimPrefix(n, "+")
	if digits == "" || len(digits) > 20 {
		return fmt.Errorf("modem: cannot dial %q: want 1 to 20 digits, optionally after +", n)
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return fmt.Errorf("modem: cannot dial %q: only digits (and a leading +) are dialled", n)
		}
	}
	return nil
}

// HangUp ends the call in any stage (ATH, then AT+CHUP if ATH is
// refused). It returns at once; the call's end arrives as a Progress event.
// Without a call it hangs up anyway (harmless) and reports nothing.
func (m *Modem) HangUp() error { return m.send(func(l *loop) { l.hangUp(OutcomeCancelled) }) }

// Tone plays a local tone in the earpiece. It returns at once; a family
// without local tones returns ErrNoTones.
func (m *Modem) Tone(t Tone) error {
	cmd, err := toneCommand(m.o.Family, t)
	if err != nil {
		return err
	}
	return m.send(func(l *loop) {
		l.enqueue(&command{line: cmd, done: func(l *loop, r result) {
			if !r.ok() {
				l.m.o.Log.Warn("local tone refused", "modem", l.m.String(), "tone", t.String(), "answer", r.final.Raw)
			}
		}})
	})
}

// toneCommand is the family's command for t (docs/modem.md "Tones").
func toneCommand(f Family, t Tone) (string, error) {
	if t != ToneWarning60 && t != ToneWarning10 {
		return "", fmt.Errorf("modem: unknown tone %v", t)
	}
	switch f {
	case FamilySIMCom:
		// AT+STTONE=<mode>,<tone>,<duration ms>: 16 is the general beep.
		if t == ToneWarning60 {
			return "AT+STTONE=1,16,500", nil
		}
		return "AT+STTONE=1,16,1500", nil
	case FamilyQuectel:
		// AT+QLDTMF=<n>,"<DTMF string>": each tone and gap n/10 s.
		if t == ToneWarning60 {
			return `AT+QLDTMF=5,"1"`, nil
		}
		return `AT+QLDTMF=2,"1,1,1"`, nil
	}
	return "", ErrNoTones
}

// Halt hangs up any call and stops the driver, closing the port and
// Events. It waits for the ATH to be answered, bounded by CommandTimeout
// on the real clock (a module that hangs does not hold Halt up).
func (m *Modem) Halt() error {
	m.haltOnce.Do(func() { close(m.halt) })
	<-m.done
	return nil
}
