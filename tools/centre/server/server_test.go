package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ca"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/centre/ledger/ledgertest"
)

const facility = "lapas-test"

func TestUpload(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		b := e.booth(facility, "b01")
		batch := []record.Record{b.callRec("em:0400D8B2A5", "w1", "2026-11-29", time.Minute), b.callRec("em:0400D8B2A5", "w1", "2026-11-29", 2*time.Minute)}

		var got protocol.UploadResponse
		b.call(protocol.PathUpload, protocol.UploadRequest{Records: batch}, &got)
		if got.StoredUpTo != 2 || len(got.Results) != 2 || got.Results[0].Status != protocol.StatusStored || got.Results[1].Status != protocol.StatusStored {
			t.Fatalf("first upload: %+v, want 2 stored up to 2", got)
		}
		// The answer was lost; the booth sends the same batch again.
		b.call(protocol.PathUpload, protocol.UploadRequest{Records: batch}, &got)
		if got.StoredUpTo != 2 || got.Results[0].Status != protocol.StatusDuplicate || got.Results[1].Status != protocol.StatusDuplicate || len(got.ChainErrors) != 0 {
			t.Fatalf("repeated upload: %+v, want 2 duplicates, no chain error", got)
		}
		// Seq 3 is lost on the way: 4 is a gap, stored and flagged, not mended.
		b.callRec("em:0400D8B2A5", "w1", "2026-11-29", time.Minute)
		r4 := b.callRec("em:0400D8B2A5", "w1", "2026-11-29", time.Minute)
		b.call(protocol.PathUpload, protocol.UploadRequest{Records: []record.Record{r4}}, &got)
		if got.StoredUpTo != 2 || got.Results[0].Status != protocol.StatusStored || len(got.ChainErrors) == 0 {
			t.Fatalf("upload after a gap: %+v, want seq 4 stored, stored_up_to 2 and a chain error", got)
		}
		if n := testutil.ToFloat64(e.h.metrics.chainErrors); n < 1 {
			t.Errorf("chain error metric %v, want ≥ 1", n)
		}
		// Seq 3 arrives late: the booth may now forget up to 4.
		b.call(protocol.PathUpload, protocol.UploadRequest{Records: b.recs[2:3]}, &got)
		if got.StoredUpTo != 4 {
			t.Fatalf("after the late record: stored_up_to %d, want 4", got.StoredUpTo)
		}
		if n := testutil.ToFloat64(e.h.metrics.ingested.WithLabelValues("stored")); n != 4 {
			t.Errorf("stored metric %v, want 4", n)
		}
	})
}

func TestUploadRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		b := e.booth(facility, "b01")
		other := e.booth(facility, "b02")
		forged := other.callRec("em:0400D8B2A5", "w1", "2026-11-29", time.Minute)
		good, _ := json.Marshal(protocol.UploadRequest{Records: []record.Record{b.callRec("em:0400D8B2A5", "w1", "2026-11-29", time.Minute)}})
		huge := record.Record{Device: b.device, Seq: 1 << 63, Kind: record.KindEvent, Payload: []byte(`{}`)}
		huge.Seal(nil)
		tests := []struct {
			name   string
			body   any
			status int
			field  string // the field the error must name
		}{
			{"forged device", protocol.UploadRequest{Records: []record.Record{forged}}, http.StatusForbidden, "records[0].device"},
			{"wrong type", []byte(`{"records":[{"device":"` + b.device + `","seq":"one"}]}`), http.StatusBadRequest, "records[0].seq"},
			{"unknown field", bytes.Replace(good, []byte(`{"records"`), []byte(`{"extra":1,"records"`), 1), http.StatusBadRequest, "extra"},
			{"seq out of range", protocol.UploadRequest{Records: []record.Record{huge}}, http.StatusBadRequest, "records[0].seq"},
			{"not JSON", []byte(`{"records":[`), http.StatusBadRequest, ""},
			{"oversized", bytes.Repeat([]byte(" "), protocol.MaxBodyBytes+1), http.StatusRequestEntityTooLarge, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, got, _, err := b.post(protocol.PathUpload, tt.body)
				if err != nil {
					t.Fatal(err)
				}
				var eb protocol.Error
				if status != tt.status || json.Unmarshal(got, &eb) != nil || eb.Error == "" {
					t.Fatalf("status %d body %s, want %d with an error body", status, got, tt.status)
				}
				if tt.field != "" && eb.Field != tt.field {
					t.Errorf("error names field %q (%s), want %q", eb.Field, eb.Error, tt.field)
				}
			})
		}
		// Nothing of the forged batch was stored.
		var got protocol.UploadResponse
		other.call(protocol.PathUpload, protocol.UploadRequest{Records: other.recs}, &got)
		if got.Results[0].Status != protocol.StatusStored {
			t.Errorf("b02's own record after the forgery: %+v, want stored (the forgery stored nothing)", got)
		}
		resp, err := b.client.Get(e.srv.URL + protocol.PathUpload)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET: status %d, want 405", resp.StatusCode)
		}
	})
}

