// Package bootfs reads and writes files in the FAT boot partition of a
// Raspberry Pi OS disk image (partition 1 of an MBR table, FAT32 or FAT16),
// in place, without root and without mounting, through go-diskfs.
package bootfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/mbr"
)

// RequiredFiles are the files every Raspberry Pi boot partition has: an
// image without them is not a Raspberry Pi OS image.
var RequiredFiles = []string{"cmdline.txt", "config.txt"}

// Partition is the boot partition of an open image. Paths are absolute
// within the partition ("/cmdline.txt").
type Partition struct {
	image    string
	disk     *disk.Disk
	fs       filesystem.FileSystem
	start    int64 // byte offset of the partition in the image
	size     int64
	free     int64
	cluster  int64
	writable bool
}

// Open opens the boot partition of the image file at path, read-only unless
// writable, and checks that it is a Raspberry Pi boot partition.
func Open(image string, writable bool) (*Partition, error) {
	mode := diskfs.ReadOnly
	if writable {
		mode = diskfs.ReadWrite
	}
	fi, err := os.Stat(image)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("image %s is not a regular file: give the .img file (unpack a .img.xz first: xz -dk FILE.img.xz)", image)
	}
	d, err := diskfs.Open(image, diskfs.WithOpenMode(mode))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", image, err)
	}
	p := &Partition{image: image, disk: d, writable: writable}
	if err := p.check(); err != nil {
		d.Close()
		return nil, err
	}
	return p, nil
}

func (p *Partition) check() error {
	tbl, ok := p.disk.Table.(*mbr.Table)
	if !ok || tbl == nil {
		kind := "no partition table"
		if p.disk.Table != nil {
			kind = "a " + p.disk.Table.Type() + " partition table"
		}
		return fmt.Errorf("image %s has %s, not the MBR table of a Raspberry Pi OS image: check that it is the unpacked .img of Raspberry Pi OS", p.image, kind)
	}
	if len(tbl.Partitions) == 0 || tbl.Partitions[0] == nil || tbl.Partitions[0].Type == mbr.Empty {
		return fmt.Errorf("image %s has no partition 1 (the FAT boot partition): not a Raspberry Pi OS image", p.image)
	}
	part := tbl.Partitions[0]
	switch part.Type {
	case mbr.Fat16, mbr.Fat16b, mbr.Fat16bLBA, mbr.Fat32CHS, mbr.Fat32LBA:
	default:
		return fmt.Errorf("image %s: partition 1 has type 0x%02x, not FAT: not a Raspberry Pi OS image", p.image, byte(part.Type))
	}
	p.start, p.size = part.GetStart(), part.GetSize()
	if p.start+p.size > p.disk.Size {
		return fmt.Errorf("image %s: partition 1 ends at byte %d, past the end of the file (%d bytes): the image is truncated, download or unpack it again", p.image, p.start+p.size, p.disk.Size)
	}
	fsys, err := p.disk.GetFilesystem(1)
	if err != nil {
		return fmt.Errorf("image %s: partition 1: %w: the boot partition is not a readable FAT file system", p.image, err)
	}
	if t := fsys.Type(); t != filesystem.TypeFat32 && t != filesystem.TypeFat16 {
		return fmt.Errorf("image %s: partition 1 is not FAT16 or FAT32", p.image)
	}
	p.fs = fsys
	for _, name := range RequiredFiles {
		if _, err := p.ReadFile("/" + name); err != nil {
			return fmt.Errorf("image %s: the boot partition has no %s: not a Raspberry Pi boot partition", p.image, name)
		}
	}
	f, err := os.Open(p.image)
	if err != nil {
		return fmt.Errorf("image %s: %w", p.image, err)
	}
	defer f.Close()
	p.free, p.cluster, err = FreeSpace(io.NewSectionReader(f, p.start, p.size))
	if err != nil {
		return fmt.Errorf("image %s: partition 1: %w", p.image, err)
	}
	return nil
}

// Free returns the free bytes of the partition and its cluster size, as
// counted in its file allocation table when it was opened.
func (p *Partition) Free() (free, cluster int64) { return p.free, p.cluster }

// Exists says whether the file or directory name exists.
func (p *Partition) Exists(name string) bool {
	// Not Stat: in go-diskfs v1.9.4 it misses some long names that
	// OpenFile finds.
	if f, err := p.fs.OpenFile(name, os.O_RDONLY); err == nil {
		f.Close()
		return true
	}
	_, err := p.fs.ReadDir(name)
	return err == nil
}

// ReadFile returns the contents of the file name.
func (p *Partition) ReadFile(name string) ([]byte, error) {
	f, err := p.fs.OpenFile(name, os.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s from the boot partition: %w", name, err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("read %s from the boot partition: a directory", name)
	}
	// One read of the exact size: go-diskfs v1.9.4 reads past the end of
	// the file when a read starts inside a cluster, as io.ReadAll's would.
	b := make([]byte, fi.Size())
	n, err := f.Read(b)
	if err != nil && err != io.EOF || int64(n) != fi.Size() {
		return nil, fmt.Errorf("read %s from the boot partition: got %d of %d bytes: %v", name, n, fi.Size(), err)
	}
	return b, nil
}

// WriteFile writes data to the file name, creating its directories and
// replacing what was there.
func (p *Partition) WriteFile(name string, data []byte) error {
	if !p.writable {
		return errors.New("bootfs: partition opened read-only")
	}
	if dir := path.Dir(name); dir != "/" {
		if err := p.fs.Mkdir(dir); err != nil {
			return fmt.Errorf("create %s on the boot partition: %w", dir, err)
		}
	}
	// O_TRUNC, not Remove: go-diskfs v1.9.4's Remove leaves the file's
	// clusters allocated, O_TRUNC frees all but the first.
	f, err := p.fs.OpenFile(name, os.O_CREATE|os.O_RDWR|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("create %s on the boot partition: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s on the boot partition: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s on the boot partition: %w", name, err)
	}
	return nil
}

// Close closes the image file. After writing, it tidies what go-diskfs
// leaves behind in a FAT32 partition (see repair) and syncs the file.
func (p *Partition) Close() error {
	if err := p.disk.Close(); err != nil {
		return fmt.Errorf("close %s: %w", p.image, err)
	}
	if !p.writable {
		return nil
	}
	f, err := os.OpenFile(p.image, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("image %s: %w", p.image, err)
	}
	defer f.Close()
	if err := repair(&section{f, p.start, p.size}); err != nil {
		return fmt.Errorf("image %s: partition 1: %w", p.image, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("image %s: %w", p.image, err)
	}
	return f.Close()
}

// section is a byte range of a file, for reading and writing.
type section struct {
	f           *os.File
	start, size int64
}

func (s *section) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(b)) > s.size {
		return 0, io.ErrUnexpectedEOF
	}
	return s.f.ReadAt(b, s.start+off)
}

func (s *section) WriteAt(b []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(b)) > s.size {
		return 0, io.ErrShortWrite
	}
	return s.f.WriteAt(b, s.start+off)
}

// ClusterRound returns n rounded up to whole clusters of size cluster.
func ClusterRound(n, cluster int64) int64 {
	if cluster <= 0 {
		return n
	}
	return (n + cluster - 1) / cluster * cluster
}

// CleanName says whether name is a plain file name safe on FAT and in a
// shell script: letters, digits and . _ + ~ - only.
func CleanName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > 200 {
		return false
	}
	return strings.IndexFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._+~-", r))
	}) < 0
}
