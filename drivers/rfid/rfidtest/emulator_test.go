package rfidtest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/creack/pty"
)

// TestUnplugHoldsPtyNumber: an unplugged emulator's path and link vanish,
// and no new pty gets its number while the emulator lives, so a driver
// still retrying the old path cannot open another emulator's pty.
func TestUnplugHoldsPtyNumber(t *testing.T) {
	link := filepath.Join(t.TempDir(), "reader")
	e, err := NewEmulator(EmulatorOptions{Link: link})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	old := e.PtyPath()
	if err := e.Unplug(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{old, link} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after unplug: %v, want gone", p, err)
		}
	}
	if err := e.Write([]byte{0x02}); !errors.Is(err, ErrUnplugged) {
		t.Errorf("write while unplugged: %v, want ErrUnplugged", err)
	}
	// The kernel hands out the lowest free number: were the old one free,
	// the first of these would take it.
	for range 8 {
		m, s, err := pty.Open()
		if err != nil {
			t.Fatal(err)
		}
		name := s.Name()
		m.Close()
		s.Close()
		if name == old {
			t.Fatalf("a new pty got %s, the unplugged emulator's number", old)
		}
	}
	if err := e.Replug(); err != nil {
		t.Fatal(err)
	}
	if p := e.PtyPath(); p == old {
		t.Errorf("replugged on the old number %s", p)
	}
	if target, err := os.Readlink(link); err != nil || target != e.PtyPath() {
		t.Errorf("link after replug → %q, %v; want %s", target, err, e.PtyPath())
	}
}
