package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ca"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/testbed/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var start = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

// backend opens a fresh ledger; the handler suite runs on each.
type backend struct {
	name string
	open func(t *testing.T) ledger.Store
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t *testing.T) ledger.Store {
			s, err := ledger.OpenSQLite(t.TempDir() + "/gateway.db")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
		{"postgres", func(t *testing.T) ledger.Store {
			dsn := pgtest.DB(t)
			s, err := ledger.OpenPostgres(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
	}
}

// eachBackend runs fn as a subtest per backend.
func eachBackend(t *testing.T, fn func(t *testing.T, store ledger.Store)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { fn(t, b.open(t)) })
	}
}

// env is a gateway on loopback mutual TLS with a fake clock.
type env struct {
	t     *testing.T
	ca    *ca.CA
	store ledger.Store
	clk   *clock.Fake
	reg   *prometheus.Registry
	h     *Handler
	srv   *httptest.Server
}

func newEnv(t *testing.T, store ledger.Store, tweak func(*Options)) *env {
	t.Helper()
	c, err := ca.Init(t.TempDir(), "test CA")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ca: c, store: store, clk: clock.NewFake(start), reg: prometheus.NewRegistry()}
	opt := Options{Ledger: store, Now: e.clk.Now, Registry: e.reg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if testing.Verbose() {
		opt.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if tweak != nil {
		tweak(&opt)
	}
	if e.h, err = New(opt); err != nil {
		t.Fatal(err)
	}
	cert, err := c.ServerCert(nil)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewUnstartedServer(e.h)
	e.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point of some tests
	e.srv.TLS = ca.ServerTLSConfig(c.Certificate(), cert, c.Revoked)
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	return e
}

// booth is an enrolled client of env with its own record chain.
type booth struct {
	e      *env
	device string
	chain  string // of the store its records come from ("": legacy)
	client *http.Client
	recs   []record.Record
	callID int64
}

func (e *env) booth(facility, name string) *booth {
	e.t.Helper()
	b, err := e.ca.Enroll(facility, name, 24*time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.RegisterDevice(context.Background(), b.Device, e.clk.Now()); err != nil {
		e.t.Fatal(err)
	}
	conf, err := bundle.ClientTLSConfig(b, bundle.ClientOpts{ServerName: "127.0.0.1"})
	if err != nil {
		e.t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: conf}, Timeout: 10 * time.Second}
	e.t.Cleanup(client.CloseIdleConnections)
	return &booth{e: e, device: b.Device, client: client}
}

// post sends body (bytes as they are, anything else as JSON) and returns
// the status and the answer.
func (b *booth) post(path string, body any) (int, []byte, http.Header, error) {
	raw, ok := body.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			b.e.t.Fatal(err)
		}
	}
	resp, err := b.client.Post(b.e.srv.URL+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	return resp.StatusCode, got, resp.Header, err
}

// call posts and decodes a 200 answer into out, failing on any other.
func (b *booth) call(path string, body, out any) {
	b.e.t.Helper()
	status, got, _, err := b.post(path, body)
	if err != nil {
		b.e.t.Fatalf("POST %s: %v", path, err)
	}
	if status != http.StatusOK && !(status == http.StatusNoContent && out == nil) {
		b.e.t.Fatalf("POST %s: status %d: %s", path, status, got)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			b.e.t.Fatalf("POST %s: answer %s: %v", path, got, err)
		}
	}
}

// next appends a sealed record of kind with payload to b's chain.
func (b *booth) next(kind record.Kind, payload any) record.Record {
	p, err := json.Marshal(payload)
	if err != nil {
		b.e.t.Fatal(err)
	}
	r := record.Record{Device: b.device, Chain: b.chain, Seq: uint64(len(b.recs) + 1), Kind: kind, Payload: p}
	var prev *record.Record
	if len(b.recs) > 0 {
		prev = &b.recs[len(b.recs)-1]
	}
	r.Seal(prev)
	b.recs = append(b.recs, r)
	return r
}

func (b *booth) callRec(card, inmate, period string, charged time.Duration) record.Record {
	b.callID++
	return b.next(record.KindCall, record.Call{
		CallID: b.callID, Card: card, Inmate: inmate, Period: period, AuthorisedAt: b.e.clk.Now(),
		MaxMs: charged.Milliseconds(), TalkedMs: charged.Milliseconds(), ChargedMs: charged.Milliseconds(),
		EndReason: "hangup", ClockTrusted: true,
	})
}
