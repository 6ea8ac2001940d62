package systest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/uplink"
	"wartelsuspas/tools/centre/ca"
	"wartelsuspas/tools/testbed/faultproxy"
)

const facility = "lapas-test"

func testCards(n int) []record.CardInfo {
	cs := make([]record.CardInfo, n)
	for i := range cs {
		cs[i] = record.CardInfo{Card: fmt.Sprintf("em:%010X", i+1), Role: record.RoleInmate,
			Person: fmt.Sprintf("inmate-%d", i+1), Name: fmt.Sprintf("Inmate %d", i+1), Block: "A",
			Allowance: 30 * time.Minute}
	}
	return cs
}

// TestRosterSync: a full sync of thousands of cards cut short by the
// network changes nothing; the retry applies all of it; deltas then delete
// and block; a full resync deletes cards the centre no longer lists.
func TestRosterSync(t *testing.T) {
	ctx := context.Background()
	g := newTestGateway(t, nil)
	cards := testCards(3000)
	if _, err := g.ledger.UpsertCards(ctx, facility, "operator", cards); err != nil {
		t.Fatal(err)
	}
	st, _ := newBooth(t, device, 0)
	// A card the centre never had: a full resync must remove it.
	stale := record.CardInfo{Card: "em:STALE", Role: record.RoleInmate, Person: "gone", Name: "Gone"}
	if err := st.ApplyRoster(0, []record.CardInfo{stale}, nil); err != nil {
		t.Fatal(err)
	}
	p, err := faultproxy.New(faultproxy.Options{Target: g.addr(), Plan: func(n int, _ *rand.Rand) faultproxy.Action {
		if n == 0 { // past the handshake, inside the ~300 KB answer
			return faultproxy.Action{Fault: faultproxy.Truncate, Bytes: 60 << 10}
		}
		return faultproxy.Action{Fault: faultproxy.Pass}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	o := fastOptions(g, p.Addr(), st)
	u, err := uplink.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Sync(ctx); err == nil {
		t.Fatal("sync succeeded over a truncated answer")
	}
	if v, _ := st.RosterVersion(); v != 0 {
		t.Fatalf("roster version %d after a truncated sync, want 0", v)
	}
	if _, ok, _ := st.Card(cards[0].Card); ok {
		t.Fatal("a truncated sync applied a card")
	}
	if _, ok, _ := st.Card(stale.Card); !ok {
		t.Fatal("a truncated sync deleted a card")
	}

	if err := u.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	v1, _ := st.RosterVersion()
	if v1 == 0 || u.Status().RosterVersion != v1 || u.Status().LastSync.IsZero() {
		t.Fatalf("after full sync: version %d, status %+v", v1, u.Status())
	}
	for _, c := range cards {
		got, ok, err := st.Card(c.Card)
		if err != nil || !ok || !reflect.DeepEqual(got, c) {
			t.Fatalf("card %s after full sync: %+v %v %v, want %+v", c.Card, got, ok, err, c)
		}
	}
	if _, ok, _ := st.Card(stale.Card); ok {
		t.Fatal("full resync kept a card the centre does not list")
	}

	if _, err := g.ledger.DeleteCard(ctx, facility, cards[1].Card); err != nil {
		t.Fatal(err)
	}
	if _, err := g.ledger.BlockCard(ctx, facility, cards[2].Card, true); err != nil {
		t.Fatal(err)
	}
	if err := u.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if v2, _ := st.RosterVersion(); v2 <= v1 {
		t.Fatalf("delta left version at %d (was %d)", v2, v1)
	}
	if _, ok, _ := st.Card(cards[1].Card); ok {
		t.Error("deleted card still in the booth's roster")
	}
	if c, _, _ := st.Card(cards[2].Card); !c.Blocked {
		t.Error("blocked card not blocked at the booth")
	}
	if c, ok, _ := st.Card(cards[3].Card); !ok || !reflect.DeepEqual(c, cards[3]) {
		t.Error("a delta disturbed an unchanged card")
	}
}

// TestHeartbeatClock: a booth without a real-time clock learns the
// gateway's time and its own offset.
func TestHeartbeatClock(t *testing.T) {
	server := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	booth := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) // a Pi after boot
	g := newTestGateway(t, func() time.Time { return server })
	st, _ := newBooth(t, device, 4)
	fc := clock.NewFake(booth)
	o := fastOptions(g, g.addr(), st)
	o.Clock = fc
	var gotServer time.Time
	var gotOffset time.Duration
	o.OnServerTime = func(s time.Time, off time.Duration) { gotServer, gotOffset = s, off }
	o.State = func() uplink.BoothState {
		return uplink.BoothState{State: "tamper", Faults: []string{"panel_open"}, OutOfService: []string{"tamper"}}
	}
	o.BootID = "b00710"
	u, err := uplink.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Heartbeat(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := server.Sub(booth) // gateway minus booth: positive, the booth is behind
	if s := u.Status(); !s.ClockKnown || s.ClockOffset != want || s.OutboxDepth != 4 {
		t.Fatalf("status %+v, want offset %v and depth 4", s, want)
	}
	if !gotServer.Equal(server) || gotOffset != want {
		t.Fatalf("OnServerTime(%v, %v), want (%v, %v)", gotServer, gotOffset, server, want)
	}
	ds, err := g.ledger.Devices(context.Background(), facility)
	if err != nil || len(ds) != 1 || ds[0].OutboxDepth != 4 {
		t.Fatalf("gateway devices %+v, %v: want one with depth 4", ds, err)
	}
	// The heartbeat carries the booth's state and start; the next one the
	// offset the first measured, with the same sign (issue 13 item 1).
	if d := ds[0]; d.State != "tamper" || !slices.Equal(d.Faults, []string{"panel_open"}) || !slices.Equal(d.OutOfService, []string{"tamper"}) ||
		d.BootID != "b00710" || d.ClockOffset != 0 {
		t.Fatalf("gateway holds %+v, want the booth's state, causes, faults and boot id, offset not yet known", d)
	}
	if _, err := u.Heartbeat(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ds, err := g.ledger.Devices(context.Background(), facility); err != nil || ds[0].ClockOffset != want {
		t.Fatalf("gateway holds %+v, %v; want offset %v", ds, err, want)
	}
	// The heartbeat carries the store's chain head, none of it uploaded yet.
	chain, seq, hash := st.ChainHead()
	cs, err := g.ledger.Chains(context.Background(), device)
	if err != nil || len(cs) != 1 || cs[0].Chain != chain || chain == "" || cs[0].Reported != seq || seq != 4 || cs[0].ReportedHash != hash || cs[0].Stored != 0 {
		t.Fatalf("gateway chains %+v, %v: want chain %s reported at #4 (%s), nothing stored", cs, err, chain, hash)
	}
}

// TestAuthorise: the adapter maps the gateway's answer, a second booth
// finds the card busy until the lease is released, and a slow gateway
// yields the engine's deadline error.
func TestAuthorise(t *testing.T) {
	ctx := context.Background()
	g := newTestGateway(t, nil)
	card := testCards(1)[0]
	if _, err := g.ledger.UpsertCards(ctx, facility, "operator", []record.CardInfo{card}); err != nil {
		t.Fatal(err)
	}
	// Without a policy the centre has no period and answers nothing to talk.
	if _, err := g.ledger.SetPolicy(ctx, facility, []byte(`{"allowance_ms":600000,"period":"month","zone":"Asia/Jakarta"}`)); err != nil {
		t.Fatal(err)
	}
	st1, _ := newBooth(t, device, 0)
	u1, err := uplink.New(fastOptions(g, g.addr(), st1))
	if err != nil {
		t.Fatal(err)
	}
	o2 := fastOptions(g, g.addr(), st1)
	o2.TLS = g.clientTLS(facility, "b02")
	u2, err := uplink.New(o2)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := u1.Authorise(ctx, card.Card, card.Person, "2026-11-29")
	if err != nil {
		t.Fatal(err)
	}
	if r1.Remaining != card.Allowance || r1.Lease == "" || r1.Busy || len(r1.Period) != len("2026-11") {
		t.Fatalf("first authorise %+v, want %v remaining, a lease and the centre's month", r1, card.Allowance)
	}
	r2, err := u2.Authorise(ctx, card.Card, card.Person, "2026-11-29")
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Busy || r2.Lease != "" {
		t.Fatalf("second booth got %+v, want busy without a lease", r2)
	}
	if err := u1.Release(ctx, r1.Lease, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	if r2, err = u2.Authorise(ctx, card.Card, card.Person, "2026-11-29"); err != nil || r2.Busy || r2.Lease == "" {
		t.Fatalf("after release the second booth got %+v, %v", r2, err)
	}

	slow, err := faultproxy.New(faultproxy.Options{Target: g.addr(), Plan: func(int, *rand.Rand) faultproxy.Action {
		return faultproxy.Action{Fault: faultproxy.Delay, Delay: 3 * time.Second}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	u3, err := uplink.New(fastOptions(g, slow.Addr(), st1))
	if err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := u3.Authorise(dctx, card.Card, card.Person, "2026-11-29"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("authorise through a slow link: %v, want the deadline error", err)
	}
}

// TestIdentityRefused: a certificate from another CA, an expired one and
// a revoked one are refused at the handshake; a revoked device id is
// refused by the gateway; a booth cannot upload another booth's records.
// The booth keeps its records in every case.
func TestIdentityRefused(t *testing.T) {
	ctx := context.Background()
	g := newTestGateway(t, nil)
	st, _ := newBooth(t, device, 3)

	// Options first: enrolling registers the device, which would lift a
	// revocation made before it.
	good := fastOptions(g, g.addr(), st)
	other, err := ca.Init(t.TempDir(), "rogue CA")
	if err != nil {
		t.Fatal(err)
	}
	withCert := func(b bundle.Bundle) uplink.Options {
		t.Helper()
		pair, err := tls.X509KeyPair(b.CertPEM, b.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		o := good
		o.TLS = good.TLS.Clone()
		o.TLS.Certificates = []tls.Certificate{pair} // the gateway is still verified as before
		return o
	}
	rb, err := other.Enroll(facility, "b01", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rogue := withCert(rb)
	g.ca.Now = func() time.Time { return time.Now().Add(-48 * time.Hour) }
	eb, err := g.ca.Enroll(facility, "b01", time.Hour)
	g.ca.Now = nil
	if err != nil {
		t.Fatal(err)
	}
	expired := withCert(eb)
	impostor := fastOptions(g, g.addr(), st)
	impostor.TLS = g.clientTLS(facility, "b09")

	type refusal int
	const (
		handshake refusal = iota
		forbidden
	)
	check := func(t *testing.T, o uplink.Options, want refusal) {
		t.Helper()
		u, err := uplink.New(o)
		if err != nil {
			t.Fatal(err)
		}
		_, err = u.Drain(ctx)
		var he *uplink.HTTPError
		switch {
		case err == nil:
			t.Fatal("upload accepted")
		case want == handshake && errors.As(err, &he):
			t.Fatalf("refused by HTTP: %v; want refused at the handshake", err)
		case want == forbidden && (!errors.As(err, &he) || he.StatusCode != http.StatusForbidden || !he.Permanent() || he.Message == ""):
			t.Fatalf("got %v, want 403 with the gateway's reason", err)
		}
		if n, _ := st.Depth(); n != 3 {
			t.Fatalf("depth %d after a refused upload, want 3", n)
		}
		t.Log(err)
	}
	t.Run("other CA", func(t *testing.T) { check(t, rogue, handshake) })
	t.Run("expired", func(t *testing.T) { check(t, expired, handshake) })
	t.Run("other booth's records", func(t *testing.T) { check(t, impostor, forbidden) })
	t.Run("device revoked at the gateway", func(t *testing.T) {
		if err := g.ledger.RevokeDevice(ctx, device, time.Now()); err != nil {
			t.Fatal(err)
		}
		check(t, good, forbidden)
		if err := g.ledger.RegisterDevice(ctx, device, time.Now()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("certificate revoked in the CA", func(t *testing.T) {
		if err := g.ca.Revoke(device); err != nil {
			t.Fatal(err)
		}
		check(t, good, handshake)
	})
}

// TestPolicySync: the centre's rules document reaches the booth once, with
// the roster version that set it; if the booth cannot keep it, that version
// is not stored, so the next sync brings the document again.
func TestPolicySync(t *testing.T) {
	ctx := context.Background()
	g := newTestGateway(t, nil)
	doc := `{"allowance_ms":600000,"period":"day","zone":"Asia/Jakarta","hours":["08:00-11:30"]}`
	if _, err := g.ledger.SetPolicy(ctx, facility, []byte(doc)); err != nil {
		t.Fatal(err)
	}
	st, _ := newBooth(t, device, 0)
	o := fastOptions(g, g.addr(), st)
	var got []string
	fail := true
	o.OnPolicy = func(p json.RawMessage) error {
		got = append(got, string(p))
		if fail {
			return errors.New("disk full")
		}
		return nil
	}
	u, err := uplink.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Sync(ctx); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("sync with the policy refused: %v, want the refusal", err)
	}
	if v, _ := st.RosterVersion(); v != 0 {
		t.Fatalf("roster version %d stored though its policy was not kept", v)
	}
	fail = false
	if err := u.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := u.Sync(ctx); err != nil { // unchanged: no document
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != doc || got[1] != doc {
		t.Fatalf("policies delivered %q, want the document twice (refused, then kept) and no more", got)
	}
	if v, _ := st.RosterVersion(); v == 0 {
		t.Fatal("roster version not stored after the policy was kept")
	}
}
