// Package blockdev writes a disk image to an SD card: it refuses a target
// that is mounted, holds the running system, looks like a fixed system
// disk, or is too small; then copies with progress, syncs, and reads the
// card back to compare. Its checks read sysfs and mountinfo from roots the
// caller chooses, so tests run them on fakes.
package blockdev

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// MaxFixedSize is the largest non-removable disk Check accepts: a bigger
// fixed disk is much more likely the laptop's own than an SD card in a USB
// reader (many of which report themselves as fixed).
const MaxFixedSize = 64 << 30

// Checks are where Check looks. The zero value is the real system.
type Checks struct {
	Sysfs     string // default "/sys"
	Mountinfo string // default "/proc/self/mountinfo"
	// AllowRegular lets a regular file stand for the device (tests, and
	// writing an image copy); its sysfs entry, if any, is
	// Sysfs/block/BASENAME.
	AllowRegular bool
}

// Target is a device that passed Check.
type Target struct {
	Path      string
	Name      string // kernel name, e.g. "sdb"
	Size      int64
	Removable bool
	Block     bool
}

// Mount is one line of mountinfo.
type Mount struct {
	Dev    string // "MAJOR:MINOR"
	Point  string
	Source string
}

// ParseMountinfo parses /proc/self/mountinfo (proc(5)): for each line the
// device number, mount point and source, with the octal escapes undone.
func ParseMountinfo(data []byte) ([]Mount, error) {
	var ms []Mount
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 5 || sep < 0 || sep+2 >= len(f) {
			return nil, fmt.Errorf("mountinfo line %d: want \"ID PARENT MAJ:MIN ROOT POINT ... - TYPE SOURCE ...\", got %q", n, sc.Text())
		}
		ms = append(ms, Mount{Dev: f[2], Point: unescape(f[4]), Source: unescape(f[sep+2])})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mountinfo: %w", err)
	}
	return ms, nil
}

// unescape undoes mountinfo's \ooo escapes of space, tab, newline and
// backslash.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (c Checks) sysfs() string {
	if c.Sysfs == "" {
		return "/sys"
	}
	return c.Sysfs
}

func (c Checks) mountinfo() string {
	if c.Mountinfo == "" {
		return "/proc/self/mountinfo"
	}
	return c.Mountinfo
}

