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
	// Ingest stores a batch uploaded by device, the identity proven by its
	// certificate. It rejects the whole batch, storing nothing, if a record
	// names another device or has sequence 0. Otherwise every record ends
	// stored, duplicate or conflict; gaps, broken links, bad hashes and
	// unreadable payloads are stored and flagged (see ChainErrors), never
	// mended.
	Ingest(ctx context.Context, device string, recs []record.Record) (IngestResult, error)
	// ChainErrors lists the flags raised on device's chain, cleared or not,
	// by sequence.
	ChainErrors(ctx context.Context, device string) ([]ChainError, error)

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
	// new roster version.
	UpsertCards(ctx context.Context, facility string, cards []record.CardInfo) (version int64, err error)
	// BlockCard blocks (or unblocks) a card in the roster.
	BlockCard(ctx context.Context, facility, card string, blocked bool) (version int64, err error)
	// DeleteCard removes a card, leaving a tombstone so deltas carry it.
	DeleteCard(ctx context.Context, facility, card string) (version int64, err error)
	// SetPolicy stores the facility's rules as an opaque JSON document.
	SetPolicy(ctx context.Context, facility string, policy []byte) (version int64, err error)
	// RosterSince returns what changed after version, or the whole roster
	// when version is 0 or older than the retained tombstones.
	RosterSince(ctx context.Context, facility string, version int64) (RosterDelta, error)
	// RosterPage is RosterSince one page at a time: the entries (upserts
	// and deletes together) after card id after, in card order, at most
	// limit of them (0: all), read from one snapshot. The policy comes
	// only with the first page (after ""). Next is the page's last card
	// when more entries follow, "" on the last page.
	RosterPage(ctx context.Context, facility string, version int64, after string, limit int) (RosterDelta, error)
	// PruneTombstones forgets deletions at or before version upTo; booths
	// older than that get a full roster from then on.
	PruneTombstones(ctx context.Context, facility string, upTo int64) error

	// RegisterDevice records an enrolled device and lifts an earlier
	// revocation of its id (re-enrolment).
	RegisterDevice(ctx context.Context, device string, now time.Time) error
	// RevokeDevice puts device on the revocation list the server checks.
	RevokeDevice(ctx context.Context, device string, now time.Time) error
	// DeviceRevoked reports whether device is revoked.
	DeviceRevoked(ctx context.Context, device string) (bool, error)
	// RecordHeartbeat keeps a device's latest heartbeat.
	RecordHeartbeat(ctx context.Context, hb Heartbeat) error
	// Devices lists the devices of a facility with their latest heartbeat.
	Devices(ctx context.Context, facility string) ([]DeviceStatus, error)

	// RaiseEvent records something the gateway noticed about a device.
	RaiseEvent(ctx context.Context, e CentreEvent) error
	// CentreEvents lists a facility's centre events at or after since,
	// oldest first.
	CentreEvents(ctx context.Context, facility string, since time.Time) ([]CentreEvent, error)

	// MonthlyReport sums a facility's month ("2026-11") per inmate.
	MonthlyReport(ctx context.Context, facility, month string) ([]ReportRow, error)

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
	FlagPayload  = "payload"  // payload unreadable for its kind
)

// RecordResult is the outcome for one record of a batch.
type RecordResult struct {
	Seq    uint64
	Status Status
	Flags  []string // chain error kinds raised by this record
}

// IngestResult is the outcome of a batch, by ascending Seq.
type IngestResult struct {
	Records []RecordResult
	// Contiguous is the highest seq such that 1..Contiguous are all stored
	// for the device: what the booth may delete up to.
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
	Deletes []string          // card ids; empty when Full
	Policy  []byte            // the facility rules if changed since (or Full); nil otherwise
	Next    string            // RosterPage: the last card of this page when more follow
}

// Heartbeat is a device's periodic report.
type Heartbeat struct {
	Device      string
	At          time.Time // gateway's clock on receipt
	OutboxDepth int
	Firmware    string
	Faults      []string
}

// DeviceStatus is a device as the centre sees it.
type DeviceStatus struct {
	Device      string
	Revoked     bool
	LastSeen    time.Time // zero: no heartbeat yet
	OutboxDepth int
	Firmware    string
	Faults      []string
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
