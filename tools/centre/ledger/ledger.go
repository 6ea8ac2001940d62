// Package ledger is the central gateway's storage: the records every booth
// uploads, the facility-wide ledger of usage and credits derived from them,
// call leases, the versioned roster and policy, device revocations,
// heartbeats and the monthly report.
//
// Two implementations share one Store interface and one test suite: SQLite
// (OpenSQLite, the embedded default) and PostgreSQL (OpenPostgres, for
// several stateless gateway replicas over one database). The semantics are
// written down in docs/ledger.md.
package ledger

import (
	"context"
	"time"

	"wartelsuspas/kiosk/record"
)

// Store is the gateway's storage. Every method is safe for concurrent use,
// also from several processes sharing one PostgreSQL database.
type Store interface {
	// Atomic runs fn in one transaction: every call of this store made
	// with the context fn is given is part of it, committed when fn
	// returns nil and rolled back otherwise. The console and the command
	// line make a change and its audit entry this way, so neither is ever
	// stored without the other.
	Atomic(ctx context.Context, fn func(ctx context.Context) error) error
	// Ingest stores a batch uploaded by device, the identity proven by its
	// certificate. Records are keyed by (device, chain, seq). It rejects the
	// whole batch, storing nothing, if a record names another device, has
	// sequence 0 or a malformed chain, or if the batch mixes chains.
	// Otherwise every record ends
	// stored, duplicate or conflict; gaps, broken links, bad hashes and
	// unreadable payloads are stored and flagged (see ChainErrors), never
	// mended.
	Ingest(ctx context.Context, device string, recs []record.Record) (IngestResult, error)
	// ChainErrors lists the flags raised on device's chains, cleared or
	// not, by chain and sequence.
	ChainErrors(ctx context.Context, device string) ([]ChainError, error)
	// Chains lists the chains (stores) the gateway has seen of device, in
	// the order they were first seen: what it stored of each, the head the
	// booth last reported, and how many records of a replaced chain are
	// lost.
	Chains(ctx context.Context, device string) ([]ChainStatus, error)

	// Balance sums an inmate's ledger in one period over every booth of the
	// facility: charged usage and officer credits. Remaining minutes are
	// allowance + credit − used, the caller's job.
	Balance(ctx context.Context, facility, inmate, period string) (used, credit time.Duration, err error)

	// AcquireLease gives device the call lease of an inmate until now+ttl,
	// unless another device holds an unexpired lease (busy). The same
	// device acquiring again renews with a new lease id. now is the
	// gateway's clock, never a booth's.
	AcquireLease(ctx context.Context, facility, inmate, device string, ttl time.Duration, now time.Time) (lease string, busy bool, err error)
	// ReleaseLease ends a lease; releasing an unknown or replaced lease
	// does nothing.
	ReleaseLease(ctx context.Context, facility, inmate, lease string) error

	// UpsertCards adds or replaces roster cards and returns the facility's
	// new roster version. by is the account adding them: a new officer
	// card, or one whose person or role changes, is pending its approval
	// by another account (DecideOfficer) and needs by; the roster
	// withholds it from the booths until then.
	UpsertCards(ctx context.Context, facility, by string, cards []record.CardInfo) (version int64, err error)
	// BlockCard blocks (or unblocks) a card in the roster by hand. A
	// block by hand stands until lifted by hand, whatever later imports
	// say; a card its roster file blocks is not unblocked by hand
	// (ErrBlockedInFile).
	BlockCard(ctx context.Context, facility, card string, blocked bool) (version int64, err error)
	// BlockedByHand lists the facility's live cards blocked by hand
	// (BlockCard), in card order.
	BlockedByHand(ctx context.Context, facility string) ([]string, error)
	// DeleteCard removes a card, leaving a tombstone so deltas carry it.
	DeleteCard(ctx context.Context, facility, card string) (version int64, err error)
	// DeleteCards removes live cards of a facility in one roster version
	// (roster import -replace); a card not live in the roster fails it
	// whole, naming the card.
	DeleteCards(ctx context.Context, facility string, cards []string) (version int64, err error)
	// SetPolicy stores the facility's rules as an opaque JSON document.
	SetPolicy(ctx context.Context, facility string, policy []byte) (version int64, err error)
	// DecideOfficer approves or rejects a pending officer card; person is
	// the card's person as the decider was shown it (else
	// ErrCardChanged), by must differ from its AddedBy (ErrSameAccount), a
	// rejection needs a reason. Approving bumps the roster version, so
	// booths get the card.
	DecideOfficer(ctx context.Context, facility, card, person, by string, approve bool, reason string) (OfficerCard, error)
	// OfficerCards lists the facility's officer cards with their
	// approval, every status, pending first, then by card.
	OfficerCards(ctx context.Context, facility string) ([]OfficerCard, error)
	// RosterSince returns what changed after version, or the whole roster
	// when version is 0 or older than the retained tombstones: the roster
	// as booths get it, an officer card not approved withheld (sent as
	// deleted; OfficerCards lists them).
	RosterSince(ctx context.Context, facility string, version int64) (RosterDelta, error)
	// RosterPage is RosterSince one page at a time: the entries (upserts
	// and deletes together) after card id after, in card order, at most
	// limit of them (0: all), read from one snapshot. The policy comes
	// only with the first page (after ""). Next is the page's last card
	// when more entries follow, "" on the last page.
	RosterPage(ctx context.Context, facility string, version int64, after string, limit int) (RosterDelta, error)
	// RegisterNumber registers a number for an inmate, pending a
	// supervisor's approval: the number is normalised to E.164
	// (kiosk/dialplan), the person must hold an inmate card, the slot digit
	// (1..9, 0: none) must be free among the person's live (pending or
	// approved) numbers, the number neither live for them already nor
	// blocked, and the person under the policy's max_numbers_per_inmate.
	// The entry's status, decision and RegisteredAt are set here.
	RegisterNumber(ctx context.Context, facility string, n NumberEntry) (NumberEntry, error)
	// DecideNumber approves or rejects a pending number; by must differ
	// from RegisteredBy (ErrSameAccount), a blocked number cannot be
	// approved (ErrNumberBlocked), a rejection needs a reason. Approving
	// bumps the roster version.
	DecideNumber(ctx context.Context, facility string, id int64, by string, approve bool, reason string) (NumberEntry, error)
	// RevokeNumber withdraws a pending or approved number, with a reason;
	// it bumps the roster version, so booths drop it at their next sync.
	RevokeNumber(ctx context.Context, facility string, id int64, by, reason string) (NumberEntry, error)
	// Numbers lists the registered numbers of person (""; the whole
	// facility), every status, by person and id.
	Numbers(ctx context.Context, facility, person string) ([]NumberEntry, error)
	// BlockNumber puts a number on the facility's blocked list, which
	// overrides every registration; it bumps the roster version.
	BlockNumber(ctx context.Context, facility string, b BlockedNumber) error
	// UnblockNumber takes a number off the blocked list; it bumps the
	// roster version.
	UnblockNumber(ctx context.Context, facility, e164, by string) error
	// BlockedNumbers lists the facility's blocked list by number.
	BlockedNumbers(ctx context.Context, facility string) ([]BlockedNumber, error)

	// PruneTombstones forgets deletions at or before version upTo; booths
	// older than that get a full roster from then on.
	PruneTombstones(ctx context.Context, facility string, upTo int64) error

	// RegisterDevice records an enrolled device and lifts an earlier
	// revocation of its id (re-enrolment).
	RegisterDevice(ctx context.Context, device string, now time.Time) error
	// RevokeDevice puts device on the revocation list the server checks;
	// a device never registered is refused with ErrUnknownDevice.
	RevokeDevice(ctx context.Context, device string, now time.Time) error
	// DeviceRevoked reports whether device is revoked.
	DeviceRevoked(ctx context.Context, device string) (bool, error)
	// RevokeCertificate refuses one certificate of device, by its serial
	// (lower-case hex, as ca.Serial writes it); the device's other
	// certificates are not affected. Revoking twice is harmless.
	RevokeCertificate(ctx context.Context, device, serial string, now time.Time) error
	// CertificateRevoked reports whether a client presenting certificate
	// serial of device is refused: the device or that certificate revoked.
	CertificateRevoked(ctx context.Context, device, serial string) (bool, error)
	// RecordHeartbeat keeps a device's latest heartbeat and the chain head
	// it reports, flagging a head whose hash differs from what the gateway
	// stored or was told before at that seq (FlagRewrite); and it flags the
	// device clone_suspected when another start of it (boot id or source
	// address) heartbeats in an overlapping window: it raises
	// EventCloneSuspected once per pair of starts (docs/ledger.md).
	RecordHeartbeat(ctx context.Context, hb Heartbeat) (HeartbeatResult, error)
	// Devices lists the devices of a facility with their latest heartbeat.
	Devices(ctx context.Context, facility string) ([]DeviceStatus, error)

	// RaiseEvent records something the gateway noticed about a device.
	RaiseEvent(ctx context.Context, e CentreEvent) error
	// CentreEvents lists a facility's centre events at or after since,
	// oldest first.
	CentreEvents(ctx context.Context, facility string, since time.Time) ([]CentreEvent, error)
	// ObserveCentreEvents has fn called for every centre event this handle
	// raises, once it is committed (the gateway counts them in a metric).
	// fn must not block.
	ObserveCentreEvents(fn func(CentreEvent))
	// Events lists a facility's (or one device's) event log, oldest first
	// by the gateway's clock: the booths' event records, as stored, and the
	// centre events.
	Events(ctx context.Context, q EventQuery) ([]EventEntry, error)

	// MonthlyReport sums a facility's month ("2026-11") per inmate.
	MonthlyReport(ctx context.Context, facility, month string) ([]ReportRow, error)
	// MonthActivity is a facility's month for the charts and the
	// per-officer report: each call with its time, each officer's
	// actions and credits as the ledger counts them, and whether
	// retention purged the month.
	MonthActivity(ctx context.Context, facility, month string) (Activity, error)

	// SetRetention sets how many months after its end a facility's month
	// keeps its personal fields (0: for ever).
	SetRetention(ctx context.Context, facility string, months int, now time.Time) error
	// RetentionPeriods lists the facilities with a retention period.
	RetentionPeriods(ctx context.Context) ([]RetentionPeriod, error)
	// ApplyRetention purges the personal fields of every month past its
	// facility's retention period at now; the hashes stay, so chains
	// still verify, and the figures stay, so reports still add up. by
	// names who runs it (Actor, Via): each month's audit entry
	// (retention.apply) is written in the transaction of the first of
	// its records purged, so none is purged unaudited.
	ApplyRetention(ctx context.Context, now time.Time, by AuditEntry) ([]Purge, error)
	// Purges lists the months of a facility retention has purged.
	Purges(ctx context.Context, facility string) ([]Purge, error)
	// VerifyChains checks every stored record of device against its hash
	// (a purged record against the hash of its content as it came) and its
	// link to the one before: the problems found, none for a whole chain.
	VerifyChains(ctx context.Context, device string) ([]ChainError, error)

	// Accounts is the console's accounts, sessions and login throttling
	// (accounts.go).
	Accounts
	// Audit is the append-only, hash-chained audit trail (audit.go).
	Audit
	// AlertAcks keeps the acknowledgements of alerts (alerts.go).
	AlertAcks

	String() string
	Close() error
}

