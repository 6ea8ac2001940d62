package systest

import (
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/store"
	"wartelsuspas/kiosk/uplink"
	"wartelsuspas/tools/centre/ca"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/centre/server"
)

// hfault is a fault the test gateway injects at the HTTP layer, where the
// TCP fault proxy cannot reach through TLS.
type hfault int

const (
	hPass      hfault = iota
	h500              // answer 500 without processing
	hLose             // process, then close the connection without answering
	hDuplicate        // process the request twice, answer the second
	h429              // answer 429 with Retry-After: 1
	hTruncate         // process, then send half the answer and abort
	h400              // answer 400 without processing
)

// testGateway is the real /v1 handler (tools/centre/server) over a
// ledger in SQLite, served by httptest over loopback mutual TLS, with a
// wrapper that injects HTTP-level faults and counts what was stored.
type testGateway struct {
	t          testing.TB
	ca         *ca.CA
	ledger     ledger.Store
	ledgerPath string
	srv        *httptest.Server

	mu   sync.Mutex
	plan func(n int, path string) hfault
	// watch, if set, sees every request the handler served and its answer
	// (before the answer is sent).
	watch  func(path string, req []byte, code int, resp []byte)
	stored map[string]map[uint64]int // device → seq → times answered "stored"
	dups   int
	n      atomic.Int64
}

func newTestGateway(t testing.TB, now func() time.Time) *testGateway {
	t.Helper()
	dir := t.TempDir()
	c, err := ca.Init(filepath.Join(dir, "ca"), "test CA")
	if err != nil {
		t.Fatal(err)
	}
	lp := filepath.Join(dir, "ledger.db")
	l, err := ledger.OpenSQLite(lp)
	if err != nil {
		t.Fatal(err)
	}
	h, err := server.New(server.Options{Ledger: l, Rate: 1e6, Burst: 1 << 20, Now: now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	g := &testGateway{t: t, ca: c, ledger: l, ledgerPath: lp, stored: map[string]map[uint64]int{}}
	g.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.serve(h, w, r) }))
	cert, err := c.ServerCert(nil)
	if err != nil {
		t.Fatal(err)
	}
	g.srv.TLS = ca.ServerTLSConfig(c.Certificate(), cert, c.Revoked)
	g.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	g.srv.StartTLS()
	t.Cleanup(func() { g.srv.Close(); l.Close() })
	return g
}

// addr is the gateway's "127.0.0.1:port".
func (g *testGateway) addr() string { return g.srv.Listener.Addr().String() }

func (g *testGateway) setPlan(p func(n int, path string) hfault) {
	g.mu.Lock()
	g.plan = p
	g.mu.Unlock()
}

