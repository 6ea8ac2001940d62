package console_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"wartelsuspas/tools/centre/console"
	"wartelsuspas/tools/centre/ledger"
)

// hang bounds a wait that should end at once; it never paces a test.
const hang = 30 * time.Second

// built is one binary this package's tests build once.
type built struct {
	once sync.Once
	path string
	err  error
}

var (
	buildsMu sync.Mutex
	builds   = map[string]*built{}
)

// binary builds the package pkg (with flags) into TMPDIR once for this
// package's tests and returns its path.
func binary(t *testing.T, pkg string, flags ...string) string {
	t.Helper()
	buildsMu.Lock()
	b := builds[pkg]
	if b == nil {
		b = &built{}
		builds[pkg] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() {
		dir := filepath.Join(os.TempDir(), "console-test-bin")
		if b.err = os.MkdirAll(dir, 0o755); b.err != nil {
			return
		}
		b.path = filepath.Join(dir, filepath.Base(pkg))
		out, err := exec.Command("go", append(append([]string{"build"}, flags...), "-o", b.path, pkg)...).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// gatewayBinary is wartel-gateway built with -race, as its own tests do.
func gatewayBinary(t *testing.T) string {
	t.Helper()
	return binary(t, "wartelsuspas/tools/centre/wartel-gateway", "-race")
}

// person is an account of the test with what logs it in.
type person struct {
	name, password, secret string
	role                   ledger.Role
}

// centre is a state folder with a CA, accounts, booths and heartbeats,
// served by a real `wartel-gateway serve -console`.
type centre struct {
	t      *testing.T
	state  string
	store  ledger.Store // the test's own handle on the SQLite file
	url    string       // https://127.0.0.1:PORT
	people map[string]person
	stderr *bytes.Buffer
}

var consoleRE = regexp.MustCompile(`console on (https://\S+)/`)

// newCentre makes the state: the CA by `init`; accounts, booths and their
// heartbeats through the ledger (faster than one CLI call each; the CLI's
// account commands have their own test); then starts serve.
func newCentre(t *testing.T) *centre {
	t.Helper()
	bin := gatewayBinary(t)
	c := &centre{t: t, state: filepath.Join(t.TempDir(), "state"), people: map[string]person{}, stderr: &bytes.Buffer{}}
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "init", "-state", c.state).CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	st, err := ledger.OpenSQLite(filepath.Join(c.state, "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c.store = st
	cheap := console.Argon2Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32, SaltLen: 16}
	for _, p := range []struct {
		name string
		role ledger.Role
		fs   []string
	}{
		{"kanwil", ledger.RoleAdmin, nil},
		{"op-a", ledger.RoleOperator, []string{"lapas-a"}},
		{"sup-a", ledger.RoleSupervisor, []string{"lapas-a"}},
		{"aud-a", ledger.RoleAuditor, []string{"lapas-a"}},
		{"op-b", ledger.RoleOperator, []string{"lapas-b"}},
		{"victim", ledger.RoleOperator, []string{"lapas-a"}},
	} {
		a, cr, err := console.NewAccount(p.name, p.role, p.fs, "", cheap, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AddAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		c.people[p.name] = person{p.name, cr.Password, cr.TOTPSecret, p.role}
	}
	now := time.Now()
	for _, d := range []string{"lapas-a/b01", "lapas-a/b02", "lapas-b/b01"} {
		if err := st.RegisterDevice(ctx, d, now.Add(-24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// b01's heartbeats stopped an hour ago (a timestamp in the past: no
	// waiting); b02 is up, with text a hostile booth could send.
	hb := []ledger.Heartbeat{
		{Device: "lapas-a/b01", At: now.Add(-time.Hour), Firmware: "1.4.0", State: "ready", ClockTrusted: true, ClockOffset: 40 * time.Millisecond},
		{Device: "lapas-a/b02", At: now, Firmware: `<script>document.title="pwned"</script>`, State: "ready\x1b[31m", Faults: []string{"reader_down"}, OutOfService: []string{"reader"}, OutboxDepth: 3, ClockTrusted: true},
		{Device: "lapas-b/b01", At: now.Add(-time.Hour), Firmware: "1.4.0", State: "ready"},
	}
	for _, h := range hb {
		if _, err := st.RecordHeartbeat(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	// An audit entry whose document holds an inmate's name with markup,
	// as a roster change by a careless (or hostile) import would.
	if _, err := st.AppendAudit(ctx, ledger.AuditEntry{At: now, Actor: "host:wayan", Via: "cli", Action: "roster.block", Facility: "lapas-a", Target: "em:0400D8B2A5",
		Before: `{"name":"<script>document.title='pwned'</script>","blocked":false}`, After: `{"blocked":true}`}); err != nil {
		t.Fatal(err)
	}
	c.serve(bin)
	return c
}

func (c *centre) serve(bin string) {
	t := c.t
	cmd := exec.Command(bin, "serve", "-state", c.state, "-listen", "127.0.0.1:0", "-metrics", "", "-console", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &lockedWriter{w: c.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := consoleRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("gateway log:\n%s", c.stderr)
		}
	})
	select {
	case c.url = <-found:
	case err := <-done:
		t.Fatalf("serve exited before the console listened: %v\n%s", err, c.stderr)
	case <-time.After(hang):
		t.Fatalf("serve did not report the console's address\n%s", c.stderr)
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// code is p's TOTP code now.
func (c *centre) code(p person) string {
	c.t.Helper()
	if p.secret == "" {
		return ""
	}
	s, err := console.TOTPCode(p.secret, time.Now())
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

// client is one browser-like HTTP client of the console (cookie jar,
// no redirects followed, the test's CA not checked: loopback only).
type client struct {
	c    *centre
	http *http.Client
}

func (c *centre) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{c: c, http: &http.Client{
		Jar:           jar,
		Timeout:       hang,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (cl *client) cookie() string {
	u, _ := url.Parse(cl.c.url)
	for _, ck := range cl.http.Jar.Cookies(u) {
		if ck.Name == console.CookieName {
			return ck.Value
		}
	}
	return ""
}

func (cl *client) do(method, path string, form url.Values) (int, string) {
	cl.c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, cl.c.url+path, body)
	if err != nil {
		cl.c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := cl.http.Do(req)
	if err != nil {
		cl.c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf opens path and returns the token of its forms.
func (cl *client) csrf(path string) string {
	cl.c.t.Helper()
	st, body := cl.do("GET", path, nil)
	m := csrfRE.FindStringSubmatch(body)
	if st != 200 || m == nil {
		cl.c.t.Fatalf("GET %s: %d, no CSRF token\n%s", path, st, body)
	}
	return m[1]
}

// login signs p in and returns the cookie before and after.
func (cl *client) login(p person, password string) (before, after string, status int) {
	cl.c.t.Helper()
	tok := cl.csrf("/login")
	before = cl.cookie()
	status, _ = cl.do("POST", "/login", url.Values{"csrf": {tok}, "name": {p.name}, "password": {password}, "code": {cl.c.code(p)}})
	return before, cl.cookie(), status
}
