package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
)

// Officer cards approved by a supervisor (docs/console.md "Officer cards").
// An officer card resets quotas and grants minutes at a booth, so it is the
// card an operator could issue to a crony: a new officer card, a card whose
// role becomes officer, or an officer card whose person changes is pending
// until another account approves it, as a registered number is. Until then
// the roster withholds it: a booth's sync gets it as deleted (so a booth
// holding the card's approved past stops honouring it), the gateway's own
// lookups do not see it, and card_history records it as deleted, so an
// officer record naming it credits nothing. Re-importing the card with the
// same person and role keeps its decision; its name, block and blocked
// flag are not what was approved (who holds the card is) and change
// without a new approval (blocking only ever takes power away).

// OfficerStatus is where an officer card's approval stands.
type OfficerStatus string

// The statuses of an officer card. Only an approved card reaches booths.
const (
	OfficerPending  OfficerStatus = "pending"  // added or changed, awaiting a supervisor
	OfficerApproved OfficerStatus = "approved" // booths honour it
	OfficerRejected OfficerStatus = "rejected" // a supervisor refused it; withheld until its person changes or it is added again
)

// AllOfficerStatuses lists every OfficerStatus.
var AllOfficerStatuses = []OfficerStatus{OfficerPending, OfficerApproved, OfficerRejected}

// OfficerCard is an officer card of the roster with its approval.
type OfficerCard struct {
	record.CardInfo
	Status    OfficerStatus
	AddedBy   string // who added it or last changed its person or role ("" before migration 13)
	AddedAt   time.Time
	DecidedBy string // who approved or rejected it ("migration": approved on upgrade)
	DecidedAt time.Time
	Reason    string // a rejection's reason
}

// ErrUnknownOfficer is returned for a card that is no officer card of the
// facility's roster.
var ErrUnknownOfficer = errors.New("no such officer card in this facility's roster")

// withheld is the SQL condition of a card row the booths must not honour:
// an officer card not (yet) approved.
const withheld = `(role = '` + string(record.RoleOfficer) + `' AND officer_status <> '` + string(OfficerApproved) + `')`

// historyRow is a card row as card_history keeps it: as the booths get it,
// a withheld officer card as deleted.
const historyRow = `facility, card, version, role, person, blocked, CASE WHEN deleted = 1 OR ` + withheld + ` THEN 1 ELSE 0 END`

// officerApproval is the approval an upserted card gets: an inmate card
// none; an officer card its current one when it was already a live
// officer card of the same person, a new pending one by by otherwise.
type officerApproval struct {
	status             OfficerStatus
	addedBy, decidedBy string
	addedMs, decidedMs sql.NullInt64
	reason             string
}

func (s *sqlStore) approvalFor(ctx context.Context, tx *sql.Tx, facility, by string, c record.CardInfo) (officerApproval, error) {
	if c.Role != record.RoleOfficer {
		return officerApproval{}, nil
	}
	var a officerApproval
	var role, person, status string
	var deleted int
	err := tx.QueryRowContext(ctx, s.q(`SELECT role, person, deleted, officer_status, added_by, added_ms, decided_by, decided_ms, reason
		FROM cards WHERE facility = ? AND card = ?`), facility, c.Card).
		Scan(&role, &person, &deleted, &status, &a.addedBy, &a.addedMs, &a.decidedBy, &a.decidedMs, &a.reason)
	if err != nil && !absent(err) {
		return officerApproval{}, err
	}
	if err == nil && deleted == 0 && role == string(record.RoleOfficer) && person == c.Person && status != "" {
		a.status = OfficerStatus(status)
		return a, nil
	}
	if strings.TrimSpace(by) == "" || len(by) > protocol.MaxAccountBytes {
		return officerApproval{}, fmt.Errorf("card %s is a new officer card (or changes its person or role), pending a supervisor's approval: name the account that adds it (-by ACCOUNT), in at most %d bytes",
			c.Card, protocol.MaxAccountBytes)
	}
	return officerApproval{status: OfficerPending, addedBy: by, addedMs: sql.NullInt64{Int64: msOf(s.now()), Valid: true}}, nil
}

// ErrCardChanged refuses a decision on an officer card whose person is
// not the one the decider was shown: the import that changed it made it
// pending again, and approving "the card" would approve someone no
// supervisor saw.
var ErrCardChanged = errors.New("the officer card changed since it was shown: look at it again")

