package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"wartelsuspas/kiosk/dialplan"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
)

// Registered numbers and the facility's blocked list (docs/dial.md). An
// operator registers a number for an inmate (pending); a supervisor, another
// account, approves or rejects it; approved numbers that are not blocked
// travel to the booths on the inmate's cards. Approving, revoking, blocking
// and unblocking bump the facility's roster version and mark the cards of
// each person whose numbers they change, so the next sync re-sends those
// cards with their numbers as they now stand.

// NumberStatus is where a registered number stands.
type NumberStatus string

// The statuses of a number. Pending and approved are live: they hold a
// slot and count against the policy's limit.
const (
	NumberPending  NumberStatus = "pending"  // registered, awaiting a supervisor
	NumberApproved NumberStatus = "approved" // the booths may dial it
	NumberRejected NumberStatus = "rejected" // a supervisor refused it
	NumberRevoked  NumberStatus = "revoked"  // withdrawn after registration or approval
)

// AllNumberStatuses lists every NumberStatus.
var AllNumberStatuses = []NumberStatus{NumberPending, NumberApproved, NumberRejected, NumberRevoked}

// NumberEntry is a registered number as the centre keeps it, every status.
type NumberEntry struct {
	ID           int64
	Facility     string
	Person       string
	E164         string
	Slot         int // 1..9; 0: chosen by keying the full number only
	Label        string
	Status       NumberStatus
	RegisteredBy string
	RegisteredAt time.Time
	DecidedBy    string // who approved, rejected or revoked it
	DecidedAt    time.Time
	Reason       string // rejection/revocation reason
	ValidFrom    time.Time
	ValidUntil   time.Time
}

// BlockedNumber is a number no booth of the facility dials, whoever
// registered it (victims, witnesses, officials).
type BlockedNumber struct {
	Facility string
	E164     string
	Reason   string
	AddedBy  string
	AddedAt  time.Time
}

// Errors of the numbers' rules, wrapped with what was asked.
var (
	ErrUnknownNumber = errors.New("no such registered number in this facility")
	ErrSameAccount   = errors.New("the account that registered the number (or added the officer card) may not decide it: another supervisor must approve or reject it")
	ErrSlotTaken     = errors.New("the slot digit is already used by another live number of this inmate")
	ErrNumberLimit   = errors.New("the inmate has as many live numbers as the facility's policy allows (max_numbers_per_inmate)")
	ErrNumberBlocked = errors.New("the number is on the facility's blocked list")
	ErrState         = errors.New("not in a state that allows this (a number, or an officer card)")
	ErrNotInmate     = errors.New("the person holds no inmate card in the facility's roster")
	ErrAlreadyLive   = errors.New("the number is already registered (pending or approved) for this inmate")
)

// RegisterNumber implements Store.
func (s *sqlStore) RegisterNumber(ctx context.Context, facility string, n NumberEntry) (NumberEntry, error) {
	op := fmt.Sprintf("register number for %s in %s", n.Person, facility)
	e164, err := dialplan.Parse(n.E164)
	if err != nil {
		return NumberEntry{}, s.errf(op, err)
	}
	n.E164, n.Facility, n.Label = e164, facility, strings.TrimSpace(n.Label)
	if err := checkNewNumber(n); err != nil {
		return NumberEntry{}, s.errf(op, err)
	}
	n.Status, n.RegisteredAt = NumberPending, s.now().UTC().Truncate(time.Millisecond)
	n.DecidedBy, n.DecidedAt, n.Reason = "", time.Time{}, ""
	err = s.tx(ctx, nil, func(tx *sql.Tx) error {
		var inmates int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM cards WHERE facility = ? AND person = ? AND role = ? AND deleted = 0`),
			facility, n.Person, string(record.RoleInmate)).Scan(&inmates); err != nil {
			return err
		}
		if inmates == 0 {
			return fmt.Errorf("person %q: %w (%s): import the inmate's card first", n.Person, ErrNotInmate, facility)
		}
		if b, ok, err := s.blockedNumber(ctx, tx, facility, n.E164); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("%s: %w (%s, added by %s)", n.E164, ErrNumberBlocked, b.Reason, b.AddedBy)
		}
		live, err := s.numbersOf(ctx, tx, facility, n.Person, true)
		if err != nil {
			return err
		}
		for _, o := range live {
			if o.E164 == n.E164 {
				return fmt.Errorf("%s: %w (%s, number %d, %s)", n.E164, ErrAlreadyLive, n.Person, o.ID, o.Status)
			}
			if n.Slot != 0 && o.Slot == n.Slot {
				return fmt.Errorf("slot %d: %w (number %d, %s, %s): choose another digit, or revoke that number first", n.Slot, ErrSlotTaken, o.ID, o.E164, o.Status)
			}
		}
		limit, err := s.numbersLimit(ctx, tx, facility)
		if err != nil {
			return err
		}
		if len(live) >= limit {
			return fmt.Errorf("%w: %s has %d, the limit is %d; revoke one first, or raise the limit in the policy", ErrNumberLimit, n.Person, len(live), limit)
		}
		return tx.QueryRowContext(ctx, s.q(`INSERT INTO numbers (facility, person, e164, slot, label, status, registered_by, registered_ms,
			decided_by, decided_ms, reason, valid_from_ms, valid_until_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', NULL, '', ?, ?) RETURNING id`),
			facility, n.Person, n.E164, n.Slot, n.Label, string(n.Status), n.RegisteredBy, msOf(n.RegisteredAt),
			nullMs(n.ValidFrom), nullMs(n.ValidUntil)).Scan(&n.ID)
	})
	if err != nil {
		return NumberEntry{}, s.errf(op, err)
	}
	return n, nil
}

