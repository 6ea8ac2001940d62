package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ca"
	"wartelsuspas/tools/centre/ledger"
)

// FuzzUpload feeds arbitrary bodies to the upload handler for a booth with a
// verified certificate: it must never panic, never answer 500 (a bad body
// is the booth's fault, not the gateway's), and a 200 must be a well-formed
// answer about the records sent.
func FuzzUpload(f *testing.F) {
	h, state, device := fuzzHandler(f)
	var prev *record.Record
	var recs []record.Record
	for seq := uint64(1); seq <= 3; seq++ {
		r := record.Record{Device: device, Seq: seq, Kind: record.KindDenial, Payload: json.RawMessage(`{"at":"2026-11-29T09:00:00Z","card":"em:0400D8B2A5","reason":"quota","clock_trusted":true}`)}
		r.Seal(prev)
		recs = append(recs, r)
		prev = &recs[len(recs)-1]
	}
	valid, _ := json.Marshal(protocol.UploadRequest{Records: recs})
	huge := recs[0]
	huge.Seq = 1 << 63
	bad, _ := json.Marshal(protocol.UploadRequest{Records: []record.Record{huge}})
	f.Add(bad)
	f.Add(valid)
	f.Add([]byte(`{"records":[]}`))
	f.Add([]byte(`{"records":[{"device":"lapas-test/b01","seq":1,"kind":"call","payload":{},"prev":"","hash":""}]}`))
	f.Add([]byte(`{"records":null}`))
	f.Add([]byte(`{"records":[{"seq":18446744073709551615}]}`))
	f.Add([]byte("\xff\xfe"))

	f.Fuzz(func(t *testing.T, body []byte) {
		w := fuzzServe(t, h, state, protocol.PathUpload, body)
		if w.Code == http.StatusOK {
			var got protocol.UploadResponse
			if err := protocol.Decode(w.Body, protocol.MaxBodyBytes, &got); err != nil {
				t.Fatalf("200 with an answer the booth cannot read: %v", err)
			}
			var sent protocol.UploadRequest
			if err := json.Unmarshal(body, &sent); err != nil || len(got.Results) != len(sent.Records) {
				t.Fatalf("200 with %d results for a body the gateway should not have accepted: %v", len(got.Results), err)
			}
		}
	})
}

// FuzzAPI does the same for the other /v1 handlers: any body, never a
// panic or a 500.
func FuzzAPI(f *testing.F) {
	h, state, _ := fuzzHandler(f)
	f.Add(uint8(0), []byte(`{"roster_version":0}`))
	f.Add(uint8(1), []byte(`{"card":"em:0400D8B2A5","inmate":"w1","period":"2026-11-29"}`))
	f.Add(uint8(2), []byte(`{"lease":"dzE.00","charged_ms":1}`))
	f.Add(uint8(2), []byte(`{"lease":"!!.","charged_ms":1}`))
	f.Add(uint8(3), []byte(`{"firmware":"1","state":"idle","outbox_depth":1,"clock_unix_ms":1,"clock_trusted":true,"faults":["x"],"roster_version":1}`))
	paths := []string{protocol.PathSync, protocol.PathAuthorise, protocol.PathRelease, protocol.PathHeartbeat}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		fuzzServe(t, h, state, paths[int(which)%len(paths)], body)
	})
}

// fuzzServe serves one request and checks the status is one a booth can
// act on, with an error body when it is a refusal.
func fuzzServe(t *testing.T, h http.Handler, state *tls.ConnectionState, path string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.TLS = state
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	switch w.Code {
	case http.StatusOK, http.StatusNoContent:
	case http.StatusBadRequest, http.StatusForbidden, http.StatusRequestEntityTooLarge:
		var eb protocol.Error
		if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error == "" {
			t.Fatalf("%s: status %d without an error message: %q", path, w.Code, w.Body)
		}
	default:
		t.Fatalf("%s: status %d for body %q: %s", path, w.Code, body, w.Body)
	}
	return w
}

// fuzzHandler is a handler on a fresh SQLite ledger with a roster and a
// policy, and the TLS state of an enrolled booth of it.
func fuzzHandler(f testing.TB) (http.Handler, *tls.ConnectionState, string) {
	c, err := ca.Init(f.TempDir(), "fuzz CA")
	if err != nil {
		f.Fatal(err)
	}
	b, err := c.Enroll(facility, "b01", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	blk, _ := pem.Decode(b.CertPEM)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		f.Fatal(err)
	}
	state := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}, VerifiedChains: [][]*x509.Certificate{{cert, c.Certificate()}}}
	store, err := ledger.OpenSQLite(f.TempDir() + "/gateway.db")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	h, err := New(Options{Ledger: store, Rate: 1e9, Burst: 1 << 30, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}

	ctx := context.Background()
	if _, err := store.SetPolicy(ctx, facility, []byte(`{"allowance_ms":600000,"period":"day","zone":"Asia/Jakarta"}`)); err != nil {
		f.Fatal(err)
	}
	if _, err := store.UpsertCards(ctx, facility, "operator", []record.CardInfo{{Card: "em:0400D8B2A5", Role: record.RoleInmate, Person: "w1"}}); err != nil {
		f.Fatal(err)
	}
	return h, state, b.Device
}