// TestRefusedCertificates: revoked (in the ledger or at the CA), expired,
// foreign and missing client certificates get nothing.
func TestRefusedCertificates(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		hb := protocol.HeartbeatRequest{Firmware: "1.0", State: "idle", Faults: []string{}}
		// Revoked in the ledger: a kept-alive connection is refused per request.
		b := e.booth(facility, "b01")
		b.call(protocol.PathHeartbeat, hb, &protocol.HeartbeatResponse{})
		if err := store.RevokeDevice(context.Background(), b.device, e.clk.Now()); err != nil {
			t.Fatal(err)
		}
		if status, got, _, err := b.post(protocol.PathHeartbeat, hb); err != nil || status != http.StatusForbidden || !strings.Contains(string(got), "revoked") {
			t.Errorf("heartbeat of a device revoked in the ledger: %d %s %v, want 403 saying revoked", status, got, err)
		}
		// Revoked at the CA: the handshake of a new connection fails.
		c := e.booth(facility, "b02")
		if err := e.ca.Revoke(c.device); err != nil {
			t.Fatal(err)
		}
		if status, _, _, err := c.post(protocol.PathHeartbeat, hb); err == nil {
			t.Errorf("heartbeat with a revoked certificate: status %d, want a refused handshake", status)
		}
		// An expired certificate and one of another CA are refused at the handshake.
		e.ca.Now = func() time.Time { return time.Now().Add(-48 * time.Hour) }
		old, err := e.ca.Enroll(facility, "b03", 24*time.Hour)
		e.ca.Now = nil
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := e.ca.Enroll(facility, "b05", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		// rawPost skips ClientTLSConfig, which would refuse an expired bundle itself.
		rawPost := func(b bundle.Bundle) (int, error) {
			pair, err := tls.X509KeyPair(b.CertPEM, b.KeyPEM)
			if err != nil {
				t.Fatal(err)
			}
			roots := x509.NewCertPool()
			roots.AddCert(e.ca.Certificate())
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots, ServerName: "127.0.0.1"}}, Timeout: 10 * time.Second}
			defer c.CloseIdleConnections()
			resp, err := c.Post(e.srv.URL+protocol.PathSync, "application/json", strings.NewReader(`{"roster_version":0}`))
			if err != nil {
				return 0, err
			}
			resp.Body.Close()
			return resp.StatusCode, nil
		}
		if status, err := rawPost(fresh); err != nil || status != http.StatusOK {
			t.Fatalf("control: a valid certificate the same way: %d %v, want 200", status, err)
		}
		if status, err := rawPost(old); err == nil {
			t.Errorf("sync with an expired certificate: status %d, want a refused handshake", status)
		}
		other, err := ca.Init(t.TempDir(), "another CA")
		if err != nil {
			t.Fatal(err)
		}
		stranger := (&env{t: t, ca: other, store: store, clk: e.clk, srv: e.srv}).booth(facility, "b04")
		if status, _, _, err := stranger.post(protocol.PathHeartbeat, hb); err == nil {
			t.Errorf("heartbeat with a certificate of another CA: status %d, want a refused handshake", status)
		}
		// A client without any certificate is refused at the handshake.
		anon := &http.Client{Transport: &http.Transport{TLSClientConfig: e.srv.Client().Transport.(*http.Transport).TLSClientConfig}, Timeout: 10 * time.Second}
		if resp, err := anon.Post(e.srv.URL+protocol.PathHeartbeat, "application/json", strings.NewReader("{}")); err == nil {
			resp.Body.Close()
			t.Errorf("client without a certificate: status %d, want a refused handshake", resp.StatusCode)
		}
	})
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, backends()[0].open(t), func(o *Options) { o.Rate, o.Burst = 1, 3 })
	b := e.booth(facility, "b01")
	other := e.booth(facility, "b02")
	hb := protocol.HeartbeatRequest{Firmware: "1.0", State: "idle", Faults: []string{}}
	for i := range 3 {
		if status, got, _, err := b.post(protocol.PathHeartbeat, hb); err != nil || status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s %v", i+1, status, got, err)
		}
	}
	status, _, hdr, err := b.post(protocol.PathHeartbeat, hb)
	if err != nil || status != http.StatusTooManyRequests || hdr.Get("Retry-After") != "1" {
		t.Fatalf("request over the burst: %d Retry-After %q %v, want 429 with Retry-After 1", status, hdr.Get("Retry-After"), err)
	}
	other.call(protocol.PathHeartbeat, hb, &protocol.HeartbeatResponse{}) // one device's limit is not another's
	e.clk.Advance(time.Second)
	b.call(protocol.PathHeartbeat, hb, &protocol.HeartbeatResponse{})
}

