package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// fuzzDecode checks, for any body, that Decode into a new T does not panic,
// fails only with a *DecodeError, and, when it succeeds:
//   - encoding/json reads the same body to the same value (the strict
//     decoder accepts a subset of what encoding/json does, never a different
//     reading);
//   - the value re-encodes to a body Decode accepts, and that body is a fixed
//     point: decoding and encoding it again gives the same bytes.
func fuzzDecode[T any](f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v T
		err := Decode(bytes.NewReader(body), MaxBodyBytes, &v)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%q) = %v (%T), want a *DecodeError", body, err, err)
			}
			if de.Msg == "" {
				t.Fatalf("Decode(%q): empty message", body)
			}
			return
		}
		if val, ok := any(v).(interface{ Validate() error }); ok {
			if err := val.Validate(); err != nil && !errors.As(err, new(*DecodeError)) {
				t.Fatalf("Validate = %v (%T), want a *DecodeError", err, err)
			}
		}
		var plain T
		if err := json.Unmarshal(body, &plain); err != nil {
			t.Fatalf("Decode accepted %q, encoding/json refuses it: %v", body, err)
		}
		if !reflect.DeepEqual(plain, v) {
			t.Fatalf("Decode(%q) = %#v, encoding/json reads %#v", body, v, plain)
		}
		b1, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", v, err)
		}
		var v2 T
		if err := Decode(bytes.NewReader(b1), MaxBodyBytes, &v2); err != nil {
			t.Fatalf("Decode refuses its own encoding %s: %v", b1, err)
		}
		b2, err := json.Marshal(v2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("encoding is not a fixed point:\n%s\n%s", b1, b2)
		}
		var v3 T
		if err := Decode(bytes.NewReader(b2), MaxBodyBytes, &v3); err != nil || !reflect.DeepEqual(v2, v3) {
			t.Fatalf("second trip changed the value: %#v → %#v (%v)", v2, v3, err)
		}
	})
}

func FuzzDecodeUpload(f *testing.F) {
	fuzzDecode[UploadRequest](f,
		`{"records":[{"device":"lapas-cipinang/b03","seq":1,"kind":"call","payload":{"call_id":1,"talked_ms":59000},"prev":"00","hash":"ab"}]}`,
		`{"records":[{"seq":"x"}]}`,
		`{"records":[{"payload": [1, {"a" : null}] }]}`,
		`{"records":null}`,
		`{"Records":[]}`,
		`{"records":[]} {}`,
	)
}

func FuzzDecodeSync(f *testing.F) {
	fuzzDecode[SyncRequest](f, `{"roster_version":42}`, `{"roster_version":null}`, `{"roster_version":1e3}`)
}

func FuzzDecodeAuthorise(f *testing.F) {
	fuzzDecode[AuthoriseRequest](f, `{"card":"em:0400D8B2A5","inmate":"A-17","period":"2026-11-29"}`, `{"card":"\u00e9\ud800"}`)
}

func FuzzDecodeRelease(f *testing.F) {
	fuzzDecode[ReleaseRequest](f, `{"lease":"l-1","charged_ms":60000}`, `{"lease":"a","lease":"b"}`)
}

func FuzzDecodeHeartbeat(f *testing.F) {
	fuzzDecode[HeartbeatRequest](f,
		`{"firmware":"1.2.0","state":"idle","outbox_depth":3,"clock_unix_ms":1795000000000,"clock_trusted":true,"faults":["reader"],"roster_version":7}`,
		`{"faults":[1]}`)
}

// The booth decodes the gateway's answers with the same decoder.
func FuzzDecodeSyncResponse(f *testing.F) {
	fuzzDecode[SyncResponse](f,
		`{"version":8,"full":false,"upserts":[{"card":"em:0400D8B2A5","role":"inmate","person":"A-17","name":"Budi","block":"B","allowance_ms":1800000,"blocked":false}],"deletes":["em:0C000621A5"],"policy":{"period":"day"}}`,
		`{"version":1,"policy":null}`)
}

func FuzzDecodeUploadResponse(f *testing.F) {
	fuzzDecode[UploadResponse](f, `{"stored_up_to":3,"results":[{"seq":3,"status":"duplicate"}],"chain_errors":["gap after #1"]}`)
}
