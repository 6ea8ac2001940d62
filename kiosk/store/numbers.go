package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"wartelsuspas/kiosk/dialplan"
	"wartelsuspas/kiosk/record"
)

// The registered numbers and the blocked list come with the roster
// (docs/dial.md): each inmate's card carries its person's approved
// numbers, and the first page of a sync the facility's blocked list when
// it changed. They are applied in the transaction that applies the roster
// version, so the numbers a booth dials are always those of one version.

// Numbers lists the approved numbers registered for an inmate (person) at
// the roster version held, in slot order (slots 1..9, then the numbers
// chosen only by keying them in full, by id). It implements
// session.Numbers; whether a number may be dialled now is
// record.Number.ValidAt, and the blocked list is NumberBlocked.
func (s *Store) Numbers(person string) ([]record.Number, error) {
	rows, err := s.db.Query(`SELECT id, e164, slot, label, registered_by, approved_by, valid_from, valid_until FROM numbers
		WHERE person = ? ORDER BY slot = 0, slot, id`, person)
	if err != nil {
		return nil, s.wrap("list the numbers of "+person, err)
	}
	defer rows.Close()
	var out []record.Number
	for rows.Next() {
		n := record.Number{Person: person}
		var from, until int64
		if err := rows.Scan(&n.ID, &n.E164, &n.Slot, &n.Label, &n.RegisteredBy, &n.ApprovedBy, &from, &until); err != nil {
			return nil, s.wrap("list the numbers of "+person, err)
		}
		n.ValidFrom, n.ValidUntil = fromMs(from), fromMs(until)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list the numbers of "+person, err)
	}
	return out, nil
}

// NumberBlocked reports whether e164 is on the facility's blocked list held.
func (s *Store) NumberBlocked(e164 string) (bool, error) {
	var one int
	err := s.db.QueryRow(`SELECT 1 FROM blocked_numbers WHERE e164 = ?`, e164).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, s.wrap("look up the blocked list", err)
	}
	return true, nil
}

// BlockedNumbers lists the blocked list held, sorted.
func (s *Store) BlockedNumbers() ([]string, error) {
	rows, err := s.db.Query(`SELECT e164 FROM blocked_numbers ORDER BY e164`)
	if err != nil {
		return nil, s.wrap("list the blocked numbers", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, s.wrap("list the blocked numbers", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list the blocked numbers", err)
	}
	return out, nil
}

// checkNumbers rejects numbers a card entry cannot carry.
func checkNumbers(ci record.CardInfo) error {
	if len(ci.Numbers) > 0 && ci.Role != record.RoleInmate {
		return fmt.Errorf("card %s: a %s card carries registered numbers; only inmates have them", ci.Card, ci.Role)
	}
	slots, ids := map[int]int64{}, map[int64]bool{}
	for _, n := range ci.Numbers {
		switch {
		case n.ID <= 0:
			return fmt.Errorf("card %s: a number has id %d", ci.Card, n.ID)
		case ids[n.ID]:
			return fmt.Errorf("card %s: number %d listed twice", ci.Card, n.ID)
		case n.Person != ci.Person:
			return fmt.Errorf("card %s of %s: number %d is registered for %s", ci.Card, ci.Person, n.ID, n.Person)
		case !dialplan.Valid(n.E164):
			return fmt.Errorf("card %s: number %d: %q is not an E.164 number", ci.Card, n.ID, n.E164)
		case n.Slot < 0 || n.Slot > 9:
			return fmt.Errorf("card %s: number %d: slot %d is not a digit", ci.Card, n.ID, n.Slot)
		case n.Slot > 0 && slots[n.Slot] != 0:
			return fmt.Errorf("card %s: numbers %d and %d share slot %d", ci.Card, slots[n.Slot], n.ID, n.Slot)
		}
		ids[n.ID] = true
		if n.Slot > 0 {
			slots[n.Slot] = n.ID
		}
	}
	return nil
}

// checkBlocked rejects a blocked list with a number that is not E.164.
func checkBlocked(blocked []string) error {
	for _, e := range blocked {
		if !dialplan.Valid(e) {
			return fmt.Errorf("blocked list: %q is not an E.164 number", e)
		}
	}
	return nil
}

// setNumbers makes numbers the person's numbers, inside a roster apply.
func setNumbers(ctx context.Context, c *sql.Conn, person string, numbers []record.Number) error {
	if _, err := c.ExecContext(ctx, `DELETE FROM numbers WHERE person = ?`, person); err != nil {
		return fmt.Errorf("numbers of %s: %w", person, err)
	}
	for _, n := range numbers {
		if _, err := c.ExecContext(ctx, `INSERT INTO numbers(id, person, e164, slot, label, registered_by, approved_by, valid_from, valid_until)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, n.ID, person, n.E164, n.Slot, n.Label, n.RegisteredBy, n.ApprovedBy,
			toMs(n.ValidFrom), toMs(n.ValidUntil)); err != nil {
			return fmt.Errorf("number %d of %s: %w", n.ID, person, err)
		}
	}
	return nil
}

// dropOrphanNumbers forgets the numbers of persons who no longer hold an
// inmate card, after deletes.
func dropOrphanNumbers(ctx context.Context, c *sql.Conn) error {
	_, err := c.ExecContext(ctx, `DELETE FROM numbers WHERE person NOT IN (SELECT person FROM cards WHERE role = 'inmate')`)
	return err
}

// setBlocked replaces the blocked list.
func setBlocked(ctx context.Context, c *sql.Conn, blocked []string) error {
	if _, err := c.ExecContext(ctx, `DELETE FROM blocked_numbers`); err != nil {
		return err
	}
	for _, e := range blocked {
		if _, err := c.ExecContext(ctx, `INSERT INTO blocked_numbers(e164) VALUES (?) ON CONFLICT DO NOTHING`, e); err != nil {
			return fmt.Errorf("blocked number %s: %w", e, err)
		}
	}
	return nil
}

// applyStagedNumbers gives each staged inmate card's person the numbers it
// carried.
func applyStagedNumbers(ctx context.Context, c *sql.Conn) error {
	rows, err := c.QueryContext(ctx, `SELECT person, numbers FROM roster_staged WHERE deleted = 0 AND role = 'inmate' ORDER BY card`)
	if err != nil {
		return err
	}
	type staged struct {
		person  string
		numbers []record.Number
	}
	var all []staged
	for rows.Next() {
		var st staged
		var doc string
		if err := rows.Scan(&st.person, &doc); err != nil {
			rows.Close()
			return err
		}
		if err := json.Unmarshal([]byte(doc), &st.numbers); err != nil {
			rows.Close()
			return fmt.Errorf("staged numbers of %s: %w", st.person, err)
		}
		all = append(all, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, st := range all {
		if err := setNumbers(ctx, c, st.person, st.numbers); err != nil {
			return err
		}
	}
	return nil
}

func numbersJSON(ns []record.Number) string {
	if len(ns) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ns) // plain values: never fails
	return string(b)
}

func toMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMs(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
