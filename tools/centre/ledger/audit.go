package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// AuditEntry is one change someone made at the centre, in the append-only
// audit trail: who, when, through what, what, about which facility, and the
// thing before and after (JSON documents; "" when there was none).
type AuditEntry struct {
	Seq      int64 // 1, 2, …: the trail's order
	At       time.Time
	Actor    string // the console account, or the host user of a CLI command
	Via      string // "console", "cli", or "serve" (its scheduled retention run)
	Action   string // e.g. "account.add", "roster.block"
	Facility string // "" for what concerns no one facility (accounts)
	Target   string // what was changed: an account, a card, a booth
	Before   string
	After    string
	PrevHash string // the previous entry's Hash ("" for the first)
	Hash     string // SHA-256 over PrevHash and every field above (AuditHash)
}

// AuditGenesis is the PrevHash of the first entry.
const AuditGenesis = ""

// AuditHash is the hash an entry must carry: hex SHA-256 of its previous
// hash and its fields, so an edit of any entry, or a deleted or inserted
// one, breaks the chain from there on.
func AuditHash(e AuditEntry) string {
	doc, _ := json.Marshal([]any{e.Seq, e.At.UnixMilli(), e.Actor, e.Via, e.Action, e.Facility, e.Target, e.Before, e.After})
	h := sha256.New()
	h.Write([]byte(e.PrevHash))
	h.Write([]byte{'\n'})
	h.Write(doc)
	return hex.EncodeToString(h.Sum(nil))
}

// AuditQuery selects entries of the trail.
type AuditQuery struct {
	// Facilities limits to these facilities' entries (nil: every entry,
	// also those of no facility).
	Facilities []string
	// Before is the Seq to list down from (0: the newest); Limit how many
	// (0: all).
	Before int64
	Limit  int
}

// ErrAuditBroken is a trail whose chain does not verify.
var ErrAuditBroken = errors.New("audit trail broken")

// AuditBreak is the first entry that does not verify, and why.
type AuditBreak struct {
	Seq    int64
	Reason string
}

func (b *AuditBreak) Error() string {
	return fmt.Sprintf("%v at entry %d: %s", ErrAuditBroken, b.Seq, b.Reason)
}

func (b *AuditBreak) Unwrap() error { return ErrAuditBroken }

// Audit is the append-only audit trail.
type Audit interface {
	// AppendAudit appends e (its Seq, PrevHash and Hash are set here) and
	// returns it as stored. Appends from several replicas are serialised.
	AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// AuditLog lists entries newest first.
	AuditLog(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
	// VerifyAudit checks the whole chain and returns the number of entries;
	// the first entry that fails is an *AuditBreak.
	VerifyAudit(ctx context.Context) (int64, error)
}

const auditCols = `seq, at_ms, actor, via, action, facility, target, before_doc, after_doc, prev_hash, hash`

func scanAudit(sc interface{ Scan(...any) error }) (AuditEntry, error) {
	var e AuditEntry
	var at int64
	err := sc.Scan(&e.Seq, &at, &e.Actor, &e.Via, &e.Action, &e.Facility, &e.Target, &e.Before, &e.After, &e.PrevHash, &e.Hash)
	e.At = time.UnixMilli(at).UTC()
	return e, err
}

func (s *sqlStore) AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	err := s.tx(ctx, nil, func(tx *sql.Tx) error {
		var err error
		e, err = s.appendAuditTx(ctx, tx, e)
		return err
	})
	if err != nil {
		return AuditEntry{}, s.errf("audit "+e.Action, err)
	}
	return e, nil
}

// appendAuditTx appends e in tx, for a change of the ledger's own that is
// audited in its transaction (a retention purge). Appended last in a
// transaction, as Atomic callers do, so the audit lock is the last lock
// any transaction takes.
func (s *sqlStore) appendAuditTx(ctx context.Context, tx *sql.Tx, e AuditEntry) (AuditEntry, error) {
	if s.dialect == postgres {
		// One appender at a time across replicas: each entry names
		// the one before it.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7412)`); err != nil {
			return e, err
		}
	}
	var seq int64
	var prev string
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if err != nil && !absent(err) {
		return e, err
	}
	e.Seq, e.PrevHash = seq+1, prev
	e.At = time.UnixMilli(e.At.UnixMilli()).UTC() // what the database keeps
	e.Hash = AuditHash(e)
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO audit_log (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		e.Seq, msOf(e.At), e.Actor, e.Via, e.Action, e.Facility, e.Target, e.Before, e.After, e.PrevHash, e.Hash)
	return e, err
}

func (s *sqlStore) AuditLog(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	query := `SELECT ` + auditCols + ` FROM audit_log WHERE 1 = 1`
	var args []any
	if q.Facilities != nil {
		if len(q.Facilities) == 0 {
			return nil, nil
		}
		query += ` AND facility IN (?` + repeatComma(len(q.Facilities)-1) + `)`
		for _, f := range q.Facilities {
			args = append(args, f)
		}
	}
	if q.Before > 0 {
		query += ` AND seq < ?`
		args = append(args, q.Before)
	}
	query += ` ORDER BY seq DESC`
	if q.Limit > 0 {
		query += fmt.Sprintf(` LIMIT %d`, q.Limit)
	}
	rows, err := s.on(ctx).QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, s.errf("audit log", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, s.errf("audit log", err)
		}
		out = append(out, e)
	}
	return out, s.errf2("audit log", rows.Err())
}

func repeatComma(n int) string {
	b := make([]byte, 0, 3*n)
	for range n {
		b = append(b, ", ?"...)
	}
	return string(b)
}

func (s *sqlStore) VerifyAudit(ctx context.Context) (int64, error) {
	rows, err := s.on(ctx).QueryContext(ctx, `SELECT `+auditCols+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return 0, s.errf("verify the audit trail", err)
	}
	defer rows.Close()
	var n int64
	prev := AuditGenesis
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return n, s.errf("verify the audit trail", err)
		}
		n++
		switch {
		case e.Seq != n:
			return n, &AuditBreak{Seq: e.Seq, Reason: fmt.Sprintf("entry %d is missing (the next one is %d): deleted", n, e.Seq)}
		case e.PrevHash != prev:
			return n, &AuditBreak{Seq: e.Seq, Reason: "its previous hash is not the hash of the entry before: an entry before it was replaced"}
		case AuditHash(e) != e.Hash:
			return n, &AuditBreak{Seq: e.Seq, Reason: "its content does not match its hash: edited"}
		}
		prev = e.Hash
	}
	return n, s.errf2("verify the audit trail", rows.Err())
}
