package ledger

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// A booth whose store was wiped, re-flashed or replaced starts a new chain
// at seq 1. The gateway stores and charges it like any other, and raises a
// store-replaced event and device flag with what it knew of the old chain:
// stored up to, highest, and the head the booth last reported, so the
// records lost are a count.
func TestNewChainOfKnownDevice(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			for i, oldChain := range []string{"", record.NewChainID()} {
				t.Run(fmt.Sprintf("old chain %q", oldChain), func(t *testing.T) {
					facility := fmt.Sprintf("nc%d", i)
					device := facility + "/b01"
					clk := t0
					s.(*sqlStore).now = func() time.Time { return clk }
					defer func() { s.(*sqlStore).now = time.Now }()

					old := &booth{device: device, chain: oldChain}
					for range 5 {
						old.call("W-1", "2026-11-29", time.Minute)
					}
					// #1–#3 reach the gateway; #4 and #5 are written while it
					// is unreachable, reported in a heartbeat, and then the
					// store is wiped before they are sent.
					if _, err := s.Ingest(ctx, device, old.recs[:3]); err != nil {
						t.Fatal(err)
					}
					clk = clk.Add(time.Minute)
					if _, err := s.RecordHeartbeat(ctx, Heartbeat{Device: device, At: clk, Chain: oldChain, HeadSeq: 5, HeadHash: old.recs[4].Hash}); err != nil {
						t.Fatal(err)
					}
					clk = clk.Add(time.Minute)
					fresh := &booth{device: device, chain: record.NewChainID()}
					fresh.call("W-1", "2026-11-29", 2*time.Minute)
					fresh.deny("W-2", "no_minutes")
					res, err := s.Ingest(ctx, device, fresh.recs)
					if err != nil {
						t.Fatal(err)
					}
					if res.Count(Stored) != 2 || res.Contiguous != 2 || res.Chain != fresh.chain {
						t.Fatalf("new chain's batch: %+v; want both stored, contiguous 2", res)
					}
					// Charged: 3 of the old chain's minutes and the new call.
					if used, _, err := s.Balance(ctx, facility, "W-1", "2026-11-29"); err != nil || used != 5*time.Minute {
						t.Errorf("balance used %v (%v), want 5m0s", used, err)
					}
					ev, err := s.CentreEvents(ctx, facility, time.Time{})
					if err != nil {
						t.Fatal(err)
					}
					if len(ev) != 1 || ev[0].Kind != EventStoreReplaced || ev[0].Device != device {
						t.Fatalf("centre events %+v, want one store_replaced", ev)
					}
					for _, want := range []string{chainName(oldChain), fresh.chain, "stored up to #3", "highest #3", "reported #5", "2 records of the old chain lost"} {
						if !strings.Contains(ev[0].Detail, want) {
							t.Errorf("event detail %q lacks %q", ev[0].Detail, want)
						}
					}
					chains, err := s.Chains(ctx, device)
					if err != nil {
						t.Fatal(err)
					}
					wantChains := []ChainStatus{
						{Chain: oldChain, FirstSeen: t0, Contiguous: 3, Highest: 3, Stored: 3, Reported: 5, ReportedHash: old.recs[4].Hash, ReportedAt: t0.Add(time.Minute), Replaced: true, Lost: 2},
						{Chain: fresh.chain, FirstSeen: t0.Add(2 * time.Minute), Contiguous: 2, Highest: 2, Stored: 2},
					}
					if !slices.Equal(chains, wantChains) {
						t.Errorf("chains\n %+v\nwant\n %+v", chains, wantChains)
					}
					ds, err := s.Devices(ctx, facility)
					if err != nil {
						t.Fatal(err)
					}
					if len(ds) != 1 || ds[0].StoreReplaced != 1 || ds[0].LostRecords != 2 {
						t.Errorf("devices %+v, want the store replaced once, 2 records lost", ds)
					}
					// More of the new chain, a resend, and the old chain's
					// own tail arriving late (the old card put back): no
					// second event, and the lost count falls.
					fresh.call("W-1", "2026-11-29", time.Minute)
					for _, b := range [][]record.Record{fresh.recs, old.recs[3:]} {
						if _, err := s.Ingest(ctx, device, b); err != nil {
							t.Fatal(err)
						}
					}
					if ev, _ := s.CentreEvents(ctx, facility, time.Time{}); len(ev) != 1 {
						t.Errorf("%d centre events after more batches, want 1", len(ev))
					}
					if ds, _ := s.Devices(ctx, facility); len(ds) != 1 || ds[0].LostRecords != 0 {
						t.Errorf("devices %+v after the old tail arrived, want 0 lost", ds)
					}
					if f := openFlags(t, s, device); len(f) != 0 {
						t.Errorf("open chain errors %v, want none: two chains never conflict", f)
					}
				})
			}
		})
	}
}

