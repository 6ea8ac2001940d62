package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// hang bounds every wait on real processes: only a hang reaches it.
const hang = 60 * time.Second

// built holds simbooth built beside wartel-kiosk and wartel-gateway, as
// make build lays them out. It is built on first use: the unit tests and
// the fuzzer's workers need none of it.
var built struct {
	once sync.Once
	dir  string
	err  error
}

// binDir builds the binaries once for the package's tests.
func binDir(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			built.err = err
			return
		}
		dir, err := os.MkdirTemp("", "simbooth-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		for _, b := range []struct{ out, pkg string }{
			{"simbooth", "./tools/testbed/simbooth"}, {"wartel-kiosk", "./firmware"}, {"wartel-gateway", "./tools/centre/wartel-gateway"},
		} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, b.out), b.pkg)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				built.err = fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out)
				return
			}
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// moduleRoot is the folder of go.mod above the test's folder.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = up
	}
}

// syncBuffer is simbooth's output, written by the pipe's reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sim is a running simbooth process.
type sim struct {
	cmd   *exec.Cmd
	url   string // the page, "http://127.0.0.1:PORT/"
	state string
	out   *syncBuffer
	done  chan struct{}
	err   error
}

var urlRE = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/`)

// startSim runs the built simbooth on a fresh state folder and waits for it
// to print its page's address.
func startSim(t *testing.T, args ...string) *sim {
	t.Helper()
	s := &sim{state: t.TempDir(), out: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(filepath.Join(binDir(t), "simbooth"), append([]string{"-state", s.state, "-listen", "127.0.0.1:0"}, args...)...)
	s.cmd.Stderr = s.out
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(s.out, sc.Text())
			if u := urlRE.FindString(sc.Text()); u != "" {
				select {
				case found <- u:
				default:
				}
			}
		}
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(hang):
				s.cmd.Process.Kill()
				<-s.done
			}
		}
		if t.Failed() {
			t.Logf("simbooth's output:\n%s", s.out)
		}
	})
	select {
	case s.url = <-found:
		return s
	case <-s.done:
		t.Fatalf("simbooth exited before printing its address: %v\n%s", s.err, s.out)
	case <-time.After(2 * hang):
		t.Fatalf("simbooth printed no address:\n%s", s.out)
	}
	return nil
}

// post calls the API and fails the test unless it answers 204.
func (s *sim) post(t *testing.T, path, body string) {
	t.Helper()
	res, err := http.Post(s.url+strings.TrimPrefix(path, "/"), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("POST %s %s: %s %s", path, body, res.Status, b)
	}
}

func (s *sim) getState(t *testing.T) pageState {
	t.Helper()
	res, err := http.Get(s.url + "api/state")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var ps pageState
	if err := json.NewDecoder(res.Body).Decode(&ps); err != nil {
		t.Fatal(err)
	}
	return ps
}

// waitState polls the API until ok accepts the state.
func (s *sim) waitState(t *testing.T, what string, ok func(pageState) bool) pageState {
	t.Helper()
	deadline := time.Now().Add(hang)
	for {
		ps := s.getState(t)
		if ok(ps) {
			return ps
		}
		if time.Now().After(deadline) {
			t.Fatalf("never %s; last state %+v", what, ps)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a wait for time to pass
	}
}

// children lists the processes but simbooth (pid) whose command line names
// dir: the rig's daemons, which all take paths under simbooth's -state folder.
func children(t *testing.T, dir string, simbooth int) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || pid == simbooth {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue // gone meanwhile
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmd, dir) {
			found = append(found, e.Name()+": "+cmd)
		}
	}
	return found
}

// TestProcessStopsEverything runs the built simbooth with its two booths
// (b02 with a modem), puts a call in progress on each through the API, sends SIGINT (Ctrl-C) and checks that
// no daemon is left, that every relay file reads 0 and that the call was
// ended and billed at shutdown.
func TestProcessStopsEverything(t *testing.T) {
	s := startSim(t, "-lang", "en")
	ps := s.getState(t)
	if len(ps.Booths) != 2 || ps.Booths[0].State != "ready" || ps.Booths[1].Name != "b02" || !ps.Booths[0].GatewayOnline {
		t.Fatalf("state after start = %+v; want two ready booths, online", ps.Booths)
	}
	// Both kinds by default: b01 relay-only, b02 with a modem.
	if ps.Booths[0].Modem != nil || ps.Booths[1].Modem == nil || ps.Booths[1].State != "ready" {
		t.Fatalf("booth kinds after start: b01 modem %+v, b02 modem %+v (%s); want b01 relay-only, b02 with a modem, ready",
			ps.Booths[0].Modem, ps.Booths[1].Modem, ps.Booths[1].State)
	}
	s.post(t, "/api/booths/b01/tap", `{"card":"budi"}`)
	s.waitState(t, "granted", func(ps pageState) bool { return ps.Booths[0].State == "granted" && !ps.Booths[0].Pins["relay"] })
	s.post(t, "/api/booths/b01/lift", ``)
	s.waitState(t, "talking", func(ps pageState) bool { return ps.Booths[0].State == "talking" && ps.Booths[0].Pins["relay"] })
	// A dialled call on b02: andi's slot 1 answers after a second.
	s.post(t, "/api/booths/b02/tap", `{"card":"andi"}`)
	s.waitState(t, "choosing", func(ps pageState) bool { return ps.Booths[1].State == "choosing" })
	s.post(t, "/api/booths/b02/key", `{"key":"1"}`)
	s.post(t, "/api/booths/b02/key", `{"key":"#"}`)
	s.post(t, "/api/booths/b02/lift", ``)
	s.waitState(t, "b02 talking", func(ps pageState) bool { return ps.Booths[1].State == "talking" && ps.Booths[1].Pins["relay"] })

	procs := children(t, s.state, s.cmd.Process.Pid)
	if len(procs) != 3 {
		t.Fatalf("daemons running under %s: %d, want 3 (a gateway, two booths):\n%s", s.state, len(procs), strings.Join(procs, "\n"))
	}
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(hang):
		t.Fatalf("simbooth did not stop on SIGINT:\n%s", s.out)
	}
	if s.err != nil {
		t.Errorf("simbooth exited with %v", s.err)
	}
	if left := children(t, s.state, s.cmd.Process.Pid); len(left) > 0 {
		t.Errorf("left running after simbooth stopped:\n%s", strings.Join(left, "\n"))
	}
	for _, b := range []string{"b01", "b02"} {
		v, err := os.ReadFile(filepath.Join(s.state, "rig", "booths", b, "gpio", "relay"))
		if err != nil || strings.TrimSpace(string(v)) != "0" {
			t.Errorf("%s relay file = %q (%v), want 0", b, v, err)
		}
	}
	for _, b := range []string{"b01", "b02"} {
		log, _ := os.ReadFile(filepath.Join(s.state, "rig", "booths", b, "kiosk.log"))
		if !regexp.MustCompile(`msg="call ended".* reason=shutdown .*charged_ms=\d+`).Match(log) {
			t.Errorf("%s's log does not show the call ended and billed at shutdown:\n%s", b, log)
		}
	}
	// make run serves the console with its demo accounts (issue 16): an
	// admin, an operator and a supervisor, each with a password, a TOTP
	// secret and its code now; kept for the next run.
	if !regexp.MustCompile(`(?s)Centre's console: https://127\.0\.0\.1:\d+/.*added admin demo-admin.*added operator demo-operator of lapas-demo.*added supervisor demo-supervisor of lapas-demo.*the code for secret [A-Z2-7]+ now: \d{6}`).MatchString(s.out.String()) {
		t.Errorf("simbooth's output does not show the console and its demo accounts:\n%s", s.out)
	}
	if kept, err := os.ReadFile(filepath.Join(s.state, "rig", "console-accounts.txt")); err != nil || strings.Count(string(kept), "totp secret: ") != 3 {
		t.Errorf("the demo accounts are not kept for the next run (%v):\n%s", err, kept)
	}
	for _, want := range []string{"Gateway: https://127.0.0.1:", "State:   " + s.state, "Ctrl-C to stop", "Stopped; nothing left running."} {
		if !strings.Contains(s.out.String(), want) {
			t.Errorf("simbooth's output lacks %q:\n%s", want, s.out)
		}
	}
}
