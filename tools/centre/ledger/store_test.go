package ledger

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

func TestLease(t *testing.T) {
	type step struct {
		device  string
		at      time.Duration // after t0, on the gateway's clock
		release bool          // release the lease this device last got
		busy    bool
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"second booth is busy", []step{{"b1", 0, false, false}, {"b2", time.Second, false, true}}},
		{"expired lease is taken", []step{{"b1", 0, false, false}, {"b2", 30 * time.Second, false, false}, {"b1", 31 * time.Second, false, true}}},
		{"just before expiry still busy", []step{{"b1", 0, false, false}, {"b2", 30*time.Second - time.Millisecond, false, true}}},
		{"same booth renews", []step{{"b1", 0, false, false}, {"b1", 10 * time.Second, false, false}, {"b2", 35 * time.Second, false, true}}},
		{"release frees", []step{{"b1", 0, false, false}, {"b1", time.Second, true, false}, {"b2", 2 * time.Second, false, false}}},
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			for i, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					facility, last := fmt.Sprintf("f%d", i), map[string]string{}
					for j, st := range tc.steps {
						if st.release {
							if err := s.ReleaseLease(ctx, facility, "W-1", last[st.device]); err != nil {
								t.Fatal(err)
							}
							continue
						}
						lease, busy, err := s.AcquireLease(ctx, facility, "W-1", facility+"/"+st.device, 30*time.Second, t0.Add(st.at))
						if err != nil {
							t.Fatal(err)
						}
						if busy != st.busy || (lease == "") != busy {
							t.Fatalf("step %d (%s at +%v): lease %q busy %v, want busy %v", j, st.device, st.at, lease, busy, st.busy)
						}
						last[st.device] = lease
					}
				})
			}
			// A stale release (of a lease since replaced) does nothing.
			old, _, _ := s.AcquireLease(ctx, "g", "W-1", "g/b1", time.Minute, t0)
			if _, _, err := s.AcquireLease(ctx, "g", "W-1", "g/b1", time.Minute, t0.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			s.ReleaseLease(ctx, "g", "W-1", old)
			if _, busy, _ := s.AcquireLease(ctx, "g", "W-1", "g/b2", time.Minute, t0.Add(2*time.Second)); !busy {
				t.Error("releasing a replaced lease freed the current one")
			}
		})
	}
}

