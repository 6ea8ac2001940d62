package console

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/testbed/pgtest"
)

func TestLoginIsANewSession(t *testing.T) {
	e := newEnv(t)
	admin := e.account("kanwil", ledger.RoleAdmin)
	before, r := e.tryLogin(admin, admin.password, "")
	if r.status != http.StatusSeeOther || r.loc != "/" {
		t.Fatalf("login: %d → %q\n%s", r.status, r.loc, r.body)
	}
	if r.cookie == "" || r.cookie == before {
		t.Fatalf("the cookie after login %q is the one before %q: session fixation", r.cookie, before)
	}
	if got := e.do("GET", "/", r.cookie, nil); got.status != 200 || !strings.Contains(got.body, `data-role="who"`) {
		t.Errorf("the new session is not signed in: %d", got.status)
	}
	// The cookie from before login (one an attacker could have planted)
	// is gone: it signs in no one.
	if got := e.do("GET", "/", before, nil); got.status != http.StatusSeeOther || got.loc != "/login" {
		t.Errorf("the pre-login cookie after login: %d → %q, want a redirect to /login", got.status, got.loc)
	}
	// Logout ends it.
	csrf := e.csrf(r.cookie)
	if got := e.do("POST", "/logout", r.cookie, url.Values{"csrf": {csrf}}); got.status != http.StatusSeeOther {
		t.Errorf("logout: %d", got.status)
	}
	if got := e.do("GET", "/", r.cookie, nil); got.loc != "/login" {
		t.Errorf("after logout: %d → %q", got.status, got.loc)
	}
}

func TestLoginRefusals(t *testing.T) {
	e := newEnv(t)
	op := e.account("op", ledger.RoleOperator, "lapas-a")
	aud := e.account("aud", ledger.RoleAuditor, "lapas-a")
	wrongCode := func(w who) string {
		c, _ := TOTPCode(w.secret, e.clock().Add(-5*time.Minute))
		return c
	}
	for _, tc := range []struct {
		name     string
		w        who
		password string
		code     string
		ok       bool
	}{
		{"operator, password and code", op, op.password, "", true},
		{"operator, no code", op, op.password, "000000x", false},
		{"operator, old code", op, op.password, wrongCode(op), false},
		{"operator, wrong password", op, "nope", "", false},
		{"no such account", who{name: "ghost"}, "whatever", "123456", false},
		{"auditor without a second factor", aud, aud.password, "", true},
	} {
		e.advance(30 * time.Second)
		_, r := e.tryLogin(tc.w, tc.password, tc.code)
		if got := r.status == http.StatusSeeOther; got != tc.ok {
			t.Errorf("%s: status %d, signed in %v, want %v", tc.name, r.status, got, tc.ok)
		}
		if !tc.ok && !strings.Contains(r.body, translate("id", "login.failed")) {
			t.Errorf("%s: the page does not say the login failed", tc.name)
		}
	}
}

func TestTOTPCodeUsedOnce(t *testing.T) {
	e := newEnv(t)
	op := e.account("op", ledger.RoleOperator, "lapas-a")
	code, _ := TOTPCode(op.secret, e.clock())
	if _, r := e.tryLogin(op, op.password, code); r.status != http.StatusSeeOther {
		t.Fatalf("first use: %d", r.status)
	}
	if _, r := e.tryLogin(op, op.password, code); r.status == http.StatusSeeOther {
		t.Error("the same code signed in twice: replay")
	}
}

func TestSessionTimeouts(t *testing.T) {
	e := newEnv(t)
	admin := e.account("kanwil", ledger.RoleAdmin)
	signedIn := func(cookie string) bool { return e.do("GET", "/", cookie, nil).status == 200 }

	// Idle: used every 14 minutes it lives; 15 minutes unused ends it.
	c := e.login(admin)
	for range 4 {
		e.advance(DefaultIdleTimeout - time.Minute)
		if !signedIn(c) {
			t.Fatal("a session used within its idle timeout ended")
		}
	}
	e.advance(DefaultIdleTimeout)
	if signedIn(c) {
		t.Error("a session idle for the idle timeout is still signed in")
	}

	// Absolute: however busy, 8 hours after login it ends.
	c = e.login(admin)
	start := e.clock().Add(-30 * time.Second) // login moved the clock one step
	for e.clock().Sub(start) < DefaultAbsoluteTimeout-10*time.Minute {
		e.advance(10 * time.Minute)
		if !signedIn(c) {
			t.Fatalf("a busy session ended %v after login, before the absolute timeout", e.clock().Sub(start))
		}
	}
	e.advance(10 * time.Minute)
	if signedIn(c) {
		t.Errorf("a busy session is still signed in %v after login", e.clock().Sub(start))
	}
}

