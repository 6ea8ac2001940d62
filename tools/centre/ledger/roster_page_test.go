package ledger

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"wartelsuspas/kiosk/record"
)

// pageEntries walks every page of since with limit and returns the entries
// in the order received ("-id" for a delete), the version of each page and
// how many pages carried the policy.
func pageEntries(t *testing.T, s Store, since int64, limit int) (entries []string, versions []int64, policies int) {
	t.Helper()
	after := ""
	for range 1000 {
		d, err := s.RosterPage(ctx, "lp", since, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(d.Upserts) + len(d.Deletes); n > limit || (d.Next != "" && n != limit) {
			t.Fatalf("page after %q: %d entries, next %q; want at most %d, and exactly that when more follow", after, n, d.Next, limit)
		}
		entries = append(entries, merged(d)...)
		versions = append(versions, d.Version)
		if d.Policy != nil {
			policies++
		}
		if d.Next == "" {
			return entries, versions, policies
		}
		if l := entries[len(entries)-1]; d.Next != l && "-"+d.Next != l {
			t.Fatalf("page after %q: next %q is not its last entry %q", after, d.Next, l)
		}
		after = d.Next
	}
	t.Fatal("more than 1000 pages")
	return
}

// merged lists a page's entries in card order, deletes as "-id".
func merged(d RosterDelta) []string {
	var out []string
	for _, c := range d.Upserts {
		out = append(out, c.Card)
	}
	for _, id := range d.Deletes {
		out = append(out, "-"+id)
	}
	slices.SortFunc(out, func(a, b string) int {
		return cmpCard(a, b)
	})
	return out
}

func cmpCard(a, b string) int {
	trim := func(s string) string {
		if len(s) > 0 && s[0] == '-' {
			return s[1:]
		}
		return s
	}
	a, b = trim(a), trim(b)
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestRosterPage: a roster read in keyset pages, on both backends, is the
// roster RosterSince returns, in byte order of the card id, whole and
// once, for a full roster and a delta; the policy comes with the first
// page only; and a card added before the cursor between two pages neither
// shifts the next page (no entry twice, none skipped, as OFFSET would) nor
// appears in it, while the page's version says the roster moved.
func TestRosterPage(t *testing.T) {
	card := func(id string) record.CardInfo {
		return record.CardInfo{Card: id, Role: record.RoleInmate, Person: "W-" + id, Name: "N " + id}
	}
	var cards []record.CardInfo
	for i := range 25 {
		cards = append(cards, card(fmt.Sprintf("em:%02X", i*7)))
	}
	// Byte order, not a locale's: upper case before lower, "14a:" before "em:".
	cards = append(cards, card("em:aa"), card("em:AB"), card("14a:0102"))
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			if _, err := s.UpsertCards(ctx, "lp", "operator", cards); err != nil {
				t.Fatal(err)
			}
			v1, err := s.SetPolicy(ctx, "lp", []byte(`{"period":"day"}`))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.UpsertCards(ctx, "other", "operator", []record.CardInfo{card("em:00")}); err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, c := range cards {
				all = append(all, c.Card)
			}
			slices.Sort(all) // Go compares bytes

			for _, limit := range []int{1, 4, 10, 28, 100} {
				got, versions, pol := pageEntries(t, s, 0, limit)
				if !slices.Equal(got, all) || pol != 1 {
					t.Errorf("full in pages of %d: %v with the policy on %d pages; want %v with it on the first", limit, got, pol, all)
				}
				for _, v := range versions {
					if v != v1 {
						t.Errorf("full in pages of %d: page at version %d, want %d", limit, v, v1)
					}
				}
			}

			// A delta: blocks, deletes and a new card, interleaved in card order.
			mustV := func(v int64, err error) int64 {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			mustV(s.BlockCard(ctx, "lp", cards[3].Card, true))
			mustV(s.DeleteCard(ctx, "lp", cards[5].Card))
			mustV(s.DeleteCard(ctx, "lp", "em:AB"))
			mustV(s.UpsertCards(ctx, "lp", "operator", []record.CardInfo{card("em:0B")}))
			whole, err := s.RosterSince(ctx, "lp", v1)
			if err != nil || whole.Full || whole.Next != "" {
				t.Fatalf("delta since %d: %+v, %v", v1, whole, err)
			}
			want := merged(whole)
			if len(want) != 4 {
				t.Fatalf("delta since %d has %v, want 4 entries", v1, want)
			}
			for _, limit := range []int{1, 3, 4, 10} {
				if got, _, pol := pageEntries(t, s, v1, limit); !slices.Equal(got, want) || pol != 0 {
					t.Errorf("delta in pages of %d: %v (policy on %d pages), want %v and no policy", limit, got, pol, want)
				}
			}

			// The roster changes between two pages of a full read.
			p1, err := s.RosterPage(ctx, "lp", 0, "", 5)
			if err != nil {
				t.Fatal(err)
			}
			before := slices.Clone(merged(p1))
			vBefore := p1.Version
			mustV(s.UpsertCards(ctx, "lp", "operator", []record.CardInfo{card("14a:00")})) // sorts before the cursor
			p2, err := s.RosterPage(ctx, "lp", 0, p1.Next, 5)
			if err != nil {
				t.Fatal(err)
			}
			if p2.Version <= vBefore {
				t.Errorf("page after a change at version %d, first page at %d: want a later version", p2.Version, vBefore)
			}
			rest, _, _ := pageEntries(t, s, 0, 1000)
			i := slices.Index(rest, p1.Next)
			if i < 0 || !slices.Equal(merged(p2), rest[i+1:i+1+5]) {
				t.Errorf("second page %v after %q, want the five cards after it %v (first page %v)", merged(p2), p1.Next, rest[i+1:], before)
			}
			if slices.Contains(merged(p2), "14a:00") {
				t.Error("a card added before the cursor appeared on the next page")
			}
		})
	}
}