func TestLimiterProperties(t *testing.T) {
	tests := []struct {
		rate  float64
		burst int
		step  time.Duration
		n     int
		want  int // requests allowed
	}{
		{rate: 1, burst: 3, step: 0, n: 10, want: 3},
		{rate: 10, burst: 1, step: 100 * time.Millisecond, n: 10, want: 10},
		{rate: 1, burst: 2, step: 500 * time.Millisecond, n: 10, want: 6}, // 2 + 4 refills over 4.5 s
		{rate: 1, burst: 2, step: -time.Second, n: 5, want: 2},            // a clock stepping back refills nothing
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%g/s burst %d step %v", tt.rate, tt.burst, tt.step), func(t *testing.T) {
			now := start
			l := newLimiter(tt.rate, tt.burst, func() time.Time { return now })
			got := 0
			for range tt.n {
				if _, ok := l.allow("d"); ok {
					got++
				}
				now = now.Add(tt.step)
			}
			if got != tt.want {
				t.Errorf("allowed %d of %d, want %d", got, tt.n, tt.want)
			}
		})
	}
}

func setRoster(t *testing.T, e *env, policyDoc string, cards ...record.CardInfo) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.store.SetPolicy(ctx, facility, []byte(policyDoc)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.UpsertCards(ctx, facility, "operator", cards); err != nil {
		t.Fatal(err)
	}
	ledgertest.ApproveOfficers(t, e.store, facility, "supervisor")
}

