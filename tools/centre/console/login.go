package console

import (
	"errors"
	"net"
	"net/http"
	"time"

	"wartelsuspas/tools/centre/ledger"
)

// Throttle bounds failed logins: after PerAccount failures on one account
// name, or PerAddress from one address, within Window, further logins there
// are refused without checking the password until the oldest failure is
// older than Window. Counted in the ledger, so every replica agrees.
type Throttle struct {
	Window     time.Duration
	PerAccount int
	PerAddress int
}

// DefaultThrottle: 5 wrong passwords or codes on an account, or 30 from one
// address (a shared office), in 15 minutes.
var DefaultThrottle = Throttle{Window: 15 * time.Minute, PerAccount: 5, PerAddress: 30}

// dummyHash is checked for an unknown account, so a login takes as long
// whether or not the name exists; made on first use, at the console's cost.
func (c *Console) dummyHash() string {
	c.dummyOnce.Do(func() { c.dummy, _ = HashPassword("no such account", c.opts.Argon2) })
	return c.dummy
}

type loginData struct {
	Name  string
	Error string
}

func loginPage(q *Request) error {
	if q.Account.Name != "" {
		q.Redirect("/")
		return nil
	}
	if q.Session.Key == "" {
		// A session before login carries the form's CSRF token and the
		// language; the login replaces it.
		s, err := q.c.startSession(q.Ctx(), q.W, "", q.R.URL.Query().Get("lang"))
		if err != nil {
			return err
		}
		q.Session = s
	}
	return q.Render("login", q.T("login.title"), loginData{})
}

func addrOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func loginSubmit(q *Request) error {
	ctx, st, c := q.Ctx(), q.Store(), q.c
	name, password, code := q.Form("name"), q.R.PostFormValue("password"), q.Form("code")
	again := func(key string, args ...any) error {
		return c.render(q.W, http.StatusUnauthorized, "login", q.view(q.T("login.title"), loginData{Name: name, Error: q.T(key, args...)}))
	}
	now := c.now()
	th := c.opts.Throttle
	since := now.Add(-th.Window)
	acctKey, addrKey := "account:"+name, "addr:"+addrOf(q.R)
	// The attempt is counted before it is checked, and taken back if it
	// succeeds: counted after, a burst of attempts sent at once each read
	// the count before any had failed, and all were checked (12 against
	// a limit of 5).
	for _, k := range []string{acctKey, addrKey} {
		if err := st.LoginFailure(ctx, k, now); err != nil {
			return err
		}
	}
	na, err := st.LoginFailures(ctx, acctKey, since)
	if err != nil {
		return err
	}
	nb, err := st.LoginFailures(ctx, addrKey, since)
	if err != nil {
		return err
	}
	if na > th.PerAccount || nb > th.PerAddress {
		c.opts.Log.Warn("console: login throttled", "account", name, "addr", addrOf(q.R), "account_failures", na, "addr_failures", nb)
		return again("login.throttled", int(th.Window.Minutes()))
	}
	a, err := st.Account(ctx, name)
	known := err == nil
	if err != nil && !errors.Is(err, ledger.ErrNoAccount) {
		return err
	}
	hash := c.dummyHash()
	if known {
		hash = a.PasswordHash
	}
	ok, err := VerifyPassword(password, hash)
	if err != nil {
		c.opts.Log.Error("console: unreadable password hash", "account", name, "err", err)
		ok = false
	}
	ok = ok && known && !a.Disabled
	if ok && (a.TOTPSecret != "" || a.Role.Writes()) {
		step, good := CheckTOTP(a.TOTPSecret, code, now)
		ok = good && a.TOTPSecret != ""
		if ok {
			// A code is good once: the same code again (seen over a
			// shoulder, replayed) is refused.
			if ok, err = st.UseTOTPStep(ctx, a.Name, step); err != nil {
				return err
			}
		}
	}
	if !ok {
		c.opts.Log.Warn("console: login failed", "account", name, "addr", addrOf(q.R))
		return again("login.failed")
	}
	if err := st.ClearLoginFailures(ctx, acctKey, since); err != nil {
		return err
	}
	if err := st.ForgetLoginFailure(ctx, addrKey, now); err != nil {
		return err
	}
	// A new session, never the one the browser came with (no fixation).
	if err := st.DeleteSession(ctx, q.Session.Key); err != nil {
		return err
	}
	if _, err := c.startSession(ctx, q.W, a.Name, q.Session.Lang); err != nil {
		return err
	}
	if err := st.PruneSessions(ctx, now.Add(-c.opts.AbsoluteTimeout), now.Add(-c.opts.IdleTimeout)); err != nil {
		c.opts.Log.Warn("console: prune sessions", "err", err)
	}
	c.opts.Log.Info("console: login", "account", a.Name, "role", a.Role, "addr", addrOf(q.R))
	q.Redirect("/")
	return nil
}

func logout(q *Request) error {
	if err := q.Store().DeleteSession(q.Ctx(), q.Session.Key); err != nil {
		return err
	}
	clearCookie(q.W)
	q.Redirect("/login")
	return nil
}

func setLang(q *Request) error {
	lang := langOf(q.Form("lang"))
	if err := q.Store().SetSessionLang(q.Ctx(), q.Session.Key, lang); err != nil {
		return err
	}
	back := q.Form("back")
	if back == "" || back[0] != '/' || (len(back) > 1 && (back[1] == '/' || back[1] == '\\')) {
		back = "/" // only a path of this site: no open redirect
	}
	q.Redirect(back)
	return nil
}

func home(q *Request) error {
	fs, err := q.c.facilitiesOf(q.Ctx(), q.Account)
	if err != nil {
		return err
	}
	return q.Render("home", q.T("home.title"), fs)
}
