// Package console is the centre's web console: server-rendered pages in
// Bahasa Indonesia and English over the gateway's ledger, for the Kanwil and
// each facility's operators, supervisors and auditors.
//
// Every page and action is a Route in one table (routes.go); every request
// goes through Console.serve, which finds the session, checks the CSRF
// token of a form, and decides with allowed whether the account's role and
// facilities let it through, before any handler runs. docs/console.md says
// how to add a page.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"wartelsuspas/tools/centre/ledger"
)

// Defaults of Options.
const (
	DefaultIdleTimeout     = 15 * time.Minute
	DefaultAbsoluteTimeout = 8 * time.Hour // one working day; then log in again
)

// Options configure a Console.
type Options struct {
	Store ledger.Store
	Log   *slog.Logger
	// Now is the console's clock (nil: time.Now); tests inject a fake.
	Now func() time.Time
	// IdleTimeout ends a session not used for this long;
	// AbsoluteTimeout ends it this long after login whatever its use.
	IdleTimeout, AbsoluteTimeout time.Duration
	// Throttle bounds failed logins (zero: DefaultThrottle).
	Throttle Throttle
	// Argon2 is the cost of the password hashes the console writes
	// (zero: DefaultArgon2).
	Argon2 Argon2Params
	// AlertRules are the alerts' thresholds (zero fields: the defaults,
	// ledger.DefaultAlertRules).
	AlertRules ledger.AlertRules
}

// Console serves the console's pages. It keeps no state of its own between
// requests: sessions live in the ledger, so replicas can share the load.
type Console struct {
	opts   Options
	mux    *http.ServeMux
	pages  map[string]*template.Template
	static http.Handler
	routes []Route

	dummyOnce sync.Once
	dummy     string // dummyHash
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns a console over o.Store.
func New(o Options) (*Console, error) { return newConsole(o, Routes()) }

func newConsole(o Options, routes []Route) (*Console, error) {
	if o.Store == nil {
		return nil, errors.New("console: no ledger")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.AbsoluteTimeout <= 0 {
		o.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if o.Throttle == (Throttle{}) {
		o.Throttle = DefaultThrottle
	}
	if o.Argon2 == (Argon2Params{}) {
		o.Argon2 = DefaultArgon2
	}
	c := &Console{opts: o, mux: http.NewServeMux(), pages: map[string]*template.Template{}, routes: routes}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	c.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	c.mux.Handle("GET /static/", c.static)
	for _, rt := range routes {
		c.mux.HandleFunc(rt.Method+" "+rt.Path, func(w http.ResponseWriter, r *http.Request) { c.serve(rt, w, r) })
	}
	return c, nil
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Nothing from outside: no script at all, styles and images only from
	// the console itself, forms only to it, never framed.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Strict-Transport-Security", "max-age=31536000")
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		h.Set("Cache-Control", "no-store")
	}
	c.mux.ServeHTTP(w, r)
}

func (c *Console) now() time.Time { return c.opts.Now() }

// Request is what a handler gets: the request, the signed-in account and
// the facility of the route, both already checked by Console.serve.
type Request struct {
	W http.ResponseWriter
	R *http.Request
	// Account is who is signed in (zero on a Public route).
	Account ledger.Account
	// Session is the browser's session (its CSRF token, its language).
	Session ledger.ConsoleSession
	// Facility is the route's {facility}, one the account sees ("" when the
	// route has none).
	Facility string
	c        *Console
	atomic   context.Context // inside Audit: the context of the change's transaction
}

// Ctx is the request's context; inside Audit's change, the context of its
// transaction, so the ledger calls made with it are part of it.
func (q *Request) Ctx() context.Context {
	if q.atomic != nil {
		return q.atomic
	}
	return q.R.Context()
}

// Store is the ledger.
func (q *Request) Store() ledger.Store { return q.c.opts.Store }

// Now is the console's clock.
func (q *Request) Now() time.Time { return q.c.now() }

// Lang is the language the page is shown in.
func (q *Request) Lang() string { return langOf(q.Session.Lang) }

// T is the message key in the page's language (messages.go).
func (q *Request) T(key string, args ...any) string { return translate(q.Lang(), key, args...) }

// Form is a form field of a POST (or a query parameter of a GET).
func (q *Request) Form(key string) string { return strings.TrimSpace(q.R.FormValue(key)) }

// Redirect sends the browser to path (after a POST: see other).
func (q *Request) Redirect(path string) { http.Redirect(q.W, q.R, path, http.StatusSeeOther) }

// Render shows the page template name ("booths" is templates/booths.html)
// inside the layout, with data as .Data.
func (q *Request) Render(name string, title string, data any) error {
	return q.c.render(q.W, http.StatusOK, name, q.view(title, data))
}

// Fail is an error a handler returns to show the user a message (a key of
// messages.go) with a status; any other error is logged and shown as a
// generic failure.
type Fail struct {
	Status int
	Key    string
	Args   []any
}

func (f *Fail) Error() string { return fmt.Sprintf("%d %s %v", f.Status, f.Key, f.Args) }

// Refuse returns the error of a request the account may not make.
func Refuse() error { return &Fail{Status: http.StatusForbidden, Key: "err.forbidden"} }

// Bad returns the error of a form filled wrongly: key says what to fix.
func Bad(key string, args ...any) error {
	return &Fail{Status: http.StatusBadRequest, Key: key, Args: args}
}

// view is what the layout template gets.
type view struct {
	Title      string
	Lang       string
	Account    ledger.Account
	SignedIn   bool
	CSRF       string
	Facility   string
	Facilities []string
	Path       string
	Data       any
}

// T translates in the page's language: {{.T "nav.booths"}}.
func (v view) T(key string, args ...any) string { return translate(v.Lang, key, args...) }

func (q *Request) view(title string, data any) view {
	v := view{Title: title, Lang: q.Lang(), Account: q.Account, SignedIn: q.Account.Name != "", CSRF: q.Session.CSRF, Facility: q.Facility, Path: q.R.URL.Path, Data: data}
	if v.SignedIn {
		v.Facilities, _ = q.c.facilitiesOf(q.Ctx(), q.Account)
	}
	return v
}

// facilitiesOf lists the facilities an account sees.
func (c *Console) facilitiesOf(ctx context.Context, a ledger.Account) ([]string, error) {
	if a.Role != ledger.RoleAdmin {
		return a.Facilities, nil
	}
	return c.opts.Store.Facilities(ctx)
}

func (c *Console) parseTemplates() error {
	base, err := template.New("layout.html").ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("console: layout template: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return fmt.Errorf("console: template %s: %w", n, err)
		}
		c.pages[name] = t
	}
	return nil
}

func (c *Console) render(w http.ResponseWriter, status int, name string, v view) error {
	t, ok := c.pages[name]
	if !ok {
		return fmt.Errorf("console: no template %q", name)
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout.html", v); err != nil {
		return fmt.Errorf("console: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write([]byte(b.String()))
	return err
}

// fail shows err to the user as a page.
func (c *Console) fail(q *Request, err error) {
	var f *Fail
	if !errors.As(err, &f) {
		c.opts.Log.Error("console: request failed", "method", q.R.Method, "path", q.R.URL.Path, "account", q.Account.Name, "err", err)
		f = &Fail{Status: http.StatusInternalServerError, Key: "err.internal"}
	}
	msg := q.T(f.Key, f.Args...)
	if rerr := c.render(q.W, f.Status, "error", q.view(q.T("err.title"), msg)); rerr != nil {
		http.Error(q.W, msg, f.Status)
	}
}
