package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lineWait bounds the wait for one expected line; it only bounds a hang.
const lineWait = 20 * time.Second

// boothProc is a simbooth process under test, driven through its console.
type boothProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	seen  []string
}

// binary is the simbooth built once for all the tests (with the race
// detector when the tests run under it).
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

func build(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		if binary.dir, binary.err = os.MkdirTemp("", "simbooth-test-"); binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "simbooth")
		args := []string{"build", "-o", binary.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

func startBooth(t *testing.T, state string, args ...string) *boothProc {
	t.Helper()
	bin := build(t)
	cmd := exec.Command(bin, append([]string{"-state", state}, args...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &boothProc{t: t, cmd: cmd, stdin: stdin, lines: make(chan string, 1024)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return p
}

func (p *boothProc) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("console %q: %v", line, err)
	}
}

// expect waits for a line holding every part, and returns it.
func (p *boothProc) expect(parts ...string) string {
	p.t.Helper()
	deadline := time.After(lineWait)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("simbooth ended before a line with %q; it printed:\n%s", parts, strings.Join(p.seen, "\n"))
			}
			p.seen = append(p.seen, l)
			if strings.HasPrefix(strings.TrimSpace(l[min(len(l), 13):]), "error:") {
				p.t.Errorf("console error: %s", l)
			}
			all := true
			for _, s := range parts {
				all = all && strings.Contains(l, s)
			}
			if all {
				return l
			}
		case <-deadline:
			p.t.Fatalf("no line with %q within %s; it printed:\n%s", parts, lineWait, strings.Join(p.seen, "\n"))
		}
	}
}

// expectEach waits for one line holding each of subs, in any order: lines
// from different goroutines (the reader, the engine) may come either way.
func (p *boothProc) expectEach(subs ...string) {
	p.t.Helper()
	left := append([]string(nil), subs...)
	deadline := time.After(lineWait)
	for len(left) > 0 {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("simbooth ended before lines with %q; it printed:\n%s", left, strings.Join(p.seen, "\n"))
			}
			p.seen = append(p.seen, l)
			for i, s := range left {
				if strings.Contains(l, s) {
					left = append(left[:i], left[i+1:]...)
					break
				}
			}
		case <-deadline:
			p.t.Fatalf("no lines with %q within %s; it printed:\n%s", left, lineWait, strings.Join(p.seen, "\n"))
		}
	}
}

// statusUntil asks for the status until it holds every part: the engine
// publishes its status after it has handled an input, a moment after the
// lines that input printed.
func (p *boothProc) statusUntil(parts ...string) {
	p.t.Helper()
	for end := time.Now().Add(lineWait); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		p.send("status")
		l := p.expect("status: ")
		all := true
		for _, s := range parts {
			all = all && strings.Contains(l, s)
		}
		if all {
			return
		}
	}
	p.t.Fatalf("status never held %q; it printed:\n%s", parts, strings.Join(p.seen, "\n"))
}

// waitFile waits until the file at path holds want (the GPIO mirror is
// written by the booth driver's goroutine).
func waitFile(t *testing.T, path, want string) {
	t.Helper()
	var got []byte
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		var err error
		if got, err = os.ReadFile(path); err == nil && string(got) == want {
			return
		}
	}
	t.Fatalf("%s holds %q, want %q", path, got, want)
}

