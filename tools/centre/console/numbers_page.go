package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"wartelsuspas/kiosk/dialplan"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/inert"
	"wartelsuspas/tools/centre/ledger"
)

// The Registered numbers page (docs/dial.md, docs/console.md): an inmate's
// numbers in every status; an operator registers one (pending); a
// supervisor, another account than the registrant, approves or rejects it
// with a reason; a live number revoked; the facility's blocked list. Every
// rule is the ledger's (slot free, the policy's limit, the blocked list,
// registrant ≠ decider): the page only names each refusal beside its field
// in the page's language. Only approved numbers reach the booths.

// Who may do what is the route table's (routes.go): operators register
// and keep the blocked list, supervisors decide, either revokes (a
// withdrawal only ever takes a number away), admins everything.
var (
	numberRegistrars = []ledger.Role{ledger.RoleAdmin, ledger.RoleOperator}
	numberDeciders   = []ledger.Role{ledger.RoleAdmin, ledger.RoleSupervisor}
)

// The paths of the page's actions, as in Routes.
const (
	numbersRegisterPath = "/f/{facility}/numbers/register"
	numbersDecidePath   = "/f/{facility}/numbers/decide"
	numbersRevokePath   = "/f/{facility}/numbers/revoke"
	numbersBlockPath    = "/f/{facility}/numbers/block"
	numbersUnblockPath  = "/f/{facility}/numbers/unblock"
)

type numberRow struct {
	ID                           int64
	Person, E164, Label, Status  string
	Slot                         int
	RegisteredBy, RegisteredAt   string
	DecidedBy, DecidedAt, Reason string
	ValidFrom, ValidUntil        string
	Live, Mine                   bool // Mine: registered by the signed-in account
}

type blockedRow struct{ E164, Reason, AddedBy, AddedAt string }

// registerForm is the register form as written.
type registerForm struct{ Person, Number, Slot, Label, From, Until string }

type numbersData struct {
	Person  string // the inmate shown ("": the whole facility)
	Inmates []string
	Numbers []numberRow
	Pending []numberRow
	Blocked []blockedRow
	Zone    string // the dates' zone (the policy's; UTC without one)
	// What the account may do (from the route table).
	CanRegister, CanDecide, CanRevoke, CanBlock bool
	Form                                        registerForm
	BlockNumber, BlockReason                    string
	Errors                                      map[string][]string // by input name; "n<ID>" for a number's row
	Done                                        string              // the change just made (a key of numbers.done.*)
	DoneID                                      string
}

// ErrFor is the problems of the input named name, with its name.
func (d numbersData) ErrFor(name string) fieldErrors { return fieldErrors{name, d.Errors[name]} }

// RowErr is the problems of a number's row.
func (d numbersData) RowErr(id int64) fieldErrors { return d.ErrFor("n" + strconv.FormatInt(id, 10)) }

// numbersDone are the changes a redirect may name (the message shown).
var numbersDone = []string{"registered", "approved", "rejected", "revoked", "blocked", "unblocked"}

func numbersPage(q *Request) error {
	d, err := q.numbersData(q.Form("person"))
	if err != nil {
		return err
	}
	if done := q.Form("done"); slices.Contains(numbersDone, done) {
		d.Done, d.DoneID = done, q.Form("id")
	}
	return q.Render("numbers", q.T("numbers.title", q.Facility), d)
}

// numbersData reads the page: the numbers of person (or all), the
// facility's pending ones, its blocked list, its inmates.
func (q *Request) numbersData(person string) (numbersData, error) {
	d := numbersData{Person: inert.Text(person, 200), Errors: map[string][]string{},
		CanRegister: q.May("POST", numbersRegisterPath), CanDecide: q.May("POST", numbersDecidePath),
		CanRevoke: q.May("POST", numbersRevokePath), CanBlock: q.May("POST", numbersBlockPath)}
	d.Form.Person = d.Person
	loc, err := q.facilityZone()
	if err != nil {
		return d, err
	}
	d.Zone = loc.String()
	full, err := q.Store().RosterSince(q.Ctx(), q.Facility, 0)
	if err != nil {
		return d, err
	}
	for _, c := range full.Upserts {
		if c.Role == record.RoleInmate && !slices.Contains(d.Inmates, c.Person) {
			d.Inmates = append(d.Inmates, inert.Text(c.Person, 200))
		}
	}
	slices.Sort(d.Inmates)
	all, err := q.Store().Numbers(q.Ctx(), q.Facility, "")
	if err != nil {
		return d, err
	}
	for _, n := range all {
		row := q.numberRow(n, loc)
		if n.Status == ledger.NumberPending {
			d.Pending = append(d.Pending, row)
		}
		if person == "" || n.Person == person {
			d.Numbers = append(d.Numbers, row)
		}
	}
	bl, err := q.Store().BlockedNumbers(q.Ctx(), q.Facility)
	if err != nil {
		return d, err
	}
	for _, b := range bl {
		d.Blocked = append(d.Blocked, blockedRow{E164: b.E164, Reason: inert.Text(b.Reason, 200), AddedBy: inert.Text(b.AddedBy, 64), AddedAt: stampIn(b.AddedAt, loc)})
	}
	return d, nil
}

