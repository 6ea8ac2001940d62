// Package modemtest emulates a cellular voice module on a pseudo-terminal,
// as drivers/rfid/rfidtest does for card readers: the driver opens Path
// with the real serial code while the emulator answers AT commands the way
// the SIMCom SIM7600 and Quectel EC25 AT manuals (and 3GPP TS 27.007)
// describe, with echo on until ATE0, and plays scripted call outcomes per
// number. Time inside the emulator runs on its own injected clock, or is
// driven by explicit calls (Answer, Busy, RemoteHangUp…), so tests never sleep.
package modemtest

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"wartelsuspas/clock"
)

// Outcome is what the far end of a dialled number does.
type Outcome int

const (
	// Ring: the far end rings until the booth hangs up (or a test calls
	// Answer, Busy…). The default for an unscripted number.
	Ring Outcome = iota
	// Answer after Script.After.
	Answer
	// Busy after Script.After: the network answers BUSY.
	Busy
	// NoAnswer after Script.After: the network gives up with NO ANSWER.
	NoAnswer
	// Fail after Script.After: NO CARRIER before any answer.
	Fail
)

// Script is what happens when a number is dialled.
type Script struct {
	Outcome Outcome
	After   time.Duration // ringing before the outcome
	// DropAfter: an answered call is hung up by the far end after this (0: never).
	DropAfter time.Duration
	// LoseNetworkAfter: the network goes away this long after the answer
	// and the call drops with it (0: never).
	LoseNetworkAfter time.Duration
}

// Options configures an Emulator.
type Options struct {
	// Family is the dialect: "simcom", "quectel" or "generic" (default).
	Family string
	// Clock runs scripted delays. Default the real clock.
	Clock clock.Clock
	// Operator is the +COPS name. Default "TELKOMSEL".
	Operator string
	// RingEvery is the gap between RINGs of an incoming call. Default 3 s.
	RingEvery time.Duration
}

// Emulator is one module on a pty. Its methods are safe for concurrent use.
type Emulator struct {
	o Options

	master, slave *os.File

	mu      sync.Mutex
	cond    *sync.Cond
	closed  bool
	hung    bool
	echo    bool
	cmee    int
	clccOn  bool // SIMCom AT+CLCC=1
	dsciOn  bool // Quectel AT^DSCI=1
	cregN   int
	ceregN  int
	sim     string // READY, SIM PIN, NOT INSERTED
	reg     int    // <stat>
	rssi    int
	scripts map[string]Script
	call    *emuCall
	gen     int // bumps when a call ends, so stale timers do nothing
	ringing string
	ringGen int
	cmds    []string
	tones   []string
	pending []string // URCs that follow the answer being written
	served  chan struct{}
}

type emuCall struct {
	number   string
	stat     int // TS 27.007 <stat>
	incoming bool
	answered time.Duration
}

// New opens a pty and starts answering on it.
func New(o Options) (*Emulator, error) {
	switch o.Family {
	case "":
		o.Family = "generic"
	case "simcom", "quectel", "generic":
	default:
		return nil, fmt.Errorf("modemtest: family %q: want simcom, quectel or generic", o.Family)
	}
	if o.Clock == nil {
		o.Clock = clock.NewReal()
	}
	if o.Operator == "" {
		o.Operator = "TELKOMSEL"
	}
	if o.RingEvery <= 0 {
		o.RingEvery = 3 * time.Second
	}
	m, s, err := openPty()
	if err != nil {
		return nil, err
	}
	if err := makeRaw(int(s.Fd())); err != nil {
		m.Close()
		s.Close()
		return nil, fmt.Errorf("modemtest: raw mode on %s: %w", s.Name(), err)
	}
	e := &Emulator{o: o, master: m, slave: s, echo: true, sim: "READY", reg: 1, rssi: 20, scripts: map[string]Script{}, served: make(chan struct{})}
	e.cond = sync.NewCond(&e.mu)
	go e.serve()
	return e, nil
}

