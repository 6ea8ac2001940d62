package bootfs

import (
	"encoding/binary"
	"fmt"
	"io"
)

// layout is where things are in a FAT16 or FAT32 file system, from its
// boot sector. Offsets are bytes from the start of the partition.
type layout struct {
	sector, cluster int64
	clusters        int64 // data clusters, numbered from 2
	fat32           bool
	fatStart        int64
	dataStart       int64
	rootCluster     uint32 // FAT32
	fsInfo          int64  // FAT32: offset of the FSInfo sector, 0 if none
}

func readLayout(r io.ReaderAt) (layout, error) {
	var bs [512]byte
	if _, err := r.ReadAt(bs[:], 0); err != nil {
		return layout{}, fmt.Errorf("read the FAT boot sector: %w", err)
	}
	if bs[510] != 0x55 || bs[511] != 0xAA {
		return layout{}, fmt.Errorf("no FAT boot sector signature (55 AA)")
	}
	bytesPerSector := int64(binary.LittleEndian.Uint16(bs[11:]))
	perCluster := int64(bs[13])
	reserved := int64(binary.LittleEndian.Uint16(bs[14:]))
	fats := int64(bs[16])
	rootEntries := int64(binary.LittleEndian.Uint16(bs[17:]))
	total := int64(binary.LittleEndian.Uint16(bs[19:]))
	if total == 0 {
		total = int64(binary.LittleEndian.Uint32(bs[32:]))
	}
	fatSectors := int64(binary.LittleEndian.Uint16(bs[22:]))
	if fatSectors == 0 {
		fatSectors = int64(binary.LittleEndian.Uint32(bs[36:]))
	}
	switch bytesPerSector {
	case 512, 1024, 2048, 4096:
	default:
		return layout{}, fmt.Errorf("FAT boot sector: %d bytes per sector", bytesPerSector)
	}
	if perCluster == 0 || perCluster&(perCluster-1) != 0 || fats == 0 || reserved == 0 || fatSectors == 0 {
		return layout{}, fmt.Errorf("FAT boot sector: inconsistent layout (%d sectors per cluster, %d FATs, %d reserved, %d FAT sectors)", perCluster, fats, reserved, fatSectors)
	}
	rootSectors := (rootEntries*32 + bytesPerSector - 1) / bytesPerSector
	dataSectors := total - reserved - fats*fatSectors - rootSectors
	if dataSectors <= 0 {
		return layout{}, fmt.Errorf("FAT boot sector: no data area (%d sectors in all)", total)
	}
	l := layout{
		sector: bytesPerSector, cluster: perCluster * bytesPerSector,
		clusters: dataSectors / perCluster, fatStart: reserved * bytesPerSector,
		dataStart: (reserved + fats*fatSectors + rootSectors) * bytesPerSector,
	}
	entry := int64(2)
	switch {
	case l.clusters >= 65525:
		l.fat32, entry = true, 4
		l.rootCluster = binary.LittleEndian.Uint32(bs[44:]) & 0x0FFFFFFF
		if s := int64(binary.LittleEndian.Uint16(bs[48:])); s > 0 && s < reserved {
			l.fsInfo = s * bytesPerSector
		}
	case l.clusters < 4085:
		return layout{}, fmt.Errorf("FAT12 file system (%d clusters): not a Raspberry Pi boot partition", l.clusters)
	}
	if (l.clusters+2)*entry > fatSectors*bytesPerSector {
		return layout{}, fmt.Errorf("FAT boot sector: %d clusters do not fit a FAT of %d sectors", l.clusters, fatSectors)
	}
	return l, nil
}

// readFAT returns the first FAT's entries for clusters 0..clusters+1.
func (l layout) readFAT(r io.ReaderAt) ([]uint32, error) {
	entry := int64(2)
	if l.fat32 {
		entry = 4
	}
	raw := make([]byte, (l.clusters+2)*entry)
	if _, err := r.ReadAt(raw, l.fatStart); err != nil {
		return nil, fmt.Errorf("read the FAT: %w", err)
	}
	fat := make([]uint32, l.clusters+2)
	for c := range fat {
		if l.fat32 {
			fat[c] = binary.LittleEndian.Uint32(raw[c*4:]) & 0x0FFFFFFF
		} else {
			fat[c] = uint32(binary.LittleEndian.Uint16(raw[c*2:]))
		}
	}
	return fat, nil
}

