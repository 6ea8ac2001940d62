package uplink

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"wartelsuspas/kiosk/protocol"
)

// TestFailingJobNeverHoldsTheOutbox: a gateway that takes uploads but fails
// its roster sync (restored from a backup: an older version than the
// booth's; or answering 503, or 429 with Retry-After) or its heartbeat (503)
// still gets every record: the outbox drains while the failing job waits
// for its own retry. Before, the loop ran the due job again after each
// backoff and never reached the upload: no billing record left the booth.
func TestFailingJobNeverHoldsTheOutbox(t *testing.T) {
	for _, mode := range []string{"sync older version", "sync 503", "sync 429", "heartbeat 503"} {
		t.Run(mode, func(t *testing.T) {
			var mu sync.Mutex
			syncs, beats := 0, 0
			mux := http.NewServeMux()
			mux.HandleFunc("POST "+protocol.PathUpload, func(w http.ResponseWriter, r *http.Request) {
				var req protocol.UploadRequest
				if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Records) == 0 {
					http.Error(w, `{"error":"bad upload"}`, http.StatusBadRequest)
					return
				}
				json.NewEncoder(w).Encode(protocol.UploadResponse{StoredUpTo: req.Records[len(req.Records)-1].Seq, Results: []protocol.ItemResult{}})
			})
			mux.HandleFunc("POST "+protocol.PathHeartbeat, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				beats++
				mu.Unlock()
				if mode == "heartbeat 503" {
					http.Error(w, `{"error":"busy"}`, http.StatusServiceUnavailable)
					return
				}
				json.NewEncoder(w).Encode(protocol.HeartbeatResponse{ServerUnixMs: time.Now().UnixMilli()})
			})
			mux.HandleFunc("POST "+protocol.PathSync, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				syncs++
				mu.Unlock()
				switch mode {
				case "sync 503":
					http.Error(w, `{"error":"roster database busy"}`, http.StatusServiceUnavailable)
				case "sync 429":
					w.Header().Set("Retry-After", "1")
					http.Error(w, `{"error":"slow down"}`, http.StatusTooManyRequests)
				case "sync older version":
					json.NewEncoder(w).Encode(protocol.SyncResponse{Version: 3, Upserts: []protocol.Card{}, Deletes: []string{}})
				default:
					json.NewEncoder(w).Encode(protocol.SyncResponse{Version: 7, Upserts: []protocol.Card{}, Deletes: []string{}})
				}
			})
			srv := httptest.NewTLSServer(mux)
			defer srv.Close()
			st := newMemStore(50)
			st.version = 7
			u, err := New(Options{BaseURL: srv.URL, HTTPClient: srv.Client(), Store: st,
				BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond, DrainInterval: 5 * time.Millisecond,
				Log: quietLog(), Firmware: "test"})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // bounds a hang only
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- u.Run(ctx) }()
			// Every record stored, and each job tried (a failing heartbeat
			// lets the sync go: the roster still reaches the booth).
			for {
				mu.Lock()
				tried := syncs > 0 && beats > 0
				mu.Unlock()
				if d, _ := st.Depth(); d == 0 && tried {
					break
				}
				select {
				case <-ctx.Done():
					mu.Lock()
					d, _ := st.Depth()
					t.Fatalf("%d of 50 records still in the outbox against a gateway that takes uploads, %d syncs and %d heartbeats tried; want none left, each job tried", d, syncs, beats)
				case <-time.After(5 * time.Millisecond):
				}
			}
			cancel()
			<-done
		})
	}
}
