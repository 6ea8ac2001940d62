package blockdev

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeSys is a fake sysfs with one disk, and a mountinfo file.
type fakeSys struct {
	root, mountinfo string
}

func newFakeSys(t *testing.T, name string, sectors int64, removable bool, parts ...string) fakeSys {
	t.Helper()
	root := t.TempDir()
	d := filepath.Join(root, "sys", "block", name)
	write := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rem := "0"
	if removable {
		rem = "1"
	}
	write(filepath.Join(d, "size"), itoa(sectors))
	write(filepath.Join(d, "removable"), rem)
	write(filepath.Join(d, "dev"), "8:16")
	for i, p := range parts {
		write(filepath.Join(d, p, "partition"), itoa(int64(i+1)))
		write(filepath.Join(d, p, "dev"), "8:"+itoa(int64(17+i)))
	}
	mi := filepath.Join(root, "mountinfo")
	write(mi, "22 1 0:21 / /proc rw,nosuid - proc proc rw\n28 1 259:2 / / rw,relatime - ext4 /dev/nvme0n1p2 rw")
	return fakeSys{root: filepath.Join(root, "sys"), mountinfo: mi}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (f fakeSys) addMount(t *testing.T, line string) {
	t.Helper()
	b, _ := os.ReadFile(f.mountinfo)
	if err := os.WriteFile(f.mountinfo, append(b, []byte(line+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	const img = 8 << 20
	tests := []struct {
		name      string
		sectors   int64
		removable bool
		mount     string // extra mountinfo line
		regular   bool   // AllowRegular
		nosys     bool   // no sysfs entry for the file
		want      string // "" = accepted
	}{
		{"removable card", 16 << 11, true, "", true, false, ""},
		{"file without sysfs entry", 0, false, "", true, true, ""},
		{"not a block device", 16 << 11, true, "", false, false, "is not a block device"},
		{"mounted partition", 16 << 11, true, "40 28 8:17 / /media/tek/bootfs rw - vfat /dev/sdb1 rw", true, false, "is mounted (/dev/sdb1 on /media/tek/bootfs)"},
		{"holds the system root", 16 << 11, true, "41 1 8:18 / / rw - ext4 /dev/sdb2 rw", true, false, "holds this computer's system"},
		{"holds /boot by source path", 16 << 11, true, "42 1 0:99 / /boot rw - vfat DEVICE1 rw", true, false, "holds this computer's system"},
		{"large fixed disk", 1 << 28, false, "", true, false, "looks like a system disk"},
		{"small fixed disk is fine", 32 << 21, false, "", true, false, ""},
		{"smaller than the image", 1 << 11, true, "", true, false, "use a larger SD card"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			name := "sdb"
			if tt.nosys {
				name = "copy.img"
			}
			dev := filepath.Join(dir, name)
			size := tt.sectors * 512
			if tt.nosys {
				size = img
			}
			if err := os.WriteFile(dev, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(dev, size); err != nil {
				t.Fatal(err)
			}
			fs := newFakeSys(t, "sdb", tt.sectors, tt.removable, "sdb1", "sdb2")
			if tt.mount != "" {
				fs.addMount(t, strings.ReplaceAll(tt.mount, "DEVICE", dev))
			}
			c := Checks{Sysfs: fs.root, Mountinfo: fs.mountinfo, AllowRegular: tt.regular}
			tg, err := c.Check(dev, img)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if tg.Size != size {
					t.Errorf("size %d, want %d", tg.Size, size)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckPartitionAndMissing(t *testing.T) {
	fs := newFakeSys(t, "sdb", 1<<15, true, "sdb1")
	dir := t.TempDir()
	dev := filepath.Join(dir, "sdb1")
	os.WriteFile(dev, make([]byte, 1024), 0o644)
	// The partition's own sysfs entry is block/sdb/sdb1; a file named
	// sdb1 looks there through Sysfs/block/sdb1, so link it.
	if err := os.Symlink(filepath.Join(fs.root, "block", "sdb", "sdb1"), filepath.Join(fs.root, "block", "sdb1")); err != nil {
		t.Fatal(err)
	}
	c := Checks{Sysfs: fs.root, Mountinfo: fs.mountinfo, AllowRegular: true}
	if _, err := c.Check(dev, 10); err == nil || !strings.Contains(err.Error(), "is a partition") {
		t.Errorf("partition: %v", err)
	}
	if _, err := c.Check(filepath.Join(dir, "sdz"), 10); err == nil || !strings.Contains(err.Error(), "plug the SD card in") {
		t.Errorf("missing: %v", err)
	}
	// The real /dev/null is a character device: refused without touching it.
	if _, err := (Checks{}).Check("/dev/null", 10); err == nil || !strings.Contains(err.Error(), "not a block device") {
		t.Errorf("/dev/null: %v", err)
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "a.img")
	data := make([]byte, 9<<20+123)
	for i := range data {
		data[i] = byte(i*31 + i>>11)
	}
	if err := os.WriteFile(img, data, 0o644); err != nil {
		t.Fatal(err)
	}
	dev := filepath.Join(dir, "card")
	if err := os.WriteFile(dev, bytes.Repeat([]byte{0xAA}, 12<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Checks{Sysfs: filepath.Join(dir, "nosys"), Mountinfo: newFakeSys(t, "x", 1, true).mountinfo, AllowRegular: true}
	tg, err := c.Check(dev, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	clock := time.Unix(0, 0)
	now := func() time.Time { clock = clock.Add(100 * time.Millisecond); return clock }
	sum, err := Write(img, tg, &progress, now)
	if err != nil {
		t.Fatal(err)
	}
	if sum != sha256.Sum256(data) {
		t.Error("Write returned the wrong digest")
	}
	got, _ := os.ReadFile(dev)
	if !bytes.Equal(got[:len(data)], data) || !bytes.Equal(got[len(data):], bytes.Repeat([]byte{0xAA}, len(got)-len(data))) {
		t.Error("the card does not hold the image followed by its old bytes")
	}
	if s := progress.String(); !strings.Contains(s, "100.0%") || !strings.Contains(s, "MB/s") || !strings.Contains(s, "verifying") {
		t.Errorf("progress: %q", s)
	}
}

func TestProgressLine(t *testing.T) {
	start := time.Unix(100, 0)
	p := &Progress{Total: 200e6}
	p.start = start
	p.done = 50e6
	got := p.Line(start.Add(2 * time.Second))
	for _, want := range []string{"50.0 / 200.0 MB", " 25.0%", "25.0 MB/s", "[#######........"} {
		if !strings.Contains(got, want) {
			t.Errorf("Line = %q, want %q in it", got, want)
		}
	}
}

func TestParseMountinfo(t *testing.T) {
	ms, err := ParseMountinfo([]byte("36 35 98:0 /mnt1 /mnt\\040two rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n\n40 28 8:17 / /media/x rw - vfat /dev/sdb1 rw\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0] != (Mount{Dev: "98:0", Point: "/mnt two", Source: "/dev/root"}) || ms[1].Source != "/dev/sdb1" {
		t.Errorf("got %+v", ms)
	}
	if _, err := ParseMountinfo([]byte("36 35 98:0 /mnt1 /mnt rw\n")); err == nil {
		t.Error("a line without the - separator was accepted")
	}
}

func TestSameDisk(t *testing.T) {
	for _, tt := range []struct {
		src, disk string
		want      bool
	}{
		{"/dev/sdb", "/dev/sdb", true}, {"/dev/sdb1", "/dev/sdb", true}, {"/dev/mmcblk0p2", "/dev/mmcblk0", true},
		{"/dev/sdba", "/dev/sdb", false}, {"/dev/sda1", "/dev/sdb", false}, {"/dev/sdb1", "/dev/sdb2", false},
	} {
		if got := sameDisk(tt.src, tt.disk); got != tt.want {
			t.Errorf("sameDisk(%q, %q) = %v", tt.src, tt.disk, got)
		}
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add([]byte("36 35 98:0 /mnt1 /mnt\\040two rw - ext3 /dev/root rw\n"))
	f.Add([]byte("1 2 3 4 5 6 - a\n"))
	f.Add([]byte("\\\\\\0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := ParseMountinfo(data)
		if err != nil {
			return
		}
		for _, m := range ms {
			if strings.ContainsAny(m.Dev, " \t\n") {
				t.Errorf("device field %q holds a separator", m.Dev)
			}
		}
	})
}
