package store_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/store"
)

const crashEnv = "STORE_TEST_CRASH_DB"

// TestCrashKill re-executes the test binary as a child that writes records
// and calls in a loop on a real store, printing each committed seq, and
// SIGKILLs it at a random instant, several times over. After each kill the
// store reopens with: a chain that verifies from genesis with no gap, every
// seq the child reported present, seq continuing, at most one call left in
// the journal (billed on the next start, as after a power cut), and usage
// equal to the sum of the call records' charges. SIGKILL lets the kernel
// write out what the process had written, so this proves crash safety, not
// power-loss safety (that rests on synchronous=FULL and the disk).
func TestCrashKill(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "booth.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	reported := map[uint64]bool{}
	rounds := 6
	if testing.Short() {
		rounds = 2
	}
	for round := range rounds {
		target := 1 + rng.IntN(120)
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKill$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Bounds a hung child only; the kill itself is triggered by output.
		hang := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() {
			seq, err := strconv.ParseUint(strings.TrimPrefix(sc.Text(), "seq "), 10, 64)
			if err != nil {
				t.Fatalf("round %d: child said %q", round, sc.Text())
			}
			reported[seq] = true
			if n++; n == target {
				// A random delay puts the kill at any point of the child's
				// loop, inside a transaction or between two.
				delay := time.Duration(rng.IntN(20000)) * time.Microsecond
				time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
			}
			// Keep reading: lines written before the kill landed were committed too.
		}
		err = cmd.Wait()
		if !hang.Stop() {
			t.Fatalf("round %d: child hung (%d lines)", round, n)
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: child ended by %v, not by the kill, after %d lines", round, err, n)
		}
		checkAfterCrash(t, path, reported, round)
	}
}

func checkAfterCrash(t *testing.T, path string, reported map[uint64]bool, round int) {
	t.Helper()
	s := open(t, path)
	defer s.Close()
	rs := verifyAll(t, s)
	have := map[uint64]bool{}
	var charged int64
	for _, r := range rs {
		have[r.Seq] = true
		if r.Kind == record.KindCall {
			var c record.Call
			if err := json.Unmarshal(r.Payload, &c); err != nil {
				t.Fatal(err)
			}
			charged += c.ChargedMs
		}
	}
	for seq := range reported {
		if !have[seq] {
			t.Fatalf("round %d: record #%d was reported committed and is gone (head #%d)", round, seq, len(rs))
		}
	}
	if oc, err := s.OpenCalls(); err != nil || len(oc) > 1 {
		t.Fatalf("round %d: %d calls open (%v), want at most the one killed mid-call", round, len(oc), err)
	}
	u, err := s.Usage("W-1", "p")
	if err != nil || u.Used.Milliseconds() != charged {
		t.Fatalf("round %d: usage %v, calls charged %d ms (%v)", round, u.Used, charged, err)
	}
	t.Logf("round %d: %d records, %d reported, chain verifies", round, len(rs), len(reported))
}

// crashChild is the process that gets killed: it closes a call left open by
// the previous kill as the engine does after a power cut, then writes
// forever.
func crashChild(path string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	s, err := store.Open(path, store.Options{Device: device})
	if err != nil {
		fail(err)
	}
	report := func(r record.Record, err error) {
		if err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stdout, "seq %d\n", r.Seq) // unbuffered: one write per commit
	}
	open, err := s.OpenCalls()
	if err != nil {
		fail(err)
	}
	for _, oc := range open {
		c := oc.Call
		c.EndReason, c.ChargedMs = "power_loss", c.TalkedMs
		report(s.CloseCall(c))
	}
	for i := 0; ; i++ {
		report(s.Deny(record.Denial{Card: "em:2", Reason: "quota"}))
		id, err := s.OpenCall(call("W-1", "p"))
		if err != nil {
			fail(err)
		}
		if err := s.Checkpoint(id, time.Duration(1+i%7)*time.Second); err != nil {
			fail(err)
		}
		c := call("W-1", "p")
		c.CallID, c.TalkedMs, c.ChargedMs, c.EndReason = id, int64(1+i%7)*1000, int64(1+i%7)*1000, "hangup"
		report(s.CloseCall(c))
	}
}
