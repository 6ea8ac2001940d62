// Command wartel-flash turns a Raspberry Pi OS image into a booth: it
// writes the booth's package, configuration, identity bundle and a
// first-boot step into the image's FAT boot partition (provision), checks
// what it wrote (verify), and copies the image to an SD card with a
// read-back check (write). It needs neither root nor a mount for the first
// two. See docs/flashing.md.
//
//	wartel-flash provision -image raspios.img -bundle DIR -deb wartel-kiosk_1.2.3_armhf.deb -gateway https://host:8443
//	wartel-flash verify -image raspios.img
//	wartel-flash write -image raspios.img -device /dev/sdX
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"wartelsuspas/tools/field/wartel-flash/blockdev"
)

const usage = `usage:
  wartel-flash provision -image FILE.img -bundle DIR -deb PKG.deb -gateway https://HOST:8443 [flags]
  wartel-flash verify -image FILE.img
  wartel-flash write -image FILE.img -device /dev/sdX [-yes]
Run "wartel-flash COMMAND -h" for the flags of a command; docs/flashing.md has the whole procedure.`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// errUsage marks a command line error: its usage was printed.
var errUsage = errors.New("usage")

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "provision":
		err = cmdProvision(args[1:], stdout, stderr)
	case "verify":
		err = cmdVerify(args[1:], stdout, stderr)
	case "write":
		err = cmdWrite(args[1:], stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "wartel-flash: unknown command %q\n%s\n", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		return 2
	default:
		fmt.Fprintf(stderr, "wartel-flash %s: %v\n", args[0], err)
		return 1
	}
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("wartel-flash "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func cmdProvision(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("provision", stderr)
	var o provisionOpts
	fs.StringVar(&o.Image, "image", "", "Raspberry Pi OS image file (.img, unpacked), edited in place (required)")
	fs.StringVar(&o.Bundle, "bundle", "", "the booth's identity bundle directory, made by wartel-gateway enroll (required)")
	fs.StringVar(&o.Deb, "deb", "", "the wartel-kiosk .deb for the Pi's architecture (required)")
	fs.StringVar(&o.Gateway, "gateway", "", "the central gateway's address, https://HOST:8443 (required)")
	fs.StringVar(&o.Config, "config", "", "base kiosk.toml (default: the package's commented example)")
	fs.StringVar(&o.Reader, "reader", "rdm6300", "card reader protocol: rdm6300, id12, ascii or pn532")
	fs.StringVar(&o.ReaderPath, "reader-path", defaultReaderPath, "card reader serial port on the booth")
	fs.StringVar(&o.Pins, "pins", "", "TOML file of [gpio] keys to set (pin map), as in kiosk.toml")
	fs.StringVar(&o.Expect, "expect", "", "FACILITY/BOOTH this card is for: refuse a bundle of any other booth")
	fs.StringVar(&o.Method, "method", "auto", "first-boot step: auto (cloud-init if the image has it), cloud-init or firstrun")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 || o.Image == "" || o.Bundle == "" || o.Deb == "" || o.Gateway == "" {
		fmt.Fprintln(stderr, "wartel-flash provision: -image, -bundle, -deb and -gateway are required, and nothing else")
		fs.Usage()
		return errUsage
	}
	o.Now = time.Now
	return provision(o, stdout)
}

func cmdVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", stderr)
	image := fs.String("image", "", "provisioned image file (required)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *image == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	r, err := verify(*image)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: OK: %d files match %s; booth %s; first boot by %s\n", *image, r.Files, manifestPath, r.Device, r.Method)
	return nil
}

func cmdWrite(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("write", stderr)
	image := fs.String("image", "", "image file to write (required)")
	device := fs.String("device", "", "the whole SD card, e.g. /dev/sdb or /dev/mmcblk0 (required; see lsblk)")
	yes := fs.Bool("yes", false, "do not ask before overwriting the card")
	var c blockdev.Checks
	fs.BoolVar(&c.AllowRegular, "allow-file", false, "allow a regular file as -device (tests, copies)")
	fs.StringVar(&c.Sysfs, "sysfs", "/sys", "sysfs root (tests)")
	fs.StringVar(&c.Mountinfo, "mountinfo", "/proc/self/mountinfo", "mount table (tests)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *image == "" || *device == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	fi, err := os.Stat(*image)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	t, err := c.Check(*device, fi.Size())
	if err != nil {
		return err
	}
	if !*yes {
		fmt.Fprintf(stderr, "Everything on %s (%d MB, removable %v) will be erased. Type yes to go on: ", t.Path, t.Size/1e6, t.Removable)
		var answer string
		fmt.Fscanln(stdin, &answer)
		if answer != "yes" {
			return errors.New("not confirmed: nothing written")
		}
	}
	sum, err := blockdev.Write(*image, t, stderr, time.Now)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s written to %s and read back: sha256 %x\n", *image, t.Path, sum)
	return nil
}
