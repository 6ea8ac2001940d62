// Package protocol defines the /v1 wire format between a booth and the
// central gateway: the paths, the request and response bodies, and a strict
// decoder that both sides use so a malformed body is refused with a message
// that names the field.
//
// The transport is HTTP/JSON over mutual TLS (see docs/pki.md); the
// document of record for other implementations is docs/gateway-api.json,
// and a test keeps it in step with these types. Durations are whole
// milliseconds and instants are Unix milliseconds, so any language reads
// them without a time parser.
//
// This package holds data only: it imports no network library, so the
// booth's domain code may use it.
package protocol

import (
	"encoding/json"
	"time"

	"wartelsuspas/kiosk/record"
)

// Paths of the /v1 API. Every request is a POST with a JSON body.
const (
	PathUpload    = "/v1/records"   // UploadRequest → UploadResponse
	PathSync      = "/v1/sync"      // SyncRequest → SyncResponse
	PathAuthorise = "/v1/authorise" // AuthoriseRequest → AuthoriseResponse
	PathRelease   = "/v1/release"   // ReleaseRequest → 204 No Content
	PathHeartbeat = "/v1/heartbeat" // HeartbeatRequest → HeartbeatResponse
)

// ContentType is the media type of every body.
const ContentType = "application/json"

// Limits both sides agree on.
const (
	// MaxBodyBytes is the largest request body the gateway reads; pass it
	// to Decode. A full batch of records fits in a quarter of it.
	MaxBodyBytes = 1 << 20
	// MaxBatch is the most records one UploadRequest may carry.
	MaxBatch = 500
	// AuthoriseDeadline is how long a booth waits for /v1/authorise before
	// it decides offline from its cache (a booth setting may change it).
	AuthoriseDeadline = 400 * time.Millisecond
	// MaxSyncPage is the most roster entries (upserts and deletes
	// together) one page of /v1/sync carries, whatever the booth asks.
	MaxSyncPage = 2000
	// SyncPageBytes bounds a page by size too: the gateway ends a page
	// once its entries reach this many bytes (it always carries at least
	// one), so a page stays near a quarter of MaxBodyBytes however long
	// the names are.
	SyncPageBytes = 256 << 10
	// MaxCursorBytes bounds SyncRequest.Cursor (a card id, today).
	MaxCursorBytes = 1024
)

// UploadRequest is a batch of records from one booth's outbox, in sequence
// order, all of one chain. Every record's Device must be the identity in
// the booth's client certificate. Payload bytes are hashed as they are: the booth must store
// them compact, as json.Marshal writes them, because encoding the request
// compacts them again.
type UploadRequest struct {
	Records []record.Record `json:"records"`
}

// ItemStatus is what the gateway did with one uploaded record.
type ItemStatus string

const (
	// StatusStored: the record is new and now held by the gateway.
	StatusStored ItemStatus = "stored"
	// StatusDuplicate: the gateway already held this device and sequence
	// with the same hash. Accepted silently; the booth may forget it.
	StatusDuplicate ItemStatus = "duplicate"
	// StatusConflict: the gateway already held this device and sequence
	// with a different hash. The gateway keeps both and raises an alert;
	// the booth must keep its copy for a technician.
	StatusConflict ItemStatus = "conflict"
)

// ItemResult is the gateway's answer for one record of a batch.
type ItemResult struct {
	Seq    uint64     `json:"seq"`
	Status ItemStatus `json:"status"`
}

// UploadResponse says what the gateway holds after a batch.
type UploadResponse struct {
	// StoredUpTo is the highest sequence n such that the gateway holds
	// every record 1..n of this device's chain (the batch's). The booth may
	// delete (or mark sent) its records up to it, and no further.
	StoredUpTo uint64       `json:"stored_up_to"`
	Results    []ItemResult `json:"results"`
	// ChainErrors describe gaps and broken hash links the gateway found.
	// Such records are stored and flagged, never mended; the booth logs
	// the text for a technician.
	ChainErrors []string `json:"chain_errors,omitempty"`
}

// SyncRequest asks for the roster and policy changes since RosterVersion
// (0 for none: a full sync), one page at a time when PageCards is set.
//
// Paging (docs/uplink.md, "Roster sync"): the first page of a pass has no
// Cursor; each next page sends the previous answer's NextCursor with the
// same RosterVersion. Entries come in card order, each page read from one
// snapshot of the roster at the answer's Version. A booth that sends no
// PageCards (firmware before paging) gets the whole answer in one body.
type SyncRequest struct {
	// RosterVersion is the version the answer is a delta from: the
	// version the booth holds, or, in a catch-up pass, the version the
	// previous pass was read at.
	RosterVersion int64 `json:"roster_version"`
	// Cursor is the NextCursor of the previous page ("": the first page).
	// It is opaque to the booth.
	Cursor string `json:"cursor,omitempty"`
	// PageCards is the most entries the booth wants in one answer (the
	// gateway caps it at MaxSyncPage and SyncPageBytes); 0: no paging.
	PageCards int `json:"page_cards,omitempty"`
	// Numbers: the booth keeps registered numbers and the blocked list
	// (firmware from docs/dial.md on). Without it the gateway sends
	// neither, so a booth from before, whose decoder refuses unknown
	// fields, still syncs.
	Numbers bool `json:"numbers,omitempty"`
}

