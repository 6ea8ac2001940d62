package rfidtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/rfid"
)

// EmulatorOptions configures an Emulator.
type EmulatorOptions struct {
	// Protocol is "rdm6300" (default), "id12" or "ascii".
	Protocol string
	// ASCII is the line format for "ascii".
	ASCII rfid.ASCIIOptions
	// Link, when set, is a symlink the emulator points at the current pty
	// and re-points on Replug, as udev gives a real reader a stable name.
	Link string
	// Interval is the gap between frames of a held card in Hold. Default
	// 50 ms, about what an RDM6300 does.
	Interval time.Duration
	// SplitGap is the pause between the bytes of SplitWrite, so the driver
	// really reads them one at a time. Default 1 ms.
	SplitGap time.Duration
}

// Emulator is a passive card reader on a pseudo-terminal: the driver opens
// Path with the real serial code while the emulator writes what a module
// would send. Its methods are safe for concurrent use.
type Emulator struct {
	o EmulatorOptions

	mu      sync.Mutex
	master  *os.File
	slave   *os.File // kept open so the line settings survive between opens
	ptyPath string
	// retired are the slaves of unplugged ptys, held until Close: while
	// one is open the kernel does not give its pty number to a new pty,
	// so a driver still retrying the old path (as drivers do after an
	// unplug; root ignores a port's exclusive open) cannot land in
	// another process's emulator and take its frames.
	retired []*os.File
}

// NewEmulator opens a pty and, if o.Link is set, points the link at it.
func NewEmulator(o EmulatorOptions) (*Emulator, error) {
	switch o.Protocol {
	case "":
		o.Protocol = "rdm6300"
	case "rdm6300", "id12", "ascii":
	default:
		return nil, fmt.Errorf("rfidtest: protocol %q: want rdm6300, id12 or ascii", o.Protocol)
	}
	if o.Protocol == "ascii" {
		if _, err := rfid.NewASCIILineParser(o.ASCII); err != nil {
			return nil, fmt.Errorf("rfidtest: %w", err)
		}
	}
	if o.Interval <= 0 {
		o.Interval = 50 * time.Millisecond
	}
	if o.SplitGap <= 0 {
		o.SplitGap = time.Millisecond
	}
	e := &Emulator{o: o}
	if err := e.plug(); err != nil {
		return nil, err
	}
	return e, nil
}

// plug opens a new pty in raw mode and points the link at it.
func (e *Emulator) plug() error {
	m, s, err := pty.Open()
	if err != nil {
		return fmt.Errorf("rfidtest: open pty: %w", err)
	}
	if err := makeRaw(int(s.Fd())); err != nil {
		m.Close()
		s.Close()
		return fmt.Errorf("rfidtest: raw mode on %s: %w", s.Name(), err)
	}
	if e.o.Link != "" {
		tmp := e.o.Link + ".new"
		os.Remove(tmp)
		if err := os.Symlink(s.Name(), tmp); err == nil {
			err = os.Rename(tmp, e.o.Link)
		}
		if err != nil {
			m.Close()
			s.Close()
			return fmt.Errorf("rfidtest: link %s → %s: %w", e.o.Link, s.Name(), err)
		}
	}
	e.master, e.slave, e.ptyPath = m, s, s.Name()
	return nil
}

// makeRaw sets the line as cfmakeraw does: no echo, no line editing, no
// translation of CR/LF, so the bytes arrive as the module sent them.
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// Path is the device the driver opens: the link if one was set, else the
// pty's own path.
func (e *Emulator) Path() string {
	if e.o.Link != "" {
		return e.o.Link
	}
	return e.PtyPath()
}

// PtyPath is the current pty slave, e.g. /dev/pts/3 (it changes on Replug).
func (e *Emulator) PtyPath() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ptyPath
}

// Protocol returns the protocol the emulator speaks.
func (e *Emulator) Protocol() string { return e.o.Protocol }

// ErrUnplugged is returned by writes while the emulated reader is unplugged.
var ErrUnplugged = errors.New("rfidtest: reader unplugged")

