package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/pquerna/otp/totp"

	"wartelsuspas/firmware/i18n"
	"wartelsuspas/tools/testbed/boothrig"
)

// demoAccounts are the console's accounts make run makes on its first run:
// an admin of the Kanwil, and an operator and a supervisor of the demo
// facility (a number an operator registers is approved by another account).
var demoAccounts = []struct{ name, role string }{
	{"demo-admin", "admin"}, {"demo-operator", "operator"}, {"demo-supervisor", "supervisor"},
}

var secretRE = regexp.MustCompile(`(?m)^totp secret: (\S+)$`)

// demoConsole makes the demo accounts once (their passwords and TOTP
// secrets are kept in the rig's folder, as `account add` printed them, so
// a later run shows the same ones) and prints how to log in, with each
// account's current six-digit code for convenience.
func demoConsole(ctx context.Context, r *boothrig.Rig, dir string, cat *i18n.Catalogue, stdout io.Writer) error {
	if r.Gateway.Console == "" {
		return nil
	}
	kept := filepath.Join(dir, "console-accounts.txt")
	text, err := os.ReadFile(kept)
	if errors.Is(err, os.ErrNotExist) {
		var all []byte
		for _, a := range demoAccounts {
			args := []string{"account", "add", "-name", a.name, "-role", a.role, "-by", "make-run"}
			if a.role != "admin" {
				args = append(args, "-facility", r.Facility())
			}
			out, err := r.Gateway.Output(ctx, args...)
			if err != nil {
				return fmt.Errorf("making the console's demo account %s: %w", a.name, err)
			}
			all = append(all, out...)
		}
		if err := os.WriteFile(kept, all, 0o600); err != nil {
			return fmt.Errorf("keeping the console's demo accounts: %w", err)
		}
		text = all
	} else if err != nil {
		return fmt.Errorf("reading the console's demo accounts: %w", err)
	}
	fmt.Fprintln(stdout, cat.T("sim.console", r.Gateway.Console, kept))
	fmt.Fprint(stdout, string(text))
	for _, m := range secretRE.FindAllStringSubmatch(string(text), -1) {
		if code, err := totp.GenerateCode(m[1], time.Now()); err == nil {
			fmt.Fprintln(stdout, cat.T("sim.console_code", m[1], code))
		}
	}
	return nil
}
