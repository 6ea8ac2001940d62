package rfid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"

	"wartelsuspas/cardid"
	"wartelsuspas/clock"
)

// PN532 commands used here (PN532 User Manual UM0701-02, §7).
const (
	pn532CmdGetFirmwareVersion  = 0x02
	pn532CmdSAMConfiguration    = 0x14
	pn532CmdRFConfiguration     = 0x32
	pn532CmdInListPassiveTarget = 0x4A
	pn532CmdInRelease           = 0x52
)

// PN532Options configures the PN532 protocol. Start from
// DefaultPN532Options and change what you mean to: every field can then be
// chosen, PassiveRetries 0 included. A zero duration or MaxReinits still takes
// the default (no wait of zero is ever meant), so a zero value is usable
// except that it asks for no passive retries.
type PN532Options struct {
	// PortName names the port in errors and logs, e.g. "/dev/ttyAMA0".
	PortName string
	// PollInterval is the pause between two InListPassiveTarget polls.
	// Default 100 ms.
	PollInterval time.Duration
	// AckTimeout bounds the wait for the ACK of a command. Default 50 ms.
	AckTimeout time.Duration
	// ResponseTimeout bounds the wait for a response after its ACK.
	// Default 200 ms; polls return sooner because Run sets the passive
	// activation retries (RFConfiguration item 05) to PassiveRetries.
	ResponseTimeout time.Duration
	// PassiveRetries is MxRtyPassiveActivation: how many extra times the
	// PN532 tries to activate a card before it answers "no target".
	// Taken as given: 0 is a real choice (answer after one try). Default 2
	// (0xFF would make it wait for a card forever).
	PassiveRetries byte
	// MaxReinits is how many re-initialisations in a row may fail before
	// Run gives up and returns an error (the Reader then reports Down and
	// reopens the port). Default 3.
	MaxReinits int
	// Reset is the GPIO wired to RSTPD_N, or nil when none is wired.
	// Re-initialisation pulls it low for ResetPulse, then high, and waits
	// ResetStartup for the module to start.
	Reset gpio.PinOut
	// ResetPulse is how long RSTPD_N is held low. Default 20 ms (≥ 10 ms).
	ResetPulse time.Duration
	// ResetStartup is the wait after RSTPD_N goes high. Default 50 ms.
	ResetStartup time.Duration
	// Clock times every wait; default the real clock.
	Clock clock.Clock
	// Log receives firmware version and re-initialisations; default none.
	Log *slog.Logger
}

// PN532 speaks to an NXP PN532 over HSU (UART) and polls for ISO 14443A
// cards. It implements Protocol. One PN532 may Run on one port at a time.
type PN532 struct {
	o       PN532Options
	reinits atomic.Uint64
}

// DefaultPN532Options are the values NewPN532 gives zero fields, and the
// PassiveRetries a caller should start from: read them, change a copy.
var DefaultPN532Options = PN532Options{
	PollInterval:    100 * time.Millisecond,
	AckTimeout:      50 * time.Millisecond,
	ResponseTimeout: 200 * time.Millisecond,
	PassiveRetries:  2,
	MaxReinits:      3,
	ResetPulse:      20 * time.Millisecond,
	ResetStartup:    50 * time.Millisecond,
}

