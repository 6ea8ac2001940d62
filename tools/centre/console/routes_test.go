package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"wartelsuspas/tools/centre/ledger"
)

// TestRouteAccess walks every route of the table with every kind of
// account, on its own facility and on another's, with the handlers replaced
// by one that records it was reached: a refused request never reaches its
// handler, whatever the handler would check.
func TestRouteAccess(t *testing.T) {
	e := newEnv(t)
	reached := map[string]bool{}
	// A Change route open to every role: the auditor must still be refused.
	table := append(Routes(), Route{"POST", "/f/{facility}/test-change", Change, anyRole, nil})
	var routes []Route
	for _, rt := range table {
		key := rt.Method + " " + rt.Path
		if rt.Access == Public {
			routes = append(routes, rt) // login and language keep their handlers
			continue
		}
		rt.Handle = func(q *Request) error {
			reached[key] = true
			q.W.WriteHeader(http.StatusTeapot)
			return nil
		}
		routes = append(routes, rt)
	}
	var err error
	if e.c, err = newConsole(Options{Store: e.st, Now: e.clock, Argon2: cheap}, routes); err != nil {
		t.Fatal(err)
	}
	accounts := map[string]who{
		"admin":      e.account("kanwil", ledger.RoleAdmin),
		"operator":   e.account("op", ledger.RoleOperator, "lapas-a"),
		"supervisor": e.account("sup", ledger.RoleSupervisor, "lapas-a"),
		"auditor":    e.account("aud", ledger.RoleAuditor, "lapas-a", "lapas-c"),
	}
	cookies := map[string]string{}
	for k, w := range accounts {
		cookies[k] = e.login(w)
	}
	for _, rt := range table {
		if rt.Access == Public {
			continue
		}
		for kind, w := range accounts {
			a, err := e.st.Account(t.Context(), w.name)
			if err != nil {
				t.Fatal(err)
			}
			for _, fac := range []string{"lapas-a", "lapas-b"} {
				path := strings.ReplaceAll(rt.Path, "{facility}", fac)
				path = strings.TrimSuffix(path, "{$}")
				if path == "" {
					path = "/"
				}
				want := slices.Contains(rt.Roles, a.Role) &&
					(rt.Access != Change || a.Role != ledger.RoleAuditor) &&
					(!strings.Contains(rt.Path, "{facility}") || a.Role == ledger.RoleAdmin || slices.Contains(a.Facilities, fac))
				key := rt.Method + " " + rt.Path
				reached[key] = false
				var form url.Values
				if rt.Method == "POST" {
					form = url.Values{"csrf": {e.csrf(cookies[kind])}}
				}
				r := e.do(rt.Method, path, cookies[kind], form)
				if reached[key] != want {
					t.Errorf("%s %s by %s (%s of %v): reached %v, want %v (status %d)", rt.Method, path, kind, a.Role, a.Facilities, reached[key], want, r.status)
				}
				if !want && r.status != http.StatusForbidden {
					t.Errorf("%s %s by %s: status %d, want 403", rt.Method, path, kind, r.status)
				}
			}
		}
		// Signed out: a page sends to the login, an action is refused.
		path := strings.ReplaceAll(strings.TrimSuffix(rt.Path, "{$}"), "{facility}", "lapas-a")
		if path == "" {
			path = "/"
		}
		cookie, csrf := e.loginPage()
		var form url.Values
		if rt.Method == "POST" {
			form = url.Values{"csrf": {csrf}}
		}
		key := rt.Method + " " + rt.Path
		reached[key] = false
		r := e.do(rt.Method, path, cookie, form)
		if reached[key] || (rt.Method == "GET" && r.loc != "/login") || (rt.Method == "POST" && r.status != http.StatusForbidden) {
			t.Errorf("%s %s signed out: reached %v, status %d → %q", rt.Method, path, reached[key], r.status, r.loc)
		}
	}
	// Every auditor's write is refused: the table has at least one.
	n := 0
	for _, rt := range Routes() {
		if rt.Access == Change {
			n++
			if rt.Method != "POST" {
				t.Errorf("%s %s changes something but is not a POST", rt.Method, rt.Path)
			}
		}
	}
	if n == 0 {
		t.Error("no Change route to test")
	}
}
