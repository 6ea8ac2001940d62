package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
)

// BenchmarkUpload measures the handler alone (no TLS, no network) storing
// batches of 25 records in SQLite: decode, validate, ingest, answer.
func BenchmarkUpload(b *testing.B) {
	h, state, device := fuzzHandler(b)
	payload := json.RawMessage(`{"at":"2026-11-29T09:00:00Z","card":"em:0400D8B2A5","reason":"closed","clock_trusted":true}`)
	var prev *record.Record
	seq := uint64(0)
	b.ReportAllocs()
	for b.Loop() {
		recs := make([]record.Record, 25)
		for i := range recs {
			seq++
			recs[i] = record.Record{Device: device, Seq: seq, Kind: record.KindDenial, Payload: payload}
			recs[i].Seal(prev)
			prev = &recs[i]
		}
		body, _ := json.Marshal(protocol.UploadRequest{Records: recs})
		req := httptest.NewRequest(http.MethodPost, protocol.PathUpload, bytes.NewReader(body))
		req.TLS = state
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(seq)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAuthorise measures an authorise with its lease and release.
func BenchmarkAuthorise(b *testing.B) {
	h, state, _ := fuzzHandler(b)
	for b.Loop() {
		body, _ := json.Marshal(protocol.AuthoriseRequest{Card: "em:0400D8B2A5", Inmate: "w1", Period: "2026-11-29"})
		req := httptest.NewRequest(http.MethodPost, protocol.PathAuthorise, bytes.NewReader(body))
		req.TLS = state
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var a protocol.AuthoriseResponse
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &a) != nil || a.Lease == "" {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		rel, _ := json.Marshal(protocol.ReleaseRequest{Lease: a.Lease})
		req = httptest.NewRequest(http.MethodPost, protocol.PathRelease, bytes.NewReader(rel))
		req.TLS = state
		w = httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusNoContent {
			panic(fmt.Sprintf("release: status %d: %s", w.Code, w.Body))
		}
	}
}