// A batch holds one chain: one that mixes chains, or names a malformed
// chain, is refused whole.
func TestIngestRefusesMixedChains(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			a := &booth{device: "lp/b01", chain: record.NewChainID()}
			b := &booth{device: "lp/b01", chain: record.NewChainID()}
			a.call("W-1", "p", time.Minute)
			b.call("W-1", "p", time.Minute)
			b.call("W-1", "p", time.Minute)
			_, err := s.Ingest(ctx, "lp/b01", []record.Record{a.recs[0], b.recs[1]})
			if err == nil || !strings.Contains(err.Error(), a.chain) || !strings.Contains(err.Error(), b.chain) || !strings.Contains(err.Error(), "one chain") {
				t.Fatalf("mixed batch: %v, want refused naming both chains", err)
			}
			bad := a.recs[0]
			bad.Chain = "NOT-HEX"
			if _, err := s.Ingest(ctx, "lp/b01", []record.Record{bad}); err == nil || !strings.Contains(err.Error(), "NOT-HEX") {
				t.Fatalf("malformed chain: %v, want refused", err)
			}
			if used, _, err := s.Balance(ctx, "lp", "W-1", "p"); err != nil || used != 0 {
				t.Errorf("after refused batches used %v (%v), want nothing stored", used, err)
			}
			if cs, err := s.Chains(ctx, "lp/b01"); err != nil || len(cs) != 0 {
				t.Errorf("chains %+v (%v) after refused batches, want none", cs, err)
			}
		})
	}
}