func TestAuthoriseSharedQuotaAndLease(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, func(o *Options) { o.LeaseTTL = time.Minute })
		setRoster(t, e, `{"allowance_ms":600000,"period":"day","zone":"Asia/Jakarta"}`,
			record.CardInfo{Card: "em:0400D8B2A5", Role: record.RoleInmate, Person: "w1", Name: "A"},
			record.CardInfo{Card: "em:0400D8B2A6", Role: record.RoleInmate, Person: "w2", Name: "B", Allowance: 5 * time.Minute},
			record.CardInfo{Card: "em:0400D8B2A7", Role: record.RoleInmate, Person: "w3", Name: "C", Blocked: true},
			record.CardInfo{Card: "em:0A00000001", Role: record.RoleOfficer, Person: "p1", Name: "P"},
		)
		a, b := e.booth(facility, "b01"), e.booth(facility, "b02")
		const period = "2026-11-29"
		auth := func(bo *booth, card, inmate string) protocol.AuthoriseResponse {
			var r protocol.AuthoriseResponse
			bo.call(protocol.PathAuthorise, protocol.AuthoriseRequest{Card: card, Inmate: inmate, Period: period}, &r)
			return r
		}
		r := auth(a, "em:0400D8B2A5", "w1")
		if r.RemainingMs != 600000 || r.Lease == "" || r.Busy || r.LeaseTTLMs != 660000 {
			t.Fatalf("first tap at b01: %+v, want 10 min with a lease of 11 min (10 + 1 margin)", r)
		}
		if r2 := auth(b, "em:0400D8B2A5", "w1"); !r2.Busy || r2.Lease != "" {
			t.Fatalf("tap at b02 while b01 talks: %+v, want busy", r2)
		}
		// b01's call of 4 minutes ends; b02's earlier usage of 1 minute arrives late.
		a.call(protocol.PathUpload, protocol.UploadRequest{Records: []record.Record{a.callRec("em:0400D8B2A5", "w1", period, 4*time.Minute)}}, &protocol.UploadResponse{})
		b.call(protocol.PathUpload, protocol.UploadRequest{Records: []record.Record{b.callRec("em:0400D8B2A5", "w1", period, time.Minute)}}, &protocol.UploadResponse{})
		a.call(protocol.PathRelease, protocol.ReleaseRequest{Lease: r.Lease, ChargedMs: 240000}, nil)
		r2 := auth(b, "em:0400D8B2A5", "w1")
		if r2.Busy || r2.Lease == "" || r2.RemainingMs != 300000 {
			t.Fatalf("tap at b02 after release: %+v, want 5 min left with a lease", r2)
		}
		// An officer's grant at b01 counts facility-wide.
		a.call(protocol.PathUpload, protocol.UploadRequest{Records: []record.Record{a.next(record.KindOfficer, record.Officer{
			At: e.clk.Now(), Officer: "p1", OfficerCard: "em:0A00000001", Action: "grant", Inmate: "w1", Period: period, CreditMs: 120000, ClockTrusted: true,
		})}}, &protocol.UploadResponse{})
		// b02 never releases: the lease lapses after the longest call it
		// covered (5 min) and the margin (1 min), not before.
		e.clk.Advance(6*time.Minute - time.Millisecond)
		if r3 := auth(a, "em:0400D8B2A5", "w1"); !r3.Busy {
			t.Fatalf("tap at b01 while b02 holds the lease: %+v, want busy", r3)
		}
		e.clk.Advance(time.Millisecond)
		if r3 := auth(a, "em:0400D8B2A5", "w1"); r3.Busy || r3.RemainingMs != 420000 {
			t.Fatalf("tap at b01 after b02's lease lapsed: %+v, want 7 min (5 + 2 granted)", r3)
		}
		tests := []struct {
			name, card, inmate string
			wantMs             int64
		}{
			{"own allowance", "em:0400D8B2A6", "w2", 300000},
			{"blocked card", "em:0400D8B2A7", "w3", 0},
			{"unknown card", "em:0400D8B2FF", "w9", 0},
			{"card of another inmate", "em:0400D8B2A6", "w1", 0},
		}
		for _, tt := range tests {
			if r := auth(b, tt.card, tt.inmate); r.RemainingMs != tt.wantMs || (tt.wantMs == 0) != (r.Lease == "") {
				t.Errorf("%s: %+v, want %d ms", tt.name, r, tt.wantMs)
			}
		}
		// A lease token that is not ours is refused, naming the field.
		if status, got, _, _ := b.post(protocol.PathRelease, protocol.ReleaseRequest{Lease: "nonsense"}); status != http.StatusBadRequest || !strings.Contains(string(got), `"lease"`) {
			t.Errorf("release of a foreign lease: %d %s, want 400 naming lease", status, got)
		}
	})
}

func TestSync(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		const pol = `{"allowance_ms":600000,"period":"day","zone":"Asia/Jakarta","hours":["08:00-11:30"]}`
		setRoster(t, e, pol,
			record.CardInfo{Card: "em:0400D8B2A5", Role: record.RoleInmate, Person: "w1", Name: "A"},
			record.CardInfo{Card: "14a:04A1B2C3", Role: record.RoleOfficer, Person: "p1", Name: "Officer"},
		)
		b := e.booth(facility, "b01")
		var full protocol.SyncResponse
		b.call(protocol.PathSync, protocol.SyncRequest{}, &full)
		if !full.Full || len(full.Upserts) != 2 || full.Policy == nil {
			t.Fatalf("first sync: %+v, want the full roster of 2 with the policy", full)
		}
		var same protocol.SyncResponse
		b.call(protocol.PathSync, protocol.SyncRequest{RosterVersion: full.Version}, &same)
		if same.Version != full.Version || same.Full || len(same.Upserts) != 0 || len(same.Deletes) != 0 || same.Policy != nil {
			t.Fatalf("sync when up to date: %+v, want an empty delta at %d", same, full.Version)
		}
		ctx := context.Background()
		if _, err := store.BlockCard(ctx, facility, "em:0400D8B2A5", true); err != nil {
			t.Fatal(err)
		}
		if _, err := store.DeleteCard(ctx, facility, "14a:04A1B2C3"); err != nil {
			t.Fatal(err)
		}
		var delta protocol.SyncResponse
		b.call(protocol.PathSync, protocol.SyncRequest{RosterVersion: full.Version}, &delta)
		if delta.Full || delta.Version <= full.Version || len(delta.Upserts) != 1 || !delta.Upserts[0].Blocked ||
			len(delta.Deletes) != 1 || delta.Deletes[0] != "14a:04A1B2C3" || delta.Policy != nil {
			t.Fatalf("delta after block and delete: %+v", delta)
		}
		// Another facility's booth sees none of it.
		var otherFull protocol.SyncResponse
		e.booth("lapas-lain", "b01").call(protocol.PathSync, protocol.SyncRequest{}, &otherFull)
		if len(otherFull.Upserts) != 0 {
			t.Errorf("other facility's sync: %+v, want no cards", otherFull)
		}
	})
}