// openPty opens a pty whose master is in Go's poller, so that Close ends
// a pending Read (and the close, which hangs the line up for the driver,
// happens then, not after the next byte).
func openPty() (*os.File, *os.File, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("modemtest: open pty: %w", err)
	}
	fd, err := unix.Dup(int(m.Fd()))
	m.Close()
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("modemtest: pty master: %w", err)
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), s, nil
}

// makeRaw sets the line as cfmakeraw does, so bytes pass untouched.
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// Path is the pty the driver opens.
func (e *Emulator) Path() string { return e.slave.Name() }

// Family is the dialect the emulator speaks.
func (e *Emulator) Family() string { return e.o.Family }

// Close stops the emulator; the driver's reads fail as on an unplug.
func (e *Emulator) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.cond.Broadcast()
	e.mu.Unlock()
	err := e.master.Close() // pollable: this ends serve's read at once
	<-e.served
	return errors.Join(err, e.slave.Close())
}

// ---- scripting

// Script sets what dialling number does.
func (e *Emulator) Script(number string, s Script) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.scripts[number] = s
}

// SetSIM sets the SIM state: "READY", "SIM PIN" or "NOT INSERTED".
func (e *Emulator) SetSIM(state string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sim = state
	if state != "READY" {
		e.reg = 0
	}
}

// SetRegistration sets the +CREG/+CEREG <stat> (1 home, 5 roaming, 0 not
// registered, 2 searching, 3 denied) and sends the URCs the driver enabled.
func (e *Emulator) SetRegistration(stat int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.setRegLocked(stat)
}

func (e *Emulator) setRegLocked(stat int) {
	if e.reg == stat {
		return
	}
	e.reg = stat
	var out []string
	if e.cregN > 0 {
		out = append(out, fmt.Sprintf("+CREG: %d", stat))
	}
	if e.ceregN > 0 {
		out = append(out, fmt.Sprintf("+CEREG: %d", stat))
	}
	e.urcLocked(out...)
}

// SetSignal sets the +CSQ rssi (0..31, 99 unknown).
func (e *Emulator) SetSignal(rssi int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rssi = rssi
}

// Hang makes the module stop answering (true) or answer again (false).
func (e *Emulator) Hang(hung bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hung = hung
	if !hung {
		// A module that came back (reset) starts as from power-on.
		e.echo, e.cmee, e.clccOn, e.dsciOn, e.cregN, e.ceregN = true, 0, false, false, 0, 0
		e.call = nil
		e.gen++
	}
}

// Answer makes the far end of the dialled call answer now.
func (e *Emulator) Answer() error { return e.farEnd(Answer, e.currentGen()) }

// Busy makes the network answer BUSY now.
func (e *Emulator) Busy() error { return e.farEnd(Busy, e.currentGen()) }

// NoAnswer makes the network give up with NO ANSWER now.
func (e *Emulator) NoAnswer() error { return e.farEnd(NoAnswer, e.currentGen()) }

// RemoteHangUp makes the far end hang up (NO CARRIER).
func (e *Emulator) RemoteHangUp() error { return e.farEnd(Fail, e.currentGen()) }

// LoseNetwork drops registration and the call with it.
func (e *Emulator) LoseNetwork() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.setRegLocked(0)
	if e.call != nil && !e.call.incoming {
		e.endLocked("NO CARRIER")
	}
}

// Incoming rings the booth from number until the driver hangs up.
func (e *Emulator) Incoming(from string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.call = &emuCall{number: from, stat: 4, incoming: true}
	e.ringing = from
	e.ringGen++
	e.ringLocked()
	g := e.ringGen
	go e.ringAgain(g)
}

func (e *Emulator) ringLocked() {
	out := []string{"RING", fmt.Sprintf(`+CLIP: "%s",145,"",0,"",0`, e.ringing)}
	if e.clccOn {
		out = append(out, clcc(1, true, 4, e.ringing))
	}
	e.urcLocked(out...)
}

func (e *Emulator) ringAgain(g int) {
	for {
		t := e.o.Clock.NewTimer(e.o.RingEvery)
		<-t.C()
		e.mu.Lock()
		if e.ringGen != g || e.ringing == "" || e.closed {
			e.mu.Unlock()
			return
		}
		e.ringLocked()
		e.mu.Unlock()
	}
}