// Write sends b as the module would, in one write.
func (e *Emulator) Write(b []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.master == nil {
		return ErrUnplugged
	}
	if _, err := e.master.Write(b); err != nil {
		return fmt.Errorf("rfidtest: write to %s: %w", e.ptyPath, err)
	}
	return nil
}

// Frame returns what the module sends once for id.
func (e *Emulator) Frame(id cardid.ID) ([]byte, error) {
	if e.o.Protocol == "ascii" {
		return rfid.EncodeASCIILine(nil, id, e.o.ASCII)
	}
	data, ok := rfid.EMData(id)
	if !ok {
		return nil, fmt.Errorf("rfidtest: %s reads EM4100 cards only, not %q", e.o.Protocol, id)
	}
	return rfid.EncodeEMFrame(nil, data, e.o.Protocol == "id12"), nil
}

// Tap sends frames copies of id's frame back to back in one write: a card
// held for frames repeats (an ASCII reader prints once per tap: use 1).
func (e *Emulator) Tap(id cardid.ID, frames int) error {
	f, err := e.Frame(id)
	if err != nil {
		return err
	}
	var b []byte
	for range max(frames, 1) {
		b = append(b, f...)
	}
	return e.Write(b)
}

// Hold sends id's frame every Interval for d (at least once), as a module
// does while a card lies on it, or until ctx ends.
func (e *Emulator) Hold(ctx context.Context, id cardid.ID, d time.Duration) error {
	f, err := e.Frame(id)
	if err != nil {
		return err
	}
	end := time.Now().Add(d)
	t := time.NewTicker(e.o.Interval)
	defer t.Stop()
	for {
		if err := e.Write(f); err != nil {
			return err
		}
		if !time.Now().Add(e.o.Interval).Before(end) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// BadChecksum sends id's frame with its checksum spoiled (EM protocols).
func (e *Emulator) BadChecksum(id cardid.ID) error {
	f, err := e.Frame(id)
	if err != nil {
		return err
	}
	if e.o.Protocol == "ascii" {
		return errors.New("rfidtest: ascii lines have no checksum to spoil")
	}
	// The checksum's low digit is at 12; change it to another hex digit.
	if f[12] == '0' {
		f[12] = '1'
	} else {
		f[12] = '0'
	}
	return e.Write(f)
}

// Noise sends b, or some line noise (including stray start bytes and a
// partial frame) when b is empty.
func (e *Emulator) Noise(b []byte) error {
	if len(b) == 0 {
		b = []byte("\x00\xff\x02\x13ZZ\x03\x7f\x02040\x02\r\n0400D8\xfe")
	}
	return e.Write(b)
}

// SplitWrite sends b one byte per write, SplitGap apart.
func (e *Emulator) SplitWrite(b []byte) error {
	for i := range b {
		if err := e.Write(b[i : i+1]); err != nil {
			return err
		}
		time.Sleep(e.o.SplitGap)
	}
	return nil
}

// Unplug hangs up the pty, as pulling the reader's USB cable does: the
// driver's reads fail, the pty's path disappears and so does the link.
func (e *Emulator) Unplug() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.master == nil {
		return nil
	}
	// Closing the master hangs the line up and removes its /dev/pts node.
	err := e.master.Close()
	e.retired = append(e.retired, e.slave)
	e.master, e.slave = nil, nil
	// udev removes a reader's stable name when its cable is pulled. A link
	// left pointing at the closed pty would lead a driver retrying it into
	// whichever process gets that pty number next.
	if e.o.Link != "" {
		if rerr := os.Remove(e.o.Link); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	if err != nil {
		return fmt.Errorf("rfidtest: unplug %s: %w", e.ptyPath, err)
	}
	return nil
}

// Replug opens a new pty and points the link at it again.
func (e *Emulator) Replug() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.master != nil {
		return nil
	}
	return e.plug()
}

// Close unplugs the reader, removes the link and frees the pty numbers it
// held.
func (e *Emulator) Close() error {
	err := e.Unplug()
	e.mu.Lock()
	for _, f := range e.retired {
		err = errors.Join(err, f.Close())
	}
	e.retired = nil
	e.mu.Unlock()
	if e.o.Link != "" {
		if rerr := os.Remove(e.o.Link); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	return err
}
