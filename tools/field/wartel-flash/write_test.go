package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteCommand writes an image onto a regular file standing for the
// card, with an empty sysfs and a mount table that does not name it.
func TestWriteCommand(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "booth.img")
	data := bytes.Repeat([]byte("wartel image "), 100000)
	if err := os.WriteFile(img, data, 0o644); err != nil {
		t.Fatal(err)
	}
	card := filepath.Join(dir, "sdx")
	if err := os.WriteFile(card, make([]byte, 2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	mountinfo := filepath.Join(dir, "mountinfo")
	if err := os.WriteFile(mountinfo, []byte("28 1 259:2 / / rw - ext4 /dev/nvme0n1p2 rw\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"write", "-image", img, "-device", card, "-allow-file", "-sysfs", filepath.Join(dir, "sys"), "-mountinfo", mountinfo}

	var out, errb bytes.Buffer
	if code := run(base, strings.NewReader("no\n"), &out, &errb); code != 1 || !strings.Contains(errb.String(), "not confirmed: nothing written") {
		t.Fatalf("unconfirmed: exit %d: %s", code, errb.String())
	}
	if b, _ := os.ReadFile(card); !bytes.Equal(b, make([]byte, 2<<20)) {
		t.Fatal("the card changed without confirmation")
	}
	errb.Reset()
	if code := run(base, strings.NewReader("yes\n"), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, _ := os.ReadFile(card)
	if !bytes.Equal(b[:len(data)], data) || !strings.Contains(out.String(), "read back: sha256") || !strings.Contains(errb.String(), "100.0%") {
		t.Errorf("card holds the image: %v; stdout %q; stderr %q", bytes.Equal(b[:len(data)], data), out.String(), errb.String())
	}

	// Mounted: refused, and the card is not touched.
	if err := os.WriteFile(card, make([]byte, 2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mountinfo, []byte("40 28 8:17 / /media/tek/bootfs rw - vfat "+card+"1 rw\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run(append(base, "-yes"), nil, &out, &errb); code != 1 || !strings.Contains(errb.String(), "is mounted") {
		t.Fatalf("mounted: exit %d: %s", code, errb.String())
	}
	if b, _ := os.ReadFile(card); !bytes.Equal(b, make([]byte, 2<<20)) {
		t.Fatal("a mounted card was written")
	}
}
