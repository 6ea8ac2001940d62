// Package record defines what the booth writes down and sends to the
// centre — calls, denials, officer actions and booth events — and the data
// that crosses the store boundary (roster entries, open calls in the
// journal).
//
// Every record carries the booth's sequence number and the hash of the
// previous record, so the centre can detect a gap or an edit. The hash
// covers the exact payload bytes that are stored and sent: no one ever
// re-encodes a record to check it.
package record

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
	Device  string          `json:"device"`  // booth id, e.g. "lapas-cipinang/b03"
	Seq     uint64          `json:"seq"`     // 1, 2, 3, … per device, no gaps
	Kind    Kind            `json:"kind"`    //
	Payload json.RawMessage `json:"payload"` // the body (Call, Denial, …) as canonical JSON
	Prev    string          `json:"prev"`    // hex SHA-256 of the previous record; GenesisHash for Seq 1
	Hash    string          `json:"hash"`    // hex SHA-256 over (Device, Seq, Kind, Prev, Payload)
}

// ComputeHash returns the chain hash of r from its other fields.
func (r Record) ComputeHash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00", r.Device, r.Seq, r.Kind, r.Prev)
	h.Write(r.Payload)
	return hex.EncodeToString(h.Sum(nil))
}

// Seal fills Prev and Hash, making r the successor of prev (nil for the
// first record).
func (r *Record) Seal(prev *Record) {
	if prev == nil {
		r.Prev = GenesisHash
	} else {
		r.Prev = prev.Hash
	}
	r.Hash = r.ComputeHash()
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
		switch {
		case prev == nil && (r.Seq != 1 || r.Prev != GenesisHash):
			return fmt.Errorf("record %s#%d: chain does not start at seq 1 with the genesis hash", r.Device, r.Seq)
		case prev != nil && r.Seq != prev.Seq+1:
			return fmt.Errorf("record %s#%d: gap after #%d", r.Device, r.Seq, prev.Seq)
		case prev != nil && r.Prev != prev.Hash:
			return fmt.Errorf("record %s#%d: prev hash %s is not the hash of #%d (%s)", r.Device, r.Seq, short(r.Prev), prev.Seq, short(prev.Hash))
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
	EndReason    string    `json:"end_reason"` // hangup, quota, per_call_cap, closing, turn_end, officer, second_tap, no_offhook, tamper, fault, store_error, shutdown, power_loss
	Offline      bool      `json:"offline"`    // authorised from the local cache
	ClockTrusted bool      `json:"clock_trusted"`
	// Lease is the centre's lease on the inmate for this call; the gateway
	// ends it when it stores the record, so the inmate may call at the next
	// booth as soon as the centre counts this call, and not before.
	Lease string `json:"lease,omitempty"`
}

// Denial is the payload of a refused tap.
type Denial struct {
	At           time.Time `json:"at"`
	Card         string    `json:"card"`
	Inmate       string    `json:"inmate,omitempty"`
	Reason       string    `json:"reason"` // policy.Reason
	ClockTrusted bool      `json:"clock_trusted"`
	// Lease is a lease the centre gave before the booth refused the tap
	// (outside hours, too soon…); the gateway ends it on storing the record.
	Lease string `json:"lease,omitempty"`
}

// Officer is the payload of an officer's action at the booth (the audit
// trail). A reset's CreditMs is the usage the booth observed in the period
// at that moment (an observed reset); a grant's CreditMs is the minutes
// granted.
type Officer struct {
	At           time.Time `json:"at"`
	Officer      string    `json:"officer"`          // officer id
	OfficerCard  string    `json:"officer_card"`     // canonical card id
	Action       string    `json:"action"`           // reset, grant, end_call, clear_tamper, enter, timeout
	Inmate       string    `json:"inmate,omitempty"` //
	Period       string    `json:"period,omitempty"` //
	BeforeMs     int64     `json:"before_ms"`        // remaining before the action
	AfterMs      int64     `json:"after_ms"`         // remaining after it
	CreditMs     int64     `json:"credit_ms"`        // credit added to the period (reset, grant)
	CallID       int64     `json:"call_id,omitempty"`
	ClockTrusted bool      `json:"clock_trusted"`
}

// Event is the payload of a booth event: tamper, relay fault, reader down,
// store error, clock corrected, start after power loss.
type Event struct {
	At           time.Time `json:"at"`
	Event        string    `json:"event"`
	Detail       string    `json:"detail,omitempty"`
	ClockTrusted bool      `json:"clock_trusted"`
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
}
