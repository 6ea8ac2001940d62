package server

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
)

// One hostile booth's records (a charge of 9.3e12 ms, two of MaxInt64, a
// credit of MaxInt64) never break authorise or the report: the inmate they
// name and another inmate both get 200 with sane figures (issue 12 item 4).
func TestAuthoriseAfterHostileRecords(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		setRoster(t, e, `{"allowance_ms":600000,"period":"day","zone":"Asia/Jakarta"}`,
			record.CardInfo{Card: "em:0400D8B2A5", Role: record.RoleInmate, Person: "w1", Name: "A"},
			record.CardInfo{Card: "em:0400D8B2A6", Role: record.RoleInmate, Person: "w2", Name: "B"},
			record.CardInfo{Card: "em:0A00000001", Role: record.RoleOfficer, Person: "p1", Name: "P"},
		)
		const period = "2026-11-29"
		bad, good := e.booth(facility, "b01"), e.booth(facility, "b02")
		call := func(charged int64) record.Call {
			return record.Call{CallID: 1, Card: "em:0400D8B2A5", Inmate: "w1", Period: period, AuthorisedAt: e.clk.Now(),
				MaxMs: charged, TalkedMs: charged, ChargedMs: charged, EndReason: "hangup", ClockTrusted: true}
		}
		bad.call(protocol.PathUpload, protocol.UploadRequest{Records: []record.Record{
			bad.next(record.KindCall, call(9.3e12)),
			bad.next(record.KindCall, call(math.MaxInt64)),
			bad.next(record.KindCall, call(math.MaxInt64)),
			bad.next(record.KindOfficer, record.Officer{At: e.clk.Now(), Officer: "p1", OfficerCard: "em:0A00000001", Action: "grant",
				Inmate: "w1", Period: period, CreditMs: math.MaxInt64, RosterVersion: 1}),
		}}, &protocol.UploadResponse{})
		good.call(protocol.PathUpload, protocol.UploadRequest{Records: []record.Record{good.callRec("em:0400D8B2A6", "w2", period, time.Minute)}}, &protocol.UploadResponse{})
		for _, tc := range []struct {
			card, inmate string
			wantMs       int64
		}{{"em:0400D8B2A5", "w1", 600000}, {"em:0400D8B2A6", "w2", 540000}} {
			status, body, _, err := good.post(protocol.PathAuthorise, protocol.AuthoriseRequest{Card: tc.card, Inmate: tc.inmate, Period: period})
			if err != nil || status != http.StatusOK {
				t.Fatalf("authorise %s: %d %s %v, want 200", tc.inmate, status, body, err)
			}
			var r protocol.AuthoriseResponse
			if err := protocol.Decode(bytes.NewReader(body), protocol.MaxBodyBytes, &r); err != nil {
				t.Fatal(err)
			}
			if r.RemainingMs != tc.wantMs || r.Lease == "" || r.LeaseTTLMs != tc.wantMs+DefaultLeaseTTL.Milliseconds() {
				t.Errorf("authorise %s: %+v, want %d ms left and a lease", tc.inmate, r, tc.wantMs)
			}
		}
		if _, err := store.MonthlyReport(t.Context(), facility, "2026-11"); err != nil {
			t.Errorf("monthly report after the hostile records: %v", err)
		}
		flags, _ := store.ChainErrors(t.Context(), bad.device)
		if len(flags) != 4 {
			t.Errorf("flags %+v, want the four hostile records flagged", flags)
		}
	})
}