// Billing fails closed: however the versions of one seq arrive, a call
// charges the largest amount any version claims, and an officer record
// with any doubt on it credits nothing.
func TestTamperedNeverLowersCharge(t *testing.T) {
	type version func(b *booth) record.Record
	call := func(ms int) func(b *booth) record.Record {
		return func(b *booth) record.Record {
			return b.call("W-1", "p", time.Duration(ms)*time.Millisecond)
		}
	}
	editedCall := func(from, to int) version {
		return func(b *booth) record.Record {
			return edit(b.call("W-1", "p", time.Duration(from)*time.Millisecond), fmt.Sprintf(`"charged_ms":%d`, from), fmt.Sprintf(`"charged_ms":%d`, to))
		}
	}
	grant := func(ms int) version {
		return func(b *booth) record.Record {
			return b.officer("grant", "W-1", "p", time.Duration(ms)*time.Millisecond)
		}
	}
	editedGrant := func(from, to int) version {
		return func(b *booth) record.Record {
			return edit(b.officer("grant", "W-1", "p", time.Duration(from)*time.Millisecond), fmt.Sprintf(`"credit_ms":%d`, from), fmt.Sprintf(`"credit_ms":%d`, to))
		}
	}
	event := func(b *booth) record.Record { return b.event("tamper") }
	callOf := func(inmate, period string, ms int) version {
		return func(b *booth) record.Record {
			return b.call(inmate, period, time.Duration(ms)*time.Millisecond)
		}
	}
	cases := []struct {
		name         string
		versions     []version // claims on seq 2, after a verified #1 call of 1000 ms
		used, credit time.Duration
		flags        []string
		also         map[key]time.Duration // used by other inmates and periods the versions name
	}{
		// Alone, an edit is all the gateway has: it charges what it claims.
		{"edited call, lowered, alone", []version{editedCall(120000, 1)}, 1001 * time.Millisecond, 0, []string{"hash@2"}, nil},
		{"edited call and its original", []version{call(120000), editedCall(120000, 1)}, 121 * time.Second, 0, []string{"conflict@2"}, nil},
		{"edited call raised and the original", []version{call(1000), editedCall(1000, 600000)}, 601 * time.Second, 0, []string{"conflict@2"}, nil},
		{"two calls conflict", []version{call(60000), call(3600000)}, 3601 * time.Second, 0, []string{"conflict@2"}, nil},
		{"three calls conflict", []version{call(60000), call(3600000), call(1800000)}, 3601 * time.Second, 0, []string{"conflict@2"}, nil},
		{"verified grant", []version{grant(600000)}, time.Second, 10 * time.Minute, nil, nil},
		{"edited grant", []version{editedGrant(1000, 600000)}, time.Second, 0, []string{"hash@2"}, nil},
		{"grant conflicts with a grant", []version{grant(600000), grant(1200000)}, time.Second, 0, []string{"conflict@2"}, nil},
		{"grant conflicts with an event", []version{grant(600000), event}, time.Second, 0, []string{"conflict@2"}, nil},
		{"grant conflicts with a call", []version{grant(600000), call(30000)}, 31 * time.Second, 0, []string{"conflict@2"}, nil},
		// A version naming another inmate or period charges them, and never
		// takes W-1's charge off W-1 (before migration 16 the larger claim
		// took the seq's one fact with it).
		{"a call for a period long gone", []version{call(60000), callOf("W-1", "1999-01", 3600000)}, 61 * time.Second, 0, []string{"conflict@2"},
			map[key]time.Duration{{"W-1", "1999-01"}: time.Hour}},
		{"a call for a crony", []version{call(60000), callOf("CRONY", "p", 3600000)}, 61 * time.Second, 0, []string{"conflict@2"},
			map[key]time.Duration{{"CRONY", "p"}: time.Hour}},
		{"two calls for a crony", []version{call(60000), callOf("CRONY", "p", 600000), callOf("CRONY", "p", 3600000)}, 61 * time.Second, 0, []string{"conflict@2"},
			map[key]time.Duration{{"CRONY", "p"}: time.Hour}},
		{"a crony, and W-1 claims more", []version{call(60000), callOf("CRONY", "p", 600000), call(120000)}, 121 * time.Second, 0, []string{"conflict@2"},
			map[key]time.Duration{{"CRONY", "p"}: 10 * time.Minute}},
		{"a grant for W-1, a call for a crony", []version{grant(600000), callOf("CRONY", "p", 30000)}, time.Second, 0, []string{"conflict@2"},
			map[key]time.Duration{{"CRONY", "p"}: 30 * time.Second}},
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			n := 0
			for _, tc := range cases {
				// Every arrival order of the versions, each batch resent.
				for perm := range permutations(len(tc.versions)) {
					n++
					t.Run(fmt.Sprintf("%s/%v", tc.name, perm), func(t *testing.T) {
						facility := fmt.Sprintf("tn%03d", n)
						staffed(t, s, facility)
						device := facility + "/b01"
						chain := record.NewChainID()
						var recs []record.Record
						for _, v := range tc.versions {
							b := &booth{device: device, chain: chain}
							b.call("W-1", "p", time.Second)
							recs = append(recs, v(b))
							if len(recs) == 1 {
								if _, err := s.Ingest(ctx, device, b.recs[:1]); err != nil {
									t.Fatal(err)
								}
							}
						}
						for _, i := range perm {
							for range 2 {
								if _, err := s.Ingest(ctx, device, []record.Record{recs[i]}); err != nil {
									t.Fatal(err)
								}
							}
						}
						used, credit, err := s.Balance(ctx, facility, "W-1", "p")
						if err != nil {
							t.Fatal(err)
						}
						if used != tc.used || credit != tc.credit {
							t.Errorf("used %v credit %v, want %v and %v", used, credit, tc.used, tc.credit)
						}
						for k, want := range tc.also {
							if used, _, err := s.Balance(ctx, facility, k.inmate, k.period); err != nil || used != want {
								t.Errorf("%s used %v in %s (%v), want %v", k.inmate, used, k.period, err, want)
							}
						}
						var flags []string
						for _, f := range openFlags(t, s, device) {
							if !strings.HasPrefix(f, FlagHash) || slices.Contains(tc.flags, f) {
								flags = append(flags, f) // the edited version may come first: hash@2 then too
							}
						}
						if !slices.Equal(flags, tc.flags) {
							t.Errorf("flags %v, want %v", flags, tc.flags)
						}
					})
				}
			}
		})
	}
}