// checkNewNumber holds a registration to what a booth can act on.
func checkNewNumber(n NumberEntry) error {
	switch {
	case strings.TrimSpace(n.Person) == "":
		return errors.New("no person: name the inmate the number is for")
	case strings.TrimSpace(n.RegisteredBy) == "":
		return errors.New("no account: name who registers the number")
	case len(n.RegisteredBy) > protocol.MaxAccountBytes:
		return fmt.Errorf("account %q: at most %d bytes", n.RegisteredBy, protocol.MaxAccountBytes)
	case n.Slot < 0 || n.Slot > 9:
		return fmt.Errorf("slot %d: use a digit 1 to 9, or 0 for a number chosen by keying it in full", n.Slot)
	case len(n.Label) > protocol.MaxLabelBytes || !utf8.ValidString(n.Label):
		return fmt.Errorf("label %q: at most %d bytes of text (a relationship: ibu, kakak)", n.Label, protocol.MaxLabelBytes)
	case !n.ValidFrom.IsZero() && !n.ValidUntil.IsZero() && !n.ValidUntil.After(n.ValidFrom):
		return fmt.Errorf("valid until %s is not after valid from %s", n.ValidUntil.Format(time.RFC3339), n.ValidFrom.Format(time.RFC3339))
	}
	return nil
}

// numbersLimit is the facility policy's max_numbers_per_inmate.
func (s *sqlStore) numbersLimit(ctx context.Context, tx *sql.Tx, facility string) (int, error) {
	var doc []byte
	err := tx.QueryRowContext(ctx, s.q(`SELECT policy FROM facilities WHERE facility = ?`), facility).Scan(&doc)
	if absent(err) || err == nil && doc == nil {
		return policy.DefaultNumbersPerInmate, nil
	}
	if err != nil {
		return 0, err
	}
	p, err := protocol.ParsePolicy(doc)
	if err != nil {
		return 0, fmt.Errorf("the facility's stored policy is unusable (set it again with wartel-gateway policy set): %w", err)
	}
	// ParsePolicy checked the bounds.
	return policy.Rules{MaxNumbersPerInmate: deref(p.MaxNumbersPerInmate)}.NumbersPerInmate(), nil
}

// DecideNumber implements Store.
func (s *sqlStore) DecideNumber(ctx context.Context, facility string, id int64, by string, approve bool, reason string) (NumberEntry, error) {
	verb := "reject"
	if approve {
		verb = "approve"
	}
	op := fmt.Sprintf("%s number %d in %s", verb, id, facility)
	if err := checkDecision(by, approve, reason); err != nil {
		return NumberEntry{}, s.errf(op, err)
	}
	var n NumberEntry
	err := s.tx(ctx, nil, func(tx *sql.Tx) error {
		var err error
		if n, err = s.numberByID(ctx, tx, facility, id); err != nil {
			return err
		}
		if n.Status != NumberPending {
			return fmt.Errorf("%w: it is %s (by %s), only a pending number is decided", ErrState, n.Status, n.DecidedBy)
		}
		if by == n.RegisteredBy {
			return fmt.Errorf("%w (%s registered it)", ErrSameAccount, by)
		}
		status := NumberRejected
		if approve {
			if b, ok, err := s.blockedNumber(ctx, tx, facility, n.E164); err != nil {
				return err
			} else if ok {
				return fmt.Errorf("%s: %w (%s, added by %s): it cannot be approved; reject it", n.E164, ErrNumberBlocked, b.Reason, b.AddedBy)
			}
			status = NumberApproved
		}
		was := n.Status
		n.Status, n.DecidedBy, n.DecidedAt, n.Reason = status, by, s.now().UTC().Truncate(time.Millisecond), reason
		if err := s.setNumberStatus(ctx, tx, n, was); err != nil {
			return err
		}
		if approve {
			return s.resendPersons(ctx, tx, facility, []string{n.Person})
		}
		return nil
	})
	if err != nil {
		return NumberEntry{}, s.errf(op, err)
	}
	return n, nil
}

