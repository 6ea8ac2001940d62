package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// batch returns a valid sealed batch of n records of one booth.
func batch(t *testing.T, n int) UploadRequest {
	t.Helper()
	var req UploadRequest
	var prev *record.Record
	for i := range n {
		p, err := json.Marshal(record.Event{At: time.Date(2026, 11, 29, 8, 0, i, 0, time.UTC), Event: "tamper"})
		if err != nil {
			t.Fatal(err)
		}
		r := record.Record{Device: "lapas-cipinang/b03", Seq: uint64(i + 1), Kind: record.KindEvent, Payload: p}
		r.Seal(prev)
		req.Records = append(req.Records, r)
		prev = &req.Records[i]
	}
	return req
}

func TestValidateUpload(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		mutate func(r []record.Record)
		field  string // "" for valid
		msg    string
	}{
		{"valid", 3, func([]record.Record) {}, "", ""},
		{"full batch", MaxBatch, func([]record.Record) {}, "", ""},
		{"empty", 0, func([]record.Record) {}, "records", "at least one"},
		{"too many", MaxBatch + 1, func([]record.Record) {}, "records", "at most 500"},
		{"no device", 3, func(r []record.Record) { r[1].Device = "" }, "records[1].device", "empty device"},
		{"two devices", 3, func(r []record.Record) { r[2].Device = "lapas-cipinang/b04" }, "records[2].device", "one booth per batch"},
		{"chained", 3, func(r []record.Record) {
			for i := range r {
				r[i].Chain = "0123456789abcdef0123456789abcdef"
			}
		}, "", ""},
		{"malformed chain", 3, func(r []record.Record) { r[0].Chain = "store-2" }, "records[0].chain", "32 lower-case hex"},
		{"two chains", 3, func(r []record.Record) { r[2].Chain = "0123456789abcdef0123456789abcdef" }, "records[2].chain", "one chain (one store) per batch"},
		{"seq zero", 3, func(r []record.Record) { r[0].Seq = 0 }, "records[0].seq", "start at 1"},
		{"out of order", 3, func(r []record.Record) { r[1].Seq, r[2].Seq = r[2].Seq, r[1].Seq }, "records[2].seq", "increasing order"},
		{"repeated seq", 3, func(r []record.Record) { r[2].Seq = r[1].Seq }, "records[2].seq", "increasing order"},
		{"unknown kind", 3, func(r []record.Record) { r[1].Kind = "billing" }, "records[1].kind", `unknown kind "billing"`},
		{"no payload", 3, func(r []record.Record) { r[0].Payload = nil }, "records[0].payload", "missing"},
		{"bad payload", 3, func(r []record.Record) { r[0].Payload = json.RawMessage(`{"a":`) }, "records[0].payload", "not JSON"},
		{"short prev", 3, func(r []record.Record) { r[1].Prev = "abc" }, "records[1].prev", "64 lower-case hex"},
		{"upper-case hash", 3, func(r []record.Record) { r[2].Hash = strings.ToUpper(r[2].Hash) }, "records[2].hash", "64 lower-case hex"},
		// A gap is not invalid: the gateway stores and flags it.
		{"gap", 3, func(r []record.Record) { r[2].Seq = 7 }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := batch(t, tt.n)
			tt.mutate(req.Records)
			checkValidate(t, req.Validate(), tt.field, tt.msg)
		})
	}
}