// Commands returns the commands received so far, without their CR.
func (e *Emulator) Commands() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.cmds...)
}

// Tones returns the local tone commands received.
func (e *Emulator) Tones() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.tones...)
}

// WaitCommand blocks until the n-th (1-based) command starting with prefix
// has been received, or bound passed (it only bounds a hang).
func (e *Emulator) WaitCommand(prefix string, n int, bound time.Duration) error {
	deadline := time.AfterFunc(bound, func() {
		e.mu.Lock()
		e.cond.Broadcast()
		e.mu.Unlock()
	})
	defer deadline.Stop()
	start := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for {
		seen := 0
		for _, c := range e.cmds {
			if strings.HasPrefix(c, prefix) {
				seen++
			}
		}
		if seen >= n {
			return nil
		}
		if e.closed || time.Since(start) >= bound {
			return fmt.Errorf("modemtest: %d× %q not received within %v; received %q", n, prefix, bound, e.cmds)
		}
		e.cond.Wait()
	}
}

func (e *Emulator) currentGen() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.gen
}

// ---- the line

// writeLocked sends text to the driver.
func (e *Emulator) writeLocked(s string) {
	if e.closed {
		return
	}
	e.master.Write([]byte(s))
}

// urcLocked sends unsolicited lines, each framed CR LF … CR LF.
func (e *Emulator) urcLocked(lines ...string) {
	if e.hung {
		return
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("\r\n" + l + "\r\n")
	}
	e.writeLocked(b.String())
}

func (e *Emulator) serve() {
	defer close(e.served)
	buf := make([]byte, 256)
	var acc []byte
	for {
		n, err := e.master.Read(buf)
		e.mu.Lock()
		closed := e.closed
		e.mu.Unlock()
		if closed {
			return
		}
		for _, b := range buf[:n] {
			switch b {
			case '\r':
				e.command(string(acc))
				acc = acc[:0]
			case '\n':
			default:
				acc = append(acc, b)
			}
		}
		if err != nil {
			return
		}
	}
}

func (e *Emulator) command(line string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.cmds = append(e.cmds, line) // a hung module received it all the same
	e.cond.Broadcast()
	if e.hung {
		return
	}
	if e.echo {
		e.writeLocked(line + "\r")
	}
	up := strings.ToUpper(line)
	if up == "" {
		return
	}
	resp, final := e.answerLocked(up, line)
	var b strings.Builder
	for _, r := range resp {
		b.WriteString("\r\n" + r + "\r\n")
	}
	if final != "" {
		b.WriteString("\r\n" + final + "\r\n")
	}
	for _, r := range e.pending {
		b.WriteString("\r\n" + r + "\r\n")
	}
	e.pending = nil
	e.writeLocked(b.String())
}

// cmeLocked is an error answer as AT+CMEE set it: 0 ERROR, 1 numeric, 2 text.
func (e *Emulator) cmeLocked(code int, text string) string {
	switch e.cmee {
	case 1:
		return "+CME ERROR: " + strconv.Itoa(code)
	case 2:
		return "+CME ERROR: " + text
	}
	return "ERROR"
}

func (e *Emulator) simErrorLocked() string {
	if e.sim == "NOT INSERTED" {
		return e.cmeLocked(10, "SIM not inserted")
	}
	return e.cmeLocked(11, "SIM PIN required")
}