// The booth reports its chain head (seq, hash) in every heartbeat; a
// record that arrives later with another hash at that seq, or a heartbeat
// naming another hash for a seq stored, is flagged as a rewrite, and an
// officer credit at that seq is withdrawn, in either order.
func TestHeartbeatHeadRewrite(t *testing.T) {
	type step struct {
		beat   bool // a heartbeat naming head #2 with hash (else: upload #1–#2)
		edited bool // the rewritten #2 (else the original)
	}
	cases := []struct {
		name   string
		steps  []step
		flags  []string
		credit time.Duration
	}{
		{"heartbeat then the same record", []step{{beat: true}, {}}, nil, 10 * time.Minute},
		{"record then the same heartbeat", []step{{}, {beat: true}}, nil, 10 * time.Minute},
		{"heartbeat, then a rewritten record", []step{{beat: true}, {edited: true}}, []string{"rewrite@2"}, 0},
		{"record, then a heartbeat of a rewrite", []step{{}, {beat: true, edited: true}}, []string{"rewrite@2"}, 0},
		{"two heartbeats disagree", []step{{beat: true}, {beat: true, edited: true}}, []string{"rewrite@2"}, 0},
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			for i, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					facility := fmt.Sprintf("hb%d", i)
					staffed(t, s, facility)
					device := facility + "/b01"
					chain := record.NewChainID()
					orig := &booth{device: device, chain: chain}
					orig.call("W-1", "p", time.Minute)
					orig.officer("grant", "W-1", "p", 10*time.Minute)
					// The rewrite: #2 replaced and re-sealed, so its own hash
					// and link verify; only the reported head betrays it.
					rewritten := &booth{device: device, chain: chain}
					rewritten.recs = orig.recs[:1:1]
					rewritten.officer("grant", "W-1", "p", 20*time.Minute)
					for _, st := range tc.steps {
						b := orig
						if st.edited {
							b = rewritten
						}
						if st.beat {
							if _, err := s.RecordHeartbeat(ctx, Heartbeat{Device: device, At: t0, Chain: chain, HeadSeq: 2, HeadHash: b.recs[1].Hash}); err != nil {
								t.Fatal(err)
							}
							continue
						}
						if _, err := s.Ingest(ctx, device, b.recs); err != nil {
							t.Fatal(err)
						}
					}
					if got := openFlags(t, s, device); !slices.Equal(got, tc.flags) {
						t.Errorf("flags %v, want %v", got, tc.flags)
					}
					if _, credit, err := s.Balance(ctx, facility, "W-1", "p"); err != nil || credit != tc.credit {
						t.Errorf("credit %v (%v), want %v", credit, err, tc.credit)
					}
				})
			}
			// A head from before chain identities, or of an empty store, is
			// kept (or ignored) without error; a malformed one is refused.
			for _, hb := range []Heartbeat{{Device: "hb/b09", At: t0}, {Device: "hb/b09", At: t0, HeadSeq: 3, HeadHash: strings.Repeat("a", 64)}} {
				if _, err := s.RecordHeartbeat(ctx, hb); err != nil {
					t.Errorf("heartbeat %+v: %v", hb, err)
				}
			}
			if _, err := s.RecordHeartbeat(ctx, Heartbeat{Device: "hb/b09", At: t0, Chain: "x", HeadSeq: 1}); err == nil {
				t.Error("heartbeat with a malformed chain accepted")
			}
		})
	}
}

