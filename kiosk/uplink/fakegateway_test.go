package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"wartelsuspas/kiosk/protocol"
)

// fakeGateway is an httptest TLS server speaking /v1 with kiosk/protocol's types, holding
// records in memory: enough of a gateway for the uplink's unit tests. The exactly-once tests
// against the real gateway and its ledger are whole-system tests (tools/testbed/systest).
type fakeGateway struct {
	srv *httptest.Server

	mu     sync.Mutex
	held   map[uint64]string // seq → hash
	stored map[uint64]int    // seq → times stored
	// limit, when non-zero, stores at most that many records of each upload: a gateway that
	// answers for a prefix only (it crashed mid-ingest).
	limit int
	beats int
	// gaps are the seqs stored while their predecessor was not: records that reached the
	// gateway out of order, which the real gateway flags (docs/ledger.md).
	gaps []uint64
	// fault, when set, decides what the gateway does with each upload (before taking mu).
	fault func(r *http.Request) gwFault
}

// gwFault is what the fake gateway does with one upload.
type gwFault int

const (
	gwPass       gwFault = iota
	gwRefuse             // nothing stored, 503
	gwLoseAnswer         // stored, then the connection is cut before the answer
	gwPrefix             // stores the first half of the batch only, answers honestly
	gwHang               // nothing stored; waits until the booth gives up
)

func newFakeGateway(t *testing.T) *fakeGateway {
	t.Helper()
	g := &fakeGateway{held: map[uint64]string{}, stored: map[uint64]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+protocol.PathUpload, func(w http.ResponseWriter, r *http.Request) {
		var req protocol.UploadRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, `{"error":"unreadable batch"}`, http.StatusBadRequest)
			return
		}
		f := gwPass
		if g.fault != nil {
			f = g.fault(r)
		}
		switch f {
		case gwRefuse:
			http.Error(w, `{"error":"busy"}`, http.StatusServiceUnavailable)
			return
		case gwHang:
			<-r.Context().Done()
			return
		}
		g.mu.Lock()
		recs := req.Records
		if g.limit > 0 && len(recs) > g.limit {
			recs = recs[:g.limit]
		}
		if f == gwPrefix {
			recs = recs[:len(recs)/2]
		}
		res := protocol.UploadResponse{Results: []protocol.ItemResult{}}
		for _, rec := range recs {
			st := protocol.StatusDuplicate
			if _, ok := g.held[rec.Seq]; !ok {
				if _, prev := g.held[rec.Seq-1]; rec.Seq > 1 && !prev {
					g.gaps = append(g.gaps, rec.Seq)
				}
				g.held[rec.Seq] = rec.Hash
				g.stored[rec.Seq]++
				st = protocol.StatusStored
			}
			res.Results = append(res.Results, protocol.ItemResult{Seq: rec.Seq, Status: st})
		}
		for g.held[res.StoredUpTo+1] != "" {
			res.StoredUpTo++
		}
		g.mu.Unlock()
		if f == gwLoseAnswer {
			panic(http.ErrAbortHandler) // the connection is cut: the booth reads no answer
		}
		json.NewEncoder(w).Encode(res)
	})
	mux.HandleFunc("POST "+protocol.PathHeartbeat, func(w http.ResponseWriter, r *http.Request) {
		var req protocol.HeartbeatRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, `{"error":"unreadable heartbeat"}`, http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		g.beats++
		g.mu.Unlock()
		json.NewEncoder(w).Encode(protocol.HeartbeatResponse{ServerUnixMs: time.Now().UnixMilli()})
	})
	mux.HandleFunc("POST "+protocol.PathSync, func(w http.ResponseWriter, r *http.Request) {
		var req protocol.SyncRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, `{"error":"unreadable sync"}`, http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(protocol.SyncResponse{Version: req.RosterVersion, Upserts: []protocol.Card{}, Deletes: []string{}})
	})
	g.srv = httptest.NewTLSServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGateway) options(st Store) Options {
	return Options{
		BaseURL:    g.srv.URL,
		HTTPClient: g.srv.Client(),
		Store:      st,
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond,
		DrainInterval: 5 * time.Millisecond,
		Log:           quietLog(),
		Firmware:      "test",
	}
}

// TestDrainToFakeGateway: Drain sends the outbox in batches and acknowledges only what the
// gateway says it holds (StoredUpTo), never past it; each record is stored once.
func TestDrainToFakeGateway(t *testing.T) {
	for _, tc := range []struct {
		name         string
		n, batch     int
		limit        int
		wantDepthOne int // the outbox after the first Drain
	}{
		{"whole batches", 25, 10, 0, 15},
		{"gateway stores a prefix", 25, 10, 4, 21},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newFakeGateway(t)
			g.limit = tc.limit
			st := newMemStore(tc.n)
			o := g.options(st)
			o.BatchSize = tc.batch
			u, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := u.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if d, _ := st.Depth(); d != tc.wantDepthOne {
				t.Fatalf("depth %d after one drain, want %d", d, tc.wantDepthOne)
			}
			for more := true; more; {
				if more, err = u.Drain(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if d, _ := st.Depth(); d != 0 {
				t.Fatalf("depth %d after draining, want 0", d)
			}
			g.mu.Lock()
			defer g.mu.Unlock()
			for seq := uint64(1); seq <= uint64(tc.n); seq++ {
				if g.stored[seq] != 1 {
					t.Errorf("record #%d stored %d times, want once", seq, g.stored[seq])
				}
			}
		})
	}
}

// TestRunAgainstFakeGateway: Run heartbeats, syncs and drains to an empty outbox, and reports
// itself online.
func TestRunAgainstFakeGateway(t *testing.T) {
	g := newFakeGateway(t)
	st := newMemStore(30)
	u, err := New(g.options(st))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second) // bounds a hang only
	for {
		s := u.Status()
		if d, _ := st.Depth(); d == 0 && s.Online {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox not drained within 30 s: status %+v", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.beats == 0 {
		t.Error("Run never sent a heartbeat")
	}
	if len(g.stored) != 30 {
		t.Errorf("gateway holds %d records, want 30", len(g.stored))
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