// SyncResponse is one page of a delta from the request's RosterVersion to
// Version, or of the whole roster when Full is set (the booth then deletes
// every card not listed in the pass). When NextCursor is empty this is the
// pass's last page. A pass whose pages all carry one Version is that
// version exactly; otherwise the booth runs a catch-up pass from the first
// page's Version (docs/uplink.md). The booth applies a completed version in
// one transaction: all of Version or none. When the booth is up to date,
// Version equals its version and the lists are empty.
type SyncResponse struct {
	Version int64    `json:"version"`
	Full    bool     `json:"full"`
	Upserts []Card   `json:"upserts"`
	Deletes []string `json:"deletes"` // canonical card ids; in a full answer only officer cards withheld pending approval (docs/uplink.md)
	// Policy is the facility's rules (allowances, hours, rotation) as the
	// booth's configuration reads them; absent when unchanged. Only the
	// first page of a pass carries it.
	Policy json.RawMessage `json:"policy,omitempty"`
	// NextCursor, when set, means more pages follow: send it as Cursor.
	NextCursor string `json:"next_cursor,omitempty"`
	// Blocked is the facility's whole list of blocked numbers, which no
	// booth may dial whoever registered them; absent when unchanged since
	// RosterVersion (an empty list: none is blocked now). Only the first
	// page of a pass carries it, and the booth applies it with the
	// version, as the policy (docs/dial.md).
	Blocked *BlockedList `json:"blocked,omitempty"`
}

// BlockedList is the facility's blocked numbers on the wire: the numbers
// only (E.164), since a booth needs no reason and no name of a victim or
// witness.
type BlockedList struct {
	Numbers []string `json:"numbers"`
}

// Card is a roster entry on the wire: record.CardInfo with JSON names and
// the allowance in milliseconds.
type Card struct {
	Card        string      `json:"card"` // canonical card id, e.g. "em:0400D8B2A5"
	Role        record.Role `json:"role"` // inmate or officer
	Person      string      `json:"person"`
	Name        string      `json:"name"`
	Block       string      `json:"block,omitempty"`
	AllowanceMs int64       `json:"allowance_ms"` // per period; 0 = the facility default
	Blocked     bool        `json:"blocked"`
	// Numbers are the person's registered and approved numbers that are
	// not blocked (an inmate's card; absent for officers and for inmates
	// with none). A change to them sends every card of the person again.
	Numbers []Number `json:"numbers,omitempty"`
}

// Number is a registered number on the wire: record.Number without the
// person (the card's) and with its instants in Unix milliseconds (0: no
// bound).
type Number struct {
	ID           int64  `json:"id"`
	E164         string `json:"e164"`
	Slot         int    `json:"slot"` // 1..9, 0: chosen by keying the full number only
	Label        string `json:"label"`
	RegisteredBy string `json:"registered_by"`
	ApprovedBy   string `json:"approved_by"`
	ValidFromMs  int64  `json:"valid_from_ms,omitempty"`
	ValidUntilMs int64  `json:"valid_until_ms,omitempty"`
}

// Limits on numbers both sides hold to.
const (
	// MaxBlocked is the most numbers a facility's blocked list holds, so
	// the first page of a sync stays under MaxBodyBytes with its entries.
	MaxBlocked = 10000
	// MaxLabelBytes bounds a number's label (a relationship: "ibu").
	MaxLabelBytes = 64
	// MaxAccountBytes bounds the account names a number carries (who
	// registered and who approved it).
	MaxAccountBytes = 64
)

func numberFromRecord(n record.Number) Number {
	return Number{ID: n.ID, E164: n.E164, Slot: n.Slot, Label: n.Label, RegisteredBy: n.RegisteredBy, ApprovedBy: n.ApprovedBy,
		ValidFromMs: unixMs(n.ValidFrom), ValidUntilMs: unixMs(n.ValidUntil)}
}

func (n Number) record(person string) record.Number {
	return record.Number{ID: n.ID, Person: person, E164: n.E164, Slot: n.Slot, Label: n.Label, RegisteredBy: n.RegisteredBy,
		ApprovedBy: n.ApprovedBy, ValidFrom: fromMs(n.ValidFromMs), ValidUntil: fromMs(n.ValidUntilMs)}
}