func (g *testGateway) serve(h http.Handler, w http.ResponseWriter, r *http.Request) {
	n := int(g.n.Add(1) - 1)
	g.mu.Lock()
	f := hPass
	if g.plan != nil {
		f = g.plan(n, r.URL.Path)
	}
	g.mu.Unlock()
	switch f {
	case h500:
		http.Error(w, `{"error":"injected failure"}`, http.StatusInternalServerError)
		return
	case h429:
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"error":"injected rate limit"}`, http.StatusTooManyRequests)
		return
	case h400:
		w.Header().Set("Content-Type", protocol.ContentType)
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"injected refusal","field":"records[0].seq"}`))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	runs := 1
	if f == hDuplicate {
		runs = 2
	}
	var rec *httptest.ResponseRecorder
	for range runs {
		rec = httptest.NewRecorder()
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(rec, r2)
		g.count(r, rec)
	}
	g.mu.Lock()
	watch := g.watch
	g.mu.Unlock()
	if watch != nil {
		watch(r.URL.Path, body, rec.Code, rec.Body.Bytes())
	}
	switch f {
	case hLose:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	case hTruncate:
		b := rec.Body.Bytes()
		w.Header().Set("Content-Type", protocol.ContentType)
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.WriteHeader(rec.Code)
		w.Write(b[:len(b)/2])
		panic(http.ErrAbortHandler)
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// count notes every record the gateway answered "stored".
func (g *testGateway) count(r *http.Request, rec *httptest.ResponseRecorder) {
	if r.URL.Path != protocol.PathUpload || rec.Code != http.StatusOK {
		return
	}
	var resp protocol.UploadResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		g.t.Errorf("gateway answered an upload with %q: %v", rec.Body.String(), err)
		return
	}
	device, err := ca.DeviceFromState(r.TLS)
	if err != nil {
		g.t.Error(err)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.stored[device]
	if m == nil {
		m = map[uint64]int{}
		g.stored[device] = m
	}
	for _, it := range resp.Results {
		switch it.Status {
		case protocol.StatusStored:
			m[it.Seq]++
		case protocol.StatusDuplicate:
			g.dups++
		}
	}
}

// clientTLS enrols booth and returns its TLS configuration.
func (g *testGateway) clientTLS(facility, booth string) *tls.Config {
	g.t.Helper()
	b, err := g.ca.Enroll(facility, booth, 24*time.Hour)
	if err != nil {
		g.t.Fatal(err)
	}
	if err := g.ledger.RegisterDevice(context.Background(), b.Device, time.Now()); err != nil {
		g.t.Fatal(err)
	}
	c, err := bundle.ClientTLSConfig(b, bundle.ClientOpts{ServerName: "127.0.0.1"})
	if err != nil {
		g.t.Fatal(err)
	}
	return c
}

// checkExactlyOnce asserts that the gateway holds want — the booth's
// records — each exactly once, unchanged, with no chain error, and that the
// gateway answered "stored" exactly once for each.
func (g *testGateway) checkExactlyOnce(device string, want []record.Record) {
	g.t.Helper()
	db, err := sql.Open("sqlite", "file:"+g.ledgerPath+"?mode=ro")
	if err != nil {
		g.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT seq, hash FROM records WHERE device = ? ORDER BY seq`, device)
	if err != nil {
		g.t.Fatal(err)
	}
	defer rows.Close()
	var got []record.Record
	for rows.Next() {
		var r record.Record
		if err := rows.Scan(&r.Seq, &r.Hash); err != nil {
			g.t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != len(want) {
		g.t.Fatalf("gateway holds %d records of %s, want %d", len(got), device, len(want))
	}
	for i := range want {
		if got[i].Seq != want[i].Seq || got[i].Hash != want[i].Hash {
			g.t.Fatalf("gateway record %d of %s is #%d %s, want #%d %s", i, device, got[i].Seq, got[i].Hash, want[i].Seq, want[i].Hash)
		}
	}
	ces, err := g.ledger.ChainErrors(context.Background(), device)
	if err != nil {
		g.t.Fatal(err)
	}
	if len(ces) > 0 {
		g.t.Fatalf("gateway flagged %d chain errors on %s, first %+v", len(ces), device, ces[0])
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range want {
		if n := g.stored[device][r.Seq]; n != 1 {
			g.t.Fatalf("gateway answered stored %d times for %s#%d, want once", n, device, r.Seq)
		}
	}
}

// newBooth opens a booth store holding n event records and returns it
// with a copy of its records.
func newBooth(t testing.TB, device string, n int) (*store.Store, []record.Record) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "booth.db"), store.Options{Device: device})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	for i := range n {
		if _, err := st.Event(record.Event{At: at.Add(time.Duration(i) * time.Second), Event: "test", Detail: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := st.Pending(0)
	if err != nil {
		t.Fatal(err)
	}
	return st, recs
}

// waitDrained waits (bounded, not timed) until the store's outbox is empty.
func waitDrained(t *testing.T, st *store.Store, u *uplink.Uplink) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := st.Depth()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d records after 60 s; uplink status %+v", n, u.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