// Status is what Ingest did with one record.
type Status string

const (
	Stored    Status = "stored"    // new: kept (and flagged if its chain is broken)
	Duplicate Status = "duplicate" // same device, seq and hash already stored
	Conflict  Status = "conflict"  // same device and seq, a different hash: kept aside and flagged
)

// Chain error kinds.
const (
	FlagGap      = "gap"      // stored before its predecessor
	FlagLink     = "link"     // Prev is not the stored predecessor's hash
	FlagHash     = "hash"     // Hash does not match the content: edited or corrupt
	FlagConflict = "conflict" // a second, different record with a stored seq
	FlagPayload  = "payload"  // payload unreadable for its kind, or a value out of bounds
	FlagOfficer  = "officer"  // the officer is not an officer card of that person in the roster: no credit
	FlagCap      = "cap"      // the credit exceeds a policy cap: the excess is not credited
	// FlagRewrite: a heartbeat named another hash for this seq than the
	// record stored (or than an earlier heartbeat): the booth's records were
	// rewritten after the fact.
	FlagRewrite = "rewrite"
)

// AllFlags lists every chain error kind.
var AllFlags = []string{FlagGap, FlagLink, FlagHash, FlagConflict, FlagPayload, FlagOfficer, FlagCap, FlagRewrite}

