package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
)

// TestSyncPages: /v1/sync in pages, on both backends. Pages hold at most the
// entries asked for (capped at MaxSyncPage) and stop at SyncPageBytes
// however long the names, so every answer stays far under the booth's
// MaxBodyBytes; walking the cursors yields every card once, in order, with
// the policy on the first page; a booth that asks for no paging gets the
// whole roster in one body with no cursor (as before paging); a cursor
// without a page size, or a negative one, is refused.
func TestSyncPages(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		long := strings.Repeat("n", 2000) // 2000 of these would be 4 MB in one page
		var cards []record.CardInfo
		for i := range 600 {
			cards = append(cards, record.CardInfo{Card: fmt.Sprintf("em:%010X", i), Role: record.RoleInmate, Person: fmt.Sprint("w", i), Name: long})
		}
		setRoster(t, e, `{"allowance_ms":600000,"period":"day","zone":"Asia/Jakarta"}`, cards...)
		b := e.booth(facility, "b01")

		cases := []struct {
			name      string
			pageCards int
			wantPages int
		}{
			{"pages by count", 100, 6},
			{"pages by bytes", protocol.MaxSyncPage * 10, 5}, // about 125 cards of 2 kB in 256 KiB
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var got []string
				cursor, pages, policies := "", 0, 0
				for {
					status, body, _, err := b.post(protocol.PathSync, protocol.SyncRequest{Cursor: cursor, PageCards: tc.pageCards})
					if err != nil || status != http.StatusOK {
						t.Fatalf("page %d: %d %s %v", pages+1, status, body, err)
					}
					if len(body) > protocol.SyncPageBytes+4<<10 {
						t.Fatalf("page %d is %d bytes, over the page budget %d", pages+1, len(body), protocol.SyncPageBytes)
					}
					var resp protocol.SyncResponse
					if err := protocol.Decode(strings.NewReader(string(body)), protocol.MaxBodyBytes, &resp); err != nil {
						t.Fatal(err)
					}
					if n := len(resp.Upserts); n == 0 || n > tc.pageCards {
						t.Fatalf("page %d: %d cards, asked for %d", pages+1, n, tc.pageCards)
					}
					for _, c := range resp.Upserts {
						got = append(got, c.Card)
					}
					pages++
					if resp.Policy != nil {
						policies++
					}
					if !resp.Full {
						t.Fatalf("page %d of a full sync not full", pages)
					}
					if resp.NextCursor == "" {
						break
					}
					cursor = resp.NextCursor
				}
				if pages != tc.wantPages || policies != 1 || len(got) != len(cards) {
					t.Fatalf("%d pages (policy on %d), %d cards; want %d pages, the policy once, %d cards", pages, policies, len(got), tc.wantPages, len(cards))
				}
				for i, c := range cards {
					if got[i] != c.Card {
						t.Fatalf("card %d is %s, want %s", i, got[i], c.Card)
					}
				}
			})
		}

		t.Run("no paging asked", func(t *testing.T) {
			var resp protocol.SyncResponse
			b.call(protocol.PathSync, protocol.SyncRequest{}, &resp)
			if len(resp.Upserts) != len(cards) || resp.NextCursor != "" {
				t.Fatalf("unpaged sync: %d cards, cursor %q; want all %d and none", len(resp.Upserts), resp.NextCursor, len(cards))
			}
		})
		t.Run("refused", func(t *testing.T) {
			for _, req := range []string{`{"roster_version":0,"cursor":"em:1"}`, `{"roster_version":0,"page_cards":-1}`} {
				if status, body, _, _ := b.post(protocol.PathSync, []byte(req)); status != http.StatusBadRequest {
					t.Errorf("%s: %d %s, want 400", req, status, body)
				}
			}
		})
	})
}
