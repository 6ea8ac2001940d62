package record

import (
	"encoding/json"
	"strings"
	"testing"
)

func chain(t *testing.T, n int) []Record {
	t.Helper()
	var rs []Record
	for i := 1; i <= n; i++ {
		p, err := json.Marshal(Event{Event: "test", Detail: strings.Repeat("x", i)})
		if err != nil {
			t.Fatal(err)
		}
		r := Record{Device: "f/b1", Seq: uint64(i), Kind: KindEvent, Payload: p}
		if i == 1 {
			r.Seal(nil)
		} else {
			r.Seal(&rs[i-2])
		}
		rs = append(rs, r)
	}
	return rs
}

func TestVerifyChain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mutate  func([]Record) []Record
		wantErr string
	}{
		{"intact", func(rs []Record) []Record { return rs }, ""},
		{"edited payload", func(rs []Record) []Record { rs[2].Payload = json.RawMessage(`{"event":"forged"}`); return rs }, "does not match its content"},
		{"gap", func(rs []Record) []Record { return append(rs[:2:2], rs[3:]...) }, "gap after #2"},
		{"resealed edit", func(rs []Record) []Record {
			rs[2].Payload = json.RawMessage(`{"event":"forged"}`)
			rs[2].Hash = rs[2].ComputeHash()
			return rs
		}, "prev hash"},
		{"not starting at 1", func(rs []Record) []Record { return rs[1:] }, "does not start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyChain(nil, tc.mutate(chain(t, 5)))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("VerifyChain: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("VerifyChain error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