// The centre computes the period from its own clock and the facility's
// policy: a booth sending 1999-01-01 or garbage-period gets today's
// balance, not a fresh allowance, and the answer names the centre's
// period; the difference is logged (issue 12 item 6).
func TestAuthoriseCentrePeriod(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		var logs syncBuffer
		e := newEnv(t, store, func(o *Options) { o.Log = slog.New(slog.NewTextHandler(&logs, nil)) })
		// start is 09:00 UTC: 16:00 WIB on 29 November, 18:00 WIT.
		setRoster(t, e, `{"allowance_ms":600000,"period":"day","zone":"Asia/Jakarta"}`,
			record.CardInfo{Card: "em:0400D8B2A5", Role: record.RoleInmate, Person: "w1", Name: "A"},
		)
		b := e.booth(facility, "b01")
		b.call(protocol.PathUpload, protocol.UploadRequest{Records: []record.Record{b.callRec("em:0400D8B2A5", "w1", "2026-11-29", 4*time.Minute)}}, &protocol.UploadResponse{})
		for _, tc := range []struct {
			name, sent string
			advance    time.Duration
			wantPeriod string
			wantMs     int64
			logged     bool
		}{
			{"the booth agrees", "2026-11-29", 0, "2026-11-29", 360000, false},
			{"a booth in 1999", "1999-01-01", 0, "2026-11-29", 360000, true},
			{"garbage", "garbage-period", 0, "2026-11-29", 360000, true},
			{"tomorrow by the booth's fast clock", "2026-11-30", 0, "2026-11-29", 360000, true},
			// 17:00 UTC is midnight WIB: a new day at the centre.
			{"the centre's midnight", "2026-11-29", 8 * time.Hour, "2026-11-30", 600000, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.clk.Advance(tc.advance)
				logs.Reset()
				var r protocol.AuthoriseResponse
				b.call(protocol.PathAuthorise, protocol.AuthoriseRequest{Card: "em:0400D8B2A5", Inmate: "w1", Period: tc.sent}, &r)
				if r.Period != tc.wantPeriod || r.RemainingMs != tc.wantMs {
					t.Errorf("sent %q: period %q remaining %d, want %q and %d", tc.sent, r.Period, r.RemainingMs, tc.wantPeriod, tc.wantMs)
				}
				if got := strings.Contains(logs.String(), "booth's period differs"); got != tc.logged {
					t.Errorf("logged a period difference: %v, want %v\n%s", got, tc.logged, logs.String())
				}
				if r.Lease != "" {
					b.call(protocol.PathRelease, protocol.ReleaseRequest{Lease: r.Lease}, nil)
				}
			})
		}
	})
}

// A facility without a policy has no period to count a balance in: the
// gateway answers nothing to talk (fail closed), not a 500 that would send
// the booth offline.
func TestAuthoriseWithoutPolicy(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		if _, err := store.UpsertCards(t.Context(), facility, "operator", []record.CardInfo{{Card: "em:0400D8B2A5", Role: record.RoleInmate, Person: "w1", Allowance: 10 * time.Minute}}); err != nil {
			t.Fatal(err)
		}
		b := e.booth(facility, "b01")
		var r protocol.AuthoriseResponse
		b.call(protocol.PathAuthorise, protocol.AuthoriseRequest{Card: "em:0400D8B2A5", Inmate: "w1", Period: "2026-11-29"}, &r)
		if r.RemainingMs != 0 || r.Lease != "" || r.Period != "" {
			t.Errorf("without a policy: %+v, want nothing to talk, no lease, no period", r)
		}
	})
}

