package console

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"wartelsuspas/tools/centre/ledger"
)

// TestOfficersPage: an officer card an operator imports at the console is
// pending, shown first, honoured by no booth; the operator sees its status
// but cannot decide it, nor can a supervisor of another facility or an
// auditor; the account that added a card cannot decide it; a supervisor of
// the facility approves one (it then reaches the booths) and rejects
// another with a reason; both decisions are audited (issue 16).
func TestOfficersPage(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, st ledger.Store) { officersFlow(t, newEnvOn(t, st)) })
}

// officersFlow is TestOfficersPage on one backend.
func officersFlow(t *testing.T, e *env) {
	ctx := context.Background()
	op := e.login(e.account("ratna", ledger.RoleOperator, "lp"))
	sup := e.login(e.account("sari", ledger.RoleSupervisor, "lp"))
	other := e.login(e.account("wayan", ledger.RoleSupervisor, "lq"))
	aud := e.login(e.account("audit", ledger.RoleAuditor, "lp"))
	admin := e.login(e.account("kanwil", ledger.RoleAdmin))
	imp := func(c, csv string) {
		t.Helper()
		if r := e.do("POST", "/f/lp/inmates/import", c, url.Values{"csrf": {e.csrf(c)}, "csv": {csv}, "confirm": {"1"}}); r.status != 303 {
			t.Fatalf("import: %d\n%s", r.status, r.body)
		}
	}
	imp(op, "role,person,name,block,card,allowance_min,blocked\n"+
		"inmate,W-1,Budi,A,em:0400D8B2A5,,\n"+
		"officer,P-1,Agus,,em:0A00000001,,\n"+
		"officer,P-2,Kroni,,em:0A00000002,,\n")
	imp(admin, "role,person,name,block,card,allowance_min,blocked\nofficer,P-3,Dewi,,em:0A00000003,,\n")
	sentCards := func() map[string]bool {
		d, err := e.st.RosterSince(ctx, "lp", 0)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, c := range d.Upserts {
			out[c.Card] = true
		}
		return out
	}
	if s := sentCards(); s["em:0A00000001"] || !s["em:0400D8B2A5"] {
		t.Fatalf("the booths' roster before approval: %v, want the inmate only", s)
	}

	if page := e.do("GET", "/f/lp/inmates", op, nil); !strings.Contains(page.body, "3 kartu petugas tidak tercantum") {
		t.Errorf("the inmates page does not say three officer cards are withheld:\n%s", page.body)
	}
	page := e.do("GET", "/f/lp/officers", op, nil)
	if page.status != 200 || !strings.Contains(page.body, `data-card="em:0A00000001" data-status="pending"`) ||
		!strings.Contains(page.body, `data-role="awaits"`) || strings.Contains(page.body, `data-role="approve"`) {
		t.Fatalf("the operator's page: %d, want the card pending and no decision form\n%s", page.status, page.body)
	}
	if !strings.Contains(page.body, "ratna") || !strings.Contains(page.body, "menunggu: tidak diterima bilik") {
		t.Error("the operator's page does not say who added the card, or its status in Indonesian")
	}
	// The person each card's form was shown with, sent back with the decision.
	shown := map[string]string{"em:0A00000001": "P-1", "em:0A00000002": "P-2", "em:0A00000003": "P-3", "em:0400D8B2A5": "W-1"}
	decide := func(c, card, verdict, reason string) resp {
		t.Helper()
		return e.do("POST", "/f/lp/officers/decide", c, url.Values{"csrf": {e.csrf(c)}, "card": {card}, "person": {shown[card]}, "verdict": {verdict}, "reason": {reason}})
	}
	for name, c := range map[string]string{"the operator": op, "a supervisor of another facility": other, "an auditor": aud} {
		if r := decide(c, "em:0A00000001", "approve", ""); r.status != 403 {
			t.Errorf("%s approves: %d, want 403", name, r.status)
		}
	}
	if page := e.do("GET", "/f/lp/officers", other, nil); page.status != 403 {
		t.Errorf("a supervisor of another facility reads the page: %d, want 403", page.status)
	}
	if page := e.do("GET", "/f/lp/officers", aud, nil); page.status != 200 || strings.Contains(page.body, `action="/f/lp/officers/decide"`) {
		t.Errorf("the auditor's page: %d, or it offers a decision", page.status)
	}

	// The admin added P-3's card: it may not decide it.
	if page := e.do("GET", "/f/lp/officers", admin, nil); !strings.Contains(page.body, `data-role="not-yours"`) {
		t.Error("the admin's own pending card offers it a decision")
	}
	if r := decide(admin, "em:0A00000003", "approve", ""); r.status != 400 || !strings.Contains(fieldErrorsOf(r.body)["o:em:0A00000003"], "kanwil menambahkan kartu petugas ini") {
		t.Errorf("the admin approves the card it added: %d %q", r.status, fieldErrorsOf(r.body))
	}
	if r := decide(sup, "em:0A00000002", "reject", ""); r.status != 400 || !strings.Contains(fieldErrorsOf(r.body)["o:em:0A00000002"], "alasan wajib") {
		t.Errorf("a rejection without a reason: %d %q", r.status, fieldErrorsOf(r.body))
	}
	if r := decide(sup, "em:0400D8B2A5", "approve", ""); r.status != 400 || !strings.Contains(fieldErrorsOf(r.body)["card"], "Tidak ada kartu petugas") {
		t.Errorf("an inmate card approved: %d %q", r.status, fieldErrorsOf(r.body))
	}
	if s := sentCards(); s["em:0A00000001"] || s["em:0A00000002"] || s["em:0A00000003"] {
		t.Fatalf("refused decisions let cards through: %v", s)
	}

	// The supervisor is shown P-1's card; the operator swaps its person
	// for a crony's before the approval is sent: the approval is refused,
	// and nothing reaches the booths. Before, it approved P-9 unseen.
	if page := e.do("GET", "/f/lp/officers", sup, nil); !strings.Contains(page.body, `name="person" value="P-1"`) {
		t.Fatal("the supervisor's decision form does not carry the person it shows")
	}
	imp(op, "role,person,name,block,card,allowance_min,blocked\nofficer,P-9,Kroni,,em:0A00000001,,\n")
	if r := decide(sup, "em:0A00000001", "approve", ""); r.status != 400 || !strings.Contains(fieldErrorsOf(r.body)["o:em:0A00000001"], "berubah sejak") {
		t.Errorf("approving the card shown as P-1's after it became P-9's: %d %q, want refused", r.status, fieldErrorsOf(r.body))
	}
	if s := sentCards(); s["em:0A00000001"] {
		t.Fatal("the swapped card reached the booths")
	}
	imp(op, "role,person,name,block,card,allowance_min,blocked\nofficer,P-1,Agus,,em:0A00000001,,\n")
	if r := decide(sup, "em:0A00000001", "approve", ""); r.status != 303 || !strings.Contains(r.loc, "done=approved") {
		t.Fatalf("the supervisor approves: %d %q\n%s", r.status, r.loc, r.body)
	}
	if r := decide(sup, "em:0A00000002", "reject", "bukan petugas lapas ini"); r.status != 303 || !strings.Contains(r.loc, "done=rejected") {
		t.Fatalf("the supervisor rejects: %d %q\n%s", r.status, r.loc, r.body)
	}
	if r := decide(sup, "em:0A00000001", "reject", "again"); r.status != 400 || !strings.Contains(fieldErrorsOf(r.body)["o:em:0A00000001"], "disetujui") {
		t.Errorf("a decided card decided again: %d %q", r.status, fieldErrorsOf(r.body))
	}
	if s := sentCards(); !s["em:0A00000001"] || s["em:0A00000002"] || s["em:0A00000003"] {
		t.Errorf("the booths' roster after the decisions: %v, want only P-1's officer card added", s)
	}
	page = e.do("GET", "/f/lp/officers", op, nil)
	if i, j := strings.Index(page.body, `data-card="em:0A00000003"`), strings.Index(page.body, `data-card="em:0A00000001"`); i < 0 || j < 0 || i > j {
		t.Error("the page does not list the pending card first")
	}
	if !strings.Contains(page.body, "bukan petugas lapas ini") || !strings.Contains(page.body, `data-card="em:0A00000002" data-status="rejected"`) {
		t.Error("the operator's page does not show the rejection and its reason")
	}

	log, err := e.st.AuditLog(ctx, ledger.AuditQuery{Facilities: []string{"lp"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(log) - 1; i >= 0; i-- {
		a := log[i]
		if !strings.HasPrefix(a.Action, "officers.") {
			continue
		}
		got = append(got, a.Action+" "+a.Actor+" "+a.Target)
		if a.Action == "officers.approve" && (!strings.Contains(a.Before, `"Status":"pending"`) || !strings.Contains(a.After, `"Status":"approved"`) || !strings.Contains(a.After, `"DecidedBy":"sari"`)) {
			t.Errorf("approval's before/after: %s → %s", a.Before, a.After)
		}
	}
	if want := []string{"officers.approve sari em:0A00000001", "officers.reject sari em:0A00000002"}; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit trail %q, want %q", got, want)
	}
}
