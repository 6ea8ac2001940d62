package protocol

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// scanTypes are the bodies' types scan is checked against: every request
// and answer of /v1, and a type with a map and an untyped value.
var scanTypes = []reflect.Type{
	reflect.TypeFor[UploadRequest](), reflect.TypeFor[UploadResponse](),
	reflect.TypeFor[SyncRequest](), reflect.TypeFor[SyncResponse](),
	reflect.TypeFor[AuthoriseRequest](), reflect.TypeFor[AuthoriseResponse](),
	reflect.TypeFor[ReleaseRequest](), reflect.TypeFor[HeartbeatRequest](),
	reflect.TypeFor[HeartbeatResponse](), reflect.TypeFor[loose](),
}

type loose struct {
	M   map[string]int `json:"m"`
	Any any            `json:"any"`
	P   *int64         `json:"p"`
	N   int64          `json:"n"`
}

// scan is only a fast path: where it says yes, check must say yes too.
// Every error case of Decode's tests and the wrong shapes below must be
// refused by scan (check then names the fault), and the well-formed bodies
// accepted by it (or the fast path would never be taken).
func TestScanAgreesWithCheck(t *testing.T) {
	well := []struct {
		body string
		into reflect.Type
	}{
		{`{"records":[{"device":"a/b","seq":1,"kind":"call","payload":{"x":[1,-2.5e3,{"y":null}],"s":"\u00e9\"\\"},"prev":"00","hash":"ab"}]}`, reflect.TypeFor[UploadRequest]()},
		{` {"records":[]} ` + "\n", reflect.TypeFor[UploadRequest]()},
		{`{"records":null}`, reflect.TypeFor[UploadRequest]()},
		{`{"roster_version":0}`, reflect.TypeFor[SyncRequest]()},
		{`{"m":{"a":1,"b":2},"any":{"k":[true,false,null,"x",0.5]},"p":null,"n":-0}`, reflect.TypeFor[loose]()},
		{`{"faults":["reader","tamper"],"clock_trusted":true,"outbox_depth":3}`, reflect.TypeFor[HeartbeatRequest]()},
		{uploadBody(t, 50), reflect.TypeFor[UploadRequest]()},
	}
	for _, w := range well {
		if !scan([]byte(w.body), w.into) {
			t.Errorf("scan(%s) into %v = false, want true (the fast path)", w.body, w.into)
		}
		if err := check([]byte(w.body), w.into); err != nil {
			t.Errorf("check(%s) into %v = %v: the body is meant to be well-formed", w.body, w.into, err)
		}
	}
	bad := []struct {
		body string
		into reflect.Type
	}{
		{`{"records":[{"sequence":1}]}`, reflect.TypeFor[UploadRequest]()},
		{`{"Records":[]}`, reflect.TypeFor[UploadRequest]()},
		{`{"lease":"a","lease":"b"}`, reflect.TypeFor[ReleaseRequest]()},
		{`{"roster_version":null}`, reflect.TypeFor[SyncRequest]()},
		{`null`, reflect.TypeFor[SyncRequest]()},
		{``, reflect.TypeFor[SyncRequest]()},
		{`{"records":[{"seq":1`, reflect.TypeFor[UploadRequest]()},
		{`{"roster_version":1} {}`, reflect.TypeFor[SyncRequest]()},
		{`{"faults":nul}`, reflect.TypeFor[HeartbeatRequest]()},
		{`{"records":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`, reflect.TypeFor[UploadRequest]()},
		{`{"records":[{"seq":1,"payload":{"a":tru}}]}`, reflect.TypeFor[UploadRequest]()},
		{`{"m":{"a":1,"a":2}}`, reflect.TypeFor[loose]()},
		{`{"any":{"a":1,"a":2}}`, reflect.TypeFor[loose]()},
		{`{"n":01}`, reflect.TypeFor[loose]()},
		{`{"n":1.}`, reflect.TypeFor[loose]()},
		{`{"n":-}`, reflect.TypeFor[loose]()},
		{`{"n":1e}`, reflect.TypeFor[loose]()},
		{`{"n":1,}`, reflect.TypeFor[loose]()},
		{`{"any":"a` + "\x01" + `"}`, reflect.TypeFor[loose]()},
		{`{"any":"\x"}`, reflect.TypeFor[loose]()},
		{`{"any":"\u12g4"}`, reflect.TypeFor[loose]()},
		{`{"any":[1 2]}`, reflect.TypeFor[loose]()},
		{`{"any" 1}`, reflect.TypeFor[loose]()},
		{`{"records":[{"payload":{"a":1,}}]}`, reflect.TypeFor[UploadRequest]()},
	}
	for _, b := range bad {
		if check([]byte(b.body), b.into) == nil && !strings.Contains(b.body, "01") {
			// Those check passes are encoding/json's to refuse; the
			// rest must be check's.
			t.Errorf("check(%q) into %v = nil: the case is meant to be refused", b.body, b.into)
		}
		if scan([]byte(b.body), b.into) {
			t.Errorf("scan(%q) into %v = true, want false (check must name the fault)", b.body, b.into)
		}
	}
}

// FuzzScanAgrees holds scan to check: for any body and any of the wire
// types, a body scan accepts is one check accepts.
func FuzzScanAgrees(f *testing.F) {
	for _, s := range []string{
		`{"records":[{"device":"a/b","seq":1,"kind":"call","payload":{"call_id":1},"prev":"00","hash":"ab"}]}`,
		`{"m":{"a":1},"any":[{"b":"\u0041"}],"p":null}`, `{"roster_version":null}`, `{"lease":"a","lease":"b"}`,
		`{"version":1,"upserts":[{"card":"em:01","role":"inmate"}],"policy":{"period":"day"}}`, `[]`, `"x"`, `1e5`,
	} {
		for i := range scanTypes {
			f.Add([]byte(s), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		typ := scanTypes[int(which)%len(scanTypes)]
		if scan(body, typ) {
			if err := check(body, typ); err != nil {
				t.Fatalf("scan accepts %q into %v, check refuses it: %v", body, typ, err)
			}
		}
	})
}

// uploadBody is an upload of n sealed call records, as a booth sends.
func uploadBody(t testing.TB, n int) string {
	at := time.Date(2026, 11, 29, 9, 30, 0, 0, time.UTC)
	var req UploadRequest
	var prev *record.Record
	for i := range n {
		p, _ := json.Marshal(record.Call{CallID: int64(i), Card: "em:0400D8B2A5", Inmate: "A-17", Period: "2026-11-29", AuthorisedAt: at, MaxMs: 600000, TalkedMs: 59000, ChargedMs: 60000, EndReason: "hangup"})
		r := record.Record{Device: "lapas-cipinang/b03", Seq: uint64(i + 1), Kind: record.KindCall, Payload: p}
		r.Seal(prev)
		req.Records = append(req.Records, r)
		prev = &req.Records[i]
	}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// TestScanAllocates nothing on an upload: the point of the fast path.
func TestScanAllocatesNothing(t *testing.T) {
	body := []byte(uploadBody(t, 20))
	typ := reflect.TypeFor[UploadRequest]()
	scan(body, typ) // the field tables
	if n := testing.AllocsPerRun(20, func() { scan(body, typ) }); n != 0 {
		t.Errorf("scan of an upload: %v allocations, want 0", n)
	}
}