// RecordResult is the outcome for one record of a batch.
type RecordResult struct {
	Seq    uint64
	Status Status
	Flags  []string // chain error kinds raised by this record
}

// IngestResult is the outcome of a batch, by ascending Seq.
type IngestResult struct {
	// Chain is the batch's chain ("" for the legacy chain, or an empty
	// batch).
	Chain   string
	Records []RecordResult
	// Contiguous is the highest seq such that 1..Contiguous are all stored
	// for the device's chain: what the booth may delete up to.
	Contiguous uint64
}

// Count returns how many records of the batch ended with s.
func (r IngestResult) Count(s Status) int {
	n := 0
	for _, x := range r.Records {
		if x.Status == s {
			n++
		}
	}
	return n
}

// ChainError is one flag on a device's chain.
type ChainError struct {
	Device    string
	Chain     string
	Seq       uint64
	Kind      string
	Detail    string
	FirstSeen time.Time
	Cleared   bool // a late record filled the gap and its links verify
}

// RosterDelta is what a booth applies to go from the version it holds to
// Version.
type RosterDelta struct {
	Version int64
	Full    bool              // replace the whole roster with Upserts
	Upserts []record.CardInfo // by card
	Deletes []string          // card ids; when Full, only officer cards withheld pending approval
	// Withheld are those officer cards of a Full answer as the centre
	// holds them, for its own views (a roster check, -replace, pages);
	// booths never get it.
	Withheld []record.CardInfo
	Policy   []byte // the facility rules if changed since (or Full); nil otherwise
	// Blocked is the facility's whole blocked list when BlockedSent: it
	// changed since the version asked from (or Full); like Policy, only
	// the first page carries it.
	Blocked     []string
	BlockedSent bool
	Next        string // RosterPage: the last card of this page when more follow
}

