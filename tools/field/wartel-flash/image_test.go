package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/mbr"

	"wartelsuspas/tools/centre/ca"
)

const (
	testCmdline = "console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait quiet splash\n"
	testConfig  = "# For more options and information see\n# http://rptl.io/configtxt\ndtparam=audio=on\n# /boot/firmware/overlays/README\n[all]\n"
	testUD      = "#cloud-config\n# This is the user-data configuration file for cloud-init.\nhostname: raspberrypi\nmanage_etc_hosts: true\nusers:\n- name: pi\n  groups: users,adm,dialout\n  shell: /bin/bash\nruncmd:\n- [ echo, imager-step ]\n# trailing comment\nenable_ssh: true\n"
)

// imageSpec describes a test disk image.
type imageSpec struct {
	fatSize int64             // bytes of partition 1
	fsType  filesystem.Type   // TypeFat32 or TypeFat16
	ptype   mbr.Type          // partition 1's MBR type
	files   map[string]string // files at the root of partition 1
	noTable bool
}

func fat32Spec(files map[string]string) imageSpec {
	return imageSpec{fatSize: 40 << 20, fsType: filesystem.TypeFat32, ptype: mbr.Fat32LBA, files: files}
}

func piFiles() map[string]string {
	return map[string]string{"cmdline.txt": testCmdline, "config.txt": testConfig, "start4.elf": "firmware"}
}

func cloudFiles() map[string]string {
	f := piFiles()
	f["user-data"] = testUD
	f["meta-data"] = "instance-id: rpios-image\n"
	f["network-config"] = "version: 2\n"
	return f
}

// makeImage builds a sparse disk image in dir: an MBR with partition 1 of
// spec and a small partition 2 range labelled Linux (not formatted).
func makeImage(t testing.TB, dir string, spec imageSpec) string {
	t.Helper()
	img := filepath.Join(dir, "raspios.img")
	const total = 5 << 20 // 1 MiB before partition 1, 4 MiB of partition 2
	d, err := diskfs.Create(img, total+spec.fatSize, diskfs.SectorSizeDefault)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if spec.noTable {
		return img
	}
	fatSectors := uint32(spec.fatSize / 512)
	tbl := &mbr.Table{LogicalSectorSize: 512, PhysicalSectorSize: 512, Partitions: []*mbr.Partition{
		{Index: 1, Type: spec.ptype, Start: 2048, Size: fatSectors},
		{Index: 2, Type: mbr.Linux, Start: 2048 + fatSectors, Size: uint32((total+spec.fatSize)/512) - 2048 - fatSectors},
	}}
	if err := d.Partition(tbl); err != nil {
		t.Fatal(err)
	}
	fs, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: 1, FSType: spec.fsType, VolumeLabel: "bootfs"})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range spec.files {
		f, err := fs.OpenFile("/"+name, os.O_CREATE|os.O_RDWR)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return img
}

// enrol makes a CA and a bundle for facility/booth valid for validity.
func enrol(t testing.TB, dir, facility, booth string, validity time.Duration) string {
	t.Helper()
	authority, err := ca.Init(filepath.Join(dir, "ca"), "test CA")
	if err != nil {
		t.Fatal(err)
	}
	b, err := authority.Enroll(facility, booth, validity)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "bundle")
	if err := ca.WriteBundle(bundle, b); err != nil {
		t.Fatal(err)
	}
	return bundle
}

// fakeDeb writes a small file shaped like a Debian package.
func fakeDeb(t testing.TB, dir, name string, size int) string {
	t.Helper()
	b := make([]byte, size)
	copy(b, "!<arch>\ndebian-binary   0           0     0     100644  4         `\n2.0\n")
	for i := 80; i < size; i++ {
		b[i] = byte(i * 7)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