// FreeSpace counts the free clusters in the file allocation table of the
// FAT16 or FAT32 file system read from r (the partition, from its boot
// sector) and returns the free bytes and the cluster size. go-diskfs has no
// call for this, and the free count in FAT32's FSInfo sector is only a hint.
func FreeSpace(r io.ReaderAt) (free, cluster int64, err error) {
	l, err := readLayout(r)
	if err != nil {
		return 0, 0, err
	}
	fat, err := l.readFAT(r)
	if err != nil {
		return 0, 0, err
	}
	var n int64
	for _, v := range fat[2:] {
		if v == 0 {
			n++
		}
	}
	return n * l.cluster, l.cluster, nil
}

// rw is what repair needs of the partition.
type rw interface {
	io.ReaderAt
	io.WriterAt
}

// repair fixes two things go-diskfs v1.9.4 leaves in a FAT32 file system
// it wrote to, which fsck.fat reports: a folder at the root whose ".."
// entry points at the root's cluster (the FAT specification says 0), and
// the FSInfo sector's free count left "unknown". FAT16 needs neither.
func repair(f rw) error {
	l, err := readLayout(f)
	if err != nil || !l.fat32 {
		return err
	}
	fat, err := l.readFAT(f)
	if err != nil {
		return err
	}
	var free uint32
	for _, v := range fat[2:] {
		if v == 0 {
			free++
		}
	}
	offset := func(c uint32) int64 { return l.dataStart + int64(c-2)*l.cluster }
	valid := func(c uint32) bool { return c >= 2 && int64(c) < l.clusters+2 }
	ent := make([]byte, 32)
	seen := map[uint32]bool{}
	for c := l.rootCluster; valid(c) && !seen[c]; c = fat[c] {
		seen[c] = true
		for off := offset(c); off < offset(c)+l.cluster; off += 32 {
			if _, err := f.ReadAt(ent, off); err != nil {
				return fmt.Errorf("read the root folder: %w", err)
			}
			if ent[0] == 0 {
				break
			}
			if ent[0] == 0xE5 || ent[11]&0x0F == 0x0F || ent[11]&0x10 == 0 || ent[0] == '.' {
				continue
			}
			dir := uint32(binary.LittleEndian.Uint16(ent[20:]))<<16 | uint32(binary.LittleEndian.Uint16(ent[26:]))
			if !valid(dir) {
				continue
			}
			dotdot := make([]byte, 32)
			if _, err := f.ReadAt(dotdot, offset(dir)+32); err != nil {
				return fmt.Errorf("read a folder: %w", err)
			}
			if string(dotdot[:11]) != "..         " {
				continue
			}
			if binary.LittleEndian.Uint16(dotdot[20:]) != 0 || binary.LittleEndian.Uint16(dotdot[26:]) != 0 {
				if _, err := f.WriteAt([]byte{0, 0}, offset(dir)+32+20); err != nil {
					return fmt.Errorf("fix a folder's '..' entry: %w", err)
				}
				if _, err := f.WriteAt([]byte{0, 0}, offset(dir)+32+26); err != nil {
					return fmt.Errorf("fix a folder's '..' entry: %w", err)
				}
			}
		}
	}
	if l.fsInfo > 0 {
		info := make([]byte, 512)
		if _, err := f.ReadAt(info, l.fsInfo); err != nil {
			return fmt.Errorf("read the FSInfo sector: %w", err)
		}
		if binary.LittleEndian.Uint32(info[0:]) == 0x41615252 && binary.LittleEndian.Uint32(info[484:]) == 0x61417272 {
			var b [4]byte
			binary.LittleEndian.PutUint32(b[:], free)
			if _, err := f.WriteAt(b[:], l.fsInfo+488); err != nil {
				return fmt.Errorf("write the FSInfo sector: %w", err)
			}
		}
	}
	return nil
}