// RevokeNumber implements Store.
func (s *sqlStore) RevokeNumber(ctx context.Context, facility string, id int64, by, reason string) (NumberEntry, error) {
	op := fmt.Sprintf("revoke number %d in %s", id, facility)
	if strings.TrimSpace(by) == "" {
		return NumberEntry{}, s.errf(op, errors.New("no account: name who revokes"))
	}
	if strings.TrimSpace(reason) == "" {
		return NumberEntry{}, s.errf(op, errors.New("no reason: say why the number is revoked"))
	}
	var n NumberEntry
	err := s.tx(ctx, nil, func(tx *sql.Tx) error {
		var err error
		if n, err = s.numberByID(ctx, tx, facility, id); err != nil {
			return err
		}
		if n.Status != NumberPending && n.Status != NumberApproved {
			return fmt.Errorf("%w: it is %s already (by %s)", ErrState, n.Status, n.DecidedBy)
		}
		was := n.Status
		n.Status, n.DecidedBy, n.DecidedAt, n.Reason = NumberRevoked, by, s.now().UTC().Truncate(time.Millisecond), reason
		if err := s.setNumberStatus(ctx, tx, n, was); err != nil {
			return err
		}
		return s.resendPersons(ctx, tx, facility, []string{n.Person})
	})
	if err != nil {
		return NumberEntry{}, s.errf(op, err)
	}
	return n, nil
}

// Numbers implements Store.
func (s *sqlStore) Numbers(ctx context.Context, facility, person string) ([]NumberEntry, error) {
	var out []NumberEntry
	err := s.tx(ctx, nil, func(tx *sql.Tx) error {
		var err error
		out, err = s.numbersOf(ctx, tx, facility, person, false)
		return err
	})
	if err != nil {
		return nil, s.errf(fmt.Sprintf("numbers of %q in %s", person, facility), err)
	}
	return out, nil
}

// BlockNumber implements Store.
func (s *sqlStore) BlockNumber(ctx context.Context, facility string, b BlockedNumber) error {
	e164, err := dialplan.Parse(b.E164)
	if err != nil {
		return s.errf("block a number in "+facility, err)
	}
	op := fmt.Sprintf("block %s in %s", e164, facility)
	switch {
	case strings.TrimSpace(b.AddedBy) == "":
		return s.errf(op, errors.New("no account: name who blocks the number"))
	case strings.TrimSpace(b.Reason) == "":
		return s.errf(op, errors.New("no reason: say why (victim, witness, official…), so the next officer knows"))
	}
	err = s.tx(ctx, nil, func(tx *sql.Tx) error {
		if old, ok, err := s.blockedNumber(ctx, tx, facility, e164); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("already blocked since %s by %s (%s)", old.AddedAt.Format(time.RFC3339), old.AddedBy, old.Reason)
		}
		var count int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM blocked_numbers WHERE facility = ?`), facility).Scan(&count); err != nil {
			return err
		}
		if count >= protocol.MaxBlocked {
			return fmt.Errorf("the blocked list holds %d numbers, the most a booth takes: remove numbers no longer needed", count)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO blocked_numbers (facility, e164, reason, added_by, added_ms) VALUES (?, ?, ?, ?, ?)`),
			facility, e164, b.Reason, b.AddedBy, msOf(s.now())); err != nil {
			return err
		}
		return s.blockedChanged(ctx, tx, facility, e164)
	})
	if err != nil {
		return s.errf(op, err)
	}
	return nil
}

