package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
)

func init() { register("decode", benchDecode) }

// decodeGoal is how much the strict decoder may cost beyond encoding/json
// on the same body (issue 17).
const decodeGoal = 1.5

// benchDecode measures the gateway's strict request decoder
// (protocol.Decode: unknown fields, duplicates, nulls, limits, the field at
// fault named) against encoding/json's Unmarshal of the same upload into
// the same type, in time and allocations, both reading the same bytes.
func benchDecode(r *Report) error {
	body, err := decodeUploadBody(protocol.MaxBatch)
	if err != nil {
		return err
	}
	var failed error
	strict := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var got protocol.UploadRequest
			if err := protocol.Decode(bytes.NewReader(body), protocol.MaxBodyBytes, &got); err != nil {
				failed = err
				return
			}
		}
	})
	plain := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var got protocol.UploadRequest
			if err := json.Unmarshal(body, &got); err != nil {
				failed = err
				return
			}
		}
	})
	if failed != nil {
		return fmt.Errorf("decode the bench's upload: %w", failed)
	}
	how := fmt.Sprintf("upload of %d call records (%d KiB); protocol.Decode from a reader vs json.Unmarshal of the bytes into UploadRequest; testing.Benchmark, %d and %d iterations",
		protocol.MaxBatch, len(body)>>10, strict.N, plain.N)
	r.Add(Figure{Name: "strict decoder time per upload", Value: float64(strict.NsPerOp()) / 1e6, Unit: "ms",
		Note: fmt.Sprintf("%s; encoding/json %.3f ms", how, float64(plain.NsPerOp())/1e6)})
	r.Add(Figure{Name: "strict decoder time / encoding/json", Value: float64(strict.NsPerOp()) / float64(plain.NsPerOp()), Unit: "×",
		Limit: decodeGoal, LimitNote: "goal", Goal: Max, Note: how})
	r.Add(Figure{Name: "strict decoder allocations / encoding/json", Value: float64(strict.AllocsPerOp()) / float64(plain.AllocsPerOp()), Unit: "×",
		Limit: decodeGoal, LimitNote: "goal", Goal: Max,
		Note: fmt.Sprintf("%d vs %d allocs/op, %d vs %d B/op (the read buffer is pooled)", strict.AllocsPerOp(), plain.AllocsPerOp(), strict.AllocedBytesPerOp(), plain.AllocedBytesPerOp())})
	return nil
}

// decodeUploadBody is an upload of n sealed call records, as a booth sends.
func decodeUploadBody(n int) ([]byte, error) {
	at := time.Date(2026, 11, 29, 9, 30, 0, 0, time.UTC)
	req := protocol.UploadRequest{Records: make([]record.Record, 0, n)}
	var prev *record.Record
	for i := range n {
		p, err := json.Marshal(record.Call{CallID: int64(i), Card: "em:0400D8B2A5", Inmate: "A-17", Period: "2026-11-29", AuthorisedAt: at, MaxMs: 600000, TalkedMs: 59000, ChargedMs: 60000, EndReason: "hangup"})
		if err != nil {
			return nil, err
		}
		rec := record.Record{Device: "lapas-cipinang/b03", Seq: uint64(i + 1), Kind: record.KindCall, Payload: p}
		rec.Seal(prev)
		req.Records = append(req.Records, rec)
		prev = &req.Records[i]
	}
	return json.Marshal(req)
}
