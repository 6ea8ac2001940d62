package systest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/uplink"
	"wartelsuspas/tools/centre/ledger"
)

// TestRosterSyncChangesBetweenPages: with pages of 10 entries, the centre
// changes the roster (and policy) between two pages of a sync, and again
// during the catch-up, or prunes the deletions the catch-up needs. However
// it goes, the booth ends holding exactly the gateway's roster at the
// gateway's version, with the policy last set, and never applied a version
// that was not whole (the booth's roster at every page is the one it held
// before, or the final one).
func TestRosterSyncChangesBetweenPages(t *testing.T) {
	ctx := context.Background()
	type change func(t *testing.T, l ledger.Store, cards []record.CardInfo)
	upsert := func(cs ...record.CardInfo) change {
		return func(t *testing.T, l ledger.Store, _ []record.CardInfo) {
			if _, err := l.UpsertCards(ctx, facility, "operator", cs); err != nil {
				t.Fatal(err)
			}
		}
	}
	del := func(i int) change {
		return func(t *testing.T, l ledger.Store, cards []record.CardInfo) {
			if _, err := l.DeleteCard(ctx, facility, cards[i].Card); err != nil {
				t.Fatal(err)
			}
		}
	}
	block := func(i int) change {
		return func(t *testing.T, l ledger.Store, cards []record.CardInfo) {
			if _, err := l.BlockCard(ctx, facility, cards[i].Card, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	policy := func(doc string) change {
		return func(t *testing.T, l ledger.Store, _ []record.CardInfo) {
			if _, err := l.SetPolicy(ctx, facility, []byte(doc)); err != nil {
				t.Fatal(err)
			}
		}
	}
	prune := func(t *testing.T, l ledger.Store, _ []record.CardInfo) {
		d, err := l.RosterSince(ctx, facility, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.PruneTombstones(ctx, facility, d.Version); err != nil {
			t.Fatal(err)
		}
	}
	renamed := func(from, n int) []record.CardInfo {
		cs := testCards(from + n)[from:]
		for i := range cs {
			cs[i].Name += " (renamed)"
		}
		return cs
	}
	const polA = `{"allowance_ms":600000,"period":"day","zone":"Asia/Jakarta"}`
	const polB = `{"allowance_ms":900000,"period":"week","zone":"Asia/Jakarta"}`
	cases := []struct {
		name  string
		held  int            // cards the booth holds at the start (a delta sync), 0: none (a full one)
		at    map[int]change // by the number of sync answers served so far
		pages int            // at least this many pages fetched
	}{
		{"nothing changes", 0, nil, 10},
		{"added before the cursor, deleted and blocked behind, blocked ahead", 0, map[int]change{
			3: func(t *testing.T, l ledger.Store, cards []record.CardInfo) {
				upsert(record.CardInfo{Card: "em:0000000000", Role: record.RoleInmate, Person: "new"})(t, l, cards)
				del(4)(t, l, cards)
				block(12)(t, l, cards)
				block(90)(t, l, cards)
			}}, 11},
		{"policy set mid-sync", 0, map[int]change{4: policy(polB)}, 11},
		{"changes during the catch-up too", 0, map[int]change{
			3:  upsert(renamed(0, 25)...), // a catch-up of three pages
			11: upsert(renamed(50, 5)...), // during it: a second catch-up
		}, 14},
		{"deletions pruned mid-sync: start again", 0, map[int]change{
			3: func(t *testing.T, l ledger.Store, cards []record.CardInfo) {
				del(2)(t, l, cards)
				prune(t, l, cards)
			}}, 20},
		{"a delta in pages, changed between them", 40, map[int]change{
			2: func(t *testing.T, l ledger.Store, cards []record.CardInfo) {
				del(1)(t, l, cards)
				upsert(renamed(45, 2)...)(t, l, cards)
			}}, 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGateway(t, nil)
			cards := testCards(100)
			if _, err := g.ledger.SetPolicy(ctx, facility, []byte(polA)); err != nil {
				t.Fatal(err)
			}
			st, _ := newBooth(t, device, 0)
			o := fastOptions(g, g.addr(), st)
			o.SyncPageCards = 10
			var policies []string
			o.OnPolicy = func(p json.RawMessage) error { policies = append(policies, string(p)); return nil }
			u, err := uplink.New(o)
			if err != nil {
				t.Fatal(err)
			}
			if tc.held > 0 {
				if _, err := g.ledger.UpsertCards(ctx, facility, "operator", cards[:tc.held]); err != nil {
					t.Fatal(err)
				}
				if err := u.Sync(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := g.ledger.UpsertCards(ctx, facility, "operator", renamed(0, 30)); err != nil { // a delta of 60 entries
					t.Fatal(err)
				}
			}
			if _, err := g.ledger.UpsertCards(ctx, facility, "operator", cards[tc.held:]); err != nil {
				t.Fatal(err)
			}
			before, _ := st.RosterVersion()
			beforeCards, _ := st.CardIDs()
			answers := 0
			var bad error
			g.mu.Lock()
			g.watch = func(path string, _ []byte, code int, _ []byte) {
				if path != protocol.PathSync || code != http.StatusOK {
					return
				}
				answers++
				// Mid-sync the booth holds the version it had, whole.
				if v, _ := st.RosterVersion(); v != before && bad == nil {
					bad = fmt.Errorf("after %d pages the booth holds version %d, had %d: a version applied before its last page", answers, v, before)
				}
				if ids, _ := st.CardIDs(); len(ids) != len(beforeCards) && bad == nil {
					bad = fmt.Errorf("after %d pages the booth holds %d cards, had %d", answers, len(ids), len(beforeCards))
				}
				if c := tc.at[answers]; c != nil {
					c(t, g.ledger, cards)
				}
			}
			g.mu.Unlock()
			if err := u.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			g.mu.Lock()
			g.watch = nil
			g.mu.Unlock()
			if bad != nil {
				t.Fatal(bad)
			}
			checkRoster(t, g, st)
			if answers < tc.pages {
				t.Fatalf("%d pages fetched, want at least %d: the test did not page as meant", answers, tc.pages)
			}
			want, _ := g.ledger.RosterSince(ctx, facility, 0)
			if len(policies) == 0 || policies[len(policies)-1] != string(want.Policy) {
				t.Fatalf("policies handed on %q, want the last to be %q", policies, want.Policy)
			}
			if _, ok, _ := st.RosterStage(); ok {
				t.Fatal("a stage left after the sync")
			}
			t.Logf("%d pages", answers)
		})
	}
}

// TestRunDrainsBetweenPages: while Run fetches a roster of many pages, the
// outbox still drains: an upload reaches the gateway between the first and
// the last page of the sync, and the sync completes.
func TestRunDrainsBetweenPages(t *testing.T) {
	ctx := context.Background()
	g := newTestGateway(t, nil)
	if _, err := g.ledger.UpsertCards(ctx, facility, "operator", testCards(200)); err != nil {
		t.Fatal(err)
	}
	st, recs := newBooth(t, device, 30)
	var (
		mu    sync.Mutex
		order []string
	)
	g.mu.Lock()
	g.watch = func(path string, _ []byte, code int, _ []byte) {
		mu.Lock()
		order = append(order, path)
		mu.Unlock()
	}
	g.mu.Unlock()
	o := fastOptions(g, g.addr(), st)
	o.SyncPageCards, o.BatchSize = 10, 10
	u, err := uplink.New(o)
	if err != nil {
		t.Fatal(err)
	}
	stop := runUplink(t, u)
	waitDrained(t, st, u)
	deadline := time.Now().Add(60 * time.Second) // bounds a hang only
	for {
		if v, _ := st.RosterVersion(); v > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("roster not synced; status %+v", u.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	checkRoster(t, g, st)
	g.checkExactlyOnce(device, recs)
	mu.Lock()
	defer mu.Unlock()
	first, last := slices.Index(order, protocol.PathSync), -1
	for i, p := range order {
		if p == protocol.PathSync {
			last = i
		}
	}
	if first < 0 || !slices.Contains(order[first:last], protocol.PathUpload) {
		t.Fatalf("requests %v: no upload between the first and the last page of the sync", order)
	}
}
