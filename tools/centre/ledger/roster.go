package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
)

// bump increments the facility's roster version inside tx. The row lock it
// takes orders concurrent writers, so versions commit in order.
func (s *sqlStore) bump(ctx context.Context, tx *sql.Tx, facility string) (int64, error) {
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO facilities (facility, version, horizon, policy_version) VALUES (?, 0, 0, 0)
		ON CONFLICT (facility) DO NOTHING`), facility); err != nil {
		return 0, err
	}
	var v int64
	err := tx.QueryRowContext(ctx, s.q(`UPDATE facilities SET version = version + 1 WHERE facility = ? RETURNING version`), facility).Scan(&v)
	return v, err
}

// UpsertCards implements Store.
func (s *sqlStore) UpsertCards(ctx context.Context, facility, by string, cards []record.CardInfo) (int64, error) {
	for i, c := range cards {
		if c.Card == "" {
			return 0, s.errf("roster "+facility, fmt.Errorf("card %d (person %q) has no card id", i, c.Person))
		}
		if c.Role != record.RoleInmate && c.Role != record.RoleOfficer {
			return 0, s.errf("roster "+facility, fmt.Errorf("card %s: role %q is neither inmate nor officer", c.Card, c.Role))
		}
		if c.Allowance < 0 || c.Allowance > policy.MaxCall {
			return 0, s.errf("roster "+facility, fmt.Errorf("card %s: allowance %v is outside 0…%v", c.Card, c.Allowance, policy.MaxCall))
		}
	}
	if err := onePersonOneRole(cards); err != nil {
		return 0, s.errf("roster "+facility, err)
	}
	var v int64
	err := s.tx(ctx, nil, func(tx *sql.Tx) error {
		if err := s.checkRolesAgainstRoster(ctx, tx, facility, cards); err != nil {
			return err
		}
		var err error
		if v, err = s.bump(ctx, tx, facility); err != nil {
			return err
		}
		// Set-based: a facility's roster of 50,000 cards is 391 statements
		// of 128 rows and one for the history, not 100,000 round trips (on
		// PostgreSQL 60–90 s, all of it in one transaction).
		latest := lastOfEachCard(cards)
		rows := make([][]any, 0, len(latest))
		for _, c := range latest {
			// Officer cards are few; an inmate card costs no read.
			a, err := s.approvalFor(ctx, tx, facility, by, c)
			if err != nil {
				return err
			}
			rows = append(rows, []any{facility, c.Card, string(c.Role), c.Person, c.Name, c.Block, c.Allowance.Milliseconds(), b2i(c.Blocked), b2i(c.Blocked), v,
				string(a.status), a.addedBy, a.addedMs, a.decidedBy, a.decidedMs, a.reason, 0})
		}
		for chunk := range chunks(rows) {
			args := make([]any, 0, len(chunk)*len(chunk[0]))
			for _, r := range chunk {
				args = append(args, r...)
			}
			if _, err := tx.ExecContext(ctx, s.q(upsertCards+placeholders(len(chunk), len(chunk[0]))+upsertCardsConflict+s.cardChanged()), args...); err != nil {
				return fmt.Errorf("cards %s…%s: %w", chunk[0][1], chunk[len(chunk)-1][1], err)
			}
		}
		// Every card this call changed, and none other, has version v.
		if err := s.historyOf(ctx, tx, "version = ?", facility, v); err != nil {
			return fmt.Errorf("history: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, s.errf("roster "+facility+": upsert", err)
	}
	if s.dialect == postgres && len(cards) >= analyzeAfter {
		// PostgreSQL plans from statistics that autovacuum renews only a
		// while after a bulk load; until then the booths' page queries
		// after an import of 50,000 cards sorted the facility for every
		// page (the sync of 20 booths took twice as long). Inside an
		// Atomic call (wartel-gateway roster import) it runs in that
		// transaction, which counts its own new rows; an error there
		// has aborted the transaction, so it is the import's. Alone, the
		// import has committed and stands without it.
		_, err := s.on(ctx).ExecContext(ctx, `ANALYZE cards`)
		if err != nil && s.joined(ctx) != nil {
			return 0, s.errf("roster "+facility+": renew the statistics of the cards after the import", err)
		}
	}
	return v, nil
}

// analyzeAfter is the import size from which UpsertCards renews
// PostgreSQL's statistics of the cards.
const analyzeAfter = 1000

// upsertCards and upsertCardsConflict frame the rows of UpsertCards.
const (
	upsertCards = `INSERT INTO cards (facility, card, role, person, name, block, allowance_ms, blocked, blocked_in_file, version,
	  officer_status, added_by, added_ms, decided_by, decided_ms, reason, deleted) VALUES `
	// The file sets its own block; an officer's block by hand stands until
	// an officer lifts it (migration 15).
	upsertCardsConflict = `
	ON CONFLICT (facility, card) DO UPDATE SET role = excluded.role, person = excluded.person, name = excluded.name,
	  block = excluded.block, allowance_ms = excluded.allowance_ms, blocked_in_file = excluded.blocked_in_file,
	  blocked = CASE WHEN cards.blocked_by_hand <> 0 THEN 1 ELSE excluded.blocked END, deleted = 0, version = excluded.version,
	  officer_status = excluded.officer_status, added_by = excluded.added_by, added_ms = excluded.added_ms,
	  decided_by = excluded.decided_by, decided_ms = excluded.decided_ms, reason = excluded.reason
	WHERE cards.deleted <> 0`
)

// cardChanged ends upsertCardsConflict for the dialect: a card is
// rewritten, and so given the new version, only when a field of it
// changes. An unchanged line of a nightly import then sends the booths
// nothing: a new version for every card had each booth fetch the whole
// roster again (6.5 MB for 50,000 cards, a quarter of an hour at
// 64 kbit/s) and the history grow by a row a card a night.
func (s *sqlStore) cardChanged() string {
	differs := " IS NOT " // SQLite: NULL-safe comparison
	if s.dialect == postgres {
		differs = " IS DISTINCT FROM "
	}
	var b strings.Builder
	for _, col := range []string{"role", "person", "name", "block", "allowance_ms", "blocked_in_file",
		"officer_status", "added_by", "added_ms", "decided_by", "decided_ms", "reason"} {
		b.WriteString(" OR cards." + col + differs + "excluded." + col)
	}
	return b.String()
}

// lastOfEachCard is cards with each card once, as its last line: what
// upserting them one after the other leaves. One statement may not touch
// a row twice on PostgreSQL.
func lastOfEachCard(cards []record.CardInfo) []record.CardInfo {
	last := make(map[string]int, len(cards))
	for i, c := range cards {
		last[c.Card] = i
	}
	out := make([]record.CardInfo, 0, len(last))
	for i, c := range cards {
		if last[c.Card] == i {
			out = append(out, c)
		}
	}
	return out
}

// onePersonOneRole refuses a batch in which one person holds both an
// officer card and an inmate card: an officer could then credit their own
// minutes, and the centre could not tell their calls from their actions.
func onePersonOneRole(cards []record.CardInfo) error {
	first := map[string]record.CardInfo{}
	for _, c := range cards {
		if f, ok := first[c.Person]; ok && f.Role != c.Role {
			return fmt.Errorf("person %q has %s card %s and %s card %s; one person may not hold both an officer card and an inmate card", c.Person, f.Role, f.Card, c.Role, c.Card)
		}
		if _, ok := first[c.Person]; !ok {
			first[c.Person] = c
		}
	}
	return nil
}

// checkRolesAgainstRoster refuses cards whose person already holds a card
// of the other role in the facility's roster (a card the batch itself
// replaces is judged by its new row, in onePersonOneRole).
func (s *sqlStore) checkRolesAgainstRoster(ctx context.Context, tx *sql.Tx, facility string, cards []record.CardInfo) error {
	inBatch := make(map[string]bool, len(cards))
	var persons []string // each once, in the batch's order
	for _, c := range cards {
		inBatch[c.Card] = true
	}
	first := map[string]record.CardInfo{} // a person's first card in the batch
	for _, c := range cards {
		if _, ok := first[c.Person]; !ok {
			first[c.Person] = c
			persons = append(persons, c.Person)
		}
	}
	// The live cards of the batch's persons, each person's in card order.
	type held struct{ card, role string }
	roster := map[string][]held{}
	read := func(query string, args ...any) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var person string
			var h held
			if err := rows.Scan(&person, &h.card, &h.role); err != nil {
				return err
			}
			roster[person] = append(roster[person], h)
		}
		return rows.Err()
	}
	if s.dialect == postgres {
		// One query, a hash join: an IN list is planned as a filter over
		// every card of the facility, each compared with the whole list
		// (74 s for 50,000 cards before the table's first ANALYZE).
		if err := read(`SELECT c.person, c.card, c.role FROM cards c JOIN unnest($2::text[]) AS p(person) ON c.person = p.person
			WHERE c.facility = $1 AND c.deleted = 0 ORDER BY c.person, c.card`, facility, persons); err != nil {
			return err
		}
	} else {
		// Up to batchRows persons a query, each a search of cards_by_person.
		for chunk := range chunks(persons) {
			args := []any{facility}
			for _, p := range chunk {
				args = append(args, p)
			}
			if err := read(cardsOfPersonsSQLite(len(chunk)), args...); err != nil {
				return err
			}
		}
	}
	for _, p := range persons {
		c := first[p]
		for _, h := range roster[c.Person] {
			if h.role != string(c.Role) && !inBatch[h.card] {
				return fmt.Errorf("card %s: person %q already holds %s card %s in the roster; one person may not hold both an officer card and an inmate card (delete that card first)", c.Card, c.Person, h.role, h.card)
			}
		}
	}
	return nil
}

// cardsOfPersonsSQLite reads the live cards of n persons of a facility.
// Ordered by person first: ordered by card alone, SQLite walks the
// primary key through every card of the facility instead
// (TestCardsOfPersonsPlan).
func cardsOfPersonsSQLite(n int) string {
	return `SELECT person, card, role FROM cards WHERE facility = ? AND deleted = 0 AND person IN (?` + repeatComma(n-1) + `)
		ORDER BY person, card`
}

// changeCard applies set to one existing card and bumps the version. An
// unblock of a card the roster file blocks is refused (ErrBlockedInFile).
func (s *sqlStore) changeCard(ctx context.Context, op, facility, card, set string, args ...any) (int64, error) {
	var v int64
	err := s.tx(ctx, nil, func(tx *sql.Tx) error {
		var inFile int
		err := tx.QueryRowContext(ctx, s.q(`SELECT blocked_in_file FROM cards WHERE facility = ? AND card = ? AND deleted = 0`), facility, card).Scan(&inFile)
		if absent(err) {
			return fmt.Errorf("card %s is not in the roster", card)
		}
		if err != nil {
			return err
		}
		if op == "unblock" && inFile != 0 {
			return fmt.Errorf("card %s: %w", card, ErrBlockedInFile)
		}
		if v, err = s.bump(ctx, tx, facility); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, s.q(`UPDATE cards SET `+set+`, version = ? WHERE facility = ? AND card = ?`), append(args, v, facility, card)...); err != nil {
			return err
		}
		return s.recordHistory(ctx, tx, facility, card)
	})
	if err != nil {
		return 0, s.errf("roster "+facility+": "+op, err)
	}
	return v, nil
}

// ErrBlockedInFile refuses to unblock by hand a card the roster file
// blocks: the facility's own system blocked it, and its next import would
// block it again.
var ErrBlockedInFile = errors.New("the roster file blocks this card (its blocked column says yes): lift the block in the file and import it again")

// BlockCard implements Store. A block by hand stands until lifted by hand:
// an import does not lift it (migration 15).
func (s *sqlStore) BlockCard(ctx context.Context, facility, card string, blocked bool) (int64, error) {
	if blocked {
		return s.changeCard(ctx, "block", facility, card, "blocked = 1, blocked_by_hand = 1")
	}
	return s.changeCard(ctx, "unblock", facility, card, "blocked = blocked_in_file, blocked_by_hand = 0")
}

// BlockedByHand implements Store.
func (s *sqlStore) BlockedByHand(ctx context.Context, facility string) ([]string, error) {
	rows, err := s.on(ctx).QueryContext(ctx, s.q(`SELECT card FROM cards WHERE facility = ? AND blocked_by_hand <> 0 AND deleted = 0 ORDER BY card`), facility)
	if err != nil {
		return nil, s.errf("roster "+facility+": cards blocked by hand", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, s.errf("roster "+facility+": cards blocked by hand", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("roster "+facility+": cards blocked by hand", err)
	}
	return out, nil
}

// DeleteCard implements Store.
func (s *sqlStore) DeleteCard(ctx context.Context, facility, card string) (int64, error) {
	return s.changeCard(ctx, "delete", facility, card, "deleted = 1")
}

// DeleteCards implements Store. Set-based, as UpsertCards: a roster
// replaced by a file of new cards deleted 20,000 old ones at 5 statements
// each (on PostgreSQL 32 s in one transaction, a new version per card).
func (s *sqlStore) DeleteCards(ctx context.Context, facility string, cards []string) (int64, error) {
	seen := make(map[string]bool, len(cards))
	ids := make([]any, 0, len(cards))
	for _, c := range cards {
		if !seen[c] {
			seen[c] = true
			ids = append(ids, c)
		}
	}
	if len(ids) == 0 {
		return 0, s.errf("roster "+facility+": delete", errors.New("no card to delete"))
	}
	var v int64
	err := s.tx(ctx, nil, func(tx *sql.Tx) error {
		var err error
		if v, err = s.bump(ctx, tx, facility); err != nil {
			return err
		}
		for chunk := range chunks(ids) {
			if n, err := rowsChanged(tx.ExecContext(ctx, s.q(`UPDATE cards SET deleted = 1, version = ? WHERE facility = ? AND deleted = 0 AND card IN (?`+repeatComma(len(chunk)-1)+`)`),
				append([]any{v, facility}, chunk...)...)); err != nil {
				return err
			} else if n != int64(len(chunk)) {
				return s.notLive(ctx, tx, facility, v, chunk)
			}
		}
		return s.historyOf(ctx, tx, "version = ?", facility, v)
	})
	if err != nil {
		return 0, s.errf("roster "+facility+": delete", err)
	}
	return v, nil
}

// notLive names the first card of chunk that DeleteCards did not find
// live in the roster (the update that left it out is rolled back).
func (s *sqlStore) notLive(ctx context.Context, tx *sql.Tx, facility string, v int64, chunk []any) error {
	found := map[string]bool{}
	rows, err := tx.QueryContext(ctx, s.q(`SELECT card FROM cards WHERE facility = ? AND version = ? AND card IN (?`+repeatComma(len(chunk)-1)+`)`),
		append([]any{facility, v}, chunk...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return err
		}
		found[c] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range chunk {
		if !found[c.(string)] {
			return fmt.Errorf("card %s is not in the roster", c)
		}
	}
	return fmt.Errorf("%d cards were to be deleted, fewer were", len(chunk))
}

// SetPolicy implements Store.
func (s *sqlStore) SetPolicy(ctx context.Context, facility string, policy []byte) (int64, error) {
	var v int64
	err := s.tx(ctx, nil, func(tx *sql.Tx) error {
		var err error
		if v, err = s.bump(ctx, tx, facility); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE facilities SET policy = ?, policy_version = ? WHERE facility = ?`), policy, v, facility)
		return err
	})
	if err != nil {
		return 0, s.errf("policy "+facility, err)
	}
	return v, nil
}

