package modem

import (
	"strconv"
	"strings"
)

// Kind says what one line from the module is.
type Kind int

const (
	// Unknown is a line the parser does not know (a vendor URC, an
	// information line of a command the driver does not send). Drivers
	// ignore it.
	Unknown Kind = iota
	// Empty is a blank line (the CR LF around every response).
	Empty
	// Echo is the module echoing a command (echo is on until ATE0).
	Echo

	// Final result codes: a command is answered.
	OK
	Error    // ERROR
	CMEError // +CME ERROR: <n or text> (Code and Text)
	CMSError // +CMS ERROR: <n or text>

	// Call result codes: they end a dial (and the command ATD, on modules
	// that answer a voice ATD only when the call ends).
	NoCarrier  // NO CARRIER
	Busy       // BUSY
	NoAnswer   // NO ANSWER
	NoDialtone // NO DIALTONE (and NO DIAL TONE)

	// Unsolicited result codes and information lines.
	Ring      // RING
	CLIP      // +CLIP: "<number>",<type>,…: the caller of a RING
	CLCC      // +CLCC: <id>,<dir>,<stat>,<mode>,<mpty>[,"<number>",<type>…]; also Quectel ^DSCI
	CREG      // +CREG (circuit-switched registration): Stat, Query
	CEREG     // +CEREG (EPS registration): Stat, Query
	CSQ       // +CSQ: <rssi>,<ber>
	CPIN      // +CPIN: READY / SIM PIN / …
	COPS      // +COPS: <mode>[,<format>,"<oper>"[,<AcT>]]
	VoiceCall // SIMCom VOICE CALL: BEGIN / VOICE CALL: END[: <time>]
	DTMF      // a DTMF key the module detected: SIMCom +DTMF:/+RXDTMF:, Quectel +QTONEDET:
	ToneDone  // a local tone finished: SIMCom +STTONE: 0, Quectel +QLDTMF: 5
)

