package modem

// The one call the booth dialled: its stages from ATD's answer and +CLCC
// (or ^DSCI), its end from the result codes, and the refusal of incoming
// calls.

func (l *loop) dial(id int64, number string) {
	if l.call != nil {
		return // Dial refuses a second call before it gets here
	}
	l.call = &call{id: id, number: number}
	if l.faulted || l.resetting || l.portDead {
		l.endCall(OutcomeModemFault)
		return
	}
	c := l.call
	l.dialTimer = l.after(l.m.o.DialTimeout)
	l.enqueue(&command{line: "ATD" + number + ";", dial: true, done: func(l *loop, r result) {
		if l.call != c {
			return // ended already (a result code answered ATD, or a fault)
		}
		switch {
		case r.ok():
			l.setStage(StageDialling)
			l.armPoll()
		case r.timedOut:
			l.m.o.Log.Warn("ATD not answered", "modem", l.m.String())
			l.hangUp(OutcomeFailed)
		default:
			l.m.o.Log.Warn("dial refused", "modem", l.m.String(), "answer", r.String())
			o := OutcomeFailed
			if !l.registered() || r.final.Code == 30 || r.final.Code == 31 {
				o = OutcomeNetworkLost // 30 no network service, 31 network timeout
			}
			l.endCall(o)
		}
	}})
}

// armPoll polls AT+CLCC on a family that does not report call status.
func (l *loop) armPoll() {
	if l.call != nil && !l.m.o.Family.autoReports() && l.pollTimer == nil {
		l.pollTimer = l.after(l.m.o.PollInterval)
	}
}

func (l *loop) poll() {
	c := l.call
	if c == nil {
		return
	}
	l.enqueue(&command{line: "AT+CLCC", done: func(l *loop, r result) {
		if l.call != c {
			return
		}
		if r.ok() {
			listed := false
			for _, ln := range r.info {
				if ln.Kind == CLCC && !ln.Call.Incoming && ln.Call.Stat != StatDisconnected {
					listed = true
				}
			}
			if !listed {
				l.callGone()
			}
		}
		l.armPoll()
	}})
}

func (l *loop) setStage(s Stage) {
	c := l.call
	if c == nil || stageOrder[s] <= stageOrder[c.stage] {
		return
	}
	c.stage = s
	if s == StageActive {
		c.answered = true
		stop(&l.dialTimer)
	}
	l.emit(Event{Kind: Progress, Call: c.id, Stage: s})
}

func (l *loop) callStatus(s Call) {
	if s.Incoming {
		if (s.Stat == StatIncoming || s.Stat == StatWaiting) && l.call == nil {
			l.ringing(s.Number)
		}
		return
	}
	if l.call == nil {
		if s.Stat != StatDisconnected && l.initialised {
			// A call the booth did not place (left by a crash the init's
			// ATH missed, or dialled by someone at the port): end it.
			l.m.o.Log.Warn("hanging up a call the booth did not dial", "modem", l.m.String(), "number", s.Number)
			l.enqueue(&command{line: "ATH"})
		}
		return
	}
	switch s.Stat {
	case StatDialling:
		l.setStage(StageDialling)
	case StatAlerting:
		l.setStage(StageDialling)
		l.setStage(StageAlerting)
	case StatActive:
		l.setStage(StageDialling)
		l.setStage(StageActive)
	case StatDisconnected:
		l.callGone()
	}
}

// callGone: the module says the call is gone without saying why. An
// answered call ends now; one not answered waits EndGrace for the result
// code (BUSY, NO ANSWER, NO CARRIER) that usually follows.
func (l *loop) callGone() {
	if l.call == nil {
		return
	}
	if l.call.answered || l.call.hangup != "" {
		l.endCall(l.endOutcome(NoCarrier))
		return
	}
	if l.endTimer == nil {
		l.endTimer = l.after(l.m.o.EndGrace)
	}
}

// endOutcome is how the call ended, given the result code that ended it.
func (l *loop) endOutcome(k Kind) Outcome {
	c := l.call
	switch {
	case c.hangup != "" && c.answered:
		return OutcomeAnswered
	case c.hangup != "":
		return c.hangup
	case k == Busy && !c.answered:
		return OutcomeBusy
	case k == NoAnswer && !c.answered:
		return OutcomeNoAnswer
	case c.netLost || k == NoDialtone || !l.registered():
		return OutcomeNetworkLost
	case c.answered:
		return OutcomeAnswered
	}
	return OutcomeFailed
}

func (l *loop) endCall(o Outcome) {
	c := l.call
	if c == nil {
		return
	}
	stop(&l.dialTimer)
	stop(&l.pollTimer)
	stop(&l.endTimer)
	l.call = nil
	l.m.mu.Lock()
	l.m.inCall = false
	l.m.mu.Unlock()
	l.emit(Event{Kind: Progress, Call: c.id, Stage: StageEnded, Outcome: o})
	if l.initialised && !l.checking {
		l.evaluate() // a weak signal held back during the call
	}
}

// hangUp ends the call: ATH, and AT+CHUP if ATH is refused. The call ends
// when either is answered, or after both failed (the engine opened the
// relay before it asked: nobody hears the line).
func (l *loop) hangUp(why Outcome) {
	c := l.call
	if c != nil && c.hangup == "" {
		c.hangup = why
	}
	end := func(l *loop) {
		if c != nil && l.call == c {
			l.endCall(l.endOutcome(NoCarrier))
		}
	}
	l.enqueue(&command{line: "ATH", done: func(l *loop, r result) {
		if r.ok() {
			end(l)
			return
		}
		l.enqueue(&command{line: "AT+CHUP", done: func(l *loop, r2 result) {
			if !r2.ok() {
				l.m.o.Log.Warn("hang up refused", "modem", l.m.String(), "ATH", r.String(), "AT+CHUP", r2.String())
			}
			end(l)
		}})
	}})
}

// ringing refuses an incoming call at once; the Incoming event follows
// the refusal, with the caller +CLIP named.
func (l *loop) ringing(from string) {
	if l.call != nil {
		l.m.o.Log.Warn("incoming call during a booth call ignored", "modem", l.m.String(), "from", from)
		return
	}
	if from != "" {
		l.from = from
	}
	if l.refusing {
		return
	}
	l.refusing = true
	done := func(l *loop) {
		if !l.refusing {
			return // a fault cleared it
		}
		l.refusing = false
		from := l.from
		l.from = ""
		l.emit(Event{Kind: Incoming, From: from})
	}
	l.enqueue(&command{line: "ATH", done: func(l *loop, r result) {
		if r.ok() {
			done(l)
			return
		}
		l.enqueue(&command{line: "AT+CHUP", done: func(l *loop, _ result) { done(l) }})
	}})
}