// NewPN532 returns the PN532 protocol with o's zero durations and
// MaxReinits set from DefaultPN532Options; PassiveRetries is kept as given.
func NewPN532(o PN532Options) *PN532 {
	d := DefaultPN532Options
	if o.PortName == "" {
		o.PortName = "PN532 port"
	}
	if o.PollInterval <= 0 {
		o.PollInterval = d.PollInterval
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = d.AckTimeout
	}
	if o.ResponseTimeout <= 0 {
		o.ResponseTimeout = d.ResponseTimeout
	}
	if o.MaxReinits <= 0 {
		o.MaxReinits = d.MaxReinits
	}
	if o.ResetPulse < 10*time.Millisecond { // the datasheet's minimum
		o.ResetPulse = d.ResetPulse
	}
	if o.ResetStartup <= 0 {
		o.ResetStartup = d.ResetStartup
	}
	if o.Clock == nil {
		o.Clock = clock.NewReal()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &PN532{o: o}
}

// Name returns "pn532".
func (d *PN532) Name() string { return "pn532" }

// Baud returns 115200, the PN532's HSU default.
func (d *PN532) Baud() int { return 115200 }

// Repeating returns false: the PN532 answers polls, it does not repeat.
func (d *PN532) Repeating() bool { return false }

// String names the protocol and its port.
func (d *PN532) String() string { return "pn532(" + d.o.PortName + ")" }

// Reinits reports how many re-initialisations Run has made since NewPN532
// (a growing count on a booth means a flaky module or cable).
func (d *PN532) Reinits() uint64 { return d.reinits.Load() }

// pn532MaxNacks is how many times a corrupted answer is asked for again.
const pn532MaxNacks = 2

// errPN532Missed means the module did not answer in time, or its answer
// never arrived intact.
var errPN532Missed = errors.New("no answer")

// pn532Msg is what the line reader hands to Run: a frame (copied out of
// the parser), a dropped frame, or the error that ended reading.
type pn532Msg struct {
	kind PN532FrameKind
	tfi  byte
	n    int
	data [PN532MaxData]byte
	bad  error
	err  error
}

// pn532Run is the state of one Run.
type pn532Run struct {
	d    *PN532
	p    Port
	s    Sink
	msgs chan *pn532Msg
	free chan *pn532Msg
	out  []byte // the frame being sent
	resp []byte // the last response, valid until the next exchange
	last []byte // the last command sent, for errors and logs
	// verified is set once GetFirmwareVersion showed a PN532.
	verified bool
}

// Run wakes the module, configures it and polls until ctx ends or the
// module or port fails. A module that misses an answer is re-initialised;
// after MaxReinits failed re-initialisations in a row Run returns an error.
func (d *PN532) Run(ctx context.Context, p Port, s Sink) error {
	// The read timeout only bounds how long the line reader takes to see
	// that Run ended; every protocol wait is timed by the clock.
	if err := p.SetReadTimeout(20 * time.Millisecond); err != nil {
		return fmt.Errorf("pn532 on %s: set read timeout: %w; check that the port is a serial device", d.o.PortName, err)
	}
	r := &pn532Run{
		d:    d,
		p:    p,
		s:    s,
		msgs: make(chan *pn532Msg, 4),
		free: make(chan *pn532Msg, 5),
		out:  make([]byte, 0, 64),
		resp: make([]byte, 0, PN532MaxData),
	}
	for range cap(r.free) {
		r.free <- new(pn532Msg)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.readLine(stop)
	}()
	err := r.loop(ctx)
	close(stop)
	<-done
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// readLine parses the line until stop closes or a read fails. Messages
// come from a fixed pool, so steady polling allocates nothing.
func (r *pn532Run) readLine(stop <-chan struct{}) {
	var fp PN532FrameParser
	var buf [256]byte
	send := func(fill func(m *pn532Msg)) bool {
		var m *pn532Msg
		select {
		case m = <-r.free:
		case <-stop:
			return false
		}
		m.kind, m.tfi, m.n, m.bad, m.err = PN532NoFrame, 0, 0, nil, nil
		fill(m)
		select {
		case r.msgs <- m:
			return true
		case <-stop:
			return false
		}
	}
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, err := r.p.Read(buf[:])
		if err != nil {
			send(func(m *pn532Msg) { m.err = err })
			return
		}
		b := buf[:n]
		for len(b) > 0 || fp.Buffered() > 0 {
			k, f, ferr := fp.Feed(b)
			b = b[k:]
			switch {
			case ferr != nil:
				if !send(func(m *pn532Msg) { m.bad = ferr }) {
					return
				}
			case f.Kind != PN532NoFrame:
				if !send(func(m *pn532Msg) { m.kind, m.tfi, m.n = f.Kind, f.TFI, copy(m.data[:], f.Data) }) {
					return
				}
			}
		}
	}
}

// loop initialises the module and polls, re-initialising on a missed answer.
func (r *pn532Run) loop(ctx context.Context) error {
	o := &r.d.o
	failed := 0 // re-initialisations in a row that got no answer
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			r.d.reinits.Add(1)
			o.Log.Warn("pn532 missed an answer; re-initialising", "port", o.PortName, "command", r.lastName(), "failed_in_a_row", failed)
			if err := r.pulseReset(ctx); err != nil {
				return err
			}
		}
		err := r.init(ctx)
		if err == nil {
			failed = 0
			err = r.poll(ctx)
		} else if attempt > 0 {
			failed++
		}
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, errPN532Missed) {
			return err
		}
		if failed >= o.MaxReinits && !r.verified {
			return fmt.Errorf("pn532 on %s: no PN532 answers, after %d re-initialisations (last %s: %w): check that its TX and RX are crossed to the port's RX and TX, its power, and that it is in HSU mode (SEL0/SEL1 switches off)", o.PortName, failed, r.lastName(), err)
		}
		if failed >= o.MaxReinits {
			return fmt.Errorf("pn532 on %s: PN532 stopped answering after %d re-initialisations (last %s: %w): check its power and that it is in HSU mode (SEL0/SEL1 switches)", o.PortName, failed, r.lastName(), err)
		}
	}
}