// RosterSince implements Store.
func (s *sqlStore) RosterSince(ctx context.Context, facility string, since int64) (RosterDelta, error) {
	return s.RosterPage(ctx, facility, since, "", 0)
}

// RosterPage implements Store. Pages are keyset pages on the primary key
// (facility, card): "card > after ORDER BY card LIMIT n" costs the page
// itself, where OFFSET would read every card before it again.
func (s *sqlStore) RosterPage(ctx context.Context, facility string, since int64, after string, limit int) (RosterDelta, error) {
	var d RosterDelta
	// One snapshot: the version and the rows it covers agree.
	var opts *sql.TxOptions
	if s.dialect == postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	err := s.tx(ctx, opts, func(tx *sql.Tx) error {
		d = RosterDelta{}
		var horizon, policyVersion, blockedVersion int64
		var policy []byte
		err := tx.QueryRowContext(ctx, s.q(`SELECT version, horizon, policy, policy_version, blocked_version FROM facilities WHERE facility = ?`), facility).
			Scan(&d.Version, &horizon, &policy, &policyVersion, &blockedVersion)
		if absent(err) {
			d.Full = true // nothing configured yet: an empty full roster
			return nil
		}
		if err != nil {
			return err
		}
		d.Full = since <= 0 || since < horizon || since > d.Version
		if after == "" && (d.Full || policyVersion > since) {
			d.Policy = policy
		}
		if after == "" && (d.Full || blockedVersion > since) {
			if d.Blocked, err = s.blockedList(ctx, tx, facility); err != nil {
				return err
			}
			d.BlockedSent = true
		}
		query, args := s.pageQuery(facility, since, after, d.Full, limit)
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		n, last := 0, ""
		for rows.Next() {
			if limit > 0 && n == limit {
				d.Next = last
				break
			}
			var (
				c                recordCard
				blocked, deleted int
			)
			if err := rows.Scan(&c.Card, &c.Role, &c.Person, &c.Name, &c.Block, &c.allowanceMs, &blocked, &deleted); err != nil {
				return err
			}
			n, last = n+1, c.Card
			c.Blocked = blocked != 0
			c.Allowance = time.Duration(c.allowanceMs) * time.Millisecond
			if deleted != 0 {
				d.Deletes = append(d.Deletes, c.Card)
				if d.Full { // a full read has no tombstones: a withheld officer card
					d.Withheld = append(d.Withheld, c.CardInfo)
				}
				continue
			}
			d.Upserts = append(d.Upserts, c.CardInfo)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		var persons []string
		seen := map[string]bool{}
		for _, c := range d.Upserts {
			if c.Role == record.RoleInmate && !seen[c.Person] {
				seen[c.Person] = true
				persons = append(persons, c.Person)
			}
		}
		if len(persons) == 0 {
			return nil
		}
		numbers, err := s.pageNumbers(ctx, tx, facility, persons)
		if err != nil {
			return fmt.Errorf("numbers of the page's inmates: %w", err)
		}
		for i, c := range d.Upserts {
			if c.Role == record.RoleInmate {
				d.Upserts[i].Numbers = numbers[c.Person]
			}
		}
		return nil
	})
	if err != nil {
		return RosterDelta{}, s.errf(fmt.Sprintf("roster %s since %d after card %q", facility, since, after), err)
	}
	return d, nil
}

// pageQuery is RosterPage's read: a keyset page on (facility, card) in byte
// order, one row more than limit (0: all) to tell whether another follows.
func (s *sqlStore) pageQuery(facility string, since int64, after string, full bool, limit int) (string, []any) {
	// An officer card pending approval (or rejected) goes as deleted, in
	// a full roster as in a delta: a booth holding the card's approved
	// past (another person) stops honouring it, and one without it
	// deletes nothing. (Filtering it out of a full page instead would
	// cost PostgreSQL its index range, and could leave a page empty with
	// more to follow, which a booth refuses as no progress.)
	card := s.byteOrder("card")
	gone := `CASE WHEN deleted = 1 OR ` + withheld + ` THEN 1 ELSE 0 END`
	query := `SELECT card, role, person, name, block, allowance_ms, blocked, ` + gone + ` FROM cards
		WHERE facility = ? AND ` + card + ` > ? AND deleted = 0 ORDER BY ` + card
	args := []any{facility, after}
	if !full {
		query = `SELECT card, role, person, name, block, allowance_ms, blocked, ` + gone + ` FROM cards
			WHERE facility = ? AND ` + card + ` > ? AND version > ? ORDER BY ` + card
		args = append(args, since)
	}
	if limit > 0 {
		query += ` LIMIT ?`
		args = append(args, limit+1)
	}
	return s.q(query), args
}

// byteOrder makes column compare and sort by its bytes, as Go strings do,
// whatever the database's locale (migration 3 indexes cards so on
// PostgreSQL).
func (s *sqlStore) byteOrder(column string) string {
	if s.dialect == postgres {
		return column + ` COLLATE "C"`
	}
	return column
}

type recordCard struct {
	record.CardInfo
	allowanceMs int64
}

// PruneTombstones implements Store.
func (s *sqlStore) PruneTombstones(ctx context.Context, facility string, upTo int64) error {
	err := s.tx(ctx, nil, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM cards WHERE facility = ? AND deleted = 1 AND version <= ?`), facility, upTo); err != nil {
			return err
		}
		// A booth holding a version before upTo may have missed a deletion.
		_, err := tx.ExecContext(ctx, s.q(`UPDATE facilities SET horizon = ? WHERE facility = ? AND horizon < ?`), upTo, facility, upTo)
		return err
	})
	if err != nil {
		return s.errf("roster "+facility+": prune tombstones", err)
	}
	return nil
}