// A gateway database from before chain identities migrates with every row
// kept as the legacy chain "": balances, flags and the contiguous mark
// unchanged, and the booth's next record continues the chain unbroken.
func TestMigrateKeepsLegacyChain(t *testing.T) {
	for _, o := range reopeners {
		t.Run(o.name, func(t *testing.T) {
			open := o.open(t)
			b := &booth{device: "lm/b01"}
			b.call("W-1", "p", time.Minute)
			b.officer("grant", "W-1", "p", 5*time.Minute)
			b.call("W-1", "p", 2*time.Minute)
			// Schema 2, written as the gateway before this one did.
			saved, savedVersion := migrations, schemaVersion
			migrations, schemaVersion = migrations[:2], 2
			old, err := open()
			migrations, schemaVersion = saved, savedVersion
			if err != nil {
				t.Fatal(err)
			}
			db := old.(*sqlStore)
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO records (device, seq, kind, payload, prev, hash, hash_ok, received_ms) VALUES (?, 1, 'call', ?, ?, ?, 1, 0)`, []any{b.device, []byte(b.recs[0].Payload), b.recs[0].Prev, b.recs[0].Hash}},
				{`INSERT INTO records (device, seq, kind, payload, prev, hash, hash_ok, received_ms) VALUES (?, 2, 'officer', ?, ?, ?, 1, 0)`, []any{b.device, []byte(b.recs[1].Payload), b.recs[1].Prev, b.recs[1].Hash}},
				{`INSERT INTO facts (device, seq, facility, kind, inmate, period, month, action, talked_ms, charged_ms, credit_ms) VALUES (?, 1, 'lm', 'call', 'W-1', 'p', '2026-11', '', 60400, 60000, 0)`, []any{b.device}},
				{`INSERT INTO facts (device, seq, facility, kind, inmate, period, month, action, talked_ms, charged_ms, credit_ms) VALUES (?, 2, 'lm', 'officer', 'W-1', 'p', '2026-11', 'grant', 0, 0, 300000)`, []any{b.device}},
				{`INSERT INTO chain_heads (device, contiguous) VALUES (?, 2)`, []any{b.device}},
				{`INSERT INTO chain_errors (device, seq, kind, detail, first_seen_ms) VALUES (?, 9, 'gap', 'old flag', 0)`, []any{b.device}},
				{`INSERT INTO conflicts (device, seq, hash, kind, payload, prev, received_ms) VALUES (?, 1, ?, 'event', ?, ?, 0)`, []any{b.device, strings.Repeat("e", 64), []byte("{}"), record.GenesisHash}},
			} {
				if _, err := db.db.Exec(db.q(q.sql), q.args...); err != nil {
					t.Fatalf("%s: %v", q.sql, err)
				}
			}
			old.Close()

			s, err := open()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if used, credit, err := s.Balance(ctx, "lm", "W-1", "p"); err != nil || used != time.Minute || credit != 5*time.Minute {
				t.Errorf("balance after migration %v %v (%v), want 1m0s 5m0s", used, credit, err)
			}
			if f := openFlags(t, s, b.device); !slices.Equal(f, []string{"gap@9"}) {
				t.Errorf("flags after migration %v, want the old gap@9", f)
			}
			res, err := s.Ingest(ctx, b.device, b.recs)
			if err != nil {
				t.Fatal(err)
			}
			if res.Chain != "" || res.Contiguous != 3 || res.Count(Duplicate) != 2 || res.Count(Stored) != 1 {
				t.Errorf("the legacy chain after migration: %+v; want #1, #2 duplicates and #3 stored", res)
			}
			if used, _, _ := s.Balance(ctx, "lm", "W-1", "p"); used != 3*time.Minute {
				t.Errorf("used %v after #3, want 3m0s", used)
			}
			if ev, _ := s.CentreEvents(ctx, "lm", time.Time{}); len(ev) != 0 {
				t.Errorf("centre events %+v: the legacy chain is no replaced store", ev)
			}
			if cs, err := s.Chains(ctx, b.device); err != nil || len(cs) != 1 || cs[0].Chain != "" || cs[0].Replaced || cs[0].Contiguous != 3 {
				t.Errorf("chains %+v (%v), want the legacy chain alone", cs, err)
			}
		})
	}
}
