package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
)

// TestSyncNumbers: /v1/sync carries each inmate's approved numbers on its
// cards and the blocked list on the first page of a pass, only when it
// changed; pages with the longest numbers and a large blocked list stay
// within the page budget.
func TestSyncNumbers(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		ctx := context.Background()
		e := newEnv(t, store, nil)
		const perInmate = 20
		var cards []record.CardInfo
		// Long names and the longest numbers: a page of the names alone
		// fits the budget, with the numbers it does not.
		name := strings.Repeat("n", 18000)
		for i := range 12 {
			cards = append(cards, record.CardInfo{Card: fmt.Sprintf("em:%010X", i), Role: record.RoleInmate, Person: fmt.Sprint("w", i), Name: name})
		}
		setRoster(t, e, fmt.Sprintf(`{"allowance_ms":600000,"period":"day","zone":"Asia/Jakarta","max_numbers_per_inmate":%d}`, perInmate), cards...)
		label, account := strings.Repeat("l", protocol.MaxLabelBytes), strings.Repeat("a", protocol.MaxAccountBytes)
		for i := range cards {
			for j := range perInmate {
				slot := j + 1
				if slot > 9 {
					slot = 0 // chosen by keying it in full
				}
				n, err := store.RegisterNumber(ctx, facility, ledger.NumberEntry{Person: cards[i].Person, E164: fmt.Sprintf("+62812%04d%04d", i, j),
					Slot: slot, Label: label, RegisteredBy: account})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := store.DecideNumber(ctx, facility, n.ID, account[1:]+"b", true, ""); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := range 30 {
			if err := store.BlockNumber(ctx, facility, ledger.BlockedNumber{E164: fmt.Sprintf("+62877%08d", i), Reason: "witness", AddedBy: "sup"}); err != nil {
				t.Fatal(err)
			}
		}
		// A blocked number leaves the card that had it approved.
		if err := store.BlockNumber(ctx, facility, ledger.BlockedNumber{E164: "+6281200000000", Reason: "victim", AddedBy: "sup"}); err != nil {
			t.Fatal(err)
		}
		b := e.booth(facility, "b01")
		pass := func(since int64) (pages int, resp []protocol.SyncResponse) {
			cursor := ""
			for {
				status, body, _, err := b.post(protocol.PathSync, protocol.SyncRequest{RosterVersion: since, Cursor: cursor, PageCards: protocol.MaxSyncPage, Numbers: true})
				if err != nil || status != http.StatusOK {
					t.Fatalf("page %d: %d %s %v", pages+1, status, body, err)
				}
				if len(body) > protocol.SyncPageBytes+4<<10 {
					t.Fatalf("page %d is %d bytes, over the page budget %d", pages+1, len(body), protocol.SyncPageBytes)
				}
				var r protocol.SyncResponse
				if err := protocol.Decode(strings.NewReader(string(body)), protocol.MaxBodyBytes, &r); err != nil {
					t.Fatal(err)
				}
				if pages > 0 && r.Blocked != nil {
					t.Fatalf("page %d carries the blocked list", pages+1)
				}
				resp = append(resp, r)
				pages++
				if r.NextCursor == "" {
					return pages, resp
				}
				cursor = r.NextCursor
			}
		}
		pages, resp := pass(0)
		if pages < 2 {
			t.Fatalf("%d pages: the numbers do not count against the page budget", pages)
		}
		if resp[0].Blocked == nil || len(resp[0].Blocked.Numbers) != 31 {
			t.Fatalf("first page's blocked list: %+v", resp[0].Blocked)
		}
		held := map[string]int{}
		for _, r := range resp {
			for _, c := range r.Upserts {
				held[c.Card] = len(c.Numbers)
				for _, n := range c.Numbers {
					if n.E164 == "+6281200000000" || n.ApprovedBy != account[1:]+"b" || n.RegisteredBy != account {
						t.Fatalf("card %s carries %+v", c.Card, n)
					}
				}
			}
		}
		if len(held) != len(cards) || held[cards[0].Card] != perInmate-1 || held[cards[1].Card] != perInmate {
			t.Fatalf("numbers per card: %v", held)
		}
		// A booth from before numbers gets neither numbers nor the list
		// (its decoder would refuse the whole answer).
		var old protocol.SyncResponse
		b.call(protocol.PathSync, protocol.SyncRequest{}, &old)
		if old.Blocked != nil || len(old.Upserts) != len(cards) || len(old.Upserts[1].Numbers) != 0 {
			t.Fatalf("a booth that did not ask got blocked %v, %d cards, numbers %v", old.Blocked, len(old.Upserts), old.Upserts[1].Numbers)
		}
		// Up to date: no list, no cards.
		if _, again := pass(resp[0].Version); again[0].Blocked != nil || len(again[0].Upserts) != 0 {
			t.Fatalf("an unchanged roster sent %+v", again[0])
		}
		// Unblocking sends an empty list, not none, and the card again.
		if err := store.UnblockNumber(ctx, facility, "+6281200000000", "sup"); err != nil {
			t.Fatal(err)
		}
		for i := range 30 {
			if err := store.UnblockNumber(ctx, facility, fmt.Sprintf("+62877%08d", i), "sup"); err != nil {
				t.Fatal(err)
			}
		}
		_, after := pass(resp[0].Version)
		if after[0].Blocked == nil || len(after[0].Blocked.Numbers) != 0 || len(after[0].Upserts) != 1 || len(after[0].Upserts[0].Numbers) != perInmate {
			t.Fatalf("after unblocking: blocked %+v, upserts %d", after[0].Blocked, len(after[0].Upserts))
		}
		if !strings.Contains(string(mustJSON(t, after[0])), `"blocked":{"numbers":[]}`) {
			t.Fatalf("an emptied list is not written as one: %s", mustJSON(t, after[0]))
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