// TestBoothSession runs the simulator as a person would: a denied unknown
// card, a granted call that talks and is hung up, the records it left,
// a blocked card, and a clean quit with the relay off and the reader's pty
// gone.
func TestBoothSession(t *testing.T) {
	state := t.TempDir()
	relay := filepath.Join(state, "gpio", "relay")
	p := startBooth(t, state, "-lang", "en")
	p.expectEach("reader: up", "booth ready")
	link := filepath.Join(state, "reader")
	if _, err := os.Lstat(link); err != nil {
		t.Fatalf("reader link: %v", err)
	}

	p.send("tap em:DEADBEEF01")
	p.expect("denied em:DEADBEEF01", "unknown_card")
	p.send("tap budi")
	p.expect("call 1 granted to budi", "up to 1m30s", "per_call_cap")
	p.expect("relay: ON")
	p.send("lift")
	p.expect("handset lifted")
	p.expect("lamps: talking")
	waitFile(t, relay, "1\n")
	p.statusUntil("status: talking", "card budi")
	p.send("hang")
	p.expect("relay: off")
	ended := p.expect("call 1 ended: hangup", "talked", "charged")
	t.Log(ended)

	p.send("records")
	p.expect("#1 denial", "card=em:DEADBEEF01", "reason=unknown_card")
	p.expect("#2 call", "call_id=1", "end_reason=hangup", "max_ms=90000")

	p.send("tap joko")
	p.expect("denied joko", "blocked_card")
	p.statusUntil("status: ready", "calls 1, denials 2", "outbox 3 records, head seq 3")

	p.send("quit")
	p.expect("stopped")
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("simbooth exit: %v", err)
		}
	case <-time.After(lineWait):
		t.Fatal("simbooth did not exit after quit")
	}
	waitFile(t, relay, "0\n")
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reader link after quit: %v, want it removed with the pty", err)
	}
}

// TestStopEndsTheCall: end of input, SIGTERM and Ctrl-C during a call shut
// down in order: the call is billed as "shutdown", the relay ends off and
// the exit status is 0.
func TestStopEndsTheCall(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(p *boothProc) error
	}{
		{"eof", func(p *boothProc) error { return p.stdin.Close() }},
		{"sigterm", func(p *boothProc) error { return p.cmd.Process.Signal(syscall.SIGTERM) }},
		{"interrupt", func(p *boothProc) error { return p.cmd.Process.Signal(os.Interrupt) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := t.TempDir()
			relay := filepath.Join(state, "gpio", "relay")
			p := startBooth(t, state, "-lang", "id", "-protocol", "id12")
			p.expectEach("pembaca: hidup", "kamar bicara siap")
			p.send("tap siti")
			p.expect("panggilan 1 diizinkan untuk siti")
			p.send("lift")
			p.expect("lampu: talking")
			waitFile(t, relay, "1\n")
			if err := tc.stop(p); err != nil {
				t.Fatal(err)
			}
			p.expect("panggilan 1 selesai: shutdown")
			p.expect("dihentikan")
			if err := p.cmd.Wait(); err != nil {
				t.Fatalf("simbooth exit: %v", err)
			}
			waitFile(t, relay, "0\n")
		})
	}
}

// TestTamperAndReader: an opened panel refuses calls until the panel is
// closed and an officer card clears it (the driver's latch too, so the next
// call closes the relay); an unplugged reader puts the booth out of service
// until it is plugged back.
func TestTamperAndReader(t *testing.T) {
	state := t.TempDir()
	relay := filepath.Join(state, "gpio", "relay")
	p := startBooth(t, state, "-lang", "en", "-protocol", "ascii")
	p.expectEach("reader: up", "booth ready")

	p.send("tamper open")
	p.expect("booth event: tamper")
	p.send("tap budi")
	p.expect("denied budi", "out_of_service")
	p.send("tamper close")
	p.expect("panel closed")
	p.send("tap agus")
	p.expect("officer PTG-0001: clear_tamper")
	p.expect("booth driver faults cleared")
	p.expect("lamps: ready")
	p.send("tap budi")
	p.expect("call 1 granted to budi")
	p.expect("relay: ON")
	waitFile(t, relay, "1\n")
	p.send("hang") // never lifted: nothing to hang up, the call stays granted
	p.send("tap agus")
	p.expect("call 1 ended: officer", "charged 0s")
	p.expect("officer PTG-0001: end_call")
	waitFile(t, relay, "0\n")

	p.send("unplug")
	p.expect("reader: DOWN")
	p.statusUntil("status: out_of_service", "out of service: reader")
	p.send("replug")
	p.expect("reader: up")
	p.send("tap andi")
	p.expect("call 2 granted to andi")
	p.send("quit")
	p.expect("call 2 ended: shutdown")
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("simbooth exit: %v", err)
	}
	waitFile(t, relay, "0\n")
}
