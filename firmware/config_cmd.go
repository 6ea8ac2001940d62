package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"wartelsuspas/firmware/config"
	"wartelsuspas/kiosk/bundle"
)

func init() {
	commands["config"] = command{run: configCmd, help: "config check [-config FILE]: check the configuration file and the files it names"}
	// The service runs `safe-off -config FILE` after any exit (ExecStopPost=):
	// the relay pin comes from the file.
	if so, ok := commands["safe-off"]; ok {
		commands["safe-off"] = command{run: safeOffFromConfig(so.run), help: so.help, hidden: so.hidden}
	}
}

const configUsage = "usage: wartel-kiosk config check [-config /etc/wartel/kiosk.toml] [-no-files]"

func configCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, configUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", config.DefaultPath, "the configuration file")
	noFiles := fs.Bool("no-files", false, "check the file only, not the device bundle and state directory it names (on a laptop)")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, configUsage)
		return errUsage
	}
	data, err := os.ReadFile(*path)
	if err != nil {
		return fmt.Errorf("%w: install the example from /usr/share/wartel/kiosk.toml and edit it", err)
	}
	c, err := config.Parse(data, *path)
	if err == nil && !*noFiles {
		err = errors.Join(c.CheckFiles(), checkBundle(c, stdout))
	}
	if err != nil {
		n := 0
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(stderr, line)
			n++
		}
		return fmt.Errorf("%d problem(s) in %s: fix them and run `wartel-kiosk config check` again", n, *path)
	}
	fmt.Fprintf(stdout, "config OK: %s\n", c.Summary())
	return nil
}

// checkBundle verifies the device bundle the file names: its files match
// their manifest, the key matches the certificate, the certificate chains
// to the CA and names this booth.
func checkBundle(c *config.Config, stdout io.Writer) error {
	b, err := bundle.Read(c.Gateway.Bundle)
	if err != nil {
		if _, serr := os.Stat(c.Gateway.Bundle); serr != nil {
			return nil // CheckFiles reports the missing directory
		}
		return c.Problem("gateway.bundle", fmt.Errorf("%w: copy a fresh bundle from the CA (docs/pki.md)", err))
	}
	if b.Device != c.Device {
		return c.Problem("device", fmt.Errorf("%q, but the bundle in %s is for %q: set device to the bundle's booth or install this booth's bundle", c.Device, c.Gateway.Bundle, b.Device))
	}
	// The Pi may have no clock yet: an old-looking certificate is a warning.
	if time.Now().After(b.NotAfter) {
		fmt.Fprintf(stdout, "warning: %s: the booth certificate expired %s (if this clock is right): enrol the booth again\n", c.Gateway.Bundle, b.NotAfter.Format(time.DateOnly))
	}
	return nil
}

// safeOffFromConfig lets safe-off take -config FILE: the relay pin and its
// polarity come from the file's [gpio] table and go before the other flags,
// so an explicit -relay-pin still wins. A file with problems elsewhere
// must not keep the relay on: only its [gpio] relay keys are read then,
// and if even they cannot be read the built-in default pin is driven off.
func safeOffFromConfig(run func(args []string, stdout, stderr io.Writer) error) func([]string, io.Writer, io.Writer) error {
	return func(args []string, stdout, stderr io.Writer) error {
		path, rest, ok := cutConfigFlag(args)
		if !ok {
			return run(args, stdout, stderr)
		}
		if path == "" {
			fmt.Fprintln(stderr, "safe-off: -config needs a file name")
			return errUsage
		}
		pin, activeLow, err := relayFromFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "safe-off: %v; driving the default relay pin off\n", err)
			return run(rest, stdout, stderr)
		}
		return run(append([]string{"-relay-pin", pin, fmt.Sprintf("-relay-active-low=%t", activeLow)}, rest...), stdout, stderr)
	}
}

// cutConfigFlag removes -config FILE (or -config=FILE, with one or two
// dashes) from args.
func cutConfigFlag(args []string) (path string, rest []string, found bool) {
	for i, a := range args {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "config" {
			continue
		}
		rest = slices.Concat(args[:i:i], args[i+1:])
		if !hasVal && i+1 < len(args) {
			val = args[i+1]
			rest = slices.Concat(args[:i:i], args[i+2:])
		}
		return val, rest, true
	}
	return "", args, false
}

// relayFromFile reads the relay pin from a configuration file, strictly if
// the file is valid, else from its [gpio] table alone.
func relayFromFile(path string) (pin string, activeLow bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", false, err
	}
	if c, err := config.Parse(data, path); err == nil {
		g := c.GPIO()
		return g.Relay, g.RelayActiveLow, nil
	}
	var f struct {
		GPIO struct {
			Relay          *string `toml:"relay"`
			RelayActiveLow bool    `toml:"relay_active_low"`
		} `toml:"gpio"`
	}
	if err := toml.Unmarshal(data, &f); err != nil || f.GPIO.Relay == nil {
		return "", false, fmt.Errorf("%s: cannot read gpio.relay (run `wartel-kiosk config check`)", path)
	}
	return *f.GPIO.Relay, f.GPIO.RelayActiveLow, nil
}
