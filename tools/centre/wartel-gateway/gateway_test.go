package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/testbed/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds wartel-gateway once for the package's tests.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		// One fixed place, rebuilt every run (from the build cache): the
		// package's TestMain exits without a chance to clean up.
		dir := filepath.Join(os.TempDir(), "wartel-gateway-test-bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "wartel-gateway")
		out, err := exec.Command("go", "build", "-race", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// gw runs the CLI with args and returns its output and error.
func gw(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	// Build first: on a loaded machine the -race build alone can take a
	// minute, and the timeout bounds only the command's hang.
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// mustGW runs the CLI and fails the test if it fails.
func mustGW(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := gw(t, args...)
	if err != nil {
		t.Fatalf("wartel-gateway %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// gateway is a running `wartel-gateway serve`.
type gateway struct {
	cmd     *exec.Cmd
	addr    string // booths' address
	metrics string // metrics address
	done    chan error
	stderr  *bytes.Buffer
}

var (
	serveRE   = regexp.MustCompile(`serving booths on https://(\S+)`)
	metricsRE = regexp.MustCompile(`metrics on http://(\S+)/metrics`)
)

func serve(t *testing.T, args ...string) *gateway {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "-listen", "127.0.0.1:0", "-metrics", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{cmd: cmd, done: make(chan error, 1), stderr: &bytes.Buffer{}}
	cmd.Stderr = &lockedWriter{w: g.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := metricsRE.FindStringSubmatch(sc.Text()); m != nil {
				g.metrics = m[1]
			}
			if m := serveRE.FindStringSubmatch(sc.Text()); m != nil {
				g.addr = m[1]
				close(ready)
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { g.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-g.done
		g.done <- nil
		if t.Failed() {
			t.Logf("gateway log:\n%s", g.stderr)
		}
	})
	select {
	case <-ready:
	case err := <-g.done:
		g.done <- err
		t.Fatalf("serve exited before it listened: %v\n%s", err, g.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not report its address within 30 s\n%s", g.stderr)
	}
	return g
}

// stop sends SIGTERM and requires a clean exit.
func (g *gateway) stop(t *testing.T) {
	t.Helper()
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-g.done:
		g.done <- err
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v\n%s", err, g.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s of SIGTERM")
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

// boothClient is a booth speaking to a gateway with its enrolled bundle.
type boothClient struct {
	t      *testing.T
	device string
	http   *http.Client
	recs   []record.Record
}

func newBooth(t *testing.T, bundleDir string) *boothClient {
	t.Helper()
	b, err := bundle.Read(bundleDir)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := bundle.ClientTLSConfig(b, bundle.ClientOpts{ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: conf}, Timeout: 10 * time.Second}
	t.Cleanup(c.CloseIdleConnections)
	return &boothClient{t: t, device: b.Device, http: c}
}

// post sends body to g and decodes a 200 into out; it returns the status.
func (b *boothClient) post(g *gateway, path string, body, out any) (int, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		b.t.Fatal(err)
	}
	resp, err := b.http.Post("https://"+g.addr+path, protocol.ContentType, bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			return resp.StatusCode, fmt.Errorf("answer %s: %w", got, err)
		}
	} else if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("status %d: %s", resp.StatusCode, got)
	}
	return resp.StatusCode, nil
}

func (b *boothClient) must(g *gateway, path string, body, out any) {
	b.t.Helper()
	if _, err := b.post(g, path, body, out); err != nil {
		b.t.Fatalf("%s %s: %v", b.device, path, err)
	}
}

func (b *boothClient) next(kind record.Kind, payload any) record.Record {
	p, err := json.Marshal(payload)
	if err != nil {
		b.t.Fatal(err)
	}
	r := record.Record{Device: b.device, Seq: uint64(len(b.recs) + 1), Kind: kind, Payload: p}
	var prev *record.Record
	if len(b.recs) > 0 {
		prev = &b.recs[len(b.recs)-1]
	}
	r.Seal(prev)
	b.recs = append(b.recs, r)
	return r
}

func (b *boothClient) call(card, inmate, period string, at time.Time, charged time.Duration) record.Record {
	ms := charged.Milliseconds()
	return b.next(record.KindCall, record.Call{CallID: int64(len(b.recs) + 1), Card: card, Inmate: inmate, Period: period,
		AuthorisedAt: at, TalkStartAt: at, MaxMs: ms, TalkedMs: ms, ChargedMs: ms, EndReason: "hangup", ClockTrusted: true})
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	testRoster = "role,person,name,block,card,allowance_min,blocked\n" +
		"inmate,w1,Budi Santoso,A,em:0400d8b2a5,,\n" +
		"inmate,w2,Andi,B,14a:04 A1 B2 C3,30,no\n" +
		"officer,p1,Sari,,em:0A00000001,,\n"
	testPolicy = `{"allowance_ms":600000,"period":"day","zone":"Asia/Jakarta","hours":["08:00-11:30","13:00-15:00"]}`
)

// TestCLI drives the real binary through a facility's life: init, enroll,
// a roster with a bad row, policy, serving booths over mutual TLS,
// devices, revocation, graceful shutdown and the monthly report.
func TestCLI(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	mustGW(t, "init", "-state", state)
	if _, errOut, err := gw(t, "init", "-state", state); err == nil || !strings.Contains(errOut, "ca") {
		t.Errorf("second init: %v %q, want a refusal to replace the CA", err, errOut)
	}
	for _, b := range []string{"b01", "b02"} {
		mustGW(t, "enroll", "-state", state, "-facility", "lapas-uji", "-booth", b, "-out", filepath.Join(dir, b))
	}

	bad := writeFile(t, dir, "bad.csv", testRoster+"inmate,w3,Joko,A,em:0400D8B2,10,\n")
	_, errOut, err := gw(t, "roster", "import", "-state", state, "-facility", "lapas-uji", bad)
	if err == nil || !strings.Contains(errOut, "line 5, column card") || !strings.Contains(errOut, "nothing imported") {
		t.Fatalf("import of a roster with a bad row on line 5: %v %q, want an error naming line 5 and the card column", err, errOut)
	}
	roster := writeFile(t, dir, "roster.csv", testRoster)
	if _, errOut, err := gw(t, "roster", "import", "-state", state, "-facility", "lapas-uji", roster); err == nil || !strings.Contains(errOut, "line 4") || !strings.Contains(errOut, "-by") {
		t.Fatalf("import of an officer card without -by: %v %q, want a refusal naming line 4 and -by", err, errOut)
	}
	if out := mustGW(t, "roster", "import", "-state", state, "-facility", "lapas-uji", "-by", "operator", roster); !strings.Contains(out, "1 officer cards pending") {
		t.Fatalf("import said %q, want the officer card pending", out)
	}
	// A pending officer card is in the roster, for the one-role check too.
	if _, errOut, err := gw(t, "roster", "import", "-state", state, "-facility", "lapas-uji", "-by", "operator",
		writeFile(t, dir, "clash.csv", "role,person,name,block,card,allowance_min,blocked\ninmate,p1,Sari,A,em:0400D8B2A9,,\n")); err == nil || !strings.Contains(errOut, "line 2, column role") {
		t.Fatalf("an inmate card for the person of a pending officer card: %v %q, want line 2 refused", err, errOut)
	}
	// The officer card reaches no booth until another account approves it.
	officers := func(a ...string) []string {
		return append([]string{"roster", "officers", a[0], "-state", state, "-facility", "lapas-uji"}, a[1:]...)
	}
	if list := mustGW(t, officers("list")...); !regexp.MustCompile(`em:0A00000001\s+p1\s+Sari\s+false\s+pending\s+operator\s`).MatchString(list) {
		t.Fatalf("officer cards:\n%s\nwant em:0A00000001 pending, added by operator", list)
	}
	if _, errOut, err := gw(t, officers("approve", "-by", "operator", "-person", "p1", "em:0A00000001")...); err == nil || !strings.Contains(errOut, "another supervisor must approve") {
		t.Fatalf("approved by the account that added it: %v %q", err, errOut)
	}
	if _, errOut, err := gw(t, officers("reject", "-by", "supervisor", "-person", "p1", "em:0A00000001")...); err == nil || !strings.Contains(errOut, "-reason is required") {
		t.Fatalf("rejected without a reason: %v %q", err, errOut)
	}
	if _, errOut, err := gw(t, officers("approve", "-by", "supervisor", "-person", "w1", "em:0400D8B2A5")...); err == nil || !strings.Contains(errOut, "no such officer card") {
		t.Fatalf("an inmate card approved: %v %q", err, errOut)
	}
	if _, errOut, err := gw(t, officers("approve", "-by", "supervisor", "-person", "p9", "em:0A00000001")...); err == nil || !strings.Contains(errOut, "changed since it was shown") {
		t.Fatalf("approved as another person's card than it is: %v %q", err, errOut)
	}
	if out := mustGW(t, officers("approve", "-by", "supervisor", "-person", "p1", "em:0A00000001")...); !strings.Contains(out, "approved by supervisor") {
		t.Fatalf("approve said %q", out)
	}
	// Imported again unchanged: the approval holds.
	if out := mustGW(t, "roster", "import", "-state", state, "-facility", "lapas-uji", "-by", "operator", roster); strings.Contains(out, "pending") {
		t.Fatalf("a second import said %q: the approved card is pending again", out)
	}
	if _, errOut, err := gw(t, "policy", "set", "-state", state, "-facility", "lapas-uji", writeFile(t, dir, "bad.json", `{"allowance_ms":"ten"}`)); err == nil || !strings.Contains(errOut, "allowance_ms") {
		t.Errorf("bad policy: %v %q, want an error naming allowance_ms", err, errOut)
	}
	mustGW(t, "policy", "set", "-state", state, "-facility", "lapas-uji", writeFile(t, dir, "policy.json", testPolicy))

	g := serve(t, "-state", state)
	b1, b2 := newBooth(t, filepath.Join(dir, "b01")), newBooth(t, filepath.Join(dir, "b02"))

	var sync protocol.SyncResponse
	b1.must(g, protocol.PathSync, protocol.SyncRequest{}, &sync)
	if !sync.Full || len(sync.Upserts) != 3 || string(sync.Policy) != testPolicy {
		t.Fatalf("sync: %+v, want 3 cards and the policy", sync)
	}
	for _, c := range sync.Upserts {
		if c.Card == "14a:04A1B2C3" && c.AllowanceMs != 30*60000 {
			t.Errorf("card of w2: %+v, want canonical id and 30 min", c)
		}
	}
	// The booth's clock says 20 November; the centre's period counts, by
	// the gateway's own clock, and the booth bills its calls to it.
	var auth protocol.AuthoriseResponse
	b1.must(g, protocol.PathAuthorise, protocol.AuthoriseRequest{Card: "em:0400D8B2A5", Inmate: "w1", Period: "2026-11-20"}, &auth)
	if auth.RemainingMs != 600000 || auth.Lease == "" || len(auth.Period) != len("2026-11-20") {
		t.Fatalf("authorise: %+v, want 10 min, a lease and the centre's day", auth)
	}
	period, at := auth.Period, time.Now().UTC()
	up := protocol.UploadRequest{Records: []record.Record{
		b1.call("em:0400D8B2A5", "w1", period, at, 3*time.Minute),
		b1.next(record.KindDenial, record.Denial{At: at, Card: "em:0400D8B2A5", Inmate: "w1", Reason: "closed", ClockTrusted: true}),
		b1.next(record.KindOfficer, record.Officer{At: at, Officer: "p1", OfficerCard: "em:0A00000001", Action: "grant", Inmate: "w1", Period: period, CreditMs: 60000, ClockTrusted: true}),
	}}
	var res protocol.UploadResponse
	b1.must(g, protocol.PathUpload, up, &res)
	if res.StoredUpTo != 3 {
		t.Fatalf("upload: %+v, want stored up to 3", res)
	}
	b1.must(g, protocol.PathRelease, protocol.ReleaseRequest{Lease: auth.Lease, ChargedMs: 180000}, nil)
	b2.must(g, protocol.PathUpload, protocol.UploadRequest{Records: []record.Record{b2.call("14a:04A1B2C3", "w2", period, at, 90*time.Second)}}, &res)
	b2.must(g, protocol.PathAuthorise, protocol.AuthoriseRequest{Card: "em:0400D8B2A5", Inmate: "w1", Period: period}, &auth)
	skipIfRolledOver(t, period, auth.Period)
	if auth.RemainingMs != 480000 || auth.Busy {
		t.Fatalf("authorise at b02 after b01's call and grant: %+v, want 8 min", auth)
	}
	var hb protocol.HeartbeatResponse
	b2.must(g, protocol.PathHeartbeat, protocol.HeartbeatRequest{Firmware: "0.9", State: "idle", OutboxDepth: 4, Faults: []string{}}, &hb)
	if d := time.Since(time.UnixMilli(hb.ServerUnixMs)); d < -time.Minute || d > time.Minute {
		t.Errorf("heartbeat server time %v is not the gateway's clock", time.UnixMilli(hb.ServerUnixMs))
	}

	resp, err := http.Get("http://" + g.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`wartel_records_ingested_total{status="stored"} 4`, `wartel_booths_online{facility="lapas-uji"} 1`, `wartel_outbox_depth{device="lapas-uji/b02"} 4`, `wartel_request_duration_seconds_bucket`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	devs := mustGW(t, "devices", "-state", state, "-facility", "lapas-uji")
	if !regexp.MustCompile(`lapas-uji/b02\s+online`).MatchString(devs) || !regexp.MustCompile(`lapas-uji/b01\s+offline`).MatchString(devs) {
		t.Errorf("devices:\n%s\nwant b02 online and b01 offline", devs)
	}

	mustGW(t, "revoke", "-state", state, "-device", "lapas-uji/b02")
	b2.http.CloseIdleConnections()
	if status, err := b2.post(g, protocol.PathHeartbeat, protocol.HeartbeatRequest{Faults: []string{}}, nil); err == nil {
		t.Errorf("revoked booth: status %d, want refused", status)
	}
	g.stop(t)

	out := filepath.Join(dir, "report.csv")
	mustGW(t, "report", "-state", state, "-facility", "lapas-uji", "-month", period[:7], "-out", out)
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, r := range rows[1:] {
		got[r[0]] = r
	}
	// inmate,calls,talked_s,charged_s,denials,officer_actions,credit_s
	if w := got["w1"]; len(w) != 7 || w[1] != "1" || w[3] != "180" || w[4] != "1" || w[6] != "60" {
		t.Errorf("report row of w1: %v, want 1 call, 180 s charged, 1 denial, 60 s credit", w)
	}
	if w := got["w2"]; len(w) != 7 || w[1] != "1" || w[3] != "90" {
		t.Errorf("report row of w2: %v, want 1 call of 90 s", w)
	}
}

// TestScaleOut runs two gateway replicas on one PostgreSQL with the
// booths split across them: the same inmate tapping at both wins exactly
// one lease, and the quota after uploads to both counts both.
func TestScaleOut(t *testing.T) {
	dsn := pgtest.DB(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	mustGW(t, "init", "-state", state, "-db", dsn)
	const booths = 4
	for i := range booths {
		mustGW(t, "enroll", "-state", state, "-db", dsn, "-facility", "lapas-besar", "-booth", fmt.Sprintf("b%02d", i), "-out", filepath.Join(dir, fmt.Sprintf("b%02d", i)))
	}
	mustGW(t, "roster", "import", "-state", state, "-db", dsn, "-facility", "lapas-besar", "-by", "operator", writeFile(t, dir, "roster.csv", testRoster))
	mustGW(t, "roster", "officers", "approve", "-state", state, "-db", dsn, "-facility", "lapas-besar", "-by", "supervisor", "-person", "p1", "em:0A00000001")
	mustGW(t, "policy", "set", "-state", state, "-db", dsn, "-facility", "lapas-besar", writeFile(t, dir, "policy.json", testPolicy))
	replicas := []*gateway{serve(t, "-state", state, "-db", dsn), serve(t, "-state", state, "-db", dsn)}
	var bs []*boothClient
	for i := range booths {
		bs = append(bs, newBooth(t, filepath.Join(dir, fmt.Sprintf("b%02d", i))))
	}
	at := func(i int) *gateway { return replicas[i%2] } // booth i talks to replica i%2

	const period = "2026-11-21"
	for round := range 5 {
		// Every booth taps w1's card at once; exactly one wins.
		answers := make([]protocol.AuthoriseResponse, booths)
		errs := make([]error, booths)
		var wg sync.WaitGroup
		for i, b := range bs {
			wg.Go(func() {
				_, errs[i] = b.post(at(i), protocol.PathAuthorise, protocol.AuthoriseRequest{Card: "em:0400D8B2A5", Inmate: "w1", Period: period}, &answers[i])
			})
		}
		wg.Wait()
		winner := -1
		for i, a := range answers {
			if errs[i] != nil {
				t.Fatalf("round %d: booth %d: %v", round, i, errs[i])
			}
			if !a.Busy {
				if winner >= 0 {
					t.Fatalf("round %d: booths %d and %d both hold w1's lease: %+v", round, winner, i, answers)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no booth won the lease: %+v", round, answers)
		}
		// The winner talks a minute, uploads to its replica, releases.
		w := bs[winner]
		// Billed to the period the centre answered, as a booth does.
		w.must(at(winner), protocol.PathUpload, protocol.UploadRequest{Records: []record.Record{w.call("em:0400D8B2A5", "w1", answers[winner].Period, time.Now(), time.Minute)}}, &protocol.UploadResponse{})
		w.must(at(winner), protocol.PathRelease, protocol.ReleaseRequest{Lease: answers[winner].Lease, ChargedMs: 60000}, nil)
		// Both replicas now agree on what is left.
		for r := range replicas {
			var a protocol.AuthoriseResponse
			b := bs[r] // booth r talks to replica r
			b.must(replicas[r], protocol.PathAuthorise, protocol.AuthoriseRequest{Card: "em:0400D8B2A5", Inmate: "w1", Period: period}, &a)
			skipIfRolledOver(t, answers[winner].Period, a.Period)
			if want := int64(600000 - 60000*(round+1)); a.RemainingMs != want || a.Busy {
				t.Fatalf("round %d: replica %d says %+v, want %d ms and no one else talking", round, r, a, want)
			}
			b.must(replicas[r], protocol.PathRelease, protocol.ReleaseRequest{Lease: a.Lease}, nil)
		}
	}
	for _, g := range replicas {
		g.stop(t)
	}
}

// skipIfRolledOver ends a test whose real gateway (its own clock, no fake
// one can reach a child process) crossed into the facility's next period
// between two answers: the figures then belong to two periods, and the
// run says so instead of failing by the calendar.
func skipIfRolledOver(t *testing.T, before, after string) {
	t.Helper()
	if after != before {
		t.Skipf("the gateway's period rolled over during the test (%s, then %s): run it again", before, after)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{}, "usage"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"enroll", "-booth", "b1", "-out", "x"}, "-facility is required"},
		{[]string{"report", "-facility", "f", "-month", "2026-13", "-state", "/nonexistent"}, "not YYYY-MM"},
		{[]string{"devices", "-facility", "f", "-state", "/nonexistent/state"}, "run wartel-gateway init first"},
		{[]string{"roster", "import", "-facility", "f", "-state", "/nonexistent", "/nonexistent/r.csv"}, "open the roster"},
		{[]string{"serve", "-uploads", "0", "-state", "/nonexistent"}, "at least one upload slot"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tt.args, &out, &errOut)
		msg := errOut.String()
		if err != nil {
			msg += err.Error()
		}
		if err == nil || !strings.Contains(msg, tt.want) {
			t.Errorf("wartel-gateway %s: %v %q, want an error with %q", strings.Join(tt.args, " "), err, msg, tt.want)
		}
		if strings.Contains(tt.want, "usage") || strings.Contains(tt.want, "required") || strings.Contains(tt.want, "unknown") {
			if !errors.Is(err, errUsage) {
				t.Errorf("wartel-gateway %s: %v, want a usage error (exit 2)", strings.Join(tt.args, " "), err)
			}
		}
	}
}

// An officer's block by hand outlasts the nightly import, and the import
// names the cards it leaves blocked against its file; a card the file
// blocks is not unblocked by hand.
func TestCLIBlockByHand(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	mustGW(t, "init", "-state", state)
	const header = "role,person,name,block,card,allowance_min,blocked\n"
	night := writeFile(t, dir, "night.csv", header+"inmate,w1,Budi,A,em:0400D8B2A5,,\ninmate,w2,Andi,B,em:0400D8B2A6,,yes\n")
	mustGW(t, "roster", "import", "-state", state, "-facility", "lapas-uji", night)
	mustGW(t, "roster", "block", "-state", state, "-facility", "lapas-uji", "-card", "em:0400D8B2A5")
	out := mustGW(t, "roster", "import", "-state", state, "-facility", "lapas-uji", night)
	if !strings.Contains(out, "1 cards stay blocked by hand though the file does not block them") || !strings.Contains(out, "em:0400D8B2A5;") {
		t.Errorf("the nightly import after a block by hand said:\n%s\nwant em:0400D8B2A5 named as staying blocked", out)
	}
	_, errOut, err := gw(t, "roster", "block", "-state", state, "-facility", "lapas-uji", "-card", "em:0400D8B2A6", "-unblock")
	if err == nil || !strings.Contains(errOut, "unblock em:0400D8B2A6 in lapas-uji") || !strings.Contains(errOut, "the roster file blocks this card") {
		t.Errorf("unblocking by hand a card the file blocks: %v %q, want a refusal naming the file", err, errOut)
	}
	mustGW(t, "roster", "block", "-state", state, "-facility", "lapas-uji", "-card", "em:0400D8B2A5", "-unblock")
	if out := mustGW(t, "roster", "import", "-state", state, "-facility", "lapas-uji", night); strings.Contains(out, "blocked by hand") {
		t.Errorf("the import after the block was lifted said:\n%s\nwant no card blocked by hand", out)
	}
	list := mustGW(t, "audit", "list", "-state", state)
	for _, want := range []string{"roster.block", "roster.unblock"} {
		if n := strings.Count(list, " "+want+" "); n != 1 {
			t.Errorf("audit trail has %d entries %s, want 1 (the refused unblock is none):\n%s", n, want, list)
		}
	}
}