// Many booths tap the same inmate at once through two store handles (two
// gateway replicas on PostgreSQL; two connections to one SQLite file):
// exactly one wins, for every inmate.
func TestLeaseConcurrent(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			stores := be.open(t, 2)
			const inmates, booths = 10, 6
			for i := range inmates {
				inmate := fmt.Sprintf("W-%d", i)
				var (
					wg   sync.WaitGroup
					mu   sync.Mutex
					wins []string
				)
				for b := range booths {
					wg.Go(func() {
						device := fmt.Sprintf("lp/b%d", b)
						lease, busy, err := stores[b%2].AcquireLease(context.Background(), "lp", inmate, device, time.Minute, t0)
						if err != nil {
							t.Error(err)
							return
						}
						if !busy {
							mu.Lock()
							wins = append(wins, device+":"+lease)
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				if len(wins) != 1 {
					t.Fatalf("%s: %d winners %v, want exactly 1", inmate, len(wins), wins)
				}
			}
		})
	}
}

func TestRoster(t *testing.T) {
	card := func(id, person string) record.CardInfo {
		return record.CardInfo{Card: id, Role: record.RoleInmate, Person: person, Name: "N " + person, Block: "A", Allowance: 30 * time.Minute}
	}
	ids := func(cs []record.CardInfo) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Card)
		}
		return out
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			d, err := s.RosterSince(ctx, "lp", 0)
			if err != nil || !d.Full || d.Version != 0 || len(d.Upserts) != 0 {
				t.Fatalf("empty facility: %+v, %v", d, err)
			}
			v1, err := s.UpsertCards(ctx, "lp", "operator", []record.CardInfo{card("em:1", "W-1"), card("em:2", "W-2"), {Card: "em:9", Role: record.RoleOfficer, Person: "P-1"}})
			if err != nil {
				t.Fatal(err)
			}
			approveOfficers(t, s, "lp")
			v1++ // the officer card approved: the version the roster is whole at
			v2, _ := s.SetPolicy(ctx, "lp", []byte(`{"period":"day"}`))
			v3, _ := s.BlockCard(ctx, "lp", "em:2", true)
			v4, _ := s.DeleteCard(ctx, "lp", "em:1")
			v5, _ := s.UpsertCards(ctx, "lp", "operator", []record.CardInfo{card("em:3", "W-3")})
			if !slices.IsSorted([]int64{v1, v2, v3, v4, v5}) || v1 < 1 || v5 != v1+4 {
				t.Fatalf("versions %d %d %d %d %d: want consecutive", v1, v2, v3, v4, v5)
			}
			if _, err := s.BlockCard(ctx, "lp", "em:404", true); err == nil || !strings.Contains(err.Error(), "em:404") {
				t.Errorf("blocking an unknown card: %v", err)
			}
			if _, err := s.UpsertCards(ctx, "lp", "operator", []record.CardInfo{{Card: "em:5", Role: "visitor"}}); err == nil {
				t.Error("a card with role visitor accepted")
			}
			// Another facility's roster is its own.
			if _, err := s.UpsertCards(ctx, "other", "operator", []record.CardInfo{card("em:1", "X")}); err != nil {
				t.Fatal(err)
			}

			cases := []struct {
				since            int64
				full             bool
				upserts, deletes []string
				policy           bool
			}{
				{0, true, []string{"em:2", "em:3", "em:9"}, nil, true},
				{v1, false, []string{"em:2", "em:3"}, []string{"em:1"}, true},
				{v2, false, []string{"em:2", "em:3"}, []string{"em:1"}, false},
				{v4, false, []string{"em:3"}, nil, false},
				{v5, false, nil, nil, false},
				{v5 + 7, true, []string{"em:2", "em:3", "em:9"}, nil, true}, // a booth from a restored backup
			}
			for _, tc := range cases {
				d, err := s.RosterSince(ctx, "lp", tc.since)
				if err != nil {
					t.Fatal(err)
				}
				if d.Version != v5 || d.Full != tc.full || !slices.Equal(ids(d.Upserts), tc.upserts) || !slices.Equal(d.Deletes, tc.deletes) || (d.Policy != nil) != tc.policy {
					t.Errorf("since %d: version %d full %v upserts %v deletes %v policy %q; want %d %v %v %v policy %v",
						tc.since, d.Version, d.Full, ids(d.Upserts), d.Deletes, d.Policy, v5, tc.full, tc.upserts, tc.deletes, tc.policy)
				}
			}
			d, _ = s.RosterSince(ctx, "lp", 0)
			if i := slices.IndexFunc(d.Upserts, func(c record.CardInfo) bool { return c.Card == "em:2" }); i < 0 || !d.Upserts[i].Blocked || d.Upserts[i].Allowance != 30*time.Minute || d.Upserts[i].Name != "N W-2" {
				t.Errorf("em:2 read back as %+v", d.Upserts)
			}
			// After the tombstone of em:1 is pruned, a booth that could have
			// missed it gets a full roster; a newer one still a delta.
			if err := s.PruneTombstones(ctx, "lp", v4); err != nil {
				t.Fatal(err)
			}
			if d, _ := s.RosterSince(ctx, "lp", v2); !d.Full {
				t.Errorf("since %d after pruning up to %d: delta %+v, want full", v2, v4, d)
			}
			if d, _ := s.RosterSince(ctx, "lp", v4); d.Full || !slices.Equal(ids(d.Upserts), []string{"em:3"}) {
				t.Errorf("since %d after pruning: %+v, want the delta em:3", v4, d)
			}
		})
	}
}