// UnblockNumber implements Store.
func (s *sqlStore) UnblockNumber(ctx context.Context, facility, number, by string) error {
	e164, err := dialplan.Parse(number)
	if err != nil {
		return s.errf("unblock a number in "+facility, err)
	}
	op := fmt.Sprintf("unblock %s in %s", e164, facility)
	if strings.TrimSpace(by) == "" {
		return s.errf(op, errors.New("no account: name who unblocks the number"))
	}
	err = s.tx(ctx, nil, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM blocked_numbers WHERE facility = ? AND e164 = ?`), facility, e164)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errors.New("it is not on the blocked list")
		}
		return s.blockedChanged(ctx, tx, facility, e164)
	})
	if err != nil {
		return s.errf(op, err)
	}
	return nil
}

// BlockedNumbers implements Store.
func (s *sqlStore) BlockedNumbers(ctx context.Context, facility string) ([]BlockedNumber, error) {
	rows, err := s.on(ctx).QueryContext(ctx, s.q(`SELECT e164, reason, added_by, added_ms FROM blocked_numbers WHERE facility = ? ORDER BY `+s.byteOrder("e164")), facility)
	if err != nil {
		return nil, s.errf("blocked numbers of "+facility, err)
	}
	defer rows.Close()
	var out []BlockedNumber
	for rows.Next() {
		b := BlockedNumber{Facility: facility}
		var at int64
		if err := rows.Scan(&b.E164, &b.Reason, &b.AddedBy, &at); err != nil {
			return nil, s.errf("blocked numbers of "+facility, err)
		}
		b.AddedAt = time.UnixMilli(at).UTC()
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("blocked numbers of "+facility, err)
	}
	return out, nil
}

// blockedChanged bumps the version for a change of the blocked list: the
// list goes with the next sync's first page, and the cards of every person
// with e164 approved go again, with or without it.
func (s *sqlStore) blockedChanged(ctx context.Context, tx *sql.Tx, facility, e164 string) error {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT DISTINCT person FROM numbers WHERE facility = ? AND e164 = ? AND status = ?`),
		facility, e164, string(NumberApproved))
	if err != nil {
		return err
	}
	var persons []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return err
		}
		persons = append(persons, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if err := s.resendPersons(ctx, tx, facility, persons); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, s.q(`UPDATE facilities SET blocked_version = version WHERE facility = ?`), facility)
	return err
}

// resendPersons bumps the roster version and marks every live card of the
// persons changed at it, so deltas carry them with their numbers.
func (s *sqlStore) resendPersons(ctx context.Context, tx *sql.Tx, facility string, persons []string) error {
	v, err := s.bump(ctx, tx, facility)
	if err != nil {
		return err
	}
	for _, p := range persons {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE cards SET version = ? WHERE facility = ? AND person = ? AND deleted = 0`), v, facility, p); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO card_history (facility, card, version, role, person, blocked, deleted)
			SELECT `+historyRow+` FROM cards WHERE facility = ? AND person = ? AND deleted = 0
			ON CONFLICT (facility, card, version) DO NOTHING`), facility, p); err != nil {
			return err
		}
	}
	return nil
}

const numberColumns = `id, person, e164, slot, label, status, registered_by, registered_ms, decided_by, decided_ms, reason, valid_from_ms, valid_until_ms`

func scanNumber(sc interface{ Scan(...any) error }, facility string) (NumberEntry, error) {
	n := NumberEntry{Facility: facility}
	var status string
	var reg int64
	var decided, from, until sql.NullInt64
	if err := sc.Scan(&n.ID, &n.Person, &n.E164, &n.Slot, &n.Label, &status, &n.RegisteredBy, &reg, &n.DecidedBy, &decided, &n.Reason, &from, &until); err != nil {
		return NumberEntry{}, err
	}
	n.Status, n.RegisteredAt = NumberStatus(status), time.UnixMilli(reg).UTC()
	n.DecidedAt, n.ValidFrom, n.ValidUntil = timeOf(decided), timeOf(from), timeOf(until)
	return n, nil
}

func (s *sqlStore) numberByID(ctx context.Context, tx *sql.Tx, facility string, id int64) (NumberEntry, error) {
	n, err := scanNumber(tx.QueryRowContext(ctx, s.q(`SELECT `+numberColumns+` FROM numbers WHERE facility = ? AND id = ?`), facility, id), facility)
	if absent(err) {
		return NumberEntry{}, ErrUnknownNumber
	}
	return n, err
}

