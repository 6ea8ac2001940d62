package console

import (
	"crypto/subtle"
	"mime"
	"net/http"
	"slices"

	"wartelsuspas/tools/centre/ledger"
)

// Access is what a route does, which decides who may use it.
type Access int

const (
	// Public routes need no account: the login page, the language switch.
	// A Public POST still needs the session's CSRF token.
	Public Access = iota
	// View routes show data: any signed-in role listed in Roles.
	View
	// Change routes change something: never an auditor, whatever Roles
	// says; always a POST with the CSRF token; the handler audits it.
	Change
)

// Route is one page or action of the console.
type Route struct {
	Method string // "GET" or "POST"
	// Path is an http.ServeMux pattern. A {facility} wildcard makes the
	// route about one facility: the account must see it (Account.Sees).
	Path   string
	Access Access
	// Roles may use the route (nil: every role). An admin is not implied:
	// list it.
	Roles  []ledger.Role
	Handle func(*Request) error
}

// Every role, and every role that can change something.
var (
	anyRole    = ledger.AllRoles
	writeRoles = []ledger.Role{ledger.RoleAdmin, ledger.RoleOperator, ledger.RoleSupervisor}
	adminOnly  = []ledger.Role{ledger.RoleAdmin}
)

// Routes is the console's route table: every page and action. Add yours
// here (docs/console.md "How to add a page").
func Routes() []Route {
	return []Route{
		{"GET", "/login", Public, nil, loginPage},
		{"POST", "/login", Public, nil, loginSubmit},
		{"POST", "/logout", Public, nil, logout},
		{"POST", "/lang", Public, nil, setLang},
		{"GET", "/{$}", View, anyRole, home},
		{"GET", "/f/{facility}/booths", View, anyRole, boothsPage},
		{"GET", "/f/{facility}/booths/{booth}", View, anyRole, boothPage},
		{"GET", "/f/{facility}/alerts", View, anyRole, alertsPage},
		{"POST", "/f/{facility}/alerts/ack", Change, writeRoles, alertAck},
		{"GET", "/audit", View, adminOnly, auditAll},
		{"GET", "/f/{facility}/audit", View, anyRole, auditFacility},
		{"GET", "/accounts", View, adminOnly, accountsPage},
		{"POST", "/accounts/add", Change, adminOnly, accountAdd},
		{"POST", "/accounts/disable", Change, adminOnly, accountDisable},
		{"POST", "/accounts/reset-totp", Change, adminOnly, accountResetTOTP},
		{"GET", "/f/{facility}/reports", View, anyRole, reportsPage},
		{"GET", "/f/{facility}/reports/{file}", View, anyRole, reportCSV},
		{"GET", "/f/{facility}/inmates", View, anyRole, inmatesPage},
		{"POST", "/f/{facility}/inmates/block", Change, rosterWriters, cardBlock},
		{"POST", "/f/{facility}/inmates/import", Change, rosterWriters, rosterImport},
		{"GET", "/f/{facility}/policy", View, anyRole, policyPage},
		{"POST", "/f/{facility}/policy", Change, policyWriters, policySet},
		{"GET", "/f/{facility}/numbers", View, anyRole, numbersPage},
		{"POST", numbersRegisterPath, Change, numberRegistrars, numberRegister},
		{"POST", numbersDecidePath, Change, numberDeciders, numberDecide},
		{"POST", numbersRevokePath, Change, writeRoles, numberRevoke},
		{"POST", numbersBlockPath, Change, numberRegistrars, numberBlock},
		{"POST", numbersUnblockPath, Change, numberRegistrars, numberUnblock},
		{"GET", "/f/{facility}/officers", View, anyRole, officersPage},
		{"POST", officersDecidePath, Change, numberDeciders, officerDecide},
	}
}

// allowed is the one decision of who may use a route: every request goes
// through it before its handler.
func allowed(a ledger.Account, rt Route, facility string) bool {
	if rt.Access == Public {
		return true
	}
	if a.Name == "" || a.Disabled || !a.Role.Valid() {
		return false
	}
	if !slices.Contains(rt.Roles, a.Role) {
		return false
	}
	if rt.Access == Change && !a.Role.Writes() {
		return false
	}
	if facility != "" && !a.Sees(facility) {
		return false
	}
	return true
}

// May says whether the signed-in account may use the route of method and
// path (a pattern as in Routes) on the request's facility, by the same
// decision as serve's: a page shows a form only when its action would be
// let through.
func (q *Request) May(method, path string) bool {
	for _, rt := range q.c.routes {
		if rt.Method == method && rt.Path == path {
			return allowed(q.Account, rt, q.Facility)
		}
	}
	return false
}

// serve runs one route: session, CSRF, access, then the handler.
func (c *Console) serve(rt Route, w http.ResponseWriter, r *http.Request) {
	q := &Request{W: w, R: r, Facility: r.PathValue("facility"), c: c}
	sess, acct, err := c.session(r)
	if err != nil {
		c.fail(q, err)
		return
	}
	q.Session, q.Account = sess, acct
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		// A file's form (the roster import) is multipart; its fields, the
		// token among them, are read the same way as any other form's.
		parse := r.ParseForm
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
			parse = func() error { return r.ParseMultipartForm(maxForm) }
		}
		if err := parse(); err != nil {
			c.fail(q, Bad("err.form"))
			return
		}
		// A form must carry its session's token: another site cannot read
		// it, so it cannot make a signed-in browser post for it.
		tok := r.PostFormValue(csrfField)
		if sess.Key == "" || sess.CSRF == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(sess.CSRF)) != 1 {
			c.fail(q, &Fail{Status: http.StatusForbidden, Key: "err.csrf"})
			return
		}
		if rt.Access == Change && r.Method != http.MethodPost {
			c.fail(q, Refuse())
			return
		}
	} else if rt.Access == Change {
		c.fail(q, Refuse())
		return
	}
	if rt.Access != Public && acct.Name == "" {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		c.fail(q, &Fail{Status: http.StatusForbidden, Key: "err.signed_out"})
		return
	}
	if !allowed(acct, rt, q.Facility) {
		c.opts.Log.Warn("console: refused", "account", acct.Name, "role", acct.Role, "method", r.Method, "path", r.URL.Path)
		c.fail(q, Refuse())
		return
	}
	if err := rt.Handle(q); err != nil {
		c.fail(q, err)
	}
}

// maxForm bounds a form's body (a roster CSV is the largest).
const maxForm = 4 << 20