// TestRosterPagePlan: the query of a full roster page is an index range
// from the cursor on both backends (SQLite's primary key, PostgreSQL's
// cards_by_card in byte order), not a scan of the cards before it.
func TestRosterPagePlan(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be).(*sqlStore)
			var cards []record.CardInfo
			for i := range 500 {
				cards = append(cards, record.CardInfo{Card: fmt.Sprintf("em:%010X", i), Role: record.RoleInmate, Person: "W"})
			}
			if _, err := s.UpsertCards(ctx, "lp", "operator", cards); err != nil {
				t.Fatal(err)
			}
			query, args := s.pageQuery("lp", 0, "em:0000000100", true, 50)
			var plan []string
			err := s.tx(ctx, nil, func(tx *sql.Tx) error {
				explain := "EXPLAIN QUERY PLAN "
				if s.dialect == postgres {
					// A table this small is cheaper to scan; the question is
					// whether the index serves the page at all.
					if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
						return err
					}
					// With statistics, as autovacuum gives a real table: unanalysed,
					// the estimate of rows per page follows the row's width, and
					// migration 13's columns made it guess one row, which a sort
					// serves as cheaply as the index.
					if _, err := tx.ExecContext(ctx, `ANALYZE cards`); err != nil {
						return err
					}
					explain = "EXPLAIN "
				}
				rows, err := tx.QueryContext(ctx, explain+query, args...)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					cols, _ := rows.Columns()
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := rows.Scan(ptrs...); err != nil {
						return err
					}
					plan = append(plan, fmt.Sprint(vals...))
				}
				return rows.Err()
			})
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			t.Log(text)
			want := map[dialect]string{sqlite: "USING INDEX sqlite_autoindex_cards_1 (facility=? AND card>?)", postgres: "cards_by_card"}[s.dialect]
			if !strings.Contains(text, want) || strings.Contains(text, "TEMP B-TREE") || strings.Contains(text, "Sort") {
				t.Fatalf("plan of a roster page:\n%s\nwant an index range (%q) in card order, no sort", text, want)
			}
		})
	}
}