func TestHeartbeat(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		a, b := e.booth(facility, "b01"), e.booth(facility, "b02")
		var r protocol.HeartbeatResponse
		a.call(protocol.PathHeartbeat, protocol.HeartbeatRequest{Firmware: "1.2", State: "idle", OutboxDepth: 7, ClockUnixMs: 1, Faults: []string{}}, &r)
		if r.ServerUnixMs != e.clk.Now().UnixMilli() {
			t.Fatalf("server time %d, want the gateway clock %d", r.ServerUnixMs, e.clk.Now().UnixMilli())
		}
		e.clk.Advance(3 * time.Minute)
		b.call(protocol.PathHeartbeat, protocol.HeartbeatRequest{Firmware: "1.2", State: "talking", OutboxDepth: 2, Faults: []string{"reader_down"}}, &r)
		if r.ServerUnixMs != e.clk.Now().UnixMilli() {
			t.Fatalf("server time %d after 3 min, want %d", r.ServerUnixMs, e.clk.Now().UnixMilli())
		}
		want := `
# HELP wartel_booths_online Booths of a facility whose last heartbeat is within the online window.
# TYPE wartel_booths_online gauge
wartel_booths_online{facility="lapas-test"} 1
# HELP wartel_outbox_depth Records waiting in a booth's outbox, as its last heartbeat reported.
# TYPE wartel_outbox_depth gauge
wartel_outbox_depth{device="lapas-test/b01"} 7
wartel_outbox_depth{device="lapas-test/b02"} 2
`
		if err := testutil.GatherAndCompare(e.reg, strings.NewReader(want), "wartel_booths_online", "wartel_outbox_depth"); err != nil {
			t.Error(err)
		}
		if status, got, _, _ := a.post(protocol.PathHeartbeat, protocol.HeartbeatRequest{OutboxDepth: -1, Faults: []string{}}); status != http.StatusBadRequest {
			t.Errorf("negative outbox depth: %d %s, want 400", status, got)
		}
	})
}

// TestStoredRecordEndsLease: the lease a call or a denial record carries
// ends when the gateway stores that record, so the inmate may call at the
// next booth at once; a record without a lease, or whose upload is refused,
// ends nothing.
func TestStoredRecordEndsLease(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, func(o *Options) { o.LeaseTTL = time.Minute })
		setRoster(t, e, `{"allowance_ms":600000,"period":"day","zone":"Asia/Jakarta"}`,
			record.CardInfo{Card: "em:0400D8B2A5", Role: record.RoleInmate, Person: "w1", Name: "A"},
			record.CardInfo{Card: "em:0400D8B2A6", Role: record.RoleInmate, Person: "w2", Name: "B"},
		)
		a, b := e.booth(facility, "b01"), e.booth(facility, "b02")
		const period = "2026-11-29"
		auth := func(bo *booth, card, inmate string) protocol.AuthoriseResponse {
			var r protocol.AuthoriseResponse
			bo.call(protocol.PathAuthorise, protocol.AuthoriseRequest{Card: card, Inmate: inmate, Period: period}, &r)
			return r
		}
		upload := func(bo *booth, kind record.Kind, payload any) {
			bo.call(protocol.PathUpload, protocol.UploadRequest{Records: []record.Record{bo.next(kind, payload)}}, &protocol.UploadResponse{})
		}
		// A call record without its lease ends nothing.
		r := auth(a, "em:0400D8B2A5", "w1")
		upload(a, record.KindCall, record.Call{CallID: 1, Card: "em:0400D8B2A5", Inmate: "w1", Period: period, AuthorisedAt: e.clk.Now(),
			MaxMs: 60000, TalkedMs: 60000, ChargedMs: 60000, EndReason: "hangup", ClockTrusted: true})
		if r2 := auth(b, "em:0400D8B2A5", "w1"); !r2.Busy {
			t.Fatalf("b02 while b01's lease stands: %+v, want busy", r2)
		}
		// The record carrying it ends it.
		upload(a, record.KindCall, record.Call{CallID: 2, Card: "em:0400D8B2A5", Inmate: "w1", Period: period, AuthorisedAt: e.clk.Now(),
			MaxMs: 60000, TalkedMs: 60000, ChargedMs: 60000, EndReason: "hangup", ClockTrusted: true, Lease: r.Lease})
		if r2 := auth(b, "em:0400D8B2A5", "w1"); r2.Busy || r2.RemainingMs != 480000 {
			t.Fatalf("b02 once b01's call is stored: %+v, want 8 min and a lease", r2)
		}
		// A denial after a lease (the booth refused the tap itself) ends it too.
		r3 := auth(a, "em:0400D8B2A6", "w2")
		upload(a, record.KindDenial, record.Denial{At: e.clk.Now(), Card: "em:0400D8B2A6", Inmate: "w2", Reason: "too_soon", ClockTrusted: true, Lease: r3.Lease})
		if r4 := auth(b, "em:0400D8B2A6", "w2"); r4.Busy {
			t.Fatalf("b02 after b01 denied and stored the denial: %+v, want no longer busy", r4)
		}
	})
}

