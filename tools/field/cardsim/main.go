// Command cardsim emulates a serial RFID card reader on a pseudo-terminal,
// for technicians on a bench and for the booth simulator. It prints the
// device path to give the booth (or wartel-reader sniff), then reads
// commands on stdin, one per line:
//
//	tap em:0400D8B2A5            a tap: two frames, as a quick tap gives
//	tap em:0400D8B2A5 hold 2s    hold the card for 2 s (frames every -interval)
//	tap em:0400D8B2A5 frames 1   exactly one frame (not enough to confirm)
//	bad em:0400D8B2A5            one frame with a wrong checksum
//	split em:0400D8B2A5          two frames, written one byte at a time
//	noise [hex bytes]            line noise (default: garbage and partial frames)
//	unplug / replug              close the pty / open a new one (link re-pointed)
//	quit                         exit
//
// Usage: cardsim [-protocol rdm6300|id12|ascii] [-link PATH] [-format hex|decimal] [-tech em|14a|raw]
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/rfid/rfidtest"
)

const usage = `cardsim emulates a serial RFID card reader on a pseudo-terminal.

Usage: cardsim [flags]

It prints the device path to configure in the booth (or give to
wartel-reader sniff -port), then reads commands on stdin:

  tap CARD [hold DURATION | frames N]   tap a card (default: two frames)
  bad CARD                              one frame with a wrong checksum
  split CARD                            two frames written byte by byte
  noise [HEX]                           line noise
  unplug | replug                       pull / put back the reader's cable
  help | quit

CARD is a canonical id, e.g. em:0400D8B2A5 (ascii readers: also 14a:… and raw:…).

Flags:
`

func main() {
	fs := flag.NewFlagSet("cardsim", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var o rfidtest.EmulatorOptions
	fs.StringVar(&o.Protocol, "protocol", "rdm6300", "protocol to speak: rdm6300, id12 or ascii")
	fs.StringVar(&o.Link, "link", "", "stable symlink to point at the pty (re-pointed on replug)")
	fs.StringVar(&o.ASCII.Format, "format", "hex", "ascii protocol: print cards in hex or decimal")
	fs.StringVar(&o.ASCII.Tech, "tech", "em", "ascii protocol: technology of the cards (em, 14a or raw)")
	fs.DurationVar(&o.Interval, "interval", 50*time.Millisecond, "gap between frames of a held card")
	fs.Parse(os.Args[1:])

	emu, err := rfidtest.NewEmulator(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cardsim:", err)
		os.Exit(1)
	}
	defer emu.Close()
	fmt.Printf("cardsim: %s reader on %s (pty %s); type help for commands\n", emu.Protocol(), emu.Path(), emu.PtyPath())
	if err := serve(os.Stdin, os.Stdout, emu); err != nil {
		fmt.Fprintln(os.Stderr, "cardsim:", err)
		os.Exit(1)
	}
}

// serve runs commands from in until quit or end of input. A bad command is
// reported on out and does not end the session.
func serve(in io.Reader, out io.Writer, emu *rfidtest.Emulator) error {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if f[0] == "quit" || f[0] == "exit" {
			return nil
		}
		msg, err := command(emu, f)
		if err != nil {
			fmt.Fprintln(out, "error:", err)
			continue
		}
		fmt.Fprintln(out, msg)
	}
	return sc.Err()
}

// command runs one command and says what it did.
func command(emu *rfidtest.Emulator, f []string) (string, error) {
	card := func() (cardid.ID, error) {
		if len(f) < 2 {
			return "", fmt.Errorf("%s needs a card, e.g. %s em:0400D8B2A5", f[0], f[0])
		}
		id := cardid.ID(f[1])
		if !id.Valid() {
			return "", fmt.Errorf("%q is not a card id: want e.g. em:0400D8B2A5", f[1])
		}
		return id, nil
	}
	switch f[0] {
	case "help":
		return strings.TrimSpace(usage[strings.Index(usage, "  tap"):strings.Index(usage, "CARD is")]), nil
	case "tap":
		id, err := card()
		if err != nil {
			return "", err
		}
		switch {
		case len(f) == 2:
			return "tapped " + string(id), emu.Tap(id, 2)
		case len(f) == 4 && f[2] == "hold":
			d, err := time.ParseDuration(f[3])
			if err != nil {
				return "", fmt.Errorf("hold %q: want a duration such as 2s", f[3])
			}
			return "held " + string(id) + " for " + d.String(), emu.Hold(context.Background(), id, d)
		case len(f) == 4 && f[2] == "frames":
			n, err := strconv.Atoi(f[3])
			if err != nil || n < 1 {
				return "", fmt.Errorf("frames %q: want a count of at least 1", f[3])
			}
			return fmt.Sprintf("sent %d frames of %s", n, id), emu.Tap(id, n)
		}
		return "", errors.New("usage: tap CARD [hold DURATION | frames N]")
	case "bad":
		id, err := card()
		if err != nil {
			return "", err
		}
		return "sent a bad-checksum frame of " + string(id), emu.BadChecksum(id)
	case "split":
		id, err := card()
		if err != nil {
			return "", err
		}
		b, err := emu.Frame(id)
		if err != nil {
			return "", err
		}
		return "sent " + string(id) + " byte by byte", emu.SplitWrite(append(b, b...))
	case "noise":
		var b []byte
		if len(f) > 1 {
			var err error
			if b, err = hex.DecodeString(strings.Join(f[1:], "")); err != nil {
				return "", fmt.Errorf("noise: %w: give bytes in hex, e.g. noise 02 ff 03", err)
			}
		}
		return "sent noise", emu.Noise(b)
	case "unplug":
		return "unplugged", emu.Unplug()
	case "replug":
		if err := emu.Replug(); err != nil {
			return "", err
		}
		return "replugged on " + emu.Path() + " (pty " + emu.PtyPath() + ")", nil
	}
	return "", fmt.Errorf("unknown command %q: type help", f[0])
}
