package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"wartelsuspas/tools/centre/ledger"
)

// CookieName is the session cookie. The __Host- prefix makes browsers
// refuse it unless it is Secure, for the whole site, and set by this host.
const CookieName = "__Host-wartel-console"

// csrfField is the hidden field of every form.
const csrfField = "csrf"

// token is a fresh random value for a cookie or a CSRF token.
func token() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("console: random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// sessionKey is what the ledger keeps of a cookie: its hash, so a copy of
// the database gives no one a live session.
func sessionKey(cookie string) string {
	h := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(h[:])
}

// expired reports whether s is past its idle or absolute timeout at now.
func (c *Console) expired(s ledger.ConsoleSession, now time.Time) bool {
	return now.Sub(s.Created) >= c.opts.AbsoluteTimeout || now.Sub(s.Seen) >= c.opts.IdleTimeout
}

// session finds the request's live session and its account. No cookie, an
// unknown or expired one, or one whose account is gone or disabled gives
// a zero session (and the stale row is deleted).
func (c *Console) session(r *http.Request) (ledger.ConsoleSession, ledger.Account, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil || ck.Value == "" {
		return ledger.ConsoleSession{}, ledger.Account{}, nil
	}
	ctx := r.Context()
	st := c.opts.Store
	s, err := st.Session(ctx, sessionKey(ck.Value))
	if errors.Is(err, ledger.ErrNoSession) {
		return ledger.ConsoleSession{}, ledger.Account{}, nil
	}
	if err != nil {
		return ledger.ConsoleSession{}, ledger.Account{}, err
	}
	now := c.now()
	if c.expired(s, now) {
		return ledger.ConsoleSession{}, ledger.Account{}, st.DeleteSession(ctx, s.Key)
	}
	var a ledger.Account
	if s.Account != "" {
		a, err = st.Account(ctx, s.Account)
		if errors.Is(err, ledger.ErrNoAccount) || (err == nil && a.Disabled) {
			return ledger.ConsoleSession{}, ledger.Account{}, st.DeleteSession(ctx, s.Key)
		}
		if err != nil {
			return ledger.ConsoleSession{}, ledger.Account{}, err
		}
	}
	// Touch at most once a minute: one write per page view is needless
	// load on a shared database, and the idle timeout is minutes long.
	if now.Sub(s.Seen) >= time.Minute {
		if err := st.TouchSession(ctx, s.Key, now); err != nil {
			return ledger.ConsoleSession{}, ledger.Account{}, err
		}
		s.Seen = now
	}
	return s, a, nil
}

// startSession makes a new session for account ("" : before login) with a
// new cookie value and a new CSRF token, and sets the cookie. A login
// always calls it: the id a browser had before is never the one after
// (no session fixation).
func (c *Console) startSession(ctx context.Context, w http.ResponseWriter, account, lang string) (ledger.ConsoleSession, error) {
	val, err := token()
	if err != nil {
		return ledger.ConsoleSession{}, err
	}
	csrf, err := token()
	if err != nil {
		return ledger.ConsoleSession{}, err
	}
	now := c.now()
	s := ledger.ConsoleSession{Key: sessionKey(val), Account: account, CSRF: csrf, Lang: langOf(lang), Created: now, Seen: now}
	if err := c.opts.Store.CreateSession(ctx, s); err != nil {
		return ledger.ConsoleSession{}, err
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: val, Path: "/",
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
		// No Expires: a session cookie, gone when the browser closes; the
		// server's timeouts bound it in any case.
	})
	return s, nil
}

// clearCookie tells the browser to forget the session cookie.
func clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}
