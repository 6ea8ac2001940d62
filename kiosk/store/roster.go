package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"wartelsuspas/kiosk/record"
)

// Card looks a card up in the roster; ok is false for an unknown card.
func (s *Store) Card(card string) (record.CardInfo, bool, error) {
	ci := record.CardInfo{Card: card}
	var role string
	var allowance, blocked int64
	err := s.db.QueryRow(`SELECT role, person, name, block, allowance_ms, blocked FROM cards WHERE card = ?`, card).
		Scan(&role, &ci.Person, &ci.Name, &ci.Block, &allowance, &blocked)
	if errors.Is(err, sql.ErrNoRows) {
		return record.CardInfo{}, false, nil
	}
	if err != nil {
		return record.CardInfo{}, false, s.wrap("look up card "+card, err)
	}
	ci.Role = record.Role(role)
	ci.Allowance = time.Duration(allowance) * time.Millisecond
	ci.Blocked = blocked != 0
	return ci, true, nil
}

// CardIDs lists every card the roster holds, sorted, so a full resync from
// the centre can delete the cards it no longer lists.
func (s *Store) CardIDs() ([]string, error) {
	rows, err := s.db.Query(`SELECT card FROM cards ORDER BY card`)
	if err != nil {
		return nil, s.wrap("list roster cards", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, s.wrap("list roster cards", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list roster cards", err)
	}
	return ids, nil
}

// RosterVersion returns the version of the roster the store holds (0: none
// received yet).
func (s *Store) RosterVersion() (int64, error) {
	var v string
	if err := s.db.QueryRow(`SELECT value FROM meta WHERE key = 'roster_version'`).Scan(&v); err != nil {
		return 0, s.wrap("read roster version", err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, s.wrap("read roster version", err)
	}
	return n, nil
}

// ApplyRoster applies a roster delta from the centre in one transaction:
// deletes remove cards (unknown ones are ignored), then upserts replace or
// add cards (so a card in both stays, as upserted), and the roster version
// becomes version. A delta older than the
// stored version is refused and changes nothing; the same version again is
// allowed, since applying a delta twice gives the same roster. A paged sync
// in progress is discarded: it began from a version no longer held.
func (s *Store) ApplyRoster(version int64, upserts []record.CardInfo, deletes []string) error {
	return s.ApplyRosterBlocked(version, upserts, deletes, nil)
}

// ApplyRosterBlocked is ApplyRoster that also replaces the facility's
// blocked list with blocked, in the same transaction; nil leaves the list
// held (an empty, non-nil list empties it). Each upserted inmate card's
// numbers become its person's numbers; a person left with no inmate card
// loses them.
func (s *Store) ApplyRosterBlocked(version int64, upserts []record.CardInfo, deletes []string, blocked []string) error {
	for _, ci := range upserts {
		if err := checkCard(ci); err != nil {
			return fmt.Errorf("store %s: apply roster version %d: %w", s.path, version, err)
		}
	}
	if err := checkBlocked(blocked); err != nil {
		return fmt.Errorf("store %s: apply roster version %d: %w", s.path, version, err)
	}
	return s.write(fmt.Sprintf("apply roster version %d", version), func(c *sql.Conn) error {
		ctx := context.Background()
		var cur string
		if err := c.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'roster_version'`).Scan(&cur); err != nil {
			return err
		}
		if n, _ := strconv.ParseInt(cur, 10, 64); version < n {
			return fmt.Errorf("the store holds version %d already: delta refused as out of date", n)
		}
		for _, card := range deletes {
			if _, err := c.ExecContext(ctx, `DELETE FROM cards WHERE card = ?`, card); err != nil {
				return fmt.Errorf("delete card %s: %w", card, err)
			}
		}
		for _, ci := range upserts {
			blocked := 0
			if ci.Blocked {
				blocked = 1
			}
			if _, err := c.ExecContext(ctx, `
INSERT INTO cards(card, role, person, name, block, allowance_ms, blocked) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (card) DO UPDATE SET role = excluded.role, person = excluded.person, name = excluded.name,
	block = excluded.block, allowance_ms = excluded.allowance_ms, blocked = excluded.blocked`,
				ci.Card, string(ci.Role), ci.Person, ci.Name, ci.Block, ci.Allowance.Milliseconds(), blocked); err != nil {
				return fmt.Errorf("upsert card %s: %w", ci.Card, err)
			}
		}
		for _, ci := range upserts {
			if ci.Role == record.RoleInmate {
				if err := setNumbers(ctx, c, ci.Person, ci.Numbers); err != nil {
					return err
				}
			}
		}
		if err := dropOrphanNumbers(ctx, c); err != nil {
			return err
		}
		if blocked != nil {
			if err := setBlocked(ctx, c, blocked); err != nil {
				return err
			}
		}
		if err := clearStage(ctx, c); err != nil {
			return err
		}
		_, err := c.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'roster_version'`, strconv.FormatInt(version, 10))
		return err
	})
}

// checkCard rejects a roster entry the booth could not act on.
func checkCard(ci record.CardInfo) error {
	switch {
	case ci.Card == "":
		return errors.New("a card entry has no card id")
	case ci.Role != record.RoleInmate && ci.Role != record.RoleOfficer:
		return fmt.Errorf("card %s: role %q is neither %q nor %q", ci.Card, ci.Role, record.RoleInmate, record.RoleOfficer)
	case ci.Person == "":
		return fmt.Errorf("card %s: no person id", ci.Card)
	case ci.Allowance < 0:
		return fmt.Errorf("card %s: negative allowance %v", ci.Card, ci.Allowance)
	}
	return checkNumbers(ci)
}

// SetPolicy keeps the facility's rules document from the centre, so a
// restarted booth applies it before its first sync (which sends the
// document only when it changed).
func (s *Store) SetPolicy(doc []byte) error {
	return s.write("keep the centre's policy", func(c *sql.Conn) error {
		_, err := c.ExecContext(context.Background(), `
INSERT INTO meta(key, value) VALUES ('policy', ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value`, string(doc))
		return err
	})
}

// Policy returns the kept rules document, nil when the centre has sent
// none.
func (s *Store) Policy() ([]byte, error) {
	var v string
	err := s.db.QueryRow(`SELECT value FROM meta WHERE key = 'policy'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.wrap("read the centre's policy", err)
	}
	return []byte(v), nil
}
