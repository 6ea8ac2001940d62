package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"pgregory.net/rapid"

	"wartelsuspas/kiosk/record"
)

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		into      any
		limit     int64
		wantMsg   string // the exact message
		wantField string
	}{
		{"type in array element", `{"records":[{},{},{},{"seq":"x"}]}`, &UploadRequest{}, 0,
			"field records[3].seq: want a number, got string", "records[3].seq"},
		{"negative into uint", `{"records":[{"seq":-1}]}`, &UploadRequest{}, 0,
			"field records[0].seq: want a whole number from 0 to 18446744073709551615, got -1", "records[0].seq"},
		{"fraction into int", `{"clock_unix_ms":1.5}`, &HeartbeatRequest{}, 0,
			"field clock_unix_ms: want a whole number from -9223372036854775808 to 9223372036854775807, got 1.5", "clock_unix_ms"},
		{"overflow int", `{"outbox_depth":1e40}`, &HeartbeatRequest{}, 0,
			"field outbox_depth: want a whole number from -9223372036854775808 to 9223372036854775807, got 1e40", "outbox_depth"},
		{"string wanted", `{"card":7}`, &AuthoriseRequest{}, 0,
			"field card: want a string, got number", "card"},
		{"bool wanted", `{"clock_trusted":"yes"}`, &HeartbeatRequest{}, 0,
			"field clock_trusted: want true or false, got string", "clock_trusted"},
		{"array wanted", `{"faults":"reader"}`, &HeartbeatRequest{}, 0,
			"field faults: want an array, got string", "faults"},
		{"element of string array", `{"faults":["a",2]}`, &HeartbeatRequest{}, 0,
			"field faults[1]: want a string, got number", "faults[1]"},
		{"nested after objects with keys", `{"records":[{"device":"a/b","seq":1,"payload":{"x":[1,{"y":2}]}},{"kind":3}]}`, &UploadRequest{}, 0,
			"field records[1].kind: want a string, got number", "records[1].kind"},
		{"array at top", `[1]`, &UploadRequest{}, 0,
			"body: want an object, got array", ""},
		{"unknown field", `{"sequence":1}`, &ItemResult{}, 0,
			`unknown field "sequence"`, "sequence"},
		{"unknown field nested", `{"records":[{"device":"a/b","sequence":1}]}`, &UploadRequest{}, 0,
			`unknown field "sequence" in records[0]`, "records[0].sequence"},
		{"wrong case is unknown", `{"Records":[]}`, &UploadRequest{}, 0,
			`unknown field "Records" (did you mean "records"?)`, "Records"},
		{"camel case is unknown", `{"rosterVersion":3}`, &SyncRequest{}, 0,
			`unknown field "rosterVersion" (did you mean "roster_version"?)`, "rosterVersion"},
		{"duplicate field", `{"lease":"a","lease":"b"}`, &ReleaseRequest{}, 0,
			`duplicate field "lease"`, "lease"},
		{"null number", `{"roster_version":null}`, &SyncRequest{}, 0,
			"field roster_version: want a number, got null", "roster_version"},
		{"null body", `null`, &SyncRequest{}, 0,
			"body: want an object, got null", ""},
		{"too large", `{"roster_version":1}`, &SyncRequest{}, 8,
			"body larger than 8 bytes", ""},
		{"too large MiB", strings.Repeat(" ", MaxBodyBytes+1), &SyncRequest{}, MaxBodyBytes,
			"body larger than 1 MiB", ""},
		{"empty", ``, &SyncRequest{}, 0,
			"body is empty: want a JSON object", ""},
		{"truncated", `{"records":[{"seq":1}]`, &UploadRequest{}, 0,
			"body ends inside the top-level value: truncated JSON", ""},
		{"truncated nested", `{"records":[{"seq":1`, &UploadRequest{}, 0,
			"body ends inside field records[0]: truncated JSON", "records[0]"},
		{"truncated key", `{"records":[{"se`, &UploadRequest{}, 0,
			"body ends inside field records[0]: truncated JSON", "records[0]"},
		{"second value", `{"roster_version":1} {}`, &SyncRequest{}, 0,
			"body continues after the JSON value that ends at byte 20; send exactly one object", ""},
		{"garbage after", `{"roster_version":1} x`, &SyncRequest{}, 0,
			"body continues after the JSON value that ends at byte 20; send exactly one object", ""},
		{"bad literal", `{"faults":nul}`, &HeartbeatRequest{}, 0,
			"body is not valid JSON (field faults): invalid character '}' in literal null (expecting 'l')", "faults"},
		{"too deep", `{"records":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`, &UploadRequest{}, 0,
			"field records" + strings.Repeat("[0]", 64) + " nested deeper than 64 levels", "records" + strings.Repeat("[0]", 64)},
		{"bad payload", `{"records":[{"seq":1,"payload":{"a":tru}}]}`, &UploadRequest{}, 0,
			"body is not valid JSON (field records[0].payload): invalid character '}' in literal true (expecting 'e')", "records[0].payload"},
		{"truncated payload", `{"records":[{"seq":1,"payload":{"a":[1,`, &UploadRequest{}, 0,
			"body ends inside field records[0].payload: truncated JSON", "records[0].payload"},
		{"payload then type error", `{"records":[{"payload":{"seq":"x"},"seq":"y"}]}`, &UploadRequest{}, 0,
			"field records[0].seq: want a number, got string", "records[0].seq"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := tt.limit
			if limit == 0 {
				limit = MaxBodyBytes
			}
			err := Decode(strings.NewReader(tt.body), limit, tt.into)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%s) = %v (%T), want a *DecodeError", tt.body, err, err)
			}
			if de.Msg != tt.wantMsg {
				t.Errorf("message\n got %q\nwant %q", de.Msg, tt.wantMsg)
			}
			if de.Field != tt.wantField {
				t.Errorf("field = %q, want %q", de.Field, tt.wantField)
			}
			if body := ErrorBody(err); body.Error != tt.wantMsg || body.Field != tt.wantField {
				t.Errorf("ErrorBody = %+v", body)
			}
		})
	}
}