// pulseReset pulls RSTPD_N low and high again, if it is wired.
func (r *pn532Run) pulseReset(ctx context.Context) error {
	o := &r.d.o
	if o.Reset == nil {
		return nil
	}
	if err := o.Reset.Out(gpio.Low); err != nil {
		return fmt.Errorf("pn532 on %s: pull reset line %s low: %w; check the RSTPD_N pin in the config", o.PortName, o.Reset, err)
	}
	if err := r.sleep(ctx, o.ResetPulse); err != nil {
		return err
	}
	if err := o.Reset.Out(gpio.High); err != nil {
		return fmt.Errorf("pn532 on %s: release reset line %s: %w; check the RSTPD_N pin in the config", o.PortName, o.Reset, err)
	}
	return r.sleep(ctx, o.ResetStartup)
}

// init wakes the module and configures it for polling.
func (r *pn532Run) init(ctx context.Context) error {
	o := &r.d.o
	if _, err := r.p.Write(PN532WakeUp); err != nil {
		return r.writeErr(err)
	}
	if _, err := r.exchange(ctx, []byte{pn532CmdSAMConfiguration, 0x01}, o.ResponseTimeout); err != nil {
		return err
	}
	if !r.verified {
		fw, err := r.exchange(ctx, []byte{pn532CmdGetFirmwareVersion}, o.ResponseTimeout)
		if err != nil {
			return err
		}
		if len(fw) < 4 || fw[0] != 0x32 {
			return fmt.Errorf("pn532 on %s: the module answers but is not a PN532 (firmware %X): fit a PN532 or configure the reader's real protocol", o.PortName, fw)
		}
		r.verified = true
		o.Log.Info("pn532 found", "port", o.PortName, "firmware", fmt.Sprintf("%d.%d", fw[1], fw[2]), "support", fw[3])
	}
	_, err := r.exchange(ctx, []byte{pn532CmdRFConfiguration, 0x05, 0xFF, 0x01, o.PassiveRetries}, o.ResponseTimeout)
	return err
}

// poll lists a target, reports it and releases it, every PollInterval.
func (r *pn532Run) poll(ctx context.Context) error {
	o := &r.d.o
	list := []byte{pn532CmdInListPassiveTarget, 0x01, 0x00}
	release := []byte{pn532CmdInRelease, 0x00}
	for {
		resp, err := r.exchange(ctx, list, o.ResponseTimeout)
		if err != nil {
			return err
		}
		listed := len(resp) > 0 && resp[0] > 0
		uid, ok, reason := pn532TargetUID(resp)
		switch {
		case reason != "":
			r.s.BadFrame(reason)
		case ok:
			r.s.Seen(cardid.ISO14443ACard(uid))
		default:
			r.s.Absent()
		}
		if listed {
			// Released, the card is activated afresh by the next poll,
			// so a card that left and came back is seen to have left.
			if _, err := r.exchange(ctx, release, o.ResponseTimeout); err != nil {
				return err
			}
		}
		if err := r.sleep(ctx, o.PollInterval); err != nil {
			return err
		}
	}
}

// pn532TargetUID reads the UID from an InListPassiveTarget answer (after
// the response code): NbTg, Tg, SENS_RES(2), SEL_RES, NFCIDLength, NFCID1.
// reason is non-empty when the answer is malformed.
func pn532TargetUID(resp []byte) (uid []byte, ok bool, reason string) {
	if len(resp) < 1 {
		return nil, false, "pn532: InListPassiveTarget answer without a target count"
	}
	if resp[0] == 0 {
		return nil, false, ""
	}
	if len(resp) < 6 {
		return nil, false, "pn532: InListPassiveTarget answer too short for a target"
	}
	n := int(resp[5])
	if n != 4 && n != 7 && n != 10 {
		return nil, false, fmt.Sprintf("pn532: ISO 14443A UID of %d bytes (want 4, 7 or 10)", n)
	}
	if len(resp) < 6+n {
		return nil, false, "pn532: InListPassiveTarget answer shorter than its UID"
	}
	return resp[6 : 6+n], true, ""
}