// Concurrent roster writers through two handles get distinct versions, and
// a delta from any version seen includes every later change.
func TestRosterConcurrentVersions(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			stores := be.open(t, 2)
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				versions []int64
			)
			for i := range 8 {
				wg.Go(func() {
					v, err := stores[i%2].UpsertCards(context.Background(), "lp", "operator", []record.CardInfo{{Card: fmt.Sprintf("em:%d", i), Role: record.RoleInmate, Person: "W"}})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					versions = append(versions, v)
					mu.Unlock()
				})
			}
			wg.Wait()
			slices.Sort(versions)
			if want := []int64{1, 2, 3, 4, 5, 6, 7, 8}; !slices.Equal(versions, want) {
				t.Fatalf("versions %v, want %v", versions, want)
			}
			if d, _ := stores[0].RosterSince(ctx, "lp", 4); len(d.Upserts) != 4 {
				t.Errorf("since 4: %d upserts, want 4", len(d.Upserts))
			}
		})
	}
}

func TestDevices(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			check := func(device string, want bool) {
				t.Helper()
				got, err := s.DeviceRevoked(ctx, device)
				if err != nil || got != want {
					t.Errorf("DeviceRevoked(%s) = %v, %v; want %v", device, got, err, want)
				}
			}
			if err := s.RegisterDevice(ctx, "lp/b01", t0); err != nil {
				t.Fatal(err)
			}
			check("lp/b01", false)
			check("lp/never", false)
			if err := s.RevokeDevice(ctx, "lp/b01", t0); err != nil {
				t.Fatal(err)
			}
			check("lp/b01", true)
			if err := s.RevokeDevice(ctx, "lp/b09", t0); !errors.Is(err, ErrUnknownDevice) { // never enrolled
				t.Fatalf("revoke of a device never enrolled: %v, want ErrUnknownDevice", err)
			}
			check("lp/b09", false)
			if err := s.RegisterDevice(ctx, "lp/b01", t0.Add(time.Hour)); err != nil { // re-enrolled
				t.Fatal(err)
			}
			check("lp/b01", false)
			if err := s.RegisterDevice(ctx, "nofacility", t0); err == nil {
				t.Error("device id without a facility accepted")
			}
			hb := Heartbeat{Device: "lp/b01", At: t0.Add(2 * time.Hour), OutboxDepth: 17, Firmware: "1.2.3", Faults: []string{"reader down", "tamper"},
				State: "tamper", OutOfService: []string{"reader", "tamper"}, ClockTrusted: true, ClockOffset: -1500 * time.Millisecond,
				BootID: "b007", Source: "10.0.0.3", Window: 2 * time.Minute}
			if res, err := s.RecordHeartbeat(ctx, hb); err != nil || res.NewClonePairs != 0 {
				t.Fatal(res, err)
			}
			ds, err := s.Devices(ctx, "lp")
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != 1 || ds[0].Device != "lp/b01" || !ds[0].LastSeen.Equal(hb.At) || ds[0].OutboxDepth != 17 || ds[0].Firmware != "1.2.3" ||
				!slices.Equal(ds[0].Faults, hb.Faults) || ds[0].Revoked {
				t.Errorf("devices %+v", ds)
			}
			// What the heartbeat says about the booth is kept (issue 13 item 1).
			if d := ds[0]; d.State != "tamper" || !slices.Equal(d.OutOfService, hb.OutOfService) || !d.ClockTrusted ||
				d.ClockOffset != hb.ClockOffset || d.BootID != "b007" || d.Source != "10.0.0.3" || !d.CloneSuspected.IsZero() {
				t.Errorf("device %+v, want the heartbeat's state, causes, clock and start", d)
			}
		})
	}
}

