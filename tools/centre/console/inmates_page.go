package console

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/inert"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/centre/roster"
)

// The Inmates and cards page: the facility's roster searched, each card
// with its state and, for an inmate, this period's balance as the gateway
// counts it; a card blocked or unblocked (audited); and a roster CSV
// imported after a preview that names every bad line and writes nothing
// (the same reader as `wartel-gateway roster import`).

// maxListed bounds the cards one page lists (a search narrows it).
const maxListed = 200

// rosterWriters may change the roster: the issue gives it to operators.
var rosterWriters = []ledger.Role{ledger.RoleAdmin, ledger.RoleOperator}

type cardRow struct {
	record.CardInfo
	// ByHand: an officer blocked it (an import does not lift that).
	ByHand bool
	// The inmate's balance this period (HasBalance false for officers,
	// or without a policy).
	HasBalance                    bool
	Allowance, Used, Credit, Left time.Duration
}

type inmatesData struct {
	Query    string
	Period   string // this period's key; "" without a policy
	Cards    []cardRow
	More     int // cards matching beyond maxListed
	Withheld int // officer cards not approved (the Officer cards page lists them)
	CanWrite bool
	Import   *importView
}

// importView is a roster CSV read for its preview, or refused.
type importView struct {
	CSV    string
	Cards  []importLine
	Errors []roster.RowError // by line; Line 0: about the whole file
}

type importLine struct {
	Line int
	Card record.CardInfo
}

func inmatesPage(q *Request) error { return q.showInmates(nil) }

func (q *Request) showInmates(imp *importView) error {
	d := inmatesData{Query: q.Form("q"), CanWrite: q.Account.Role == ledger.RoleAdmin || q.Account.Role == ledger.RoleOperator, Import: imp}
	full, err := q.Store().RosterSince(q.Ctx(), q.Facility, 0)
	if err != nil {
		return err
	}
	d.Withheld = len(full.Withheld)
	var period policy.Period
	allowance := time.Duration(0)
	if full.Policy != nil {
		if p, err := protocol.ParsePolicy(full.Policy); err == nil {
			if loc, err := policy.LoadZone(p.Zone); err == nil {
				period = policy.PeriodOf(q.Now(), policy.PeriodKind(p.Period), loc)
				allowance = policy.Millis(p.AllowanceMs)
			}
		}
	}
	d.Period = period.Key
	held, err := q.Store().BlockedByHand(q.Ctx(), q.Facility)
	if err != nil {
		return err
	}
	byHand := make(map[string]bool, len(held))
	for _, c := range held {
		byHand[c] = true
	}
	needle := strings.ToLower(d.Query)
	for _, c := range full.Upserts {
		if needle != "" && !strings.Contains(strings.ToLower(c.Person+"\x00"+c.Name+"\x00"+c.Card+"\x00"+c.Block), needle) {
			continue
		}
		if len(d.Cards) == maxListed {
			d.More++
			continue
		}
		row := cardRow{CardInfo: c, ByHand: byHand[c.Card]}
		row.Name, row.Person, row.Block = inert.Text(c.Name, 200), inert.Text(c.Person, 200), inert.Text(c.Block, 200)
		if c.Role == record.RoleInmate && period.Key != "" {
			used, credit, err := q.Store().Balance(q.Ctx(), q.Facility, c.Person, period.Key)
			if err != nil {
				return err
			}
			row.HasBalance, row.Allowance, row.Used, row.Credit = true, allowance, used, credit
			if c.Allowance > 0 {
				row.Allowance = c.Allowance
			}
			row.Left = max(0, row.Allowance+credit-used)
		}
		d.Cards = append(d.Cards, row)
	}
	return q.Render("inmates", q.T("inmates.title", q.Facility), d)
}