func TestThrottle(t *testing.T) {
	e := newEnv(t)
	op := e.account("op", ledger.RoleOperator, "lapas-a")
	th := DefaultThrottle
	for i := range th.PerAccount {
		if _, r := e.tryLogin(op, "wrong", ""); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, r.status)
		}
	}
	_, r := e.tryLogin(op, op.password, "")
	if r.status == http.StatusSeeOther || !strings.Contains(r.body, translate("id", "login.throttled", int(th.Window.Minutes()))) {
		t.Fatalf("the right password after %d failures: %d, want refused as throttled\n%s", th.PerAccount, r.status, r.body)
	}
	e.advance(th.Window)
	if _, r := e.tryLogin(op, op.password, ""); r.status != http.StatusSeeOther {
		t.Errorf("after the window the right password is refused: %d", r.status)
	}

	// Per address: many names from one address.
	e.advance(th.Window)
	for i := range th.PerAddress {
		e.tryLogin(who{name: "guess" + string(rune('a'+i%26)) + string(rune('a'+i/26))}, "x", "123456")
	}
	e.advance(30 * time.Second)
	if _, r := e.tryLogin(op, op.password, ""); r.status == http.StatusSeeOther {
		t.Error("an address past its failures signed in")
	}
}

func TestCSRFRefused(t *testing.T) {
	e := newEnv(t)
	admin := e.account("kanwil", ledger.RoleAdmin)
	e.account("aud", ledger.RoleAuditor, "lapas-a")
	c := e.login(admin)
	other := e.login(e.account("kanwil2", ledger.RoleAdmin))
	for _, tc := range []struct {
		name, token string
	}{
		{"no token", ""},
		{"a wrong token", "AAAA"},
		{"another session's token", e.csrf(other)},
	} {
		r := e.do("POST", "/accounts/disable", c, url.Values{"csrf": {tc.token}, "name": {"aud"}})
		if r.status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, r.status)
		}
	}
	if a, _ := e.st.Account(t.Context(), "aud"); a.Disabled {
		t.Fatal("a forged POST disabled an account")
	}
	if r := e.do("POST", "/accounts/disable", c, url.Values{"csrf": {e.csrf(c)}, "name": {"aud"}}); r.status != http.StatusSeeOther {
		t.Errorf("with its token: %d", r.status)
	}
	if a, _ := e.st.Account(t.Context(), "aud"); !a.Disabled {
		t.Error("the POST with its token did not disable the account")
	}
	// The login form too.
	cookie, _ := e.loginPage()
	if r := e.do("POST", "/login", cookie, url.Values{"csrf": {"x"}, "name": {"kanwil"}, "password": {admin.password}}); r.status != http.StatusForbidden {
		t.Errorf("login without its token: %d", r.status)
	}
}

// countGate holds every count of failed logins until n requests are
// counting at once: the burst an attacker sends to check many passwords
// before any has failed.
type countGate struct {
	ledger.Store
	n       int
	mu      sync.Mutex
	waiting int
	open    chan struct{}
}

func (g *countGate) LoginFailures(ctx context.Context, key string, since time.Time) (int, error) {
	if strings.HasPrefix(key, "account:") {
		g.mu.Lock()
		g.waiting++
		if g.waiting == g.n {
			close(g.open)
		}
		g.mu.Unlock()
		select {
		case <-g.open:
		case <-time.After(30 * time.Second): // bounds a hang only
		}
	}
	return g.Store.LoginFailures(ctx, key, since)
}