func (q *Request) numberRow(n ledger.NumberEntry, loc *time.Location) numberRow {
	return numberRow{ID: n.ID, Person: inert.Text(n.Person, 200), E164: n.E164, Slot: n.Slot, Label: inert.Text(n.Label, protocol.MaxLabelBytes),
		Status: string(n.Status), RegisteredBy: inert.Text(n.RegisteredBy, 64), RegisteredAt: stampIn(n.RegisteredAt, loc),
		DecidedBy: inert.Text(n.DecidedBy, 64), DecidedAt: stampIn(n.DecidedAt, loc), Reason: inert.Text(n.Reason, 200),
		ValidFrom: stampIn(n.ValidFrom, loc), ValidUntil: stampIn(n.ValidUntil, loc),
		Live: n.Status == ledger.NumberPending || n.Status == ledger.NumberApproved, Mine: n.RegisteredBy == q.Account.Name}
}

// stampIn shows an instant in the facility's zone ("" for none).
func stampIn(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// facilityZone is the zone of the facility's policy (FacilityZone).
func (q *Request) facilityZone() (*time.Location, error) {
	return FacilityZone(q.Ctx(), q.Store(), q.Facility)
}

// FacilityZone is the zone of the facility's policy, UTC without one: the
// validity dates of registered numbers are whole days in it, at the console
// and on the host's command line alike.
func FacilityZone(ctx context.Context, st ledger.Store, facility string) (*time.Location, error) {
	full, err := st.RosterPage(ctx, facility, 0, "", 1)
	if err != nil {
		return nil, err
	}
	if full.Policy != nil {
		if p, err := protocol.ParsePolicy(full.Policy); err == nil {
			if loc, err := policy.LoadZone(p.Zone); err == nil {
				return loc, nil
			}
		}
	}
	return time.UTC, nil
}

// ValidityDay reads a validity date (2026-12-31) as a whole day in loc:
// valid from its start, or (until) up to the start of the day after, so
// that "until the 31st" includes the 31st. ok is false if s is no date.
func ValidityDay(s string, loc *time.Location, until bool) (t time.Time, ok bool) {
	t, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, false
	}
	if until {
		t = t.AddDate(0, 0, 1)
	}
	return t, true
}

// numbersBack sends the browser back to the page after a change.
func (q *Request) numbersBack(person, done string, id int64) {
	v := url.Values{"done": {done}}
	if person != "" {
		v.Set("person", person)
	}
	if id != 0 {
		v.Set("id", strconv.FormatInt(id, 10))
	}
	q.Redirect("/f/" + q.Facility + "/numbers?" + v.Encode())
}

// numbersRefused shows the page again with the problems beside their
// fields (400), the forms as they were filled.
func (q *Request) numbersRefused(person string, fill func(*numbersData), errs map[string][]string) error {
	d, err := q.numbersData(person)
	if err != nil {
		return err
	}
	fill(&d)
	d.Errors = errs
	return q.c.render(q.W, http.StatusBadRequest, "numbers", q.view(q.T("numbers.title", q.Facility), d))
}

// dialErrors are the dialplan's refusals in the console's words.
var dialErrors = []struct {
	err error
	key string
}{
	{dialplan.ErrEmpty, "numbers.err.e164_empty"},
	{dialplan.ErrLetters, "numbers.err.e164_letters"},
	{dialplan.ErrShort, "numbers.err.e164_short"},
	{dialplan.ErrLong, "numbers.err.e164_long"},
	{dialplan.ErrPrefix, "numbers.err.e164_prefix"},
	{dialplan.ErrTrunk, "numbers.err.e164_trunk"},
	{dialplan.ErrBadPlus, "numbers.err.e164_plus"},
	{dialplan.ErrZeroCode, "numbers.err.e164_zero_code"},
}

