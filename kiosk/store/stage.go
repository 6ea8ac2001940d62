package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"wartelsuspas/kiosk/record"
)

// A paged roster sync keeps its pages here until a whole version is
// received: taps are answered from the cards table, which only ApplyStaged
// (or ApplyRoster) changes, so a booth mid-sync answers from the roster it
// held and a cut-off sync loses no page it had committed.

// RosterStage returns the paged sync in progress; ok is false when there is
// none.
func (s *Store) RosterStage() (st record.RosterStage, ok bool, err error) {
	var doc string
	err = s.db.QueryRow(`SELECT stage FROM roster_stage WHERE id = 1`).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return record.RosterStage{}, false, nil
	}
	if err != nil {
		return record.RosterStage{}, false, s.wrap("read the roster sync in progress", err)
	}
	if err := json.Unmarshal([]byte(doc), &st); err != nil {
		return record.RosterStage{}, false, s.wrap("read the roster sync in progress", err)
	}
	return st, true, nil
}

// StageRoster keeps one page of a paged sync and where the sync stands
// after it, in one transaction: a crash keeps the page and its progress
// together or neither. An upsert replaces what was staged for its card, a
// delete marks the card deleted. It is refused when the store no longer
// holds st.From.
func (s *Store) StageRoster(st record.RosterStage, upserts []record.CardInfo, deletes []string) error {
	for _, ci := range upserts {
		if err := checkCard(ci); err != nil {
			return fmt.Errorf("store %s: stage roster page: %w", s.path, err)
		}
	}
	if err := checkBlocked(st.Blocked); err != nil {
		return fmt.Errorf("store %s: stage roster page: %w", s.path, err)
	}
	doc, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("store %s: stage roster page: %w", s.path, err)
	}
	return s.write(fmt.Sprintf("stage a roster page (pass from version %d, page %d)", st.Since, st.Pages), func(c *sql.Conn) error {
		ctx := context.Background()
		if err := heldIs(ctx, c, st.From); err != nil {
			return err
		}
		// Prepared once: parsing the statement again for every card of a
		// 1000-card page costs more than the inserts.
		del, err := c.PrepareContext(ctx, `
INSERT INTO roster_staged(card, deleted, role, person, name, block, allowance_ms, blocked) VALUES (?, 1, '', '', '', '', 0, 0)
ON CONFLICT (card) DO UPDATE SET deleted = 1`)
		if err != nil {
			return err
		}
		defer del.Close()
		for _, id := range deletes {
			if _, err := del.ExecContext(ctx, id); err != nil {
				return fmt.Errorf("stage delete of card %s: %w", id, err)
			}
		}
		up, err := c.PrepareContext(ctx, `
INSERT INTO roster_staged(card, deleted, role, person, name, block, allowance_ms, blocked, numbers) VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (card) DO UPDATE SET deleted = 0, role = excluded.role, person = excluded.person, name = excluded.name,
	block = excluded.block, allowance_ms = excluded.allowance_ms, blocked = excluded.blocked, numbers = excluded.numbers`)
		if err != nil {
			return err
		}
		defer up.Close()
		for _, ci := range upserts {
			if _, err := up.ExecContext(ctx, ci.Card, string(ci.Role), ci.Person, ci.Name, ci.Block, ci.Allowance.Milliseconds(), b2i(ci.Blocked), numbersJSON(ci.Numbers)); err != nil {
				return fmt.Errorf("stage card %s: %w", ci.Card, err)
			}
		}
		_, err = c.ExecContext(ctx, `
INSERT INTO roster_stage(id, stage) VALUES (1, ?)
ON CONFLICT (id) DO UPDATE SET stage = excluded.stage`, string(doc))
		return err
	})
}

// ApplyStaged makes the staged pages the roster at version, in one
// transaction, and clears the stage: with a full stage the roster becomes
// exactly the staged cards; otherwise staged cards replace or add and
// staged deletes remove. Refused, changing nothing, when there is no stage,
// when the store no longer holds the version the stage began from, or when
// version is older than the one held.
func (s *Store) ApplyStaged(version int64) error {
	st, ok, err := s.RosterStage()
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("store %s: apply staged roster version %d: no roster sync in progress", s.path, version)
	}
	return s.write(fmt.Sprintf("apply staged roster version %d", version), func(c *sql.Conn) error {
		ctx := context.Background()
		if err := heldIs(ctx, c, st.From); err != nil {
			return err
		}
		if version < st.From {
			return fmt.Errorf("the store holds version %d already: version %d refused as out of date", st.From, version)
		}
		clear := `DELETE FROM cards WHERE card IN (SELECT card FROM roster_staged WHERE deleted = 1)`
		if st.Full {
			clear = `DELETE FROM cards`
			if _, err := c.ExecContext(ctx, `DELETE FROM numbers`); err != nil {
				return err
			}
		}
		for _, q := range []string{clear, `
INSERT INTO cards(card, role, person, name, block, allowance_ms, blocked)
	SELECT card, role, person, name, block, allowance_ms, blocked FROM roster_staged WHERE deleted = 0 ORDER BY card
ON CONFLICT (card) DO UPDATE SET role = excluded.role, person = excluded.person, name = excluded.name,
	block = excluded.block, allowance_ms = excluded.allowance_ms, blocked = excluded.blocked`,
		} {
			if _, err := c.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		if err := applyStagedNumbers(ctx, c); err != nil {
			return err
		}
		if err := dropOrphanNumbers(ctx, c); err != nil {
			return err
		}
		if st.BlockedSent {
			if err := setBlocked(ctx, c, st.Blocked); err != nil {
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

// DiscardRosterStage forgets the paged sync in progress and its pages; the
// roster held is untouched.
func (s *Store) DiscardRosterStage() error {
	return s.write("discard the roster sync in progress", func(c *sql.Conn) error {
		return clearStage(context.Background(), c)
	})
}

func clearStage(ctx context.Context, c *sql.Conn) error {
	if _, err := c.ExecContext(ctx, `DELETE FROM roster_staged`); err != nil {
		return err
	}
	_, err := c.ExecContext(ctx, `DELETE FROM roster_stage`)
	return err
}

// heldIs fails unless the store holds roster version want.
func heldIs(ctx context.Context, c *sql.Conn, want int64) error {
	var cur string
	if err := c.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'roster_version'`).Scan(&cur); err != nil {
		return err
	}
	if n, _ := strconv.ParseInt(cur, 10, 64); n != want {
		return fmt.Errorf("the store holds roster version %d, the sync in progress began from %d: discard it and sync again", n, want)
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