func unixMs(t time.Time) int64 {
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

// CardFromInfo converts a roster entry for the wire. The allowance is
// truncated to whole milliseconds.
func CardFromInfo(ci record.CardInfo) Card {
	c := Card{
		Card:        ci.Card,
		Role:        ci.Role,
		Person:      ci.Person,
		Name:        ci.Name,
		Block:       ci.Block,
		AllowanceMs: ci.Allowance.Milliseconds(),
		Blocked:     ci.Blocked,
	}
	for _, n := range ci.Numbers {
		c.Numbers = append(c.Numbers, numberFromRecord(n))
	}
	return c
}

// Info converts c back to the booth's roster entry.
func (c Card) Info() record.CardInfo {
	ci := record.CardInfo{
		Card:      c.Card,
		Role:      c.Role,
		Person:    c.Person,
		Name:      c.Name,
		Block:     c.Block,
		Allowance: time.Duration(c.AllowanceMs) * time.Millisecond,
		Blocked:   c.Blocked,
	}
	for _, n := range c.Numbers {
		ci.Numbers = append(ci.Numbers, n.record(c.Person))
	}
	return ci
}

// AuthoriseRequest asks, at a tap, how much Inmate may still talk in the
// current period across the facility, and for a lease on Card.
type AuthoriseRequest struct {
	Card   string `json:"card"`
	Inmate string `json:"inmate"`
	// Period is the period key by the booth's clock, e.g. "2026-11-29". The
	// gateway does not use it (it computes the period from its own clock,
	// AuthoriseResponse.Period) and logs when they differ.
	Period string `json:"period"`
}

// AuthoriseResponse is the gateway's authoritative answer. When Busy is set
// the card holds a lease at another booth and the booth must deny the tap;
// otherwise Lease names the lease this booth now holds for LeaseTTLMs,
// renewed by heartbeats during the call and ended by /v1/release.
type AuthoriseResponse struct {
	RemainingMs int64  `json:"remaining_ms"`
	Lease       string `json:"lease"`
	Busy        bool   `json:"busy"`
	LeaseTTLMs  int64  `json:"lease_ttl_ms"`
	// Period is the period key the centre computed from its own clock and
	// the facility's policy: RemainingMs is the balance in it, and the
	// booth bills the call to it. Empty when the facility has no policy
	// (then RemainingMs is 0).
	Period string `json:"period"`
}

// ReleaseRequest ends a lease when the call ends. ChargedMs is informative:
// the ledger counts the call record, not this.
type ReleaseRequest struct {
	Lease     string `json:"lease"`
	ChargedMs int64  `json:"charged_ms"`
}

// HeartbeatRequest is the booth's periodic report.
type HeartbeatRequest struct {
	Firmware      string   `json:"firmware"`
	State         string   `json:"state"` // the engine's state, e.g. "idle", "talking"
	OutboxDepth   int      `json:"outbox_depth"`
	ClockUnixMs   int64    `json:"clock_unix_ms"` // booth wall clock when sent
	ClockTrusted  bool     `json:"clock_trusted"`
	Faults        []string `json:"faults"`
	RosterVersion int64    `json:"roster_version"`
	// OutOfService lists why the booth refuses new calls (the engine's
	// causes, e.g. "tamper", "reader"); empty when it takes calls.
	OutOfService []string `json:"out_of_service"`
	// ClockOffsetMs is the gateway's clock minus the booth's, as measured
	// at the previous heartbeat (positive: the booth is behind); 0 before
	// the first answer. One sign everywhere: docs/uplink.md.
	ClockOffsetMs int64 `json:"clock_offset_ms"`
	// BootID is random per start of the booth's daemon (not the kernel's
	// boot id), so the gateway can tell one running copy of a device's
	// identity from two (docs/pki.md, "A copied identity").
	BootID string `json:"boot_id"`
	// Chain, HeadSeq and HeadHash are the chain head of the booth's store:
	// its chain identity and its last record's seq and hash (0 and the
	// genesis hash for an empty store). The gateway keeps them, so a record
	// rewritten after it was reported is caught when it arrives.
	Chain    string `json:"chain"`
	HeadSeq  uint64 `json:"head_seq"`
	HeadHash string `json:"head_hash"`
}

// HeartbeatResponse carries the gateway's wall clock, so a booth without a
// real-time clock can set its own (allowing for half the round trip).
type HeartbeatResponse struct {
	ServerUnixMs int64 `json:"server_unix_ms"`
}

// Error is the body of every 4xx and 5xx answer. Field is the JSON path of
// the offending value (e.g. "records[3].seq") when one is to blame.
type Error struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}
