// Package record defines what the booth writes down and sends to the
// centre — calls, denials, officer actions and booth events — and the data
// that crosses the store boundary (roster entries, open calls in the
// journal).
//
// Every record carries the booth's sequence number, its store's chain
// identity and the hash of the previous record, so the centre can detect a
// gap or an edit, and tell a replaced store from a rewritten one. The hash
// covers the exact payload bytes that are stored and sent: no one ever
// re-encodes a record to check it.
package record

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Kind is the kind of a record.
type Kind string

const (
	KindCall    Kind = "call"
	KindDenial  Kind = "denial"
	KindOfficer Kind = "officer"
	KindEvent   Kind = "event"
)

// GenesisHash is the Prev of a booth's first record.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Record is one entry of the booth's hash chain, as stored in the outbox
// and uploaded.
type Record struct {
	Device string `json:"device"` // booth id, e.g. "lapas-cipinang/b03"
	// Chain identifies the store that wrote the record: 32 hex digits made
	// when the store was created, so a wiped or replaced store starts a new
	// chain at seq 1 instead of claiming the old one's seqs. "" is the
	// legacy chain of a store that predates chain identities.
	Chain   string          `json:"chain"`
	Seq     uint64          `json:"seq"`     // 1, 2, 3, … per chain, no gaps
	Kind    Kind            `json:"kind"`    //
	Payload json.RawMessage `json:"payload"` // the body (Call, Denial, …) as canonical JSON
	Prev    string          `json:"prev"`    // hex SHA-256 of the previous record; GenesisHash for Seq 1
	Hash    string          `json:"hash"`    // hex SHA-256 over (Device, Seq, Kind, Prev, Chain, Payload)
}

// ComputeHash returns the chain hash of r from its other fields. The chain
// is hashed only when it is set, so records of the legacy chain "" keep the
// hashes they were written with; it follows Prev as one more NUL-ended
// field, which no legacy input can imitate (a JSON payload holds no NUL).
func (r Record) ComputeHash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00", r.Device, r.Seq, r.Kind, r.Prev)
	if r.Chain != "" {
		fmt.Fprintf(h, "%s\x00", r.Chain)
	}
	h.Write(r.Payload)
	return hex.EncodeToString(h.Sum(nil))
}

// ChainIDLen is the length of a chain identity: 128 random bits in hex.
const ChainIDLen = 32

// NewChainID returns a fresh chain identity for a store being created.
func NewChainID() string {
	var b [ChainIDLen / 2]byte
	rand.Read(b[:]) // never fails since Go 1.24
	return hex.EncodeToString(b[:])
}

