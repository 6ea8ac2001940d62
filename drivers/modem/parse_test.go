package modem

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"pgregory.net/rapid"
)

// TestParse: lines as the SIMCom SIM7600 / SIM800 and Quectel EC25 AT
// manuals print them in their examples, and 3GPP TS 27.007's forms.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Line
	}{
		{"", Line{Kind: Empty}},
		{"OK", Line{Kind: OK}},
		{"ERROR", Line{Kind: Error}},
		{"+CME ERROR: 10", Line{Kind: CMEError, Code: 10}},
		{"+CME ERROR: SIM not inserted", Line{Kind: CMEError, Code: -1, Text: "SIM not inserted"}},
		{"+CME ERROR: SIM PIN required", Line{Kind: CMEError, Code: -1, Text: "SIM PIN required"}},
		{"+CMS ERROR: 500", Line{Kind: CMSError, Code: 500}},
		{"NO CARRIER", Line{Kind: NoCarrier}},
		{"BUSY", Line{Kind: Busy}},
		{"NO ANSWER", Line{Kind: NoAnswer}},
		{"NO DIALTONE", Line{Kind: NoDialtone}},
		{"RING", Line{Kind: Ring}},
		{"ATD10086;", Line{Kind: Echo}},
		{"at+csq", Line{Kind: Echo}},
		// SIM7600 manual, AT+CLIP example; EC25 manual: +CLIP: "02151082965",129,"",0,"",0
		{`+CLIP: "02152063113",128,,,,0`, Line{Kind: CLIP, Text: "02152063113"}},
		{`+CLIP: "02151082965",129,"",0,"",0`, Line{Kind: CLIP, Text: "02151082965"}},
		{`+CLIP: "+6281234567890",145,"",0,"",0`, Line{Kind: CLIP, Text: "+6281234567890"}},
		// SIM7600 AT+CLCC example; EC25 AT+CLCC example
		{`+CLCC: 1,0,0,0,0,"10086",129,""`, Line{Kind: CLCC, Call: Call{ID: 1, Stat: StatActive, Voice: true, Number: "10086"}}},
		{`+CLCC: 1,0,0,0,0,"10086",129`, Line{Kind: CLCC, Call: Call{ID: 1, Stat: StatActive, Voice: true, Number: "10086"}}},
		{`+CLCC: 1,0,2,0,0,"+6281234567890",145`, Line{Kind: CLCC, Call: Call{ID: 1, Stat: StatDialling, Voice: true, Number: "+6281234567890"}}},
		{`+CLCC: 1,0,3,0,0,"+6281234567890",145`, Line{Kind: CLCC, Call: Call{ID: 1, Stat: StatAlerting, Voice: true, Number: "+6281234567890"}}},
		{`+CLCC: 2,1,4,0,0,"081234",129`, Line{Kind: CLCC, Call: Call{ID: 2, Incoming: true, Stat: StatIncoming, Voice: true, Number: "081234"}}},
		{`+CLCC: 1,0,6,0,0,"10086",129`, Line{Kind: CLCC, Call: Call{ID: 1, Stat: StatDisconnected, Voice: true, Number: "10086"}}},
		{`+CLCC: 1,0,0,1,0`, Line{Kind: CLCC, Call: Call{ID: 1, Stat: StatActive}}},
		// Quectel ^DSCI: <id>,<dir>,<stat>,<type>,<number>,<num_type>
		{`^DSCI: 1,0,2,0,10086,129`, Line{Kind: CLCC, Call: Call{ID: 1, Stat: StatDialling, Voice: true, Number: "10086"}}},
		{`^DSCI: 1,0,6,0,"10086",129`, Line{Kind: CLCC, Call: Call{ID: 1, Stat: StatDisconnected, Voice: true, Number: "10086"}}},
		// registration: the query answer and the URC
		{"+CREG: 0,1", Line{Kind: CREG, Stat: 1, Query: true}},
		{"+CREG: 2,5,\"D509\",\"80D413D\",7", Line{Kind: CREG, Stat: 5, Query: true}},
		{"+CREG: 1", Line{Kind: CREG, Stat: 1}},
		{"+CREG: 0", Line{Kind: CREG, Stat: 0}},
		{`+CREG: 1,"D509","80D413D",7`, Line{Kind: CREG, Stat: 1}},
		{"+CEREG: 0,1", Line{Kind: CEREG, Stat: 1, Query: true}},
		{"+CEREG: 2", Line{Kind: CEREG, Stat: 2}},
		{"+CSQ: 23,99", Line{Kind: CSQ, RSSI: 23, BER: 99}},
		{"+CSQ: 99,99", Line{Kind: CSQ, RSSI: 99, BER: 99}},
		{"+CPIN: READY", Line{Kind: CPIN, Text: "READY"}},
		{"+CPIN: SIM PIN", Line{Kind: CPIN, Text: "SIM PIN"}},
		{"+CPIN: NOT INSERTED", Line{Kind: CPIN, Text: "NOT INSERTED"}},
		{`+COPS: 0,0,"CHINA MOBILE",7`, Line{Kind: COPS, Text: "CHINA MOBILE"}},
		{`+COPS: 0,0,"TELKOMSEL",2`, Line{Kind: COPS, Text: "TELKOMSEL"}},
		{"+COPS: 0", Line{Kind: COPS}},
		{"VOICE CALL: BEGIN", Line{Kind: VoiceCall, Text: "BEGIN"}},
		{"VOICE CALL: END: 000041", Line{Kind: VoiceCall, Text: "END"}},
		{"+DTMF: 1", Line{Kind: DTMF, Key: '1'}},
		{"+DTMF:2,300", Line{Kind: DTMF, Key: '2'}},
		{"+RXDTMF: #", Line{Kind: DTMF, Key: '#'}},
		{"+QTONEDET: 49", Line{Kind: DTMF, Key: '1'}},
		{"+QTONEDET: 35", Line{Kind: DTMF, Key: '#'}},
		{"+STTONE: 0", Line{Kind: ToneDone}},
		{"+QLDTMF: 5", Line{Kind: ToneDone}},
		// vendor lines the driver does not use, and garbage: ignored
		{"RDY", Line{}},
		{"+CPIN: READY\x00", Line{Kind: CPIN, Text: "READY\x00"}},
		{"SMS DONE", Line{}},
		{"PB DONE", Line{}},
		{`+QIND: "csq",21,99`, Line{}},
		{`+QIND: PB DONE`, Line{}},
		{"MISSED_CALL: 10:35AM 02152063113", Line{}},
		{"+CLCC: 1,0,9,0,0", Line{}},
		{"+CLCC: 1,0", Line{}},
		{`+CLCC: 1,0,0,0,0,"10086`, Line{}},
		{"+CSQ: 40,99", Line{}},
		{"+CSQ: x", Line{}},
		{"+CREG: x", Line{}},
		{"+QTONEDET: 300", Line{}},
		{"+DTMF: Z", Line{}},
		{"\xff\xfe", Line{}},
	} {
		got := Parse(tc.line)
		tc.want.Raw = tc.line
		if tc.want.Kind != CMEError && tc.want.Kind != CMSError {
			tc.want.Code = -1
		}
		if got != tc.want {
			t.Errorf("Parse(%q)\n got %+v\nwant %+v", tc.line, got, tc.want)
		}
	}
}