// answerLocked returns the information lines and the final result of one
// command (upper-cased in up, as typed in raw).
func (e *Emulator) answerLocked(up, raw string) ([]string, string) {
	simcom, quectel := e.o.Family == "simcom", e.o.Family == "quectel"
	set := func(prefix string, max int, dst *int) (bool, string) {
		v, ok := strings.CutPrefix(up, prefix)
		if !ok {
			return false, ""
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > max {
			return true, "ERROR"
		}
		*dst = n
		return true, "OK"
	}
	switch {
	case up == "AT":
		return nil, "OK"
	case up == "ATE0" || up == "ATE1":
		e.echo = up == "ATE1"
		return nil, "OK"
	case up == "AT+CPIN?":
		if e.sim == "NOT INSERTED" {
			return nil, e.simErrorLocked()
		}
		return []string{"+CPIN: " + e.sim}, "OK"
	case up == "AT+CREG?":
		return []string{fmt.Sprintf("+CREG: %d,%d", e.cregN, e.reg)}, "OK"
	case up == "AT+CEREG?":
		return []string{fmt.Sprintf("+CEREG: %d,%d", e.ceregN, e.reg)}, "OK"
	case up == "AT+CSQ":
		return []string{fmt.Sprintf("+CSQ: %d,99", e.rssi)}, "OK"
	case up == "AT+COPS?":
		if e.reg == 1 || e.reg == 5 {
			return []string{fmt.Sprintf(`+COPS: 0,0,"%s",7`, e.o.Operator)}, "OK"
		}
		return []string{"+COPS: 0"}, "OK"
	case up == "AT+CLIP=1" || up == "AT+CLIP=0":
		return nil, "OK"
	case up == "AT+CLCC=1" || up == "AT+CLCC=0":
		if !simcom {
			return nil, "ERROR"
		}
		e.clccOn = up == "AT+CLCC=1"
		return nil, "OK"
	case up == "AT^DSCI=1" || up == "AT^DSCI=0":
		if !quectel {
			return nil, "ERROR"
		}
		e.dsciOn = up == "AT^DSCI=1"
		return nil, "OK"
	case up == "AT+DDET=1":
		if !simcom {
			return nil, "ERROR"
		}
		return nil, "OK"
	case up == "AT+QTONEDET=1":
		if !quectel {
			return nil, "ERROR"
		}
		return nil, "OK"
	case strings.HasPrefix(up, "AT+STTONE="):
		if !simcom {
			return nil, "ERROR"
		}
		e.tones = append(e.tones, raw)
		return nil, "OK"
	case strings.HasPrefix(up, "AT+QLDTMF="):
		if !quectel {
			return nil, "ERROR"
		}
		e.tones = append(e.tones, raw)
		e.afterLocked(time.Second, e.gen, func() { e.urcLocked("+QLDTMF: 5") })
		return nil, "OK"
	case up == "AT+CLCC":
		var out []string
		if e.call != nil {
			out = append(out, clcc(1, e.call.incoming, e.call.stat, e.call.number))
		}
		return out, "OK"
	case up == "ATH" || up == "AT+CHUP":
		if e.call != nil {
			e.hangUpLocked()
		}
		return nil, "OK"
	case strings.HasPrefix(up, "ATD") && strings.HasSuffix(up, ";"):
		return e.dialLocked(raw[3 : len(raw)-1])
	}
	for _, s := range []struct {
		p   string
		max int
		dst *int
	}{{"AT+CMEE=", 2, &e.cmee}, {"AT+CREG=", 2, &e.cregN}, {"AT+CEREG=", 2, &e.ceregN}} {
		if ok, final := set(s.p, s.max, s.dst); ok {
			return nil, final
		}
	}
	return nil, "ERROR"
}

func clcc(id int, incoming bool, stat int, number string) string {
	dir, typ := 0, 129
	if incoming {
		dir = 1
	}
	if strings.HasPrefix(number, "+") {
		typ = 145
	}
	return fmt.Sprintf(`+CLCC: %d,%d,%d,0,0,"%s",%d`, id, dir, stat, number, typ)
}

// statusLocked reports a stat change the way the dialect does by itself.
func (e *Emulator) statusLocked(stat int) []string {
	c := e.call
	switch {
	case e.clccOn:
		return []string{clcc(1, c.incoming, stat, c.number)}
	case e.dsciOn:
		dir := 0
		if c.incoming {
			dir = 1
		}
		return []string{fmt.Sprintf("^DSCI: 1,%d,%d,0,%s,129", dir, stat, c.number)}
	}
	return nil
}

func (e *Emulator) dialLocked(number string) ([]string, string) {
	switch {
	case e.sim != "READY":
		return nil, e.simErrorLocked()
	case e.reg != 1 && e.reg != 5:
		return nil, e.cmeLocked(30, "no network service")
	case e.call != nil:
		return nil, e.cmeLocked(3, "operation not allowed")
	}
	e.call = &emuCall{number: number, stat: 2}
	e.gen++
	g := e.gen
	// OK first (a voice ATD is answered at once), then the progress the
	// dialect reports: dialling, and alerting once the far end rings.
	s := e.scripts[number]
	e.afterLocked(0, g, func() {
		e.urcLocked(e.statusLocked(2)...)
		e.call.stat = 3
		e.urcLocked(e.statusLocked(3)...)
		switch {
		case s.Outcome == Ring:
		case s.After == 0:
			e.farEndLocked(s.Outcome, s)
		default:
			e.afterLocked(s.After, g, func() { e.farEndLocked(s.Outcome, s) })
		}
	})
	return nil, "OK"
}

// afterLocked runs f (under the lock) after d on the emulator's clock, if
// the call of generation g is still the current one. d 0 runs it as soon
// as the current answer is written.
func (e *Emulator) afterLocked(d time.Duration, g int, f func()) {
	go func() {
		if d > 0 {
			t := e.o.Clock.NewTimer(d)
			<-t.C()
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.gen == g && !e.closed && !e.hung {
			f()
		}
	}()
}

func (e *Emulator) farEnd(o Outcome, g int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gen != g || e.call == nil || e.call.incoming {
		return errors.New("modemtest: no dialled call")
	}
	e.farEndLocked(o, e.scripts[e.call.number])
	return nil
}

func (e *Emulator) farEndLocked(o Outcome, s Script) {
	c := e.call
	if c == nil || c.incoming {
		return
	}
	switch o {
	case Answer:
		if c.stat == 0 {
			return
		}
		c.stat = 0
		c.answered = e.o.Clock.Mono()
		var out []string
		if e.o.Family == "simcom" {
			out = append(out, "VOICE CALL: BEGIN")
		}
		e.urcLocked(append(out, e.statusLocked(0)...)...)
		g := e.gen
		if s.DropAfter > 0 {
			e.afterLocked(s.DropAfter, g, func() { e.endLocked("NO CARRIER") })
		}
		if s.LoseNetworkAfter > 0 {
			e.afterLocked(s.LoseNetworkAfter, g, func() {
				e.setRegLocked(0)
				e.endLocked("NO CARRIER")
			})
		}
	case Busy:
		e.endLocked("BUSY")
	case NoAnswer:
		e.endLocked("NO ANSWER")
	case Fail:
		e.endLocked("NO CARRIER")
	}
}

// endLocked ends the call from the network's side with a result code.
func (e *Emulator) endLocked(code string) {
	c := e.call
	out := e.statusLocked(6)
	if e.o.Family == "simcom" && c.stat == 0 {
		out = append(out, fmt.Sprintf("VOICE CALL: END: %06d", int((e.o.Clock.Mono()-c.answered)/time.Second)))
	}
	e.urcLocked(append(out, code)...)
	e.call = nil
	e.gen++
}

// hangUpLocked ends the call from the booth's side (ATH, AT+CHUP).
func (e *Emulator) hangUpLocked() {
	c := e.call
	if c.incoming {
		e.ringing = ""
		e.call = nil
		e.gen++
		return
	}
	out := e.statusLocked(6)
	if e.o.Family == "simcom" && c.stat == 0 {
		out = append(out, fmt.Sprintf("VOICE CALL: END: %06d", int((e.o.Clock.Mono()-c.answered)/time.Second)))
	}
	e.call = nil
	e.gen++
	e.pending = out // after the OK the caller is about to write
}

// Key reports a DTMF key the module detected, in the dialect's URC:
// SIMCom +RXDTMF: <key>, Quectel +QTONEDET: <ASCII code>. A generic module
// reports none.
func (e *Emulator) Key(k rune) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch e.o.Family {
	case "simcom":
		e.urcLocked("+RXDTMF: " + string(k))
	case "quectel":
		e.urcLocked(fmt.Sprintf("+QTONEDET: %d", k))
	}
}