func TestDecodeTooLargeIsErrTooLarge(t *testing.T) {
	err := Decode(strings.NewReader(`{"roster_version":12345}`), 10, &SyncRequest{})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	// Exactly at the limit is fine.
	body := `{"roster_version":12345}`
	if err := Decode(strings.NewReader(body), int64(len(body)), &SyncRequest{}); err != nil {
		t.Fatalf("body of exactly the limit: %v", err)
	}
}

func TestDecodeReadError(t *testing.T) {
	boom := errors.New("connection reset")
	err := Decode(iotest.ErrReader(boom), MaxBodyBytes, &SyncRequest{})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "read body") {
		t.Fatalf("err = %v, want the read error wrapped", err)
	}
}

func TestDecodeWantsPointer(t *testing.T) {
	if err := Decode(strings.NewReader(`{}`), MaxBodyBytes, SyncRequest{}); err == nil {
		t.Fatal("Decode into a non-pointer succeeded")
	}
}

// A sealed chain crosses the wire with its hashes intact: the payload bytes
// the booth hashed are the bytes the gateway reads.
func TestUploadKeepsChainValid(t *testing.T) {
	at := time.Date(2026, 11, 29, 9, 30, 0, 0, time.UTC)
	payloads := []any{
		record.Call{CallID: 1, Card: "em:0400D8B2A5", Inmate: "A-17", Period: "2026-11-29", AuthorisedAt: at, MaxMs: 600000, TalkedMs: 59000, ChargedMs: 60000, EndReason: "hangup"},
		record.Denial{At: at, Card: "em:0C000621A5", Reason: "quota"},
		record.Event{At: at, Event: "tamper", Detail: "panel <open> & alarm"},
	}
	kinds := []record.Kind{record.KindCall, record.KindDenial, record.KindEvent}
	var req UploadRequest
	var prev *record.Record
	for i, p := range payloads {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		r := record.Record{Device: "lapas-cipinang/b03", Seq: uint64(i + 1), Kind: kinds[i], Payload: b}
		r.Seal(prev)
		req.Records = append(req.Records, r)
		prev = &req.Records[i]
	}
	wire, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var got UploadRequest
	if err := Decode(strings.NewReader(string(wire)), MaxBodyBytes, &got); err != nil {
		t.Fatal(err)
	}
	if err := record.VerifyChain(nil, got.Records); err != nil {
		t.Fatalf("chain broken by the wire: %v", err)
	}
	if !reflect.DeepEqual(got, req) {
		t.Fatalf("decoded %+v\nwant %+v", got, req)
	}
}

func TestCardInfoRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ci := record.CardInfo{
			Card:      rapid.String().Draw(t, "card"),
			Role:      rapid.SampledFrom([]record.Role{record.RoleInmate, record.RoleOfficer}).Draw(t, "role"),
			Person:    rapid.String().Draw(t, "person"),
			Name:      rapid.String().Draw(t, "name"),
			Block:     rapid.String().Draw(t, "block"),
			Allowance: time.Duration(rapid.Int64Range(0, 1<<40).Draw(t, "ms")) * time.Millisecond,
			Blocked:   rapid.Bool().Draw(t, "blocked"),
		}
		if ci.Role == record.RoleInmate {
			for i := range rapid.IntRange(0, 3).Draw(t, "numbers") {
				n := record.Number{ID: int64(i + 1), Person: ci.Person, E164: rapid.StringMatching(`\+628[0-9]{9}`).Draw(t, "e164"),
					Slot: rapid.IntRange(0, 9).Draw(t, "slot"), Label: rapid.String().Draw(t, "label"),
					RegisteredBy: rapid.String().Draw(t, "by"), ApprovedBy: rapid.String().Draw(t, "approver")}
				if rapid.Bool().Draw(t, "bounded") {
					n.ValidFrom = time.UnixMilli(rapid.Int64Range(1, 1<<42).Draw(t, "from")).UTC()
					n.ValidUntil = n.ValidFrom.Add(time.Duration(rapid.Int64Range(1, 1<<30).Draw(t, "for")) * time.Millisecond)
				}
				ci.Numbers = append(ci.Numbers, n)
			}
		}
		if got := CardFromInfo(ci).Info(); !reflect.DeepEqual(got, ci) {
			t.Fatalf("CardFromInfo(%+v).Info() = %+v", ci, got)
		}
	})
}

// Whatever the encoder writes, the strict decoder reads back unchanged.
func TestDecodeAcceptsEncoded(t *testing.T) {
	str := rapid.StringMatching(`[ -~]{0,12}|[\p{L}"\\<>&\x00-\x1f]{0,6}`)
	gens := map[string]*rapid.Generator[any]{
		"upload": rapid.Custom(func(t *rapid.T) any {
			n := rapid.IntRange(0, 4).Draw(t, "n")
			req := &UploadRequest{Records: make([]record.Record, n)}
			for i := range req.Records {
				p, _ := json.Marshal(map[string]string{"k": str.Draw(t, "payload")})
				req.Records[i] = record.Record{Device: str.Draw(t, "device"), Seq: rapid.Uint64().Draw(t, "seq"),
					Kind: record.Kind(str.Draw(t, "kind")), Payload: p, Prev: str.Draw(t, "prev"), Hash: str.Draw(t, "hash")}
			}
			return req
		}),
		"sync": rapid.Custom(func(t *rapid.T) any {
			return &SyncRequest{RosterVersion: rapid.Int64().Draw(t, "v")}
		}),
		"authorise": rapid.Custom(func(t *rapid.T) any {
			return &AuthoriseRequest{Card: str.Draw(t, "card"), Inmate: str.Draw(t, "inmate"), Period: str.Draw(t, "period")}
		}),
		"release": rapid.Custom(func(t *rapid.T) any {
			return &ReleaseRequest{Lease: str.Draw(t, "lease"), ChargedMs: rapid.Int64().Draw(t, "ms")}
		}),
		"heartbeat": rapid.Custom(func(t *rapid.T) any {
			return &HeartbeatRequest{Firmware: str.Draw(t, "fw"), State: str.Draw(t, "state"), OutboxDepth: rapid.Int().Draw(t, "depth"),
				ClockUnixMs: rapid.Int64().Draw(t, "clock"), ClockTrusted: rapid.Bool().Draw(t, "trusted"),
				Faults: rapid.SliceOf(str).Draw(t, "faults"), RosterVersion: rapid.Int64().Draw(t, "rv")}
		}),
		"sync response": rapid.Custom(func(t *rapid.T) any {
			r := &SyncResponse{Version: rapid.Int64().Draw(t, "v"), Full: rapid.Bool().Draw(t, "full"),
				Deletes: rapid.SliceOf(str).Draw(t, "deletes")}
			for range rapid.IntRange(0, 3).Draw(t, "cards") {
				r.Upserts = append(r.Upserts, Card{Card: str.Draw(t, "card"), Role: record.RoleInmate, Person: str.Draw(t, "p"),
					AllowanceMs: rapid.Int64().Draw(t, "a"), Blocked: rapid.Bool().Draw(t, "b")})
			}
			if rapid.Bool().Draw(t, "policy") {
				r.Policy, _ = json.Marshal(map[string]any{"period": str.Draw(t, "period"), "hours": []string{"08:00-11:30"}})
			}
			return r
		}),
		"upload response": rapid.Custom(func(t *rapid.T) any {
			r := &UploadResponse{StoredUpTo: rapid.Uint64().Draw(t, "upto"), ChainErrors: rapid.SliceOf(str).Draw(t, "errs")}
			for range rapid.IntRange(0, 3).Draw(t, "n") {
				r.Results = append(r.Results, ItemResult{Seq: rapid.Uint64().Draw(t, "seq"),
					Status: rapid.SampledFrom([]ItemStatus{StatusStored, StatusDuplicate, StatusConflict}).Draw(t, "st")})
			}
			return r
		}),
	}
	for name, gen := range gens {
		t.Run(name, rapid.MakeCheck(func(t *rapid.T) {
			v := gen.Draw(t, "value")
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			got := reflect.New(reflect.TypeOf(v).Elem()).Interface()
			if err := Decode(strings.NewReader(string(b)), MaxBodyBytes, got); err != nil {
				t.Fatalf("Decode(%s): %v", b, err)
			}
			if !reflect.DeepEqual(normalise(got), normalise(v)) {
				t.Fatalf("decoded %#v\nwant    %#v", got, v)
			}
		}))
	}
}

