package store_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// The benchmarks run on the test's temporary directory, that is on a real
// disk: each commit is at least one fsync. Compare with BenchmarkRawFsync.

func BenchmarkOpenCall(b *testing.B) {
	s, _ := newStore(b)
	for b.Loop() {
		if _, err := s.OpenCall(call("W-1", "p")); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenCloseCall(b *testing.B) {
	s, _ := newStore(b)
	for b.Loop() {
		id, err := s.OpenCall(call("W-1", "p"))
		if err != nil {
			b.Fatal(err)
		}
		c := call("W-1", "p")
		c.CallID, c.TalkedMs, c.ChargedMs, c.EndReason = id, 60000, 60000, "hangup"
		if _, err := s.CloseCall(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckpoint(b *testing.B) {
	s, _ := newStore(b)
	id, err := s.OpenCall(call("W-1", "p"))
	if err != nil {
		b.Fatal(err)
	}
	talked := time.Duration(0)
	for b.Loop() {
		talked += 5 * time.Second // the same value again would write nothing
		if err := s.Checkpoint(id, talked); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeny(b *testing.B) {
	s, _ := newStore(b)
	for b.Loop() {
		if _, err := s.Deny(record.Denial{Card: "em:1", Reason: "quota"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPending100(b *testing.B) {
	s, _ := newStore(b)
	for range 100 {
		if _, err := s.Deny(record.Denial{Card: "em:1", Reason: "quota"}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if rs, err := s.Pending(100); err != nil || len(rs) != 100 {
			b.Fatal(len(rs), err)
		}
	}
}

// BenchmarkRawFsync is the physical floor of a commit: 4 KiB written and
// fsynced on the same disk.
func BenchmarkRawFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "raw"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for b.Loop() {
		if _, err := f.WriteAt(buf, 0); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}