// dialError is the message of a number the dialplan refused.
func (q *Request) dialError(err error) string {
	for _, de := range dialErrors {
		if errors.Is(err, de.err) {
			return q.T(de.key)
		}
	}
	return q.T("numbers.err.e164_prefix")
}

// numberRegister registers a number for an inmate, pending approval.
func numberRegister(q *Request) error {
	f := registerForm{Person: q.Form("person"), Number: q.Form("number"), Slot: q.Form("slot"), Label: q.Form("label"), From: q.Form("from"), Until: q.Form("until")}
	errs := map[string][]string{}
	bad := func(field, key string, args ...any) { errs[field] = append(errs[field], q.T(key, args...)) }
	if f.Person == "" {
		bad("person", "numbers.err.person")
	}
	e164, err := dialplan.Parse(f.Number)
	if err != nil {
		errs["number"] = append(errs["number"], q.dialError(err))
	}
	slot := 0
	if f.Slot != "" {
		if slot, err = strconv.Atoi(f.Slot); err != nil || slot < 0 || slot > 9 {
			bad("slot", "numbers.err.slot")
		}
	}
	if len(f.Label) > protocol.MaxLabelBytes || !utf8.ValidString(f.Label) {
		bad("label", "numbers.err.label", protocol.MaxLabelBytes)
	}
	loc, err := q.facilityZone()
	if err != nil {
		return err
	}
	// A date is a whole day in the facility's zone: valid from its start,
	// until the start of the day after the last one.
	day := func(field, s string, next bool) time.Time {
		if s == "" {
			return time.Time{}
		}
		t, ok := ValidityDay(s, loc, next)
		if !ok {
			bad(field, "numbers.err.date")
		}
		return t
	}
	from, until := day("from", f.From, false), day("until", f.Until, true)
	if !from.IsZero() && !until.IsZero() && !until.After(from) {
		bad("until", "numbers.err.until")
	}
	refused := func() error {
		return q.numbersRefused(f.Person, func(d *numbersData) { d.Form = f }, errs)
	}
	if len(errs) > 0 {
		return refused()
	}
	// Registered and audited in one transaction; the target is the id the
	// ledger gives (as `wartel-gateway numbers add` writes it).
	var n ledger.NumberEntry
	err = q.AuditAs("numbers.add", func() (string, any, any, error) {
		var err error
		n, err = q.Store().RegisterNumber(q.Ctx(), q.Facility, ledger.NumberEntry{Person: f.Person, E164: e164, Slot: slot, Label: f.Label,
			RegisteredBy: q.Account.Name, ValidFrom: from, ValidUntil: until})
		return strconv.FormatInt(n.ID, 10), nil, n, err
	})
	switch {
	case errors.Is(err, ledger.ErrNotInmate):
		bad("person", "numbers.err.not_inmate", f.Person)
	case errors.Is(err, ledger.ErrNumberLimit):
		bad("person", "numbers.err.limit")
	case errors.Is(err, ledger.ErrAlreadyLive):
		bad("number", "numbers.err.already")
	case errors.Is(err, ledger.ErrNumberBlocked):
		bad("number", "numbers.err.blocked")
	case errors.Is(err, ledger.ErrSlotTaken):
		bad("slot", "numbers.err.slot_taken", slot)
	case err != nil:
		return err
	}
	if len(errs) > 0 {
		return refused()
	}
	q.numbersBack(n.Person, "registered", n.ID)
	return nil
}

// numberByID is the facility's number id as it stands.
func (q *Request) numberByID(id int64) (ledger.NumberEntry, bool, error) {
	all, err := q.Store().Numbers(q.Ctx(), q.Facility, "")
	if err != nil {
		return ledger.NumberEntry{}, false, err
	}
	for _, n := range all {
		if n.ID == id {
			return n, true, nil
		}
	}
	return ledger.NumberEntry{}, false, nil
}

// numberDecide approves or rejects a pending number (verdict "approve" or
// "reject", a reason required to reject); revoke withdraws a live one.
func numberDecide(q *Request) error { return q.numberChange(q.Form("verdict")) }
func numberRevoke(q *Request) error { return q.numberChange("revoke") }

