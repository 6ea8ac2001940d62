package modem

import (
	"fmt"
	"strings"
	"time"

	"periph.io/x/conn/v3/gpio"

	"wartelsuspas/clock"
)

// command is one AT command in the queue.
type command struct {
	line string // without the CR
	dial bool   // ATD: a call result code answers it too
	done func(*loop, result)
}

// result is how a command was answered.
type result struct {
	final    Line   // OK, ERROR, +CME ERROR…, or a call result code for ATD
	info     []Line // every other line read while it was in flight
	timedOut bool
}

func (r result) ok() bool { return !r.timedOut && r.final.Kind == OK }

func (r result) String() string {
	if r.timedOut {
		return "no answer"
	}
	return strings.TrimSpace(r.final.Raw)
}

// call is the state of the one call the driver dialled.
type call struct {
	id       int64 // the caller's (Dial), in each Progress event
	number   string
	stage    Stage
	answered bool
	netLost  bool    // registration went away while it was up
	hangup   Outcome // set when the booth hung up: cancelled, no_answer
}

var stageOrder = map[Stage]int{"": 0, StageDialling: 1, StageAlerting: 2, StageActive: 3}

// loop is the goroutine that owns the port. Only run touches its fields.
type loop struct {
	m       *Modem
	port    Port
	lines   chan Line
	readErr chan portErr
	// reopen opens the port again after it failed (OpenPort: an
	// unplugged USB module plugged back); nil for a port given to Open.
	reopen func() (Port, error)
	gen    int // the port's generation: a reader's error names the port it read

	queue    []*command
	cur      *command
	curInfo  []Line
	curTimer clock.Timer
	timeouts int // in a row

	initialised bool
	checking    bool
	faulted     bool
	faultErr    error
	portDead    bool
	resetting   bool
	resetStep   int
	resets      int
	allTimeouts int
	sent        bool // a Health event was sent
	up          bool
	cause       Cause
	causeErr    error

	sim         string
	creg, cereg int
	rssi        int
	operator    string

	call      *call
	refusing  bool
	from      string
	dialTimer clock.Timer
	pollTimer clock.Timer
	endTimer  clock.Timer
	health    clock.Timer
	reset     clock.Timer
	reopenT   clock.Timer
}

// portErr is how a port's reader ended, and which port (generation) it read.
type portErr struct {
	gen int
	err error
}

func newLoop(m *Modem, p Port, reopen func() (Port, error)) *loop {
	return &loop{m: m, port: p, reopen: reopen, lines: make(chan Line, 64), readErr: make(chan portErr, 1), creg: -1, cereg: -1, rssi: 99}
}

func tc(t clock.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C()
}

