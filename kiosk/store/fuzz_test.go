package store_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// FuzzRecords appends records with arbitrary text and numbers (ids from a
// card reader or the centre can be anything) and checks that each one comes
// back from the outbox byte for byte, links to the one before, and decodes
// to what was given.
func FuzzRecords(f *testing.F) {
	f.Add("em:0400D8B2A5", "W-1", "quota", "", int64(0))
	f.Add("", "", "", "\x00\xff'\"; DROP TABLE outbox; --", int64(-1))
	f.Add("pn:04A1B2C3D4E5F6", "W-\u00e9", "hours", "tamper\nopen", int64(1<<62))
	s := open(f, filepath.Join(ramDir(f), "fuzz.db"))
	var prev *record.Record
	f.Fuzz(func(t *testing.T, card, inmate, reason, detail string, credit int64) {
		d := record.Denial{At: t0, Card: card, Inmate: inmate, Reason: record.DenialReason(reason)}
		o := record.Officer{At: t0, Officer: detail, Action: "grant", Inmate: inmate, Period: reason, CreditMs: credit}
		e := record.Event{At: t0.Add(time.Duration(credit)), Event: record.EventName(reason), Detail: detail}
		var rs []record.Record
		for _, add := range []func() (record.Record, error){
			func() (record.Record, error) { return s.Deny(d) },
			func() (record.Record, error) { return s.Officer(o) },
			func() (record.Record, error) { return s.Event(e) },
		} {
			r, err := add()
			if err != nil {
				continue // refused (a negative credit, a credit for no one): nothing appended
			}
			rs = append(rs, r)
		}
		if err := record.VerifyChain(prev, rs); err != nil {
			t.Fatal(err)
		}
		if len(rs) == 0 {
			return
		}
		prev = &rs[len(rs)-1]
		pending, err := s.Pending(0)
		if err != nil {
			t.Fatal(err)
		}
		tail := pending[len(pending)-len(rs):]
		for i := range rs {
			if tail[i].Hash != rs[i].Hash || !bytes.Equal(tail[i].Payload, rs[i].Payload) || tail[i].Kind != rs[i].Kind {
				t.Fatalf("record #%d read back differs from the one appended", rs[i].Seq)
			}
		}
		var gotD record.Denial
		if err := json.Unmarshal(rs[0].Payload, &gotD); err != nil {
			t.Fatal(err)
		}
		// JSON replaces invalid UTF-8; compare with what JSON makes of the input.
		var wantD record.Denial
		b, _ := json.Marshal(d)
		json.Unmarshal(b, &wantD)
		if !gotD.At.Equal(wantD.At) || gotD.Card != wantD.Card || gotD.Inmate != wantD.Inmate || gotD.Reason != wantD.Reason {
			t.Fatalf("denial read back %+v, want %+v", gotD, wantD)
		}
		if err := s.Ack(rs[len(rs)-1].Seq); err != nil { // keeps Pending short
			t.Fatal(err)
		}
	})
}