func readTrim(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

// Check decides whether device may be overwritten with an image of
// imageSize bytes, and says why not in words for the technician.
func (c Checks) Check(device string, imageSize int64) (Target, error) {
	fi, err := os.Stat(device)
	if err != nil {
		return Target{}, fmt.Errorf("device %s: %w: plug the SD card in and look for it with lsblk", device, err)
	}
	t := Target{Path: device, Name: filepath.Base(device)}
	var sysdir string
	var devs = map[string]bool{}
	switch {
	case fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0:
		t.Block = true
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return Target{}, fmt.Errorf("device %s: no device number", device)
		}
		num := fmt.Sprintf("%d:%d", unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)))
		sysdir, err = filepath.EvalSymlinks(filepath.Join(c.sysfs(), "dev/block", num))
		if err != nil {
			return Target{}, fmt.Errorf("device %s (%s): not in %s/dev/block: %w", device, num, c.sysfs(), err)
		}
		t.Name = filepath.Base(sysdir)
		devs[num] = true
	case fi.Mode().IsRegular() && c.AllowRegular:
		t.Size = fi.Size()
		if d := filepath.Join(c.sysfs(), "block", t.Name); exists(d) {
			sysdir = d
		}
	default:
		return Target{}, fmt.Errorf("%s is not a block device: give the whole SD card, e.g. /dev/sdb or /dev/mmcblk0 (see lsblk)", device)
	}
	if sysdir != "" {
		if exists(filepath.Join(sysdir, "partition")) {
			return Target{}, fmt.Errorf("%s is a partition, not a whole disk: give the disk it is on (e.g. /dev/sdb, not /dev/sdb1)", device)
		}
		if s, err := readTrim(filepath.Join(sysdir, "size")); err == nil {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return Target{}, fmt.Errorf("device %s: %s/size: %w", device, sysdir, err)
			}
			t.Size = n * 512 // sysfs counts 512-byte sectors whatever the device's own
		} else if t.Block {
			return Target{}, fmt.Errorf("device %s: %w", device, err)
		}
		if s, err := readTrim(filepath.Join(sysdir, "removable")); err == nil {
			t.Removable = s == "1"
		}
		if d, err := readTrim(filepath.Join(sysdir, "dev")); err == nil {
			devs[d] = true
		}
		subs, _ := os.ReadDir(sysdir)
		for _, e := range subs {
			if d, err := readTrim(filepath.Join(sysdir, e.Name(), "dev")); err == nil && exists(filepath.Join(sysdir, e.Name(), "partition")) {
				devs[d] = true
			}
		}
	}
	data, err := os.ReadFile(c.mountinfo())
	if err != nil {
		return Target{}, fmt.Errorf("cannot tell whether %s is mounted: %w", device, err)
	}
	mounts, err := ParseMountinfo(data)
	if err != nil {
		return Target{}, fmt.Errorf("cannot tell whether %s is mounted: %w", device, err)
	}
	for _, m := range mounts {
		if !devs[m.Dev] && !sameDisk(m.Source, device) {
			continue
		}
		switch m.Point {
		case "/", "/boot", "/boot/firmware", "/boot/efi", "/usr", "/var", "/home":
			return Target{}, fmt.Errorf("%s holds this computer's system (%s is mounted on %s): this is not the SD card; pick another device from lsblk", device, m.Source, m.Point)
		}
		return Target{}, fmt.Errorf("%s is mounted (%s on %s): unmount every partition of it first (udisksctl unmount -b %s, or umount %s)", device, m.Source, m.Point, m.Source, m.Point)
	}
	if !t.Removable && t.Size > MaxFixedSize {
		return Target{}, fmt.Errorf("%s is a fixed disk of %s, larger than any SD card we use (%s): it looks like a system disk; refusing", device, human(t.Size), human(MaxFixedSize))
	}
	if t.Size < imageSize {
		return Target{}, fmt.Errorf("%s holds %s, the image needs %s: use a larger SD card", device, human(t.Size), human(imageSize))
	}
	return t, nil
}