// DecideOfficer implements Store.
func (s *sqlStore) DecideOfficer(ctx context.Context, facility, card, person, by string, approve bool, reason string) (OfficerCard, error) {
	verb := "reject"
	if approve {
		verb = "approve"
	}
	op := fmt.Sprintf("%s officer card %s in %s", verb, card, facility)
	if err := checkDecision(by, approve, reason); err != nil {
		return OfficerCard{}, s.errf(op, err)
	}
	var o OfficerCard
	err := s.tx(ctx, nil, func(tx *sql.Tx) error {
		var err error
		if o, err = s.officerCard(ctx, tx, facility, card); err != nil {
			return err
		}
		if o.Status != OfficerPending {
			return fmt.Errorf("%w: it is %s (by %s), only a pending officer card is decided", ErrState, o.Status, o.DecidedBy)
		}
		if o.Person != person {
			return fmt.Errorf("%w: it is now the card of person %q, not %q", ErrCardChanged, o.Person, person)
		}
		if by == o.AddedBy {
			return fmt.Errorf("%w (%s added it)", ErrSameAccount, by)
		}
		o.Status, o.DecidedBy, o.DecidedAt, o.Reason = OfficerRejected, by, s.now().UTC().Truncate(time.Millisecond), reason
		if approve {
			o.Status = OfficerApproved
		}
		// Guarded by what was read: on PostgreSQL an import committed
		// meanwhile (a new person, pending again) is not overwritten.
		if n, err := rowsChanged(tx.ExecContext(ctx, s.q(`UPDATE cards SET officer_status = ?, decided_by = ?, decided_ms = ?, reason = ?
			WHERE facility = ? AND card = ? AND officer_status = ? AND person = ? AND added_by = ? AND deleted = 0`),
			string(o.Status), o.DecidedBy, msOf(o.DecidedAt), o.Reason, facility, card, string(OfficerPending), person, o.AddedBy)); err != nil {
			return err
		} else if n != 1 {
			return fmt.Errorf("%w: it changed while being decided", ErrCardChanged)
		}
		if !approve {
			return nil // withheld before, withheld still: nothing for the booths
		}
		v, err := s.bump(ctx, tx, facility)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE cards SET version = ? WHERE facility = ? AND card = ?`), v, facility, card); err != nil {
			return err
		}
		return s.recordHistory(ctx, tx, facility, card)
	})
	if err != nil {
		return OfficerCard{}, s.errf(op, err)
	}
	return o, nil
}

// OfficerCards implements Store.
func (s *sqlStore) OfficerCards(ctx context.Context, facility string) ([]OfficerCard, error) {
	var out []OfficerCard
	err := s.tx(ctx, nil, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q(`SELECT `+officerColumns+` FROM cards WHERE facility = ? AND role = ? AND deleted = 0
			ORDER BY CASE officer_status WHEN 'pending' THEN 0 ELSE 1 END, `+s.byteOrder("card")), facility, string(record.RoleOfficer))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			o, err := scanOfficer(rows)
			if err != nil {
				return err
			}
			out = append(out, o)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.errf("officer cards of "+facility, err)
	}
	return out, nil
}

const officerColumns = `card, person, name, block, blocked, officer_status, added_by, added_ms, decided_by, decided_ms, reason`

func scanOfficer(sc interface{ Scan(...any) error }) (OfficerCard, error) {
	o := OfficerCard{CardInfo: record.CardInfo{Role: record.RoleOfficer}}
	var blocked int
	var status string
	var added, decided sql.NullInt64
	if err := sc.Scan(&o.Card, &o.Person, &o.Name, &o.Block, &blocked, &status, &o.AddedBy, &added, &o.DecidedBy, &decided, &o.Reason); err != nil {
		return OfficerCard{}, err
	}
	o.Blocked, o.Status, o.AddedAt, o.DecidedAt = blocked != 0, OfficerStatus(status), timeOf(added), timeOf(decided)
	return o, nil
}

func (s *sqlStore) officerCard(ctx context.Context, tx *sql.Tx, facility, card string) (OfficerCard, error) {
	o, err := scanOfficer(tx.QueryRowContext(ctx, s.q(`SELECT `+officerColumns+` FROM cards WHERE facility = ? AND card = ? AND role = ? AND deleted = 0`),
		facility, card, string(record.RoleOfficer)))
	if absent(err) {
		return OfficerCard{}, fmt.Errorf("card %s: %w", card, ErrUnknownOfficer)
	}
	return o, err
}

// checkDecision holds a supervisor's decision, of a number or an officer
// card, to what the audit trail needs: who decides, and why a refusal.
func checkDecision(by string, approve bool, reason string) error {
	if strings.TrimSpace(by) == "" || len(by) > protocol.MaxAccountBytes {
		return fmt.Errorf("account %q: name who decides, in at most %d bytes", by, protocol.MaxAccountBytes)
	}
	if !approve && strings.TrimSpace(reason) == "" {
		return errors.New("no reason: say why it is rejected")
	}
	return nil
}