// An officer the roster does not know credits nothing through the API
// either: "NOBODY" granting 10 hours leaves the balance where it was.
func TestAuthoriseIgnoresUnknownOfficer(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		setRoster(t, e, `{"allowance_ms":600000,"period":"day","zone":"Asia/Jakarta"}`,
			record.CardInfo{Card: "em:0400D8B2A5", Role: record.RoleInmate, Person: "w1", Name: "A"},
		)
		b := e.booth(facility, "b01")
		for _, o := range []record.Officer{
			{Officer: "NOBODY", OfficerCard: "em:0A00000009"},
			{Officer: "w1", OfficerCard: "em:0400D8B2A5"}, // the inmate's own card as officer card
		} {
			o.At, o.Action, o.Inmate, o.Period, o.CreditMs, o.RosterVersion = e.clk.Now(), "grant", "w1", "2026-11-29", (10 * time.Hour).Milliseconds(), 2
			var up protocol.UploadResponse
			b.call(protocol.PathUpload, protocol.UploadRequest{Records: []record.Record{b.next(record.KindOfficer, o)}}, &up)
			if len(up.ChainErrors) != 1 || !strings.Contains(up.ChainErrors[0], ledger.FlagOfficer) {
				t.Errorf("officer %s: chain errors %q, want an officer flag", o.Officer, up.ChainErrors)
			}
		}
		var r protocol.AuthoriseResponse
		b.call(protocol.PathAuthorise, protocol.AuthoriseRequest{Card: "em:0400D8B2A5", Inmate: "w1", Period: "2026-11-29"}, &r)
		if r.RemainingMs != 600000 {
			t.Errorf("after the unverified grants: %d ms left, want the allowance 600000", r.RemainingMs)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for the handler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

// afterBalance runs a hook once, right after a Balance read: where
// authorise is between reading the balance and acquiring the lease.
type afterBalance struct {
	ledger.Store
	mu   sync.Mutex
	hook func()
}

func (h *afterBalance) Balance(ctx context.Context, facility, inmate, period string) (time.Duration, time.Duration, error) {
	u, c, err := h.Store.Balance(ctx, facility, inmate, period)
	h.mu.Lock()
	f := h.hook
	h.hook = nil
	h.mu.Unlock()
	if f != nil {
		f()
	}
	return u, c, err
}

// TestAuthoriseBalanceAfterLease: w1 talks all 10 minutes at b01, which
// holds the lease. As its record is uploaded (ending the lease), w1 taps
// at b02, whose authorise read the balance before the upload was stored
// and acquires the lease after it ended: it must not grant the 10 minutes
// again. Before, authorise read the balance only before the lease.
func TestAuthoriseBalanceAfterLease(t *testing.T) {
	eachBackend(t, func(t *testing.T, inner ledger.Store) {
		store := &afterBalance{Store: inner}
		e := newEnv(t, store, nil)
		setRoster(t, e, `{"allowance_ms":600000,"period":"day","zone":"Asia/Jakarta"}`,
			record.CardInfo{Card: "em:0400D8B2A5", Role: record.RoleInmate, Person: "w1", Name: "A"})
		a, b := e.booth(facility, "b01"), e.booth(facility, "b02")
		var ra protocol.AuthoriseResponse
		a.call(protocol.PathAuthorise, protocol.AuthoriseRequest{Card: "em:0400D8B2A5", Inmate: "w1", Period: "2026-11-29"}, &ra)
		if ra.Lease == "" || ra.RemainingMs != 600000 {
			t.Fatalf("b01: %+v, want 10 minutes and a lease", ra)
		}
		store.mu.Lock()
		store.hook = func() {
			a.call(protocol.PathUpload, protocol.UploadRequest{Records: []record.Record{a.next(record.KindCall, record.Call{
				CallID: 1, Card: "em:0400D8B2A5", Inmate: "w1", Period: ra.Period, AuthorisedAt: e.clk.Now(),
				MaxMs: 600000, TalkedMs: 600000, ChargedMs: 600000, EndReason: "cutoff", ClockTrusted: true, Lease: ra.Lease})}}, &protocol.UploadResponse{})
		}
		store.mu.Unlock()
		var rb protocol.AuthoriseResponse
		b.call(protocol.PathAuthorise, protocol.AuthoriseRequest{Card: "em:0400D8B2A5", Inmate: "w1", Period: ra.Period}, &rb)
		if rb.Busy || rb.RemainingMs != 0 || rb.Lease != "" {
			t.Errorf("b02 after w1's 10 minutes were stored: %+v, want nothing to talk and no lease", rb)
		}
		// The lease b02 acquired and did not hand out is given back.
		if _, busy, err := inner.AcquireLease(context.Background(), facility, "w1", facility+"/b03", time.Minute, e.clk.Now()); err != nil || busy {
			t.Errorf("w1's lease after b02's refusal: busy %v (%v), want it free", busy, err)
		}
	})
}