// numbersOf lists a person's numbers (person "": the facility's), by
// person and id; live keeps only pending and approved ones.
func (s *sqlStore) numbersOf(ctx context.Context, tx *sql.Tx, facility, person string, live bool) ([]NumberEntry, error) {
	query := `SELECT ` + numberColumns + ` FROM numbers WHERE facility = ?`
	args := []any{facility}
	if person != "" {
		query += ` AND person = ?`
		args = append(args, person)
	}
	if live {
		query += ` AND status IN (?, ?)`
		args = append(args, string(NumberPending), string(NumberApproved))
	}
	rows, err := tx.QueryContext(ctx, s.q(query+` ORDER BY `+s.byteOrder("person")+`, id`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []NumberEntry
	for rows.Next() {
		n, err := scanNumber(rows, facility)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// setNumberStatus writes n's decision over the status it was read in: on
// PostgreSQL a decision committed meanwhile by another account (a
// revocation while this one approves) is refused, not overwritten.
func (s *sqlStore) setNumberStatus(ctx context.Context, tx *sql.Tx, n NumberEntry, was NumberStatus) error {
	if k, err := rowsChanged(tx.ExecContext(ctx, s.q(`UPDATE numbers SET status = ?, decided_by = ?, decided_ms = ?, reason = ? WHERE facility = ? AND id = ? AND status = ?`),
		string(n.Status), n.DecidedBy, msOf(n.DecidedAt), n.Reason, n.Facility, n.ID, string(was))); err != nil {
		return err
	} else if k != 1 {
		return fmt.Errorf("%w: it was decided by another account meanwhile; look at it again", ErrState)
	}
	return nil
}

func (s *sqlStore) blockedNumber(ctx context.Context, tx *sql.Tx, facility, e164 string) (BlockedNumber, bool, error) {
	b := BlockedNumber{Facility: facility, E164: e164}
	var at int64
	err := tx.QueryRowContext(ctx, s.q(`SELECT reason, added_by, added_ms FROM blocked_numbers WHERE facility = ? AND e164 = ?`), facility, e164).
		Scan(&b.Reason, &b.AddedBy, &at)
	if absent(err) {
		return BlockedNumber{}, false, nil
	}
	if err != nil {
		return BlockedNumber{}, false, err
	}
	b.AddedAt = time.UnixMilli(at).UTC()
	return b, true, nil
}

// pageNumbers returns the approved, unblocked, unexpired numbers of
// persons (a roster page's inmates), by person: what their cards carry.
// The persons go as one JSON array (one parameter however long the
// page). PostgreSQL hash-joins them once the table has statistics (5 ms
// for 5000 numbers); on a numbers table never analysed it picks a nested
// loop (about 150 ms a page) until autovacuum analyses it.
func (s *sqlStore) pageNumbers(ctx context.Context, tx *sql.Tx, facility string, persons []string) (map[string][]record.Number, error) {
	list, err := json.Marshal(persons)
	if err != nil {
		return nil, err
	}
	among := `n.person IN (SELECT value FROM json_each(?))`
	if s.dialect == postgres {
		among = `n.person IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb)))`
	}
	rows, err := tx.QueryContext(ctx, s.q(`SELECT n.id, n.person, n.e164, n.slot, n.label, n.registered_by, n.decided_by, n.valid_from_ms, n.valid_until_ms
		FROM numbers n WHERE n.facility = ? AND `+among+`
		  AND n.status = ? AND (n.valid_until_ms IS NULL OR n.valid_until_ms > ?)
		  AND NOT EXISTS (SELECT 1 FROM blocked_numbers b WHERE b.facility = n.facility AND b.e164 = n.e164)
		ORDER BY n.id`),
		facility, string(list), string(NumberApproved), msOf(s.now()))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]record.Number{}
	for rows.Next() {
		var n record.Number
		var from, until sql.NullInt64
		if err := rows.Scan(&n.ID, &n.Person, &n.E164, &n.Slot, &n.Label, &n.RegisteredBy, &n.ApprovedBy, &from, &until); err != nil {
			return nil, err
		}
		n.ValidFrom, n.ValidUntil = timeOf(from), timeOf(until)
		out[n.Person] = append(out[n.Person], n)
	}
	return out, rows.Err()
}

// blockedList is the facility's blocked numbers as a booth gets them.
func (s *sqlStore) blockedList(ctx context.Context, tx *sql.Tx, facility string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT e164 FROM blocked_numbers WHERE facility = ? ORDER BY `+s.byteOrder("e164")), facility)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func nullMs(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}