func (q *Request) numberChange(verb string) error {
	if verb != "approve" && verb != "reject" && verb != "revoke" {
		return Bad("err.form")
	}
	id, err := strconv.ParseInt(q.Form("id"), 10, 64)
	if err != nil || id <= 0 {
		return Bad("err.form")
	}
	reason, person := q.Form("reason"), q.Form("person")
	row := "n" + strconv.FormatInt(id, 10)
	errs := map[string][]string{}
	bad := func(key string, args ...any) error {
		errs[row] = append(errs[row], q.T(key, args...))
		return q.numbersRefused(person, func(*numbersData) {}, errs)
	}
	if verb != "approve" && reason == "" {
		return bad("numbers.err.reason")
	}
	before, ok, err := q.numberByID(id)
	if err != nil {
		return err
	}
	if !ok {
		return bad("numbers.err.unknown")
	}
	err = q.Audit("numbers."+verb, strconv.FormatInt(id, 10), func() (any, any, error) {
		var after ledger.NumberEntry
		var err error
		if verb == "revoke" {
			after, err = q.Store().RevokeNumber(q.Ctx(), q.Facility, id, q.Account.Name, reason)
		} else {
			after, err = q.Store().DecideNumber(q.Ctx(), q.Facility, id, q.Account.Name, verb == "approve", reason)
		}
		return before, after, err
	})
	switch {
	case errors.Is(err, ledger.ErrSameAccount):
		return bad("numbers.err.same_account", before.RegisteredBy)
	case errors.Is(err, ledger.ErrNumberBlocked):
		return bad("numbers.err.blocked_approve")
	case errors.Is(err, ledger.ErrState):
		return bad("numbers.err.state", q.T("numbers.status."+string(before.Status)))
	case errors.Is(err, ledger.ErrUnknownNumber):
		return bad("numbers.err.unknown")
	case err != nil:
		return err
	}
	q.numbersBack(person, map[string]string{"approve": "approved", "reject": "rejected", "revoke": "revoked"}[verb], id)
	return nil
}

// numberBlock puts a number on the facility's blocked list.
func numberBlock(q *Request) error {
	number, reason, person := q.Form("number"), q.Form("reason"), q.Form("person")
	errs := map[string][]string{}
	e164, err := dialplan.Parse(number)
	if err != nil {
		errs["block_number"] = append(errs["block_number"], q.dialError(err))
	}
	if reason == "" {
		errs["block_reason"] = append(errs["block_reason"], q.T("numbers.err.block_reason"))
	}
	list, lerr := q.Store().BlockedNumbers(q.Ctx(), q.Facility)
	if lerr != nil {
		return lerr
	}
	if err == nil {
		if i := slices.IndexFunc(list, func(b ledger.BlockedNumber) bool { return b.E164 == e164 }); i >= 0 {
			errs["block_number"] = append(errs["block_number"], q.T("numbers.err.already_blocked", inert.Text(list[i].AddedBy, 64)))
		} else if len(list) >= protocol.MaxBlocked {
			errs["block_number"] = append(errs["block_number"], q.T("numbers.err.blocked_full", protocol.MaxBlocked))
		}
	}
	if len(errs) > 0 {
		return q.numbersRefused(person, func(d *numbersData) { d.BlockNumber, d.BlockReason = number, reason }, errs)
	}
	err = q.Audit("numbers.block", e164, func() (any, any, error) {
		b := ledger.BlockedNumber{Facility: q.Facility, E164: e164, Reason: reason, AddedBy: q.Account.Name}
		return nil, b, q.Store().BlockNumber(q.Ctx(), q.Facility, b)
	})
	if err != nil {
		return err
	}
	q.numbersBack(person, "blocked", 0)
	return nil
}

// numberUnblock takes a number off the facility's blocked list.
func numberUnblock(q *Request) error {
	person := q.Form("person")
	e164, err := dialplan.Parse(q.Form("number"))
	if err != nil {
		return Bad("err.form")
	}
	list, err := q.Store().BlockedNumbers(q.Ctx(), q.Facility)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(list, func(b ledger.BlockedNumber) bool { return b.E164 == e164 })
	if i < 0 {
		return q.numbersRefused(person, func(*numbersData) {}, map[string][]string{"unblock": {q.T("numbers.err.not_blocked", e164)}})
	}
	err = q.Audit("numbers.unblock", e164, func() (any, any, error) {
		return list[i], nil, q.Store().UnblockNumber(q.Ctx(), q.Facility, e164, q.Account.Name)
	})
	if err != nil {
		return err
	}
	q.numbersBack(person, "unblocked", 0)
	return nil
}