// formatCLCC writes an entry as TS 27.007 prints it.
func formatCLCC(c Call) string {
	dir, mode := 0, 1
	if c.Incoming {
		dir = 1
	}
	if c.Voice {
		mode = 0
	}
	return fmt.Sprintf(`+CLCC: %d,%d,%d,%d,0,"%s",129`, c.ID, dir, c.Stat, mode, c.Number)
}

// TestParseCLCCRoundTrip: any well-formed entry reads back as written.
func TestParseCLCCRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := Call{
			ID:       rapid.IntRange(1, 7).Draw(t, "id"),
			Incoming: rapid.Bool().Draw(t, "in"),
			Stat:     rapid.IntRange(0, 6).Draw(t, "stat"),
			Voice:    rapid.Bool().Draw(t, "voice"),
			Number:   rapid.StringMatching(`\+?[0-9]{0,15}`).Draw(t, "number"),
		}
		l := Parse(formatCLCC(c))
		if l.Kind != CLCC || l.Call != c {
			t.Fatalf("%q parsed as %+v", formatCLCC(c), l)
		}
	})
}

// FuzzParse: no line panics the parser, and what it reports stays in the
// vocabulary: finals only for the exact words, stats and keys in range.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"OK", "+CME ERROR: 10", `+CLCC: 1,0,0,0,0,"10086",129,""`, "+CREG: 2,1,\"D509\",\"80D413D\",7",
		"+CSQ: 23,99", `+CLIP: "02152063113",128,,,,0`, "+QTONEDET: 49", "VOICE CALL: END: 000041", `^DSCI: 1,0,2,0,10086,129`,
		`+COPS: 0,0,"TELKOMSEL",2`, "+CPIN: SIM PIN", ",,,", `"`, `+CLCC: ,,,,,"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := Parse(s)
		if l.Raw != s {
			t.Fatalf("Raw %q, want %q", l.Raw, s)
		}
		switch l.Kind {
		case OK, Error, NoCarrier, Busy, NoAnswer, Ring:
			if strings.TrimSpace(s) != l.Kind.String() {
				t.Fatalf("%q parsed as %v", s, l.Kind)
			}
		case CLCC:
			if l.Call.Stat < 0 || l.Call.Stat > StatDisconnected || l.Call.ID < 0 {
				t.Fatalf("%q: call %+v out of range", s, l.Call)
			}
		case CSQ:
			if l.RSSI < 0 || l.RSSI > 31 && l.RSSI != 99 {
				t.Fatalf("%q: rssi %d", s, l.RSSI)
			}
		case DTMF:
			if !dtmfKey(l.Key) {
				t.Fatalf("%q: key %q", s, l.Key)
			}
		case CREG, CEREG:
			if l.Stat < 0 || l.Stat > 10 {
				t.Fatalf("%q: stat %d", s, l.Stat)
			}
		}
		if utf8.ValidString(s) && strings.TrimSpace(s) != s {
			if k := Parse(strings.TrimSpace(s)).Kind; k != l.Kind {
				t.Fatalf("%q is %v but trimmed is %v", s, l.Kind, k)
			}
		}
	})
}
