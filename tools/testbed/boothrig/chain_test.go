package boothrig

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/store"
	"wartelsuspas/tools/centre/ca"
	"wartelsuspas/tools/centre/ledger"
)

// callAndHang makes a call at b that talks long enough to be charged (the
// booth's own countdown says so) and waits for the relay to open.
func callAndHang(t *testing.T, ctx context.Context, b *Booth, c cardid.ID) {
	t.Helper()
	s := talk(t, ctx, b, c)
	if _, err := b.WaitStatus(ctx, func(n Status) bool { return n.Session.LeftMs <= s.Session.LeftMs-1500 }); err != nil {
		t.Fatal(err)
	}
	if err := b.Hang(); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitRelay(ctx, false); err != nil {
		t.Fatal(err)
	}
}

// setConfig changes one key of b's kiosk.toml (the daemon stopped).
func setConfig(t *testing.T, b *Booth, section, key, value string) {
	t.Helper()
	doc, err := os.ReadFile(b.Config)
	if err != nil {
		t.Fatal(err)
	}
	out, ok := SetKey(string(doc), section, key, strconv.Quote(value))
	if !ok {
		t.Fatalf("%s has no %s in [%s]", b.Config, key, section)
	}
	if err := os.WriteFile(b.Config, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

// used is the inmate's charged usage today at the centre (the ledger's
// balance, as authorise reads it).
func used(t *testing.T, ctx context.Context, r *Rig, inmate string) time.Duration {
	t.Helper()
	l, err := r.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := policy.LoadZone("Asia/Jakarta")
	u, _, err := l.Balance(ctx, r.Facility(), inmate, policy.PeriodOf(time.Now(), policy.Day, loc).Key)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// waitStore waits until `wartel-gateway devices` lists b with want in its
// STORE column, and returns the row.
func waitStore(t *testing.T, ctx context.Context, r *Rig, b *Booth, want string) string {
	t.Helper()
	var row string
	for {
		out, err := r.Gateway.Output(ctx, "devices", "-facility", r.Facility())
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, b.Device+" ") {
				row = l
			}
		}
		if strings.Contains(row, want) {
			return row
		}
		select {
		case <-ctx.Done():
			t.Fatalf("wartel-gateway devices never showed %q for %s; last:\n%s", want, b.Device, out)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// storeReplaced returns the detail of the device's store_replaced event.
func storeReplaced(t *testing.T, ctx context.Context, r *Rig, device string) string {
	t.Helper()
	l, err := r.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := l.CentreEvents(ctx, r.Facility(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, e := range ev {
		if e.Kind == ledger.EventStoreReplaced && e.Device == device {
			details = append(details, e.Detail)
		}
	}
	if len(details) != 1 {
		t.Fatalf("store_replaced events of %s: %q, want one", device, details)
	}
	return details[0]
}

// TestRigStoreReplaced: a booth whose store starts again — the file
// truncated (`: > booth.db`) and the daemon restarted, or the booth
// re-enrolled (a new bundle, the same id) with a fresh store, as a
// replacement card is — is charged at the centre for its next call, its
// lease ends as the centre counts it, and `wartel-gateway devices` shows
// the store replaced.
func TestRigStoreReplaced(t *testing.T) {
	cases := []struct {
		name    string
		replace func(t *testing.T, ctx context.Context, r *Rig, b *Booth)
	}{
		{"truncated", func(t *testing.T, ctx context.Context, r *Rig, b *Booth) {
			// The WAL stays after a clean stop (docs/store.md): SQLite
			// deletes it when it opens the emptied file, so truncating
			// booth.db alone wipes the store
			// (TestWipedStoreWithKeptWALStartsAfresh in kiosk/store).
			db := filepath.Join(b.Dir, "booth.db")
			if _, err := os.Stat(db + "-wal"); err != nil {
				t.Fatalf("%s-wal after a clean stop: %v; the store keeps its WAL", db, err)
			}
			if err := os.Truncate(db, 0); err != nil { // : > booth.db
				t.Fatal(err)
			}
		}},
		{"re-enrolled", func(t *testing.T, ctx context.Context, r *Rig, b *Booth) {
			// The old card is gone: its certificate revoked, a new bundle
			// for the same booth id, a fresh store on the new card.
			if err := r.Gateway.Run(ctx, "revoke", "-device", b.Device); err != nil {
				t.Fatal(err)
			}
			bundle := filepath.Join(b.Dir, "bundle-2")
			if err := r.Gateway.Run(ctx, "enroll", "-facility", r.Facility(), "-booth", b.Name, "-out", bundle); err != nil {
				t.Fatal(err)
			}
			setConfig(t, b, "gateway", "bundle", bundle)
			setConfig(t, b, "store", "path", filepath.Join(b.Dir, "card-2.db"))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 4*hang)
			defer cancel()
			r := startRig(ctx, t, Options{})
			defer r.Close()
			b := r.Booths[0]
			callAndHang(t, ctx, b, card("budi"))
			waitCentre(t, ctx, r, func(m map[string]ledger.ReportRow) bool { return m["WBP-0001"].Calls == 1 })
			before := used(t, ctx, r, "WBP-0001")
			if before <= 0 {
				t.Fatalf("first call charged %v at the centre", before)
			}
			if err := b.Stop(); err != nil {
				t.Fatal(err)
			}
			tc.replace(t, ctx, r, b)
			if err := b.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := b.WaitStatus(ctx, func(s Status) bool { return s.Session.ClockTrusted && !s.Gateway.LastSync.IsZero() }); err != nil {
				t.Fatal(err)
			}
			callAndHang(t, ctx, b, card("budi"))
			m := waitCentre(t, ctx, r, func(m map[string]ledger.ReportRow) bool { return m["WBP-0001"].Calls == 2 })
			if after := used(t, ctx, r, "WBP-0001"); after <= before || after != m["WBP-0001"].Charged {
				t.Errorf("centre balance %v after the new store's call (was %v; report charged %v): want the call charged", after, before, m["WBP-0001"].Charged)
			}
			// The call's lease ended when the centre stored its record: the
			// inmate is free at any other booth.
			l, _ := r.Ledger()
			if _, busy, err := l.AcquireLease(ctx, r.Facility(), "WBP-0001", r.Facility()+"/elsewhere", time.Minute, time.Now()); err != nil || busy {
				t.Errorf("lease after the new store's call: busy %v (%v), want ended", busy, err)
			}
			row := waitStore(t, ctx, r, b, "REPLACED 1x, 0 lost")
			if strings.Contains(row, "revoked") {
				t.Errorf("devices row %q: the re-enrolled booth is not revoked", row)
			}
			if d := storeReplaced(t, ctx, r, b.Device); !strings.Contains(d, "0 records of the old chain lost") {
				t.Errorf("store_replaced detail %q, want nothing lost (the old store had drained)", d)
			}
		})
	}
}

// uploadBlocker is the booth's link to the gateway as a poor one can be:
// heartbeats, syncs and taps get through, uploads do not (while blocked).
// It is an HTTP proxy holding the gateway's CA and the booth's bundle, the
// only place an HTTP-level fault between the real daemons can be made.
type uploadBlocker struct {
	srv     *httptest.Server
	blocked atomic.Bool
}

func newUploadBlocker(t *testing.T, g *Gateway, bundleDir string) *uploadBlocker {
	t.Helper()
	c, err := ca.Load(filepath.Join(g.Dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := c.ServerCert(nil)
	if err != nil {
		t.Fatal(err)
	}
	bnd, err := bundle.Read(bundleDir)
	if err != nil {
		t.Fatal(err)
	}
	tlsc, err := bundle.ClientTLSConfig(bnd, bundle.ClientOpts{ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse("https://" + g.Addr)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: tlsc}
	u := &uploadBlocker{}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == protocol.PathUpload && u.blocked.Load() {
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"error":"link too poor for uploads"}`, http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	u.srv.TLS = ca.ServerTLSConfig(c.Certificate(), cert, nil)
	u.srv.StartTLS()
	t.Cleanup(u.srv.Close)
	return u
}

// TestRigUnsentTail: records written while the gateway could not take
// uploads, reported in the booth's heartbeat, then the store wiped before
// they were sent: the gateway names them lost, by count — the booth's own
// count of the records it never delivered.
func TestRigUnsentTail(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*hang)
	defer cancel()
	var link *uploadBlocker
	r := startRig(ctx, t, Options{Configure: func(b *Booth, doc string) (string, error) {
		link = newUploadBlocker(t, b.rig.Gateway, filepath.Join(b.Dir, "bundle"))
		out, ok := SetKey(doc, "gateway", "url", strconv.Quote(link.srv.URL))
		if !ok {
			return "", fmt.Errorf("no gateway.url")
		}
		return out, nil
	}})
	defer r.Close()
	b := r.Booths[0]
	l, err := r.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	callAndHang(t, ctx, b, card("budi"))
	waitCentre(t, ctx, r, func(m map[string]ledger.ReportRow) bool { return m["WBP-0001"].Calls == 1 })

	// Uploads fail from here; a call and a denial stay in the outbox.
	link.blocked.Store(true)
	callAndHang(t, ctx, b, card("siti"))
	if err := b.Tap(UnknownCard); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitStatus(ctx, func(s Status) bool { return s.Session.Denials == 1 && s.Outbox >= 2 }); err != nil {
		t.Fatal(err)
	}
	// The booth restarts (its first act is a heartbeat), then is stopped
	// for the technician, who wipes the store.
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(b.Dir, "booth.db")
	old, err := store.Open(db, store.Options{Device: b.Device})
	if err != nil {
		t.Fatal(err)
	}
	oldChain, headSeq, _ := old.ChainHead()
	old.Close()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var reported uint64
	for {
		cs, err := l.Chains(ctx, b.Device)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 1 && cs[0].Chain == oldChain && cs[0].Reported >= headSeq {
			reported = cs[0].Reported
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the gateway never heard head #%d of chain %s: %+v", headSeq, oldChain, cs)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	old, err = store.Open(db, store.Options{Device: b.Device})
	if err != nil {
		t.Fatal(err)
	}
	pending, err := old.Pending(0)
	old.Close()
	if err != nil {
		t.Fatal(err)
	}
	// What the booth had written, and not sent, when it last reported its
	// head; a record written after that heartbeat (the restart's clock
	// event) is beyond what anyone but the wiped card could know.
	unsent := 0
	for _, p := range pending {
		if p.Seq <= reported {
			unsent++
		}
	}
	if unsent < 2 {
		t.Fatalf("the old store held %d records unsent up to its reported head #%d (%d pending), want the call and the denial at least", unsent, reported, len(pending))
	}
	if err := os.Truncate(db, 0); err != nil {
		t.Fatal(err)
	}
	link.blocked.Store(false)
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitStatus(ctx, func(s Status) bool { return s.Session.ClockTrusted && !s.Gateway.LastSync.IsZero() }); err != nil {
		t.Fatal(err)
	}
	callAndHang(t, ctx, b, card("budi"))
	waitCentre(t, ctx, r, func(m map[string]ledger.ReportRow) bool { return m["WBP-0001"].Calls == 2 })
	waitStore(t, ctx, r, b, fmt.Sprintf("REPLACED 1x, %d lost", unsent))
	if d := storeReplaced(t, ctx, r, b.Device); !strings.Contains(d, fmt.Sprintf("%d records of the old chain lost", unsent)) {
		t.Errorf("store_replaced detail %q, want %d records lost", d, unsent)
	}
	cs, err := l.Chains(ctx, b.Device)
	if err != nil || len(cs) != 2 || !cs[0].Replaced || cs[0].Lost != uint64(unsent) || cs[1].Replaced {
		t.Errorf("chains %+v (%v), want the old one replaced with %d lost, then the new one", cs, err, unsent)
	}
}