func TestMonthlyReport(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			staffed(t, s, "lp")
			a := &booth{device: "lp/b01"}
			a.call("W-1", "2026-11-29", time.Minute)
			a.call("W-1", "2026-W48", 2*time.Minute) // week key: month of the call's time
			a.call("W-2", "2026-12-01", time.Minute) // next month
			a.deny("W-2", "no_minutes")
			a.deny("", "unknown_card")
			a.officer("grant", "W-1", "2026-11-29", 5*time.Minute)
			a.officer("end_call", "W-1", "2026-11-29", 0)
			a.event("tamper")
			other := &booth{device: "else/b01"}
			other.call("W-1", "2026-11-29", time.Hour)
			if _, err := s.Ingest(ctx, a.device, a.recs); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Ingest(ctx, other.device, other.recs); err != nil {
				t.Fatal(err)
			}
			rows, err := s.MonthlyReport(ctx, "lp", "2026-11")
			if err != nil {
				t.Fatal(err)
			}
			want := []ReportRow{
				{Inmate: "", Denials: 1},
				{Inmate: "W-1", Calls: 2, Talked: 3*time.Minute + 800*time.Millisecond, Charged: 3 * time.Minute, OfficerActions: 2, Credit: 5 * time.Minute},
				{Inmate: "W-2", Denials: 1},
			}
			if !slices.Equal(rows, want) {
				t.Fatalf("report\n got %+v\nwant %+v", rows, want)
			}
			var buf bytes.Buffer
			if err := WriteReportCSV(&buf, rows); err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 4 || !slices.Equal(recs[0], ReportHeader) || !slices.Equal(recs[2], []string{"W-1", "2", "180", "180", "0", "2", "300"}) {
				t.Errorf("csv %q", recs)
			}
			buf.Reset()
			WriteReportCSV(&buf, []ReportRow{{Inmate: "=HYPERLINK(1)"}})
			if recs, _ := csv.NewReader(&buf).ReadAll(); len(recs) != 2 || recs[1][0] != "'=HYPERLINK(1)" {
				t.Errorf("formula-like id written as %q", recs)
			}
			if _, err := s.MonthlyReport(ctx, "lp", "November"); err == nil {
				t.Error("month November accepted")
			}
		})
	}
}

// A database written by a newer gateway is refused with what to do;
// opening twice migrates once.
func TestMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.db")
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenSQLite(path)
	if err != nil {
		t.Fatalf("second open: %v", err)
	}
	if _, err := s.(*sqlStore).db.Exec(`INSERT INTO schema_migrations (version, applied_ms) VALUES (?, 0)`, schemaVersion+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = OpenSQLite(path)
	if err == nil || !strings.Contains(err.Error(), "newer") || !strings.Contains(err.Error(), path) {
		t.Fatalf("open of a newer schema: %v", err)
	}
}

func TestRebind(t *testing.T) {
	pg := &sqlStore{dialect: postgres}
	if got := pg.q(`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`); got != `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)` {
		t.Errorf("rebind: %s", got)
	}
	if got := redact("postgres://u:secret@h/db"); strings.Contains(got, "secret") {
		t.Errorf("redact kept the password: %s", got)
	}
}

// A raised event is listed for its facility only, from the time asked.
func TestCentreEvents(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := open1(t, b)
			t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
			for i, e := range []CentreEvent{
				{Device: "lapas-a/b01", Kind: EventStoreReplaced, Detail: "old chain stored up to #7", At: t0},
				{Device: "lapas-b/b01", Kind: EventCloneSuspected, Detail: "two boots", At: t0.Add(time.Minute)},
				{Device: "lapas-a/b02", Kind: EventCloneSuspected, Detail: "two boots", At: t0.Add(2 * time.Minute)},
			} {
				if err := s.RaiseEvent(ctx, e); err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
			}
			got, err := s.CentreEvents(ctx, "lapas-a", t0.Add(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Device != "lapas-a/b02" || got[0].Kind != EventCloneSuspected || !got[0].At.Equal(t0.Add(2*time.Minute)) {
				t.Fatalf("CentreEvents(lapas-a, t0+1s) = %+v, want only b02's clone_suspected", got)
			}
			if err := s.RaiseEvent(ctx, CentreEvent{Device: "no-slash", Kind: EventStoreReplaced, At: t0}); err == nil {
				t.Fatal("an event for a device id that is not FACILITY/BOOTH was accepted")
			}
		})
	}
}