func stop(t *clock.Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

func (l *loop) after(d time.Duration) clock.Timer { return l.m.o.Clock.NewTimer(d) }

func (l *loop) run() {
	m := l.m
	defer close(m.done)
	defer close(m.events)
	go readLines(l.port, l.gen, l.lines, l.readErr)
	l.startInit()
	l.publish()
	for {
		select {
		case ln := <-l.lines:
			l.handle(ln)
		case e := <-l.readErr:
			if e.gen == l.gen {
				l.portGone(e.err)
			}
		case f := <-m.reqs:
			f(l)
		case <-tc(l.curTimer):
			l.curTimer = nil
			l.timedOut()
		case <-tc(l.health):
			l.health = nil
			l.checkHealth()
		case <-tc(l.pollTimer):
			l.pollTimer = nil
			l.poll()
		case <-tc(l.dialTimer):
			l.dialTimer = nil
			if l.call != nil && !l.call.answered {
				l.m.o.Log.Info("call not answered in time; hanging up", "modem", m.String(), "dial_timeout", m.o.DialTimeout)
				l.hangUp(OutcomeNoAnswer)
			}
		case <-tc(l.endTimer):
			l.endTimer = nil
			if l.call != nil {
				l.endCall(l.endOutcome(NoCarrier))
			}
		case <-tc(l.reset):
			l.reset = nil
			l.resetStepDone()
		case <-tc(l.reopenT):
			l.reopenT = nil
			l.reopenPort()
		case <-m.halt:
			l.stopAll()
			return
		}
		l.publish()
	}
}

// readLines splits what the module sends into lines and parses them.
func readLines(p Port, gen int, lines chan<- Line, errc chan<- portErr) {
	buf := make([]byte, 256)
	var acc []byte
	for {
		n, err := p.Read(buf)
		for _, b := range buf[:n] {
			if b == '\r' || b == '\n' {
				if len(acc) > 0 {
					lines <- Parse(string(acc))
					acc = acc[:0]
				}
				continue
			}
			if len(acc) < 1024 { // a line longer than any answer is noise
				acc = append(acc, b)
			}
		}
		if err != nil {
			errc <- portErr{gen, err}
			return
		}
	}
}

func (l *loop) emit(e Event) {
	e.At = l.m.o.Clock.Now()
	select {
	case l.m.events <- e:
	case <-l.m.halt:
	}
}

// publish copies the state Status reports.
func (l *loop) publish() {
	m := l.m
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.Up, m.st.Cause = l.up, l.cause
	m.st.Err = ""
	if l.causeErr != nil {
		m.st.Err = l.causeErr.Error()
	}
	m.st.SIM, m.st.CREG, m.st.CEREG, m.st.RSSI, m.st.Operator = l.sim, l.creg, l.cereg, l.rssi, l.operator
	m.st.Call = ""
	if l.call != nil {
		m.st.Call = l.call.stage
		if m.st.Call == "" {
			m.st.Call = StageDialling
		}
	}
	m.st.Resets, m.st.Timeouts = l.resets, l.allTimeouts
}

// ---- the command queue

func (l *loop) enqueue(c *command) {
	if l.portDead {
		if c.done != nil {
			c.done(l, result{timedOut: true})
		}
		return
	}
	l.queue = append(l.queue, c)
	l.next()
}

func (l *loop) next() {
	if l.cur != nil || l.resetting || len(l.queue) == 0 || l.portDead {
		return
	}
	c := l.queue[0]
	l.queue = l.queue[1:]
	l.cur, l.curInfo = c, nil
	if _, err := l.port.Write([]byte(c.line + "\r")); err != nil {
		l.portGone(err)
		return
	}
	l.curTimer = l.after(l.m.o.CommandTimeout)
}

func (l *loop) finish(r result) {
	c := l.cur
	stop(&l.curTimer)
	l.cur, l.curInfo = nil, nil
	if c.done != nil {
		c.done(l, r)
	}
	l.next()
}

func (l *loop) timedOut() {
	c := l.cur
	if c == nil {
		return
	}
	l.timeouts++
	l.allTimeouts++
	l.m.o.Log.Warn("modem command not answered", "modem", l.m.String(), "command", c.line, "in_a_row", l.timeouts)
	if l.timeouts >= l.m.o.MaxTimeouts {
		l.cur = nil
		l.fault(fmt.Errorf("modem: the module on %s did not answer %d commands in a row (last %s): check its power and cable; it is being reset", l.m.o.Name, l.timeouts, c.line))
		return
	}
	l.finish(result{timedOut: true})
}

// handle takes one line from the module.
func (l *loop) handle(ln Line) {
	if ln.Kind == Empty || ln.Kind == Echo {
		return
	}
	l.timeouts = 0
	switch ln.Kind {
	case CPIN:
		l.sim = ln.Text
		if l.initialised && !l.checking {
			l.evaluate()
		}
	case CREG, CEREG:
		if ln.Kind == CREG {
			l.creg = ln.Stat
		} else {
			l.cereg = ln.Stat
		}
		if !ln.Query {
			l.registrationChanged()
		}
	case CSQ:
		l.rssi = ln.RSSI
	case COPS:
		l.operator = ln.Text
	case CLCC:
		l.callStatus(ln.Call)
	case Ring:
		l.ringing("")
	case CLIP:
		l.ringing(ln.Text)
	case VoiceCall:
		if ln.Text == "END" {
			l.callGone()
		}
	case DTMF:
		l.emit(Event{Kind: Key, Key: ln.Key})
	case NoCarrier, Busy, NoAnswer, NoDialtone:
		if l.call != nil {
			l.endCall(l.endOutcome(ln.Kind))
		}
	case Unknown:
		l.m.o.Log.Debug("modem line ignored", "modem", l.m.String(), "line", ln.Raw)
	}
	if l.cur != nil {
		if ln.Kind.Final() || ln.Kind.CallEnd() && l.cur.dial {
			l.finish(result{final: ln, info: l.curInfo})
		} else {
			l.curInfo = append(l.curInfo, ln)
		}
	}
}

// ---- initialisation and health

func (l *loop) startInit() {
	l.initialised = false
	// Fail closed: a call left up by a crash ends before anything else.
	l.enqueue(&command{line: "ATH"})
	l.enqueue(&command{line: "AT"})
	for _, c := range []string{"ATE0", "AT+CMEE=2", "AT+CLIP=1", "AT+CREG=1", "AT+CEREG=1"} {
		l.enqueue(&command{line: c, done: l.logRefused})
	}
	switch l.m.o.Family {
	case FamilySIMCom:
		l.enqueue(&command{line: "AT+CLCC=1", done: l.logRefused})
		l.enqueue(&command{line: "AT+DDET=1", done: l.logRefused})
	case FamilyQuectel:
		l.enqueue(&command{line: "AT^DSCI=1", done: l.logRefused})
		l.enqueue(&command{line: "AT+QTONEDET=1", done: l.logRefused})
	}
	l.checks(func() {
		l.faulted, l.faultErr = false, nil
		l.initialised = true
	})
}

func (l *loop) logRefused(_ *loop, r result) {
	if !r.ok() {
		l.m.o.Log.Info("modem setting refused (the module may not have it)", "modem", l.m.String(), "answer", r.String())
	}
}

// checks queues the SIM, registration, signal and operator queries; then
// runs first, evaluates health and arms the next check.
func (l *loop) checks(first func()) {
	l.checking = true
	l.enqueue(&command{line: "AT+CPIN?", done: func(l *loop, r result) {
		if r.final.Kind == CMEError || r.final.Kind == Error {
			l.sim = simFromError(r.final)
		}
	}})
	l.enqueue(&command{line: "AT+CREG?"})
	l.enqueue(&command{line: "AT+CEREG?", done: func(l *loop, r result) {
		if !r.ok() {
			l.cereg = -1 // 2G modules (SIM800) have no +CEREG
		}
	}})
	l.enqueue(&command{line: "AT+CSQ"})
	l.enqueue(&command{line: "AT+COPS?", done: func(l *loop, r result) {
		l.checking = false
		if first != nil {
			first()
		}
		l.evaluate()
		stop(&l.health)
		l.health = l.after(l.m.o.HealthInterval)
	}})
}

func (l *loop) checkHealth() {
	if l.resetting || !l.initialised || l.checking || l.portDead {
		return
	}
	l.checks(nil)
}

// simFromError reads the SIM state from an error answer to AT+CPIN?
// (TS 27.007 §9.2: 10 not inserted, 11 PIN, 12 PUK, 13 failure, 14 busy, 15 wrong).
func simFromError(l Line) string {
	switch {
	case l.Code == 10, strings.Contains(strings.ToLower(l.Text), "not inserted"):
		return "NOT INSERTED"
	case l.Code == 11, l.Code == 12, strings.Contains(strings.ToUpper(l.Text), "PIN"), strings.Contains(strings.ToUpper(l.Text), "PUK"):
		return "SIM PIN"
	case l.Text != "":
		return l.Text
	case l.Code >= 0:
		return fmt.Sprintf("CME ERROR %d", l.Code)
	}
	return "ERROR"
}

func (l *loop) registered() bool { return regOK(l.creg) || regOK(l.cereg) }

func (l *loop) registrationChanged() {
	if l.call != nil && !l.registered() {
		l.call.netLost = true
	}
	if l.initialised && !l.checking {
		l.evaluate()
	}
}

// diagnose names what keeps the module from calls, for people.
func (l *loop) diagnose() (Cause, error) {
	o := l.m.o
	switch {
	case l.faulted:
		return CauseModemFault, l.faultErr
	case l.sim != "READY":
		if strings.Contains(l.sim, "PIN") || strings.Contains(l.sim, "PUK") {
			return CauseSIMPIN, fmt.Errorf("modem: the SIM in the module on %s asks for its PIN (+CPIN: %s): remove the SIM's PIN lock in a phone; the booth never enters PINs", o.Name, l.sim)
		}
		return CauseNoSIM, fmt.Errorf("modem: no usable SIM in the module on %s (+CPIN: %s): insert the booth's SIM card (module powered off) and check it in a phone", o.Name, l.sim)
	case !l.registered():
		return CauseNoNetwork, fmt.Errorf("modem: the module on %s is not registered on a network (+CREG stat %d, +CEREG stat %d): check the antenna, the SIM's service and coverage; `wartel-reader modem` shows the operator", o.Name, l.creg, l.cereg)
	case l.rssi == 99 || l.rssi < o.MinSignal:
		return CauseWeakSignal, fmt.Errorf("modem: signal too weak on the module on %s (+CSQ %d, need at least %d): check or move the antenna", o.Name, l.rssi, o.MinSignal)
	}
	return CauseNone, nil
}

// evaluate reports health when it changed. A weak signal does not end a
// call that is up (it evidently carries); it is reported once the call ends.
func (l *loop) evaluate() {
	cause, err := l.diagnose()
	if cause == CauseWeakSignal && l.call != nil {
		return
	}
	up := cause == CauseNone
	if l.sent && up == l.up && cause == l.cause {
		l.causeErr = err
		return
	}
	l.sent, l.up, l.cause, l.causeErr = true, up, cause, err
	if up {
		l.m.o.Log.Info("modem up", "modem", l.m.String(), "operator", l.operator, "csq", l.rssi)
	} else {
		l.m.o.Log.Warn("modem down", "modem", l.m.String(), "cause", string(cause), "err", err)
	}
	// Status says it before the event does: a Dial right after an up
	// event finds the module up.
	l.publish()
	l.emit(Event{Kind: Health, Up: up, Cause: cause, Err: err})
}

// fault marks the module down and resets it.
func (l *loop) fault(err error) {
	if l.call != nil {
		l.endCall(OutcomeModemFault)
	}
	l.faulted, l.faultErr = true, err
	l.initialised, l.checking, l.refusing = false, false, false
	l.queue = nil
	stop(&l.curTimer)
	l.cur = nil
	stop(&l.health)
	l.evaluate()
	if l.portDead {
		return
	}
	l.timeouts = 0
	l.resetting = true
	l.resets++
	if k := l.m.o.PowerKey; k != nil {
		l.m.o.Log.Warn("modem reset: pressing its power key", "modem", l.m.String(), "pulse", l.m.o.PowerKeyPulse)
		if err := k.Out(l.pressLevel(true)); err != nil {
			l.m.o.Log.Error("modem power key", "modem", l.m.String(), "err", err)
		}
		l.resetStep = 1
		l.reset = l.after(l.m.o.PowerKeyPulse)
		return
	}
	l.m.o.Log.Warn("modem not answering and no power key wired: retrying", "modem", l.m.String(), "in", l.m.o.StartupWait)
	l.resetStep = 2
	l.reset = l.after(l.m.o.StartupWait)
}

func (l *loop) pressLevel(pressed bool) gpio.Level {
	return gpio.Level(pressed != l.m.o.PowerKeyActiveLow)
}

func (l *loop) resetStepDone() {
	switch l.resetStep {
	case 1: // release the key, wait for the module to start
		if err := l.m.o.PowerKey.Out(l.pressLevel(false)); err != nil {
			l.m.o.Log.Error("modem power key", "modem", l.m.String(), "err", err)
		}
		l.resetStep = 2
		l.reset = l.after(l.m.o.StartupWait)
	case 2:
		l.resetting = false
		l.resetStep = 0
		l.startInit()
	}
}

// portGone: the port failed (unplugged USB modem, closed pty). It is
// closed at once, so that its reader ends and a module plugged back finds
// its device free; a port OpenPort opened is opened again every
// ReopenInterval until it is back.
func (l *loop) portGone(err error) {
	if l.portDead {
		return
	}
	l.portDead = true
	l.port.Close()
	what := "restart wartel-kiosk once it is back"
	if l.reopen != nil {
		what = fmt.Sprintf("the booth opens it again every %v until it is back", l.m.o.ReopenInterval)
	}
	l.fault(fmt.Errorf("modem: the port %s failed (%v): is the module's USB cable in and the module powered? %s", l.m.o.Name, err, what))
	if l.reopen != nil {
		l.reopenT = l.after(l.m.o.ReopenInterval)
	}
}

// reopenPort tries the port that failed again; once it opens, the module
// is initialised as at Open (ATH first) and reported up when it is.
func (l *loop) reopenPort() {
	if !l.portDead || l.reopen == nil {
		return
	}
	p, err := l.reopen()
	if err != nil {
		l.m.o.Log.Debug("modem port still gone", "modem", l.m.String(), "err", err)
		l.reopenT = l.after(l.m.o.ReopenInterval)
		return
	}
	l.port = p
	l.gen++
	l.portDead = false
	l.timeouts = 0
	go readLines(p, l.gen, l.lines, l.readErr)
	l.m.o.Log.Info("modem port back: initialising the module", "modem", l.m.String())
	l.startInit()
}

// stopAll hangs up and stops: ATH, bounded by CommandTimeout on the real
// clock so that a hung module does not hold Halt up.
func (l *loop) stopAll() {
	stop(&l.curTimer)
	stop(&l.health)
	stop(&l.pollTimer)
	stop(&l.dialTimer)
	stop(&l.endTimer)
	stop(&l.reset)
	stop(&l.reopenT)
	if !l.portDead {
		if _, err := l.port.Write([]byte("ATH\r")); err == nil {
			bound := time.NewTimer(l.m.o.CommandTimeout)
		wait:
			for {
				select {
				case ln := <-l.lines:
					if ln.Kind.Final() {
						break wait
					}
				case e := <-l.readErr:
					if e.gen == l.gen {
						l.portDead = true
						break wait
					}
				case <-bound.C:
					break wait
				}
			}
			bound.Stop()
		}
	}
	if l.m.o.PowerKey != nil && l.resetStep == 1 {
		l.m.o.PowerKey.Out(l.pressLevel(false))
	}
	l.port.Close()
	for !l.portDead { // the reader ends on the closed port
		select {
		case <-l.lines:
		case e := <-l.readErr:
			l.portDead = e.gen == l.gen
		}
	}
	l.m.mu.Lock()
	l.m.inCall = false
	l.m.st.Up = false
	l.m.mu.Unlock()
}
