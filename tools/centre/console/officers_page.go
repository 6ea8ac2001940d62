package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"wartelsuspas/cardid"
	"wartelsuspas/tools/centre/inert"
	"wartelsuspas/tools/centre/ledger"
)

// The Officer cards page (docs/console.md "Officer cards"): the facility's
// officer cards, pending first, each with who added it and who decided it.
// A card imported as officer, or whose person or role changed, reaches no
// booth until a supervisor, another account than the one who added it,
// approves it; a rejection needs a reason. The rules are the ledger's
// (DecideOfficer), as the Registered numbers page's are: the page names
// each refusal in the page's language. Who may decide is the route
// table's: the numbers' deciders, supervisors and admins.

// officersDecidePath is the page's one action, as in Routes.
const officersDecidePath = "/f/{facility}/officers/decide"

type officerRow struct {
	Card, Person, Name, Block, Status string
	Blocked                           bool
	AddedBy, AddedAt                  string
	DecidedBy, DecidedAt, Reason      string
	Mine                              bool // added by the signed-in account
	// Decided is the card's person as stored, which the decision sends
	// back: the ledger refuses it if the card changed since (a person
	// swapped in after the page was shown would be approved unseen).
	Decided string
}

type officersData struct {
	Officers  []officerRow // pending first, then by card
	Pending   int
	CanDecide bool
	Errors    map[string][]string // by card ("o:" and the card id)
	Done      string              // the decision just made (a key of officers.done.*)
	DoneCard  string
}

// RowErr is the problems of an officer card's row.
func (d officersData) RowErr(card string) fieldErrors { return d.ErrFor("o:" + card) }

// ErrFor is the problems named name ("card": of a card the page does not
// list).
func (d officersData) ErrFor(name string) fieldErrors { return fieldErrors{name, d.Errors[name]} }

// officersDone are the decisions a redirect may name.
var officersDone = []string{"approved", "rejected"}

func officersPage(q *Request) error {
	d, err := q.officersData()
	if err != nil {
		return err
	}
	if done := q.Form("done"); slices.Contains(officersDone, done) {
		d.Done, d.DoneCard = done, inert.Text(q.Form("card"), 64)
	}
	return q.Render("officers", q.T("officers.title", q.Facility), d)
}

func (q *Request) officersData() (officersData, error) {
	d := officersData{Errors: map[string][]string{}, CanDecide: q.May("POST", officersDecidePath)}
	loc, err := q.facilityZone()
	if err != nil {
		return d, err
	}
	all, err := q.Store().OfficerCards(q.Ctx(), q.Facility)
	if err != nil {
		return d, err
	}
	for _, o := range all {
		if o.Status == ledger.OfficerPending {
			d.Pending++
		}
		d.Officers = append(d.Officers, officerRow{Card: o.Card, Person: inert.Text(o.Person, 200), Name: inert.Text(o.Name, 200),
			Block: inert.Text(o.Block, 200), Status: string(o.Status), Blocked: o.Blocked,
			AddedBy: inert.Text(o.AddedBy, 64), AddedAt: stampIn(o.AddedAt, loc),
			DecidedBy: inert.Text(o.DecidedBy, 64), DecidedAt: stampIn(o.DecidedAt, loc), Reason: inert.Text(o.Reason, 200),
			Mine: o.AddedBy == q.Account.Name, Decided: o.Person})
	}
	return d, nil
}

// officerDecide approves or rejects a pending officer card (verdict
// "approve" or "reject", a reason required to reject).
func officerDecide(q *Request) error {
	verb := q.Form("verdict")
	if verb != "approve" && verb != "reject" {
		return Bad("err.form")
	}
	id, err := cardid.Parse(q.Form("card"))
	if err != nil {
		return Bad("err.form")
	}
	card, reason := string(id), q.Form("reason")
	row := "o:" + card
	bad := func(key string, args ...any) error {
		d, err := q.officersData()
		if err != nil {
			return err
		}
		d.Errors[row] = []string{q.T(key, args...)}
		return q.c.render(q.W, http.StatusBadRequest, "officers", q.view(q.T("officers.title", q.Facility), d))
	}
	if verb == "reject" && reason == "" {
		return bad("officers.err.reason")
	}
	all, err := q.Store().OfficerCards(q.Ctx(), q.Facility)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(all, func(o ledger.OfficerCard) bool { return o.Card == card })
	if i < 0 {
		row = "card" // no row to show it beside
		return bad("officers.err.unknown")
	}
	before := all[i]
	err = q.Audit("officers."+verb, card, func() (any, any, error) {
		after, err := q.Store().DecideOfficer(q.Ctx(), q.Facility, card, q.Form("person"), q.Account.Name, verb == "approve", reason)
		return before, after, err
	})
	switch {
	case errors.Is(err, ledger.ErrSameAccount):
		return bad("officers.err.same_account", inert.Text(before.AddedBy, 64))
	case errors.Is(err, ledger.ErrCardChanged):
		return bad("officers.err.changed")
	case errors.Is(err, ledger.ErrState):
		return bad("officers.err.state", q.T("officers.status."+string(before.Status)))
	case errors.Is(err, ledger.ErrUnknownOfficer):
		return bad("officers.err.unknown")
	case err != nil:
		return err
	}
	v := url.Values{"done": {map[string]string{"approve": "approved", "reject": "rejected"}[verb]}, "card": {card}}
	q.Redirect("/f/" + q.Facility + "/officers?" + v.Encode())
	return nil
}