var kindNames = [...]string{
	Unknown: "unknown", Empty: "empty", Echo: "echo", OK: "OK", Error: "ERROR",
	CMEError: "+CME ERROR", CMSError: "+CMS ERROR", NoCarrier: "NO CARRIER", Busy: "BUSY",
	NoAnswer: "NO ANSWER", NoDialtone: "NO DIALTONE", Ring: "RING", CLIP: "+CLIP", CLCC: "+CLCC",
	CREG: "+CREG", CEREG: "+CEREG", CSQ: "+CSQ", CPIN: "+CPIN", COPS: "+COPS",
	VoiceCall: "VOICE CALL", DTMF: "DTMF", ToneDone: "tone done",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Final reports whether k ends a command (OK or an error).
func (k Kind) Final() bool { return k == OK || k == Error || k == CMEError || k == CMSError }

// CallEnd reports whether k is a result code that ends a call attempt.
func (k Kind) CallEnd() bool {
	return k == NoCarrier || k == Busy || k == NoAnswer || k == NoDialtone
}

// Call is one entry of +CLCC (3GPP TS 27.007 §7.18) or Quectel ^DSCI.
type Call struct {
	ID       int
	Incoming bool // dir 1: mobile terminated
	Stat     int  // 0 active, 1 held, 2 dialling, 3 alerting, 4 incoming, 5 waiting, 6 disconnected (SIMCom, Quectel)
	Voice    bool // mode 0
	Number   string
}

// +CLCC <stat> values (TS 27.007 §7.18), and the "disconnected" that
// SIMCom's automatic +CLCC report and Quectel's ^DSCI add.
const (
	StatActive       = 0
	StatHeld         = 1
	StatDialling     = 2
	StatAlerting     = 3
	StatIncoming     = 4
	StatWaiting      = 5
	StatDisconnected = 6
)

// Line is one parsed line. Only the fields of its Kind are set.
type Line struct {
	Kind Kind
	Raw  string // the line as received, without CR LF

	Code int    // CMEError/CMSError numeric code, -1 when the module sent text
	Text string // CMEError/CMSError text; CPIN state ("READY", "SIM PIN"); COPS operator; CLIP number; VoiceCall "BEGIN"/"END"

	Call Call // CLCC

	// CREG/CEREG: Stat is <stat> (0 not registered, 1 home, 2 searching,
	// 3 denied, 4 unknown, 5 roaming). Query is true for the answer to
	// AT+CREG? (+CREG: <n>,<stat>…), false for the URC (+CREG: <stat>…).
	Stat  int
	Query bool

	RSSI, BER int // CSQ: rssi 0..31, 99 unknown

	Key rune // DTMF: '0'-'9', '*', '#', 'A'-'D'
}

// Parse reads one line the module sent (without its CR LF). It never
// fails: a line it cannot read is Unknown, and a known prefix with
// malformed fields is Unknown too, so a garbled line is ignored rather
// than misread.
func Parse(raw string) Line {
	s := strings.TrimSpace(raw)
	l := Line{Raw: raw, Code: -1}
	switch s {
	case "":
		l.Kind = Empty
		return l
	case "OK":
		l.Kind = OK
		return l
	case "ERROR":
		l.Kind = Error
		return l
	case "NO CARRIER":
		l.Kind = NoCarrier
		return l
	case "BUSY":
		l.Kind = Busy
		return l
	case "NO ANSWER":
		l.Kind = NoAnswer
		return l
	case "NO DIALTONE", "NO DIAL TONE":
		l.Kind = NoDialtone
		return l
	case "RING":
		l.Kind = Ring
		return l
	}
	if len(s) >= 2 && strings.EqualFold(s[:2], "AT") {
		l.Kind = Echo
		return l
	}
	if rest, ok := strings.CutPrefix(s, "VOICE CALL:"); ok {
		rest = strings.TrimSpace(rest)
		switch {
		case rest == "BEGIN":
			l.Kind, l.Text = VoiceCall, "BEGIN"
		case strings.HasPrefix(rest, "END"):
			l.Kind, l.Text = VoiceCall, "END"
		}
		return l
	}
	name, rest, ok := strings.Cut(s, ":")
	if !ok {
		return l
	}
	rest = strings.TrimSpace(rest)
	f := fields(rest)
	switch name {
	case "+CME ERROR", "+CMS ERROR":
		l.Kind = CMEError
		if name == "+CMS ERROR" {
			l.Kind = CMSError
		}
		if n, err := strconv.Atoi(rest); err == nil {
			l.Code = n
		} else {
			l.Text = rest
		}
	case "+CLIP":
		if len(f) >= 1 && f[0].quoted {
			l.Kind, l.Text = CLIP, f[0].s
		}
	case "+CLCC":
		// <id>,<dir>,<stat>,<mode>,<mpty>[,<number>,<type>[,<alpha>…]]
		if len(f) >= 5 {
			l = clcc(l, f[0], f[1], f[2], f[3], f, 5)
		}
	case "^DSCI":
		// Quectel: <id>,<dir>,<stat>,<type>,<number>,<num_type>
		if len(f) >= 4 {
			l = clcc(l, f[0], f[1], f[2], f[3], f, 4)
		}
	case "+CREG", "+CEREG":
		l = creg(l, name, f)
	case "+CSQ":
		if len(f) == 2 {
			r, e1 := num(f[0])
			b, e2 := num(f[1])
			if e1 && e2 && (r <= 31 || r == 99) {
				l.Kind, l.RSSI, l.BER = CSQ, r, b
			}
		}
	case "+CPIN":
		if rest != "" {
			l.Kind, l.Text = CPIN, rest
		}
	case "+COPS":
		if len(f) >= 1 {
			if _, ok := num(f[0]); ok {
				l.Kind = COPS
				if len(f) >= 3 {
					l.Text = f[2].s
				}
			}
		}
	case "+DTMF", "+RXDTMF":
		// SIM800 +DTMF: <key>[,<ms>]; SIM7600 +RXDTMF: <key>
		if len(f) >= 1 && len(f[0].s) == 1 && dtmfKey(rune(f[0].s[0])) {
			l.Kind, l.Key = DTMF, rune(f[0].s[0])
		}
	case "+QTONEDET":
		// Quectel: the key's ASCII code in decimal (49 is '1').
		if len(f) == 1 {
			if n, ok := num(f[0]); ok && n < 128 && dtmfKey(rune(n)) {
				l.Kind, l.Key = DTMF, rune(n)
			}
		}
	case "+STTONE":
		if rest == "0" {
			l.Kind = ToneDone
		}
	case "+QLDTMF":
		if rest == "5" {
			l.Kind = ToneDone
		}
	}
	return l
}

func clcc(l Line, id, dir, stat, mode field, f []field, numAt int) Line {
	i, ok1 := num(id)
	d, ok2 := num(dir)
	st, ok3 := num(stat)
	m, ok4 := num(mode)
	if !ok1 || !ok2 || !ok3 || !ok4 || d > 1 || st > StatDisconnected {
		return l
	}
	l.Kind = CLCC
	l.Call = Call{ID: i, Incoming: d == 1, Stat: st, Voice: m == 0}
	if len(f) > numAt {
		l.Call.Number = f[numAt].s
	}
	return l
}

// creg tells the query answer (+CREG: <n>,<stat>[,…]) from the URC
// (+CREG: <stat>[,"<lac>","<ci>"…]): in the answer the second field is an
// unquoted number; in a URC with location it is a quoted hex string.
func creg(l Line, name string, f []field) Line {
	kind := CREG
	if name == "+CEREG" {
		kind = CEREG
	}
	switch {
	case len(f) >= 2 && !f[1].quoted:
		n, ok1 := num(f[0])
		st, ok2 := num(f[1])
		if ok1 && ok2 && n <= 5 && st <= 10 {
			l.Kind, l.Stat, l.Query = kind, st, true
		}
	case len(f) >= 1 && !f[0].quoted:
		if st, ok := num(f[0]); ok && st <= 10 {
			l.Kind, l.Stat = kind, st
		}
	}
	return l
}

func dtmfKey(r rune) bool {
	return r >= '0' && r <= '9' || r == '*' || r == '#' || r >= 'A' && r <= 'D'
}

type field struct {
	s      string
	quoted bool
}

// fields splits a parameter list at commas outside double quotes.
func fields(s string) []field {
	if s == "" {
		return nil
	}
	var out []field
	for {
		s = strings.TrimLeft(s, " ")
		var f field
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil // unterminated quote: malformed
			}
			f = field{s: s[1 : 1+end], quoted: true}
			s = strings.TrimLeft(s[2+end:], " ")
			if s != "" && s[0] != ',' {
				return nil
			}
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			f = field{s: strings.TrimSpace(s[:end])}
			s = s[end:]
		}
		out = append(out, f)
		if s == "" {
			break
		}
		s = s[1:] // the comma
		if s == "" {
			out = append(out, field{})
			break
		}
	}
	return out
}

func num(f field) (int, bool) {
	if f.quoted || f.s == "" || len(f.s) > 6 {
		return 0, false
	}
	n, err := strconv.Atoi(f.s)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