// exchange sends cmd, waits for its ACK and its response, and returns the
// response data after the response code. A frame dropped while waiting
// for the response is answered with a NACK, so the module sends it again.
func (r *pn532Run) exchange(ctx context.Context, cmd []byte, respTimeout time.Duration) ([]byte, error) {
	o := &r.d.o
	r.last = cmd
	r.out = EncodePN532Frame(r.out[:0], PN532HostToChip, cmd)
	if _, err := r.p.Write(r.out); err != nil {
		return nil, r.writeErr(err)
	}
	t := o.Clock.NewTimer(o.AckTimeout)
	defer t.Stop()
	acked := false
	nacks := 0
	for {
		var m *pn532Msg
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C():
			return nil, errPN532Missed
		case m = <-r.msgs:
		}
		if m.err != nil {
			err := m.err
			r.free <- m
			return nil, fmt.Errorf("pn532 on %s: read: %w; check the cable, or whether the reader was unplugged", o.PortName, err)
		}
		if m.bad != nil {
			bad := m.bad
			r.free <- m
			r.s.BadFrame(bad.Error())
			if !acked {
				continue // the ACK cannot be asked for again; the timeout decides
			}
			if nacks == pn532MaxNacks {
				// The module answers, but the line spoils every copy.
				return nil, fmt.Errorf("pn532 on %s: the answer to %s arrived corrupted %d times: %w", o.PortName, r.lastName(), nacks+1, errPN532Missed)
			}
			nacks++
			if _, err := r.p.Write(PN532Nack); err != nil {
				return nil, r.writeErr(err)
			}
			continue
		}
		kind, tfi, data := m.kind, m.tfi, m.data[:m.n]
		switch {
		case kind == PN532AckFrame && !acked:
			acked = true
			t.Reset(respTimeout)
		case kind == PN532ErrorFrame && acked:
			r.free <- m
			return nil, fmt.Errorf("pn532 on %s: the module rejected %s as malformed: %w", o.PortName, r.lastName(), errPN532Missed)
		case kind == PN532InfoFrame && acked && tfi == PN532ChipToHost && len(data) > 0 && data[0] == cmd[0]+1:
			r.resp = append(r.resp[:0], data[1:]...)
			r.free <- m
			return r.resp, nil
		}
		// Anything else is stale (a late answer to a command that timed
		// out) and is dropped.
		r.free <- m
	}
}

func (r *pn532Run) writeErr(err error) error {
	return fmt.Errorf("pn532 on %s: write %s: %w; check the cable, or whether the reader was unplugged", r.d.o.PortName, r.lastName(), err)
}

// lastName names the last command sent, for errors and logs.
func (r *pn532Run) lastName() string {
	if len(r.last) == 0 {
		return "wake-up"
	}
	switch r.last[0] {
	case pn532CmdGetFirmwareVersion:
		return "GetFirmwareVersion"
	case pn532CmdSAMConfiguration:
		return "SAMConfiguration"
	case pn532CmdRFConfiguration:
		return "RFConfiguration"
	case pn532CmdInListPassiveTarget:
		return "InListPassiveTarget"
	case pn532CmdInRelease:
		return "InRelease"
	}
	return fmt.Sprintf("command %02X", r.last[0])
}

// sleep waits d on the clock, draining dropped frames meanwhile so that
// line noise is counted where it happens. It returns a read error at once.
func (r *pn532Run) sleep(ctx context.Context, d time.Duration) error {
	t := r.d.o.Clock.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C():
			return nil
		case m := <-r.msgs:
			err, bad := m.err, m.bad
			r.free <- m
			if err != nil {
				return fmt.Errorf("pn532 on %s: read: %w; check the cable, or whether the reader was unplugged", r.d.o.PortName, err)
			}
			if bad != nil {
				r.s.BadFrame(bad.Error())
			}
		}
	}
}