// sameDisk says whether source is disk or one of its partitions
// (/dev/sdb → /dev/sdb1, /dev/mmcblk0 → /dev/mmcblk0p1).
func sameDisk(source, disk string) bool {
	rest, ok := strings.CutPrefix(source, disk)
	if !ok {
		return false
	}
	rest = strings.TrimPrefix(rest, "p")
	return strings.Trim(rest, "0123456789") == ""
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// Progress draws a one-line progress bar: bytes done, percent and rate.
type Progress struct {
	W     io.Writer
	Total int64
	Now   func() time.Time // default time.Now
	Every time.Duration    // least time between redraws (default 200ms)

	start, last time.Time
	done        int64
}

func (p *Progress) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

// Add counts n more bytes and redraws when due; the last call (done ==
// Total) always draws.
func (p *Progress) Add(n int64) {
	t := p.now()
	if p.start.IsZero() {
		p.start = t
	}
	p.done += n
	every := p.Every
	if every == 0 {
		every = 200 * time.Millisecond
	}
	if p.done < p.Total && t.Sub(p.last) < every {
		return
	}
	p.last = t
	fmt.Fprint(p.W, "\r"+p.Line(t))
	if p.done >= p.Total {
		fmt.Fprintln(p.W)
	}
}

// Line is the progress text at t.
func (p *Progress) Line(t time.Time) string {
	pct := 100.0
	if p.Total > 0 {
		pct = float64(p.done) * 100 / float64(p.Total)
	}
	rate := "-- MB/s"
	if el := t.Sub(p.start).Seconds(); el > 0 {
		rate = fmt.Sprintf("%.1f MB/s", float64(p.done)/1e6/el)
	}
	const width = 30
	fill := int(pct / 100 * width)
	return fmt.Sprintf("[%s%s] %7.1f / %.1f MB %5.1f%% %s", strings.Repeat("#", fill), strings.Repeat(".", width-fill), float64(p.done)/1e6, float64(p.Total)/1e6, pct, rate)
}

// ErrMismatch is returned by Write when the card reads back different
// from the image.
var ErrMismatch = errors.New("read-back differs from the image")

// Write copies the image file to the target, syncs it, drops its cached
// pages and reads it back, comparing SHA-256 digests. It returns the
// image's digest.
func Write(image string, t Target, progress io.Writer, now func() time.Time) ([32]byte, error) {
	var zero [32]byte
	in, err := os.Open(image)
	if err != nil {
		return zero, fmt.Errorf("write: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return zero, fmt.Errorf("write: %w", err)
	}
	size := fi.Size()
	flags := os.O_WRONLY
	if t.Block {
		flags |= os.O_EXCL // the kernel refuses a block device that is mounted
	}
	out, err := os.OpenFile(t.Path, flags, 0)
	if err != nil {
		return zero, fmt.Errorf("write: open %s: %w (is a partition of it mounted?)", t.Path, err)
	}
	h := sha256.New()
	p := &Progress{W: progress, Total: size, Now: now}
	fmt.Fprintf(progress, "writing %s to %s\n", image, t.Path)
	buf := make([]byte, 4<<20)
	var off int64
	for off < size {
		n, rerr := in.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			if _, err := out.Write(buf[:n]); err != nil {
				out.Close()
				return zero, fmt.Errorf("write %s at byte %d: %w (a failing or write-protected card? try another)", t.Path, off, err)
			}
			off += int64(n)
			p.Add(int64(n))
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			out.Close()
			return zero, fmt.Errorf("read %s at byte %d: %w", image, off, rerr)
		}
	}
	if off != size {
		out.Close()
		return zero, fmt.Errorf("read %s: got %d of %d bytes: the image changed while writing", image, off, size)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return zero, fmt.Errorf("sync %s: %w (the card may not have taken the data; write it again)", t.Path, err)
	}
	// Read back from the card, not from the page cache.
	_ = unix.Fadvise(int(out.Fd()), 0, 0, unix.FADV_DONTNEED)
	if err := out.Close(); err != nil {
		return zero, fmt.Errorf("close %s: %w", t.Path, err)
	}
	var want [32]byte
	copy(want[:], h.Sum(nil))

	fmt.Fprintf(progress, "verifying %s\n", t.Path)
	back, err := os.Open(t.Path)
	if err != nil {
		return zero, fmt.Errorf("verify: %w", err)
	}
	defer back.Close()
	_ = unix.Fadvise(int(back.Fd()), 0, 0, unix.FADV_DONTNEED)
	h2 := sha256.New()
	vp := &Progress{W: progress, Total: size, Now: now}
	n, err := io.CopyBuffer(h2, io.TeeReader(io.LimitReader(back, size), progressWriter{vp}), buf)
	if err != nil {
		return zero, fmt.Errorf("verify: read %s at byte %d: %w", t.Path, n, err)
	}
	if n != size {
		return zero, fmt.Errorf("verify %s: read back %d of %d bytes: %w", t.Path, n, size, ErrMismatch)
	}
	var got [32]byte
	copy(got[:], h2.Sum(nil))
	if got != want {
		return zero, fmt.Errorf("verify %s: sha256 %x, image %x: %w: the card is faulty or counterfeit; use another", t.Path, got[:6], want[:6], ErrMismatch)
	}
	return want, nil
}

type progressWriter struct{ p *Progress }

func (w progressWriter) Write(b []byte) (int, error) {
	w.p.Add(int64(len(b)))
	return len(b), nil
}