// ValidChainID reports whether s can name a chain: "" (the legacy chain)
// or ChainIDLen lower-case hex digits.
func ValidChainID(s string) bool {
	if s == "" {
		return true
	}
	if len(s) != ChainIDLen {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Link makes r the successor of the record whose hash is prevHash
// (GenesisHash when r opens its chain): it sets Prev and Hash. It is the one
// way a record is sealed: the store appends with it, Seal is it for a
// caller holding the previous record.
func (r *Record) Link(prevHash string) {
	r.Prev = prevHash
	r.Hash = r.ComputeHash()
}

// Seal fills Prev and Hash, making r the successor of prev (nil for the
// first record).
func (r *Record) Seal(prev *Record) {
	if prev == nil {
		r.Link(GenesisHash)
		return
	}
	r.Link(prev.Hash)
}

// The ways a record can fail its chain: VerifyChain returns them wrapped,
// the gateway's ledger flags them (FlagGap, FlagLink) with what it knows.
var (
	// ErrGap: the record's Seq does not follow its predecessor's.
	ErrGap = errors.New("gap in the chain")
	// ErrLink: the record's Prev is not its predecessor's Hash, or a first
	// record does not start from the genesis hash.
	ErrLink = errors.New("broken link")
)

// Follows checks r's link back to prev, the record before it (nil: r must
// open its chain, seq 1 after the genesis hash). It checks the link only,
// not r's own hash (compare ComputeHash with Hash for that). The error wraps
// ErrGap or ErrLink and names both records.
func (r Record) Follows(prev *Record) error {
	switch {
	case prev == nil && (r.Seq != 1 || r.Prev != GenesisHash):
		return fmt.Errorf("record %s#%d: chain does not start at seq 1 with the genesis hash: %w", r.Device, r.Seq, ErrLink)
	case prev != nil && r.Seq != prev.Seq+1:
		return fmt.Errorf("record %s#%d: gap after #%d: %w", r.Device, r.Seq, prev.Seq, ErrGap)
	case prev != nil && r.Prev != prev.Hash:
		return fmt.Errorf("record %s#%d: prev hash %s is not the hash of #%d (%s): %w", r.Device, r.Seq, short(r.Prev), prev.Seq, short(prev.Hash), ErrLink)
	}
	return nil
}

// VerifyChain checks that rs, in order, are consecutive links: each hash
// matches its content, each Seq follows the previous by one and each Prev is
// the previous Hash. prev is the record before rs[0], or nil if rs[0] must be
// the first. The error names the first bad record.
func VerifyChain(prev *Record, rs []Record) error {
	for i := range rs {
		r := &rs[i]
		if got := r.ComputeHash(); got != r.Hash {
			return fmt.Errorf("record %s#%d: hash %s does not match its content (%s): edited or corrupt", r.Device, r.Seq, short(r.Hash), short(got))
		}
		if err := r.Follows(prev); err != nil {
			return err
		}
		prev = r
	}
	return nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// Durations in payloads are whole milliseconds, so any language reads them.

// Call is the payload of a finished (or abandoned) call.
type Call struct {
	CallID       int64     `json:"call_id"` // journal id, unique per booth
	Card         string    `json:"card"`    // canonical card id, e.g. "em:0400D8B2A5"
	Inmate       string    `json:"inmate"`
	Block        string    `json:"block,omitempty"`
	Period       string    `json:"period"`     // policy period key the call is billed to
	AuthorisedAt time.Time `json:"authorised"` // wall clock at the tap
	TalkStartAt  time.Time `json:"talk_start,omitzero"`
	MaxMs        int64     `json:"max_ms"`     // the talk time granted at the tap
	TalkedMs     int64     `json:"talked_ms"`  // monotonic talk time (relay on and off-hook)
	ChargedMs    int64     `json:"charged_ms"` // after the billing rule
	EndReason    EndReason `json:"end_reason"` // one of AllEndReasons
	Offline      bool      `json:"offline"`    // authorised from the local cache
	ClockTrusted bool      `json:"clock_trusted"`
	// Lease is the centre's lease on the inmate for this call; the gateway
	// ends it when it stores the record, so the inmate may call at the next
	// booth as soon as the centre counts this call, and not before.
	Lease string `json:"lease,omitempty"`
	// A dialled call (a booth with a modem, docs/dial.md): the registered
	// number by id and slot (never its digits), when the far end answered
	// (talk time and every limit count from there) and how the carrier
	// ended it. All zero on a relay-only booth.
	NumberID   int64     `json:"number_id,omitempty"`
	Slot       int       `json:"slot,omitempty"`
	AnsweredAt time.Time `json:"answered,omitzero"`
	Outcome    Outcome   `json:"outcome,omitempty"` // one of AllOutcomes
}

// Denial is the payload of a refused tap.
type Denial struct {
	At           time.Time    `json:"at"`
	Card         string       `json:"card"`
	Inmate       string       `json:"inmate,omitempty"`
	Reason       DenialReason `json:"reason"` // one of session.AllDenials
	ClockTrusted bool         `json:"clock_trusted"`
	// Lease is a lease the centre gave before the booth refused the tap
	// (outside hours, too soon…); the gateway ends it on storing the record.
	Lease string `json:"lease,omitempty"`
}

// Officer is the payload of an officer's action at the booth (the audit
// trail). A reset's CreditMs is the usage the booth observed in the period
// at that moment (an observed reset); a grant's CreditMs is the minutes
// granted.
type Officer struct {
	At           time.Time     `json:"at"`
	Officer      string        `json:"officer"`          // officer id
	OfficerCard  string        `json:"officer_card"`     // canonical card id
	Action       OfficerAction `json:"action"`           // one of AllOfficerActions
	Inmate       string        `json:"inmate,omitempty"` //
	Period       string        `json:"period,omitempty"` //
	BeforeMs     int64         `json:"before_ms"`        // remaining before the action
	AfterMs      int64         `json:"after_ms"`         // remaining after it
	CreditMs     int64         `json:"credit_ms"`        // credit added to the period (reset, grant)
	CallID       int64         `json:"call_id,omitempty"`
	ClockTrusted bool          `json:"clock_trusted"`
	// RosterVersion is the roster version the booth held at the action:
	// the centre checks OfficerCard against its roster at that version or
	// after (0: a booth from before this field; any version counts).
	RosterVersion int64 `json:"roster_version"`
}

// Event is the payload of a booth event: tamper, relay fault, reader down
// and up, power loss recovered, clock trust changed, policy applied.
type Event struct {
	At           time.Time `json:"at"`
	Event        EventName `json:"event"`
	Detail       string    `json:"detail,omitempty"`
	ClockTrusted bool      `json:"clock_trusted"`
}

// EventName is what a booth event says happened. The booth writes these
// words, the gateway lists and counts them: every one has its place at the
// centre (a label in `wartel-gateway events`, a metric label).
type EventName string

const (
	EventTamper             EventName = "tamper"               // the panel was opened
	EventRelayFault         EventName = "relay_fault"          // the relay did not do what it was told
	EventReaderDown         EventName = "reader_down"          // the card reader stopped answering
	EventReaderUp           EventName = "reader_up"            // the card reader answers again
	EventPowerLossRecovered EventName = "power_loss_recovered" // calls left open by a power cut closed at start
	EventClockTrusted       EventName = "clock_trusted"        // the wall clock was confirmed
	EventClockUntrusted     EventName = "clock_untrusted"      // the wall clock lost its confirmation
	EventPolicyApplied      EventName = "policy_applied"       // the centre's rules put in force
	EventDenialsUnrecorded  EventName = "denials_unrecorded"   // denials counted in memory while the store failed
	EventModemDown          EventName = "modem_down"           // the modem or its network stopped working (Detail: the cause)
	EventModemUp            EventName = "modem_up"             // the modem and its network work again
	EventIncomingRefused    EventName = "incoming_refused"     // a call to the booth's SIM, refused (a booth never receives calls)
	EventHookSuspect        EventName = "hook_suspect"         // calls in a row ended with the hook switch never changing (Detail: which way it reads)
	EventHookOK             EventName = "hook_ok"              // the hook switch changed again after hook_suspect
)

// AllEvents lists every EventName, for tests that give each its place.
var AllEvents = []EventName{
	EventTamper, EventRelayFault, EventReaderDown, EventReaderUp, EventPowerLossRecovered,
	EventClockTrusted, EventClockUntrusted, EventPolicyApplied, EventDenialsUnrecorded,
	EventModemDown, EventModemUp, EventIncomingRefused, EventHookSuspect, EventHookOK,
}

// Role is what a card is in the roster.
type Role string

const (
	RoleInmate  Role = "inmate"
	RoleOfficer Role = "officer"
)

// CardInfo is a roster entry for one card.
type CardInfo struct {
	Card      string        // canonical card id
	Role      Role          //
	Person    string        // inmate or officer id
	Name      string        //
	Block     string        // inmate's cell block
	Allowance time.Duration // inmate's allowance per period; 0 = the facility default
	Blocked   bool          // card (or person) blocked: never allowed
	// Numbers are the numbers registered and approved for the card's
	// person (an inmate), and not on the facility's blocked list, at the
	// roster version the entry came with: every card of a person carries
	// them all (docs/dial.md). Empty for officers.
	Numbers []Number
}

// RosterStage is where a paged roster sync stands, kept in the store with
// the pages received so far, so a sync cut off (or a booth restarted)
// resumes where it stopped. The roster the booth answers taps from changes
// only when a completed version is applied. See docs/uplink.md.
type RosterStage struct {
	// From is the roster version the booth held when the sync began; a
	// stage is void once the held version is no longer From.
	From int64
	// Full: the staged pages replace the whole roster (a card not staged
	// is deleted); otherwise they are a delta over version From.
	Full bool
	// Since is the version the current pass asks from: From for the first
	// pass, the previous pass's Version for a catch-up pass.
	Since int64
	// CatchUp: the current pass catches up with changes made during the
	// passes before it.
	CatchUp bool
	// Pages counts the pages of the current pass received (0: none yet).
	Pages int
	// Version is the roster version the current pass's first page was
	// read at; Mixed, that a later page of the pass was read at another.
	Version int64
	Mixed   bool
	// Cursor is where the next page of the current pass starts ("": at
	// the beginning, or the pass is complete when Pages > 0).
	Cursor string
	// Policy is the facility policy document a page carried, nil if none:
	// it is handed on when the version is applied.
	Policy []byte
	// Blocked is the facility's blocked list a first page carried, when
	// BlockedSent: it replaces the booth's with the version.
	Blocked     []string `json:",omitempty"`
	BlockedSent bool     `json:",omitempty"`
}

// OpenCall is a call in the journal that has not been closed: authorised,
// and possibly talking. After a power cut the booth closes it, billed to
// TalkedMs, the last checkpoint.
type OpenCall struct {
	CallID int64
	Call   Call // EndReason and ChargedMs empty; TalkedMs = last checkpoint
}

// Usage is what an inmate has used and been credited in one period, as
// this booth's store knows it (its own calls plus what the centre synced).
type Usage struct {
	Used    time.Duration // charged talk time
	Granted time.Duration // officer grants and observed-reset credits
	LastEnd time.Time     // wall clock end of the inmate's last call; zero = none
	// For deciding offline (docs/ledger.md "Offline"): Centre reports that
	// the centre gave a balance in the period at an online authorise;
	// CentreRemaining is that balance less this booth's usage and plus its
	// credits since. OfflineUsed is what this booth charged for calls it
	// authorised offline (Call.Offline) since that balance, or in the whole
	// period without one: the offline cap bounds it.
	Centre          bool
	CentreRemaining time.Duration
	OfflineUsed     time.Duration
	// Unconfirmed is what this booth charged the inmate in the period in
	// records the centre has not confirmed storing (after the acknowledged
	// head): usage an online answer cannot include yet, so the booth takes
	// it off the centre's balance (docs/ledger.md "Online, the booth's own
	// records not yet counted").
	Unconfirmed time.Duration
	// Confirmed is the seq of the acknowledged head Unconfirmed was read
	// above: at most what an answer the centre computes after this read
	// can have counted of this booth's records (Store.SetCentreBalance).
	Confirmed uint64
}