// Heartbeat is a device's periodic report.
type Heartbeat struct {
	Device       string
	At           time.Time // gateway's clock on receipt
	OutboxDepth  int
	Firmware     string
	Faults       []string
	State        string        // the booth's engine state
	OutOfService []string      // why it refuses new calls
	ClockTrusted bool          //
	ClockOffset  time.Duration // gateway minus booth, as the booth measured it
	BootID       string        // random per start of the booth's daemon
	Source       string        // the address the heartbeat came from (no port)
	// Chain, HeadSeq and HeadHash are the booth's chain head: the last
	// record its store wrote (HeadSeq 0: none yet).
	Chain    string
	HeadSeq  uint64
	HeadHash string
	// Window is how long a start counts as running after its last
	// heartbeat: two starts of one device seen within it of each other,
	// their spans overlapping, are a suspected clone (0: no check).
	Window time.Duration
}

// HeartbeatResult is what RecordHeartbeat noticed.
type HeartbeatResult struct {
	// NewClonePairs counts the pairs of starts running at once that this
	// heartbeat revealed for the first time; an EventCloneSuspected was
	// raised for each.
	NewClonePairs int
}

// ChainStatus is one chain (one store) of a device as the centre knows it.
type ChainStatus struct {
	Chain      string
	FirstSeen  time.Time // first record or heartbeat of the chain
	Contiguous uint64    // stored up to: 1..Contiguous are all stored
	Highest    uint64    // highest seq stored
	Stored     uint64    // records stored
	// Reported is the highest head the booth reported in a heartbeat for
	// this chain, with its hash and when (0: never reported).
	Reported     uint64
	ReportedHash string
	ReportedAt   time.Time
	// Replaced: the device has since started another chain (its store
	// was wiped, re-flashed or replaced).
	Replaced bool
	// Lost counts the records of a replaced chain the booth is known to
	// have written (up to the highest of Reported and Highest) that the
	// gateway never stored; 0 for the current chain.
	Lost uint64
}

// DeviceStatus is a device as the centre sees it.
type DeviceStatus struct {
	Device       string
	Revoked      bool
	LastSeen     time.Time // zero: no heartbeat yet
	OutboxDepth  int
	Firmware     string
	Faults       []string
	State        string
	OutOfService []string
	ClockTrusted bool
	ClockOffset  time.Duration // gateway minus booth
	BootID       string
	Source       string
	// CloneSuspected is when two starts of this identity were last seen
	// running at once; zero when never, or since the device was enrolled
	// again.
	CloneSuspected time.Time
	// StoreReplaced counts the device's replaced chains (stores wiped,
	// re-flashed or swapped), LostRecords the records lost with them (see
	// Chains).
	StoreReplaced int
	LostRecords   uint64
}

// ReportRow is one inmate's month in a facility. Inmate is empty for
// denials of unknown cards.
type ReportRow struct {
	Inmate         string
	Calls          int64
	Talked         time.Duration
	Charged        time.Duration
	Denials        int64
	OfficerActions int64
	Credit         time.Duration
}
