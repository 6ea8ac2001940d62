package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/store"
)

const diskFullEnv = "STORE_TEST_DISKFULL_DIR"

// TestDiskFull runs the store on a real file system that fills: a 4 MiB
// tmpfs mounted in a private user and mount namespace (unshare -Urm), with
// the test binary re-executed inside it. It proves: appends and closes fail
// with an error IsFull recognises and that names the file; nothing
// committed is lost; a call being closed stays open in the journal; once
// space is freed, Probe and writes succeed on the same open store.
func TestDiskFull(t *testing.T) {
	if dir := os.Getenv(diskFullEnv); dir != "" {
		diskFullChild(t, dir)
		return
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare(1): the full file system is only simulated (TestDatabaseFull)")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "-Urm", "sh", "-c",
		`mount -t tmpfs -o size=4m tmpfs "$0" && exec "$@"`,
		dir, os.Args[0], "-test.run=^TestDiskFull$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), diskFullEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if !bytes.Contains(out, []byte("=== RUN")) {
		t.Skipf("cannot mount a tmpfs in a user namespace here (%v: %s): the full file system is only simulated (TestDatabaseFull)", err, out)
	}
	if err != nil || !bytes.Contains(out, []byte("disk full: recovered")) {
		t.Fatalf("child on a full tmpfs: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

func diskFullChild(t *testing.T, dir string) {
	path := filepath.Join(dir, "booth.db")
	s := open(t, path)
	id, err := s.OpenCall(call("W-1", "p"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deny(record.Denial{Card: "em:1", Reason: "quota"}); err != nil {
		t.Fatal(err)
	}

	// Fill the file system to the last block.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{64 << 10, 4 << 10, 512} {
		buf := make([]byte, size)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
	}
	f.Close()

	// The WAL may still have room for a few commits; append until it fails.
	detail := strings.Repeat("d", 1000)
	var ferr error
	committed, _ := s.Head()
	for range 10000 {
		r, err := s.Event(record.Event{Event: "fill", Detail: detail})
		if err != nil {
			ferr = err
			break
		}
		committed = r.Seq
	}
	if ferr == nil {
		t.Fatal("the disk never filled")
	}
	t.Logf("full after #%d: %v", committed, ferr)
	if !store.IsFull(ferr) || !strings.Contains(ferr.Error(), path) {
		t.Fatalf("error on a full disk: %v; want IsFull and the file named", ferr)
	}
	if err := s.Probe(); err == nil {
		t.Fatal("probe succeeded on a full disk")
	}
	c := call("W-1", "p")
	c.CallID, c.ChargedMs, c.EndReason = id, 1000, "store_error"
	if _, err := s.CloseCall(c); err == nil {
		t.Log("close succeeded on the full disk (it fit)")
	} else {
		if oc, _ := s.OpenCalls(); len(oc) != 1 {
			t.Fatalf("failed close left %d open calls", len(oc))
		}
		if u, _ := s.Usage("W-1", "p"); u.Used != 0 {
			t.Fatalf("failed close billed %v", u.Used)
		}
		os.Remove(filler)
		if err := s.Probe(); err != nil {
			t.Fatalf("probe after freeing space: %v", err)
		}
		if _, err := s.CloseCall(c); err != nil {
			t.Fatalf("close after freeing space: %v", err)
		}
	}
	os.Remove(filler)
	if err := s.Probe(); err != nil {
		t.Fatalf("probe after freeing space: %v", err)
	}
	r, err := s.Event(record.Event{Event: "recovered"})
	if err != nil {
		t.Fatalf("append after freeing space: %v", err)
	}
	s.Close()
	s = open(t, path)
	rs := verifyAll(t, s)
	if seq, _ := s.Head(); seq != r.Seq || uint64(len(rs)) != r.Seq || r.Seq < committed+1 {
		t.Fatalf("after reopen: head #%d, %d records, last committed before full #%d", seq, len(rs), committed)
	}
	if u, _ := s.Usage("W-1", "p"); u.Used != time.Second {
		t.Fatalf("usage after reopen %v", u.Used)
	}
	t.Log("disk full: recovered")
}
