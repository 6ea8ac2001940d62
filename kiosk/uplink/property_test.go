package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"pgregory.net/rapid"

	"wartelsuspas/kiosk/protocol"
)

// simGateway is an in-memory gateway behind an http.RoundTripper whose
// behaviour for each request is drawn by rapid.
type simGateway struct {
	t      *rapid.T
	held   map[uint64]string // seq → hash
	stored map[uint64]int    // times answered "stored"
}

const (
	simOK         = iota
	simDownBefore // nothing stored, connection fails
	simLostAfter  // stored, then the connection fails
	sim500        // nothing stored, 500
	simPartial    // stores a prefix of the batch only (crash mid-ingest), answers honestly
	simGarbage    // stored, answer unreadable
	nSim
)

func (g *simGateway) RoundTrip(r *http.Request) (*http.Response, error) {
	var req protocol.UploadRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		g.t.Fatalf("booth sent an unreadable batch: %v", err)
	}
	r.Body.Close()
	act := rapid.IntRange(0, nSim-1).Draw(g.t, "act")
	recs := req.Records
	switch act {
	case simDownBefore:
		return nil, errors.New("connection refused")
	case sim500:
		return g.answer(500, []byte(`{"error":"boom"}`)), nil
	case simPartial:
		recs = recs[:rapid.IntRange(0, len(recs)).Draw(g.t, "prefix")]
	}
	res := protocol.UploadResponse{Results: []protocol.ItemResult{}}
	for _, rec := range recs {
		st := protocol.StatusDuplicate
		if _, ok := g.held[rec.Seq]; !ok {
			g.held[rec.Seq] = rec.Hash
			g.stored[rec.Seq]++
			st = protocol.StatusStored
		}
		res.Results = append(res.Results, protocol.ItemResult{Seq: rec.Seq, Status: st})
	}
	for g.held[res.StoredUpTo+1] != "" {
		res.StoredUpTo++
	}
	switch act {
	case simLostAfter:
		return nil, errors.New("connection reset by peer")
	case simGarbage:
		return g.answer(200, []byte(`{"stored_up_to":`)), nil
	}
	b, _ := json.Marshal(res)
	return g.answer(200, b), nil
}

func (g *simGateway) answer(code int, b []byte) *http.Response {
	return &http.Response{StatusCode: code, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(b))}
}

// TestDrainProperty: under any sequence of gateway failures, lost answers
// and partial commits, the booth never deletes a record the gateway does
// not hold, and once the gateway behaves every record is held, stored once.
func TestDrainProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 60).Draw(t, "records")
		batch := rapid.IntRange(1, 25).Draw(t, "batch")
		st := newMemStore(n)
		want, _ := st.Pending(0)
		g := &simGateway{t: t, held: map[uint64]string{}, stored: map[uint64]int{}}
		u, err := New(Options{BaseURL: "https://sim.invalid", Store: st, BatchSize: batch,
			HTTPClient: &http.Client{Transport: g}, Log: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		for step := 0; ; step++ {
			if step > 10*n+100 {
				t.Fatalf("outbox not drained after %d steps", step)
			}
			u.Drain(context.Background())
			left, _ := st.Pending(0)
			// Every deleted record is held by the gateway, unchanged.
			for _, r := range want[:len(want)-len(left)] {
				if g.held[r.Seq] != r.Hash {
					t.Fatalf("booth deleted #%d which the gateway does not hold", r.Seq)
				}
			}
			if len(left) == 0 {
				break
			}
		}
		for _, r := range want {
			if g.stored[r.Seq] != 1 {
				t.Fatalf("#%d stored %d times", r.Seq, g.stored[r.Seq])
			}
		}
	})
}
