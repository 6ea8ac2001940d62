// Command wartel-reader helps a technician find and check a booth's card
// reader:
//
//	wartel-reader ports                      list serial ports with USB VID/PID, serial number, product
//	wartel-reader sniff [-port P] [-for 10s] say which supported protocol speaks on a port
//	wartel-reader modem -port P [-family F]  print the modem's SIM, registration, signal, operator
//
// sniff listens at 9600 baud for the passive readers (RDM6300, ID-12LA/
// ID-20LA, ASCII-line readers) and then polls for a PN532 at 115200 baud,
// and prints e.g. "RDM6300 on /dev/ttyUSB0: card em:0F00275624". Stop the
// booth service first: a port can be open by one program only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/modem"
	"wartelsuspas/drivers/rfid"
)

const usage = `wartel-reader finds and checks the booth's card reader.

Usage:
  wartel-reader ports                       list serial ports (USB VID/PID, serial number, product)
  wartel-reader sniff [-port P] [-for 10s]  tell which reader protocol speaks on port P;
                                            tap a card while it listens
  wartel-reader modem -port P [-family simcom|quectel|generic] [-baud 115200] [-for 60s]
                                            print the cellular module's SIM, registration,
                                            signal and operator (hangs up any call first)

Stop the booth service first (systemctl stop wartel-kiosk): a serial port can
be opened by one program at a time.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "ports":
		err = ports(os.Stdout)
	case "sniff":
		fs := flag.NewFlagSet("sniff", flag.ExitOnError)
		port := fs.String("port", "", "serial port to sniff (default: the only USB serial port)")
		dur := fs.Duration("for", 10*time.Second, "how long to listen")
		fs.Parse(os.Args[2:])
		if *port == "" {
			*port, err = onlyUSBPort()
		}
		if err == nil {
			err = sniff(context.Background(), *port, *dur, os.Stdout)
		}
	case "modem":
		fs := flag.NewFlagSet("modem", flag.ExitOnError)
		port := fs.String("port", "/dev/ttyUSB2", "the module's AT port")
		fam := fs.String("family", "generic", "simcom, quectel or generic")
		baud := fs.Int("baud", modem.DefaultOptions.Baud, "the UART's speed")
		dur := fs.Duration("for", time.Minute, "how long to wait for the module")
		fs.Parse(os.Args[2:])
		var f modem.Family
		if f, err = modem.FamilyByName(*fam); err == nil {
			err = modemReport(*port, f, *baud, *dur, os.Stdout)
		}
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "wartel-reader: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wartel-reader:", err)
		os.Exit(1)
	}
}

func ports(w io.Writer) error {
	list, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return fmt.Errorf("list serial ports: %w", err)
	}
	if len(list) == 0 {
		fmt.Fprintln(w, "no serial ports: plug the reader in (USB) or enable the Pi's UART (raspi-config, Interface Options, Serial Port)")
		return nil
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tVID:PID\tSERIAL\tPRODUCT")
	for _, p := range list {
		id := "-"
		if p.IsUSB {
			id = p.VID + ":" + p.PID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, id, dash(p.SerialNumber), dash(strings.TrimSpace(p.Manufacturer+" "+p.Product)))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func onlyUSBPort() (string, error) {
	list, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return "", fmt.Errorf("list serial ports: %w: give the port with -port", err)
	}
	var usb []string
	for _, p := range list {
		if p.IsUSB {
			usb = append(usb, p.Name)
		}
	}
	if len(usb) != 1 {
		return "", fmt.Errorf("%d USB serial ports (%s): give the reader's port with -port (see wartel-reader ports)", len(usb), strings.Join(usb, ", "))
	}
	return usb[0], nil
}

// passive are the protocols sniff listens for, most specific first: an
// ID-12LA frame also reads as an ASCII line, so the line parser only wins
// when no EM parser recognised anything.
var passive = []struct {
	label string
	p     func() rfid.ByteParser
}{
	{"RDM6300", func() rfid.ByteParser { return rfid.NewRDM6300Parser() }},
	{"ID-12LA/ID-20LA", func() rfid.ByteParser { return rfid.NewID12Parser() }},
	{"ASCII-line reader (hex)", func() rfid.ByteParser {
		p, _ := rfid.NewASCIILineParser(rfid.ASCIIOptions{Format: "hex"})
		return p
	}},
	{"ASCII-line reader (decimal)", func() rfid.ByteParser {
		p, _ := rfid.NewASCIILineParser(rfid.ASCIIOptions{Format: "decimal"})
		return p
	}},
}

// sniff listens on path for dur and prints what speaks there.
func sniff(ctx context.Context, path string, dur time.Duration, w io.Writer) error {
	deadline := time.Now().Add(dur)
	// Passive readers get most of the time: they speak only when a card is
	// tapped. A PN532 answers its first poll within a second.
	pnTime := min(3*time.Second, dur/3)
	fmt.Fprintf(w, "listening on %s for %v: tap a card on the reader\n", path, dur)
	found, stats, err := listenPassive(ctx, path, deadline.Add(-pnTime))
	if err != nil {
		return err
	}
	if found != "" {
		fmt.Fprintln(w, found)
		return nil
	}
	found, err = pollPN532(ctx, path, time.Until(deadline))
	if err != nil {
		return err
	}
	if found != "" {
		fmt.Fprintln(w, found)
		return nil
	}
	fmt.Fprintf(w, "nothing recognised on %s in %v (%s).\n", path, dur, stats)
	fmt.Fprintln(w, "Check: a card was tapped during the sniff; the reader has power (RDM6300 and ID-12LA need 5 V);")
	fmt.Fprintln(w, "the reader's TX goes to the Pi's RX; the port is the reader's (wartel-reader ports);")
	fmt.Fprintln(w, "for a Pi UART, the serial console is off (raspi-config).")
	return nil
}

func openPort(path string, baud int) (serial.Port, error) {
	p, err := serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no such port %s: is the reader plugged in? (see wartel-reader ports)", path)
		}
		return nil, fmt.Errorf("open %s: %w: is the booth service still running? stop it first", path, err)
	}
	return p, nil
}

// listenPassive feeds what arrives at 9600 baud to every passive parser
// until one reads a card (plus a short grace, so a more specific parser
// can finish the same frame) or until.
func listenPassive(ctx context.Context, path string, until time.Time) (found, stats string, err error) {
	port, err := openPort(path, 9600)
	if err != nil {
		return "", "", err
	}
	defer port.Close()
	if err := port.SetReadTimeout(100 * time.Millisecond); err != nil {
		return "", "", fmt.Errorf("set read timeout on %s: %w", path, err)
	}
	parsers := make([]rfid.ByteParser, len(passive))
	for i := range passive {
		parsers[i] = passive[i].p()
	}
	cards := make([]cardid.ID, len(passive))
	bad := make([]int, len(passive))
	total := 0
	buf := make([]byte, 256)
	for time.Now().Before(until) && ctx.Err() == nil {
		n, err := port.Read(buf)
		if err != nil {
			return "", "", fmt.Errorf("read %s: %w: the reader went away; check its cable", path, err)
		}
		total += n
		for _, c := range buf[:n] {
			for i, p := range parsers {
				id, why := p.Feed(c)
				if id != "" && cards[i] == "" {
					cards[i] = id
					if g := time.Now().Add(300 * time.Millisecond); g.Before(until) {
						until = g
					}
				}
				if why != "" {
					bad[i]++
				}
			}
		}
	}
	for i, id := range cards {
		if id != "" {
			return fmt.Sprintf("%s on %s: card %s", passive[i].label, path, id), "", nil
		}
	}
	return "", fmt.Sprintf("%d bytes at 9600 baud, %d broken RDM6300 frames, %d broken ID-12 frames", total, bad[0], bad[1]), nil
}

// pnSink records what a PN532 poll found.
type pnSink struct {
	cards  chan cardid.ID
	absent chan struct{}
}

func (s pnSink) Seen(id cardid.ID) {
	select {
	case s.cards <- id:
	default:
	}
}

func (s pnSink) Absent() {
	select {
	case s.absent <- struct{}{}:
	default:
	}
}

func (s pnSink) BadFrame(string) {}

// pollPN532 runs the PN532 protocol on path for at most d.
func pollPN532(ctx context.Context, path string, d time.Duration) (string, error) {
	if d <= 0 {
		return "", nil
	}
	port, err := openPort(path, 115200)
	if err != nil {
		return "", err
	}
	defer port.Close()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	s := pnSink{cards: make(chan cardid.ID, 1), absent: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- rfid.NewPN532(pn532Opts(path)).Run(ctx, port, s) }()
	answered := false
	for {
		select {
		case id := <-s.cards:
			cancel()
			<-done
			return fmt.Sprintf("PN532 on %s: card %s", path, id), nil
		case <-s.absent:
			answered = true
		case <-done:
			if answered {
				return fmt.Sprintf("PN532 on %s: answers, but no card was on it: tap a card and sniff again", path), nil
			}
			return "", nil
		}
	}
}

// pn532Opts are the driver's defaults on path.
func pn532Opts(path string) rfid.PN532Options {
	o := rfid.DefaultPN532Options
	o.PortName = path
	return o
}
