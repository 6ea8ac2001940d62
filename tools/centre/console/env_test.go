package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/testbed/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is a console over a fresh SQLite ledger, on a fake clock, driven
// in-process (the browser tests drive the real binary).
type env struct {
	t   *testing.T
	st  ledger.Store
	c   *Console
	mu  sync.Mutex
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	return newEnvOn(t, st)
}

// onBothDatabases runs fn on a fresh SQLite ledger and on a fresh
// PostgreSQL one, each a subtest.
func onBothDatabases(t *testing.T, fn func(t *testing.T, st ledger.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "gateway.db"))
		if err != nil {
			t.Fatal(err)
		}
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := ledger.OpenPostgres(context.Background(), pgtest.DB(t))
		if err != nil {
			t.Fatal(err)
		}
		fn(t, st)
	})
}

// newEnvOn is newEnv over st (closed at the test's end).
func newEnvOn(t *testing.T, st ledger.Store) *env {
	t.Helper()
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, now: time.Date(2026, 12, 2, 9, 0, 15, 0, time.UTC)}
	var err error
	e.c, err = New(Options{Store: st, Now: e.clock, Argon2: cheap})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

type who struct {
	name, password, secret string
}

// account adds an account with cheap hashing.
func (e *env) account(name string, role ledger.Role, facilities ...string) who {
	e.t.Helper()
	a, cr, err := NewAccount(name, role, facilities, "", cheap, e.clock())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.AddAccount(context.Background(), a); err != nil {
		e.t.Fatal(err)
	}
	return who{name, cr.Password, cr.TOTPSecret}
}

// resp is one answer of the console.
type resp struct {
	status int
	body   string
	loc    string
	cookie string // the session cookie it set ("" none)
}

func (e *env) do(method, path, cookie string, form url.Values) resp {
	e.t.Helper()
	var r *http.Request
	if method == http.MethodPost {
		r = httptest.NewRequest(method, "https://console.test"+path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, "https://console.test"+path, nil)
	}
	r.RemoteAddr = "192.0.2.7:5555"
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
	}
	w := httptest.NewRecorder()
	e.c.ServeHTTP(w, r)
	out := resp{status: w.Code, body: w.Body.String(), loc: w.Header().Get("Location")}
	for _, ck := range w.Result().Cookies() {
		if ck.Name == CookieName {
			out.cookie = ck.Value
			if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
				e.t.Errorf("session cookie %+v is not HttpOnly, Secure, SameSite=Strict, Path=/", ck)
			}
		}
	}
	return out
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", body)
	}
	return m[1]
}

// loginPage opens the login page and returns its session cookie and token.
func (e *env) loginPage() (cookie, csrf string) {
	e.t.Helper()
	r := e.do("GET", "/login", "", nil)
	if r.status != 200 || r.cookie == "" {
		e.t.Fatalf("GET /login: %d, cookie %q", r.status, r.cookie)
	}
	return r.cookie, csrfOf(e.t, r.body)
}

// tryLogin posts the login form with code (computed now when "").
func (e *env) tryLogin(w who, password, code string) (before string, r resp) {
	e.t.Helper()
	cookie, csrf := e.loginPage()
	if code == "" && w.secret != "" {
		var err error
		if code, err = TOTPCode(w.secret, e.clock()); err != nil {
			e.t.Fatal(err)
		}
	}
	return cookie, e.do("POST", "/login", cookie, url.Values{"csrf": {csrf}, "name": {w.name}, "password": {password}, "code": {code}})
}

// login signs w in and returns the session cookie; it moves the clock one
// TOTP step on so the next login's code is new.
func (e *env) login(w who) string {
	e.t.Helper()
	_, r := e.tryLogin(w, w.password, "")
	if r.status != http.StatusSeeOther || r.cookie == "" {
		e.t.Fatalf("login of %s: %d %q\n%s", w.name, r.status, r.cookie, r.body)
	}
	e.advance(30 * time.Second)
	return r.cookie
}

// csrf is the token of the session of cookie (the one its forms carry).
func (e *env) csrf(cookie string) string {
	e.t.Helper()
	s, err := e.st.Session(context.Background(), sessionKey(cookie))
	if err != nil {
		e.t.Fatalf("session of %q: %v", cookie, err)
	}
	return s.CSRF
}