// TestChainOverTheWire: the gateway takes the chain of records and the head
// of heartbeats from the wire: stored_up_to is per chain, a store started
// again is stored and charged with its store_replaced event, a batch mixing
// chains is refused naming the field, and a heartbeat naming another hash
// for a stored seq is flagged a rewrite.
func TestChainOverTheWire(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		b := e.booth(facility, "b01")
		b.chain = record.NewChainID()
		b.callRec("em:0400D8B2A5", "w1", "2026-11-29", time.Minute)
		b.callRec("em:0400D8B2A5", "w1", "2026-11-29", time.Minute)
		var got protocol.UploadResponse
		b.call(protocol.PathUpload, protocol.UploadRequest{Records: b.recs}, &got)
		if got.StoredUpTo != 2 {
			t.Fatalf("first chain: %+v", got)
		}
		old := b.recs
		b.call(protocol.PathHeartbeat, protocol.HeartbeatRequest{Faults: []string{}, Chain: b.chain, HeadSeq: 2, HeadHash: old[1].Hash}, &protocol.HeartbeatResponse{})

		// The store is wiped: a new chain from seq 1.
		b.recs, b.chain = nil, record.NewChainID()
		b.callRec("em:0400D8B2A5", "w1", "2026-11-29", 3*time.Minute)
		mixed := []record.Record{b.recs[0], old[1]}
		if status, body, _, _ := b.post(protocol.PathUpload, protocol.UploadRequest{Records: mixed}); status != http.StatusBadRequest || !strings.Contains(string(body), `"records[1].chain"`) {
			t.Errorf("mixed chains: %d %s, want 400 naming records[1].chain", status, body)
		}
		b.call(protocol.PathUpload, protocol.UploadRequest{Records: b.recs}, &got)
		if got.StoredUpTo != 1 || got.Results[0].Status != protocol.StatusStored {
			t.Fatalf("new chain: %+v, want #1 stored, stored_up_to 1", got)
		}
		if used, _, err := store.Balance(context.Background(), facility, "w1", "2026-11-29"); err != nil || used != 5*time.Minute {
			t.Errorf("balance %v (%v), want both chains' 5m0s", used, err)
		}
		ev, err := store.CentreEvents(context.Background(), facility, time.Time{})
		if err != nil || len(ev) != 1 || ev[0].Kind != ledger.EventStoreReplaced {
			t.Errorf("centre events %+v (%v), want one store_replaced", ev, err)
		}
		// A heartbeat of the new chain naming a hash #1 was not stored with.
		b.call(protocol.PathHeartbeat, protocol.HeartbeatRequest{Faults: []string{}, Chain: b.chain, HeadSeq: 1, HeadHash: old[0].Hash}, &protocol.HeartbeatResponse{})
		ces, err := store.ChainErrors(context.Background(), b.device)
		if err != nil || len(ces) != 1 || ces[0].Kind != ledger.FlagRewrite || ces[0].Chain != b.chain || ces[0].Seq != 1 {
			t.Errorf("chain errors %+v (%v), want rewrite@1 of the new chain", ces, err)
		}
		if status, body, _, _ := b.post(protocol.PathHeartbeat, protocol.HeartbeatRequest{Faults: []string{}, HeadSeq: 4}); status != http.StatusBadRequest || !strings.Contains(string(body), "head_hash") {
			t.Errorf("head without hash: %d %s, want 400 naming head_hash", status, body)
		}
	})
}