// normalise maps the encodings that the wire cannot tell apart (an empty
// slice and a nil one under omitempty) to one.
func normalise(v any) any {
	switch v := v.(type) {
	case *UploadResponse:
		c := *v
		if len(c.ChainErrors) == 0 {
			c.ChainErrors = nil
		}
		return c
	case *SyncResponse:
		c := *v
		if len(c.Policy) == 0 {
			c.Policy = nil
		}
		return c
	}
	return v
}

func BenchmarkDecodeUpload(b *testing.B) {
	at := time.Date(2026, 11, 29, 9, 30, 0, 0, time.UTC)
	var req UploadRequest
	var prev *record.Record
	for i := range MaxBatch {
		p, _ := json.Marshal(record.Call{CallID: int64(i), Card: "em:0400D8B2A5", Inmate: "A-17", Period: "2026-11-29", AuthorisedAt: at, MaxMs: 600000, TalkedMs: 59000, ChargedMs: 60000, EndReason: "hangup"})
		r := record.Record{Device: "lapas-cipinang/b03", Seq: uint64(i + 1), Kind: record.KindCall, Payload: p}
		r.Seal(prev)
		req.Records = append(req.Records, r)
		prev = &req.Records[i]
	}
	body, _ := json.Marshal(req)
	b.Run("strict", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var got UploadRequest
			if err := Decode(bytes.NewReader(body), MaxBodyBytes, &got); err != nil { // the same bytes encoding/json gets, no copy of them
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var got UploadRequest
			if err := json.Unmarshal(body, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// null is the absence of a value only where Go has one: a pointer, a
// slice, a map.
func TestDecodeNull(t *testing.T) {
	var p struct {
		N *int64   `json:"n"`
		S []string `json:"s"`
	}
	if err := Decode(strings.NewReader(`{"n":null,"s":null}`), MaxBodyBytes, &p); err != nil || p.N != nil || p.S != nil {
		t.Fatalf("Decode = %+v, %v; want nulls accepted", p, err)
	}
	if err := Decode(strings.NewReader(`{"n":5}`), MaxBodyBytes, &p); err != nil || p.N == nil || *p.N != 5 {
		t.Fatalf("Decode = %+v, %v", p, err)
	}
}