// TestThrottleBurst: 8 logins with wrong passwords sent at once are all
// throttled past the limit of 5, not all checked: each attempt is counted
// before its password is. Before, each read the count before any had
// failed, and all 8 passwords were checked.
func TestThrottleBurst(t *testing.T) {
	st, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	gate := &countGate{Store: st, n: n, open: make(chan struct{})}
	e := newEnvOn(t, gate)
	op := e.account("op", ledger.RoleOperator, "lapas-a")
	pages := make([][2]string, n)
	for i := range pages {
		pages[i][0], pages[i][1] = e.loginPage()
	}
	bodies := make(chan string, n)
	var wg sync.WaitGroup
	for _, p := range pages {
		wg.Go(func() {
			bodies <- e.do("POST", "/login", p[0], url.Values{"csrf": {p[1]}, "name": {op.name}, "password": {"wrong"}}).body
		})
	}
	wg.Wait()
	close(bodies)
	throttle := translate("id", "login.throttled", int(DefaultThrottle.Window.Minutes()))
	checked := 0
	for b := range bodies {
		if !strings.Contains(b, throttle) {
			checked++
		}
	}
	if checked > DefaultThrottle.PerAccount {
		t.Errorf("%d of %d passwords sent at once were checked, want at most %d", checked, n, DefaultThrottle.PerAccount)
	}
	if got, err := st.LoginFailures(context.Background(), "account:op", e.clock().Add(-time.Hour)); err != nil || got != n {
		t.Errorf("failures counted %d (%v), want all %d attempts", got, err, n)
	}
}

// TestGoodLoginNotCounted: counted before it is checked, a login that
// succeeds is taken back from its address's failures (and its account's).
func TestGoodLoginNotCounted(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, st ledger.Store) {
		e := newEnvOn(t, st)
		op := e.account("op", ledger.RoleOperator, "lapas-a")
		if _, r := e.tryLogin(op, "wrong", ""); r.status != http.StatusUnauthorized {
			t.Fatalf("a wrong password: %d", r.status)
		}
		e.login(op)
		for k, want := range map[string]int{"account:op": 0, "addr:192.0.2.7": 1} {
			if n, err := e.st.LoginFailures(context.Background(), k, e.clock().Add(-time.Hour)); err != nil || n != want {
				t.Errorf("%s: %d failures (%v) after a failed then a good login, want %d", k, n, err, want)
			}
		}
	})
}

// TestDisableAndResetAtOnce: two admins on two replicas over one
// PostgreSQL, one disabling an account while the other resets its second
// factor: the account ends disabled. Before, the reset wrote back the
// whole account as it read it, enabled, once the disable had committed.
func TestDisableAndResetAtOnce(t *testing.T) {
	dsn := pgtest.DB(t)
	open := func() ledger.Store {
		st, err := ledger.OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	st1, st2 := open(), open()
	e := newEnvOn(t, st1)
	op := e.account("op", ledger.RoleOperator, "lapas-a")
	probe, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	reset := make(chan error, 1)
	err = st1.Atomic(context.Background(), func(ctx context.Context) error {
		if _, _, err := DisableAccount(ctx, st1, op.name, true); err != nil {
			return err
		}
		go func() {
			_, _, _, err := ResetTOTP(context.Background(), st2, op.name)
			reset <- err
		}()
		// Until the reset waits for the disable's row (or went through);
		// the deadline only bounds a hang.
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && len(reset) == 0; time.Sleep(5 * time.Millisecond) {
			var waiting int
			if err := probe.QueryRow(`SELECT COUNT(*) FROM pg_locks WHERE NOT granted`).Scan(&waiting); err != nil {
				return err
			}
			if waiting > 0 {
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-reset; err != nil {
		t.Fatal(err)
	}
	a, err := st1.Account(context.Background(), op.name)
	if err != nil || !a.Disabled || a.TOTPSecret == op.secret {
		t.Errorf("account after a disable and a reset at once: disabled %v, secret renewed %v (%v); want disabled, renewed", a.Disabled, a.TOTPSecret != op.secret, err)
	}
}
