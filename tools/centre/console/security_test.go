package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"wartelsuspas/tools/centre/console"
)

// TestSecurityThroughTheGateway runs the security cases against the real
// `wartel-gateway serve -console`: session fixation, CSRF, brute force, an
// auditor's write, and every route of another facility.
func TestSecurityThroughTheGateway(t *testing.T) {
	c := newCentre(t)

	t.Run("fixation", func(t *testing.T) {
		cl := c.client()
		before, after, st := cl.login(c.people["op-b"], c.people["op-b"].password)
		if st != http.StatusSeeOther {
			t.Fatalf("login: %d", st)
		}
		if before == "" || after == "" || before == after {
			t.Fatalf("cookie before login %q, after %q: want two different ones", before, after)
		}
		// The cookie planted before login signs in no one.
		planted := c.client()
		u, _ := url.Parse(c.url)
		planted.http.Jar.SetCookies(u, []*http.Cookie{{Name: console.CookieName, Value: before, Path: "/", Secure: true}})
		if st, _ := planted.do("GET", "/f/lapas-b/booths", nil); st != http.StatusSeeOther {
			t.Errorf("the pre-login cookie after login: %d, want a redirect to the login", st)
		}
	})

	t.Run("csrf", func(t *testing.T) {
		cl := c.client()
		if _, _, st := cl.login(c.people["sup-a"], c.people["sup-a"].password); st != http.StatusSeeOther {
			t.Fatalf("login: %d", st)
		}
		form := url.Values{"device": {"lapas-a/b01"}, "kind": {"booth_offline"}, "since": {"0"}, "note": {"forged"}}
		if st, _ := cl.do("POST", "/f/lapas-a/alerts/ack", form); st != http.StatusForbidden {
			t.Errorf("a POST without the token: %d, want 403", st)
		}
		form.Set("csrf", "not-the-token")
		if st, _ := cl.do("POST", "/f/lapas-a/alerts/ack", form); st != http.StatusForbidden {
			t.Errorf("a POST with a wrong token: %d, want 403", st)
		}
		acks, err := c.store.AlertAcksOf(t.Context(), "lapas-a")
		if err != nil || len(acks) != 0 {
			t.Errorf("a forged POST acknowledged something: %v %v", acks, err)
		}
	})

	t.Run("brute force", func(t *testing.T) {
		v := c.people["victim"]
		for i := range console.DefaultThrottle.PerAccount {
			if _, _, st := c.client().login(v, "guess-"+string(rune('a'+i))); st != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: %d", i+1, st)
			}
		}
		cl := c.client()
		_, _, st := cl.login(v, v.password)
		if st == http.StatusSeeOther {
			t.Fatal("the right password was accepted after the failures: not throttled")
		}
		if st, _ := cl.do("GET", "/f/lapas-a/booths", nil); st != http.StatusSeeOther {
			t.Errorf("the throttled client reached a page: %d", st)
		}
	})

	t.Run("auditor cannot write", func(t *testing.T) {
		cl := c.client()
		if _, _, st := cl.login(c.people["aud-a"], c.people["aud-a"].password); st != http.StatusSeeOther {
			t.Fatalf("login: %d", st)
		}
		tok := cl.csrf("/f/lapas-a/alerts")
		_, body := cl.do("GET", "/f/lapas-a/alerts", nil)
		if strings.Contains(body, `data-role="ack"`) {
			t.Error("the auditor is offered the acknowledge form")
		}
		st, _ := cl.do("POST", "/f/lapas-a/alerts/ack", url.Values{"csrf": {tok}, "device": {"lapas-a/b01"}, "kind": {"booth_offline"}, "since": {"0"}, "note": {"seen"}})
		if st != http.StatusForbidden {
			t.Errorf("the auditor's POST: %d, want 403", st)
		}
		if acks, _ := c.store.AlertAcksOf(t.Context(), "lapas-a"); len(acks) != 0 {
			t.Errorf("the auditor acknowledged: %v", acks)
		}
	})

	t.Run("another facility, every route", func(t *testing.T) {
		cl := c.client()
		if _, _, st := cl.login(c.people["op-a"], c.people["op-a"].password); st != http.StatusSeeOther {
			t.Fatalf("login: %d", st)
		}
		tok := cl.csrf("/f/lapas-a/booths") // its own facility works
		n := 0
		for _, rt := range console.Routes() {
			if !strings.Contains(rt.Path, "{facility}") {
				continue
			}
			path := strings.NewReplacer("{facility}", "lapas-b", "{booth}", "b01").Replace(rt.Path)
			var form url.Values
			if rt.Method == "POST" {
				form = url.Values{"csrf": {tok}}
			}
			if st, body := cl.do(rt.Method, path, form); st != http.StatusForbidden || strings.Contains(body, "lapas-b/b01") {
				t.Errorf("%s %s by lapas-a's operator: %d, want 403 and nothing of lapas-b", rt.Method, path, st)
			}
			n++
		}
		if n == 0 {
			t.Fatal("no facility route")
		}
	})
}
