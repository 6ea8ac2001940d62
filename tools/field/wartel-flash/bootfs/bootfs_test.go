package bootfs

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/mbr"
)

func makeImage(t testing.TB, fsType filesystem.Type, ptype mbr.Type, size int64) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "a.img")
	d, err := diskfs.Create(img, size+(1<<20), diskfs.SectorSizeDefault)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tbl := &mbr.Table{LogicalSectorSize: 512, PhysicalSectorSize: 512, Partitions: []*mbr.Partition{{Index: 1, Type: ptype, Start: 2048, Size: uint32(size / 512)}}}
	if err := d.Partition(tbl); err != nil {
		t.Fatal(err)
	}
	fs, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: 1, FSType: fsType})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range RequiredFiles {
		f, _ := fs.OpenFile("/"+n, os.O_CREATE|os.O_RDWR)
		f.Write([]byte("x\n"))
		f.Close()
	}
	return img
}

// TestFreeSpaceFollowsWrites: the free count falls by the clusters a file
// takes, and the bytes read back are the bytes written, for both FATs.
func TestFreeSpaceFollowsWrites(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fs    filesystem.Type
		ptype mbr.Type
		size  int64
	}{{"fat32", filesystem.TypeFat32, mbr.Fat32LBA, 40 << 20}, {"fat16", filesystem.TypeFat16, mbr.Fat16bLBA, 32 << 20}} {
		t.Run(tt.name, func(t *testing.T) {
			img := makeImage(t, tt.fs, tt.ptype, tt.size)
			p, err := Open(img, true)
			if err != nil {
				t.Fatal(err)
			}
			free0, cluster := p.Free()
			if free0 <= 0 || free0 > tt.size || cluster <= 0 {
				t.Fatalf("free %d, cluster %d", free0, cluster)
			}
			data := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640000 bytes
			if err := p.WriteFile("/d/e/file.bin", data); err != nil {
				t.Fatal(err)
			}
			if err := p.WriteFile("/d/e/file.bin", data[:1000]); err != nil { // replace, smaller
				t.Fatal(err)
			}
			p.Close()
			p, err = Open(img, false)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			got, err := p.ReadFile("/d/e/file.bin")
			if err != nil || !bytes.Equal(got, data[:1000]) {
				t.Fatalf("read back %d bytes, %v", len(got), err)
			}
			free1, _ := p.Free()
			used := free0 - free1
			// The file's cluster plus at most a few for the two folders.
			if used < ClusterRound(1000, cluster) || used > ClusterRound(1000, cluster)+4*cluster {
				t.Errorf("writing 1000 bytes (after replacing 640000) used %d bytes of clusters of %d", used, cluster)
			}
			if err := p.WriteFile("/x", nil); err == nil {
				t.Error("wrote through a read-only partition")
			}
		})
	}
}

func TestCleanName(t *testing.T) {
	for s, want := range map[string]bool{"wartel-kiosk_1.2.3~rc1_armhf.deb": true, "a b.deb": false, "../x": false, "x;rm": false, "": false, "$(x)": false} {
		if CleanName(s) != want {
			t.Errorf("CleanName(%q) = %v", s, !want)
		}
	}
}

func FuzzFreeSpace(f *testing.F) {
	img := makeImage(f, filesystem.TypeFat16, mbr.Fat16bLBA, 32<<20)
	b, _ := os.ReadFile(img)
	f.Add(b[1<<20 : 1<<20+64<<10])
	f.Fuzz(func(t *testing.T, data []byte) {
		// The partition is data followed by zeros, 64 MiB in all.
		free, cluster, err := FreeSpace(padded(data))
		if err == nil && (free < 0 || cluster <= 0 || free%cluster != 0) {
			t.Fatalf("free %d, cluster %d", free, cluster)
		}
		// repair must not panic or write outside the partition.
		_ = repair(padded(bytes.Clone(data)))
	})
}

// padded is a 64 MiB partition whose first bytes are given and the rest
// zeros; writes past the given bytes are dropped.
type padded []byte

const paddedSize = 64 << 20

func (m padded) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(b)) > paddedSize {
		return 0, io.EOF
	}
	clear(b)
	if off < int64(len(m)) {
		copy(b, m[off:])
	}
	return len(b), nil
}

func (m padded) WriteAt(b []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(b)) > paddedSize {
		return 0, io.ErrShortWrite
	}
	if off < int64(len(m)) {
		copy(m[off:], b)
	}
	return len(b), nil
}