// cardBlock blocks or unblocks one card of the facility's roster.
func cardBlock(q *Request) error {
	card, block := q.Form("card"), q.Form("unblock") == ""
	full, err := q.Store().RosterSince(q.Ctx(), q.Facility, 0)
	if err != nil {
		return err
	}
	var before *record.CardInfo
	for i := range full.Upserts {
		if full.Upserts[i].Card == card {
			before = &full.Upserts[i]
		}
	}
	if before == nil {
		return Bad("inmates.no_card", card)
	}
	action := "roster.block"
	if !block {
		action = "roster.unblock"
	}
	err = q.Audit(action, card, func() (any, any, error) {
		after := *before
		after.Blocked = block
		_, err := q.Store().BlockCard(q.Ctx(), q.Facility, card, block)
		return *before, after, err
	})
	if errors.Is(err, ledger.ErrBlockedInFile) {
		return Bad("inmates.err.blocked_in_file", card)
	}
	if err != nil {
		return err
	}
	q.Redirect("/f/" + q.Facility + "/inmates?q=" + card)
	return nil
}

// rosterImport previews a roster CSV (confirm empty) or imports it
// (confirm set). Both read and check the whole file the same way; a file
// with any error is refused with every bad line named, and nothing is
// written.
func rosterImport(q *Request) error {
	// The file chosen, else the text pasted (and the preview's own copy,
	// which its confirm form sends back).
	text := q.R.PostFormValue("csv")
	if f, _, err := q.R.FormFile("file"); err == nil {
		b, err := io.ReadAll(io.LimitReader(f, maxForm))
		f.Close()
		if err != nil {
			return Bad("err.form")
		}
		if len(bytes.TrimSpace(b)) > 0 {
			text = string(b)
		}
	}
	imp := &importView{CSV: text}
	cards, lines, err := roster.ParseLines(strings.NewReader(text))
	if err == nil {
		full, rerr := q.Store().RosterSince(q.Ctx(), q.Facility, 0)
		if rerr != nil {
			return rerr
		}
		err = roster.CheckRoles(cards, lines, append(full.Upserts, full.Withheld...))
	}
	if err == nil {
		// The roster parser reads a numbers column too, but registering
		// numbers here would bypass the registrar/approver rule the
		// numbers pages keep: the console imports cards only.
		for i, c := range cards {
			if len(c.Numbers) > 0 {
				err = errors.Join(err, roster.RowError{Line: lines[i], Column: roster.NumbersColumn, Msg: q.T("inmates.err.numbers")})
			}
		}
	}
	if err != nil {
		imp.Errors = rowErrors(err, q.T)
		return q.showInmates(imp)
	}
	for i, c := range cards {
		c.Name, c.Person, c.Block = inert.Text(c.Name, 200), inert.Text(c.Person, 200), inert.Text(c.Block, 200)
		imp.Cards = append(imp.Cards, importLine{Line: lines[i], Card: c})
	}
	if q.Form("confirm") == "" {
		return q.showInmates(imp)
	}
	err = q.Audit("roster.import", "", func() (any, any, error) {
		full, err := q.Store().RosterSince(q.Ctx(), q.Facility, 0)
		if err != nil {
			return nil, nil, err
		}
		named := map[string]bool{}
		for _, c := range cards {
			named[c.Card] = true
		}
		var replaced []record.CardInfo
		for _, c := range append(full.Upserts, full.Withheld...) {
			if named[c.Card] {
				replaced = append(replaced, c)
			}
		}
		_, err = q.Store().UpsertCards(q.Ctx(), q.Facility, q.Account.Name, cards)
		return replaced, cards, err
	})
	if err != nil {
		return err
	}
	q.Redirect("/f/" + q.Facility + "/inmates")
	return nil
}

// rowErrors lists the problems of a roster file, each with its line (0:
// about the whole file), in the words of t (the reader's language) where
// the parser named the problem.
func rowErrors(err error, t func(key string, args ...any) string) []roster.RowError {
	var all []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		all = j.Unwrap()
	} else {
		all = []error{err}
	}
	var out []roster.RowError
	for _, e := range all {
		var re roster.RowError
		if errors.As(e, &re) {
			if re.Code != "" {
				re.Msg = t("roster.problem."+re.Code, re.Args...)
			}
			out = append(out, re)
			continue
		}
		out = append(out, roster.RowError{Msg: e.Error()})
	}
	return out
}