func TestValidateOthers(t *testing.T) {
	tests := []struct {
		name  string
		req   interface{ Validate() error }
		field string
		msg   string
	}{
		{"sync", SyncRequest{RosterVersion: 4}, "", ""},
		{"sync full", SyncRequest{}, "", ""},
		{"sync negative", SyncRequest{RosterVersion: -1}, "roster_version", "negative"},
		{"authorise", AuthoriseRequest{Card: "em:0400D8B2A5", Inmate: "A-17", Period: "2026-11-29"}, "", ""},
		{"authorise no card", AuthoriseRequest{Inmate: "A-17", Period: "2026-11-29"}, "card", "empty card"},
		{"authorise no inmate", AuthoriseRequest{Card: "em:0400D8B2A5", Period: "2026-11-29"}, "inmate", "empty inmate"},
		{"authorise no period", AuthoriseRequest{Card: "em:0400D8B2A5", Inmate: "A-17"}, "period", "empty period"},
		{"release", ReleaseRequest{Lease: "l1", ChargedMs: 0}, "", ""},
		{"release no lease", ReleaseRequest{ChargedMs: 5}, "lease", "empty lease"},
		{"release negative", ReleaseRequest{Lease: "l1", ChargedMs: -5}, "charged_ms", "negative"},
		{"heartbeat", HeartbeatRequest{Firmware: "1.0", OutboxDepth: 3, Faults: []string{"reader_down"}}, "", ""},
		{"heartbeat depth", HeartbeatRequest{OutboxDepth: -1}, "outbox_depth", "negative"},
		{"heartbeat version", HeartbeatRequest{RosterVersion: -2}, "roster_version", "negative"},
		{"heartbeat faults", HeartbeatRequest{Faults: make([]string, MaxFaults+1)}, "faults", "at most 64"},
		// Booth text is bounded at ingest, the field named (issue 13 item 7).
		{"heartbeat full", HeartbeatRequest{Firmware: "1.4.0-rc1 (a1b2c3)", State: "tamper", Faults: []string{"panel_open"},
			OutOfService: []string{"tamper"}, BootID: "9f86d081884c7d659a2feaa0c55ad015"}, "", ""},
		{"heartbeat firmware 1 MiB", HeartbeatRequest{Firmware: strings.Repeat("x", 1<<20)}, "firmware", "at most 64"},
		{"heartbeat firmware newline", HeartbeatRequest{Firmware: "1.0\nlapas/b99  online"}, "firmware", "control characters"},
		{"heartbeat firmware escape", HeartbeatRequest{Firmware: "1.0\x1b[2J"}, "firmware", "control characters"},
		{"heartbeat firmware bidi", HeartbeatRequest{Firmware: "1.0\u202e"}, "firmware", "control characters"},
		{"heartbeat firmware invalid", HeartbeatRequest{Firmware: "1.0\xff"}, "firmware", "UTF-8"},
		{"heartbeat state newline", HeartbeatRequest{State: "ready\nlapas/b99"}, "state", "want a word"},
		{"heartbeat state long", HeartbeatRequest{State: strings.Repeat("a", MaxWordLen+1)}, "state", "want a word"},
		{"heartbeat fault escape", HeartbeatRequest{Faults: []string{"ok", "\x1b]0;pwned\a"}}, "faults[1]", "want a word"},
		{"heartbeat fault empty", HeartbeatRequest{Faults: []string{""}}, "faults[0]", "want a word"},
		{"heartbeat causes", HeartbeatRequest{OutOfService: make([]string, MaxCauses+1)}, "out_of_service", "at most 16"},
		{"heartbeat cause upper", HeartbeatRequest{OutOfService: []string{"Tamper"}}, "out_of_service[0]", "want a word"},
		{"heartbeat boot id", HeartbeatRequest{BootID: "a b"}, "boot_id", "want a word"},
		{"heartbeat head", HeartbeatRequest{Chain: "0123456789abcdef0123456789abcdef", HeadSeq: 9, HeadHash: strings.Repeat("a", 64)}, "", ""},
		{"heartbeat empty store", HeartbeatRequest{Chain: "0123456789abcdef0123456789abcdef", HeadHash: record.GenesisHash}, "", ""},
		{"heartbeat chain", HeartbeatRequest{Chain: "X"}, "chain", "32 lower-case hex"},
		{"heartbeat head without hash", HeartbeatRequest{HeadSeq: 3}, "head_hash", "64 lower-case hex"},
		{"heartbeat head seq", HeartbeatRequest{HeadSeq: 1 << 63, HeadHash: strings.Repeat("a", 64)}, "head_seq", "out of range"},
		{"heartbeat hash of nothing", HeartbeatRequest{HeadHash: strings.Repeat("a", 64)}, "head_hash", "genesis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkValidate(t, tt.req.Validate(), tt.field, tt.msg)
		})
	}
}

func checkValidate(t *testing.T, err error, field, msg string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("Validate = %v, want nil", err)
		}
		return
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("Validate = %v, want a *DecodeError on %s", err, field)
	}
	if de.Field != field || !strings.Contains(de.Msg, msg) || !strings.HasPrefix(de.Msg, "field "+field+": ") {
		t.Fatalf("Validate = field %q, %q; want field %q and a message with %q", de.Field, de.Msg, field, msg)
	}
}
