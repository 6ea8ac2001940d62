package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"wartelsuspas/tools/centre/console"
	"wartelsuspas/tools/centre/ledger"
)

func cmdAccount(ctx context.Context, g *globals, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(g.stderr, "usage: wartel-gateway account add|list|disable|reset-totp ... (-h for each one's flags)")
		return errUsage
	}
	switch args[0] {
	case "add":
		return accountAdd(ctx, g, args[1:])
	case "list":
		return accountList(ctx, g, args[1:])
	case "disable":
		return accountDisable(ctx, g, args[1:])
	case "reset-totp":
		return accountResetTOTP(ctx, g, args[1:])
	}
	fmt.Fprintf(g.stderr, "wartel-gateway account: unknown subcommand %q; want add, list, disable or reset-totp\n", args[0])
	return errUsage
}

func accountAdd(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("account add")
	name := fs.String("name", "", "account name, e.g. siti.rahma")
	role := fs.String("role", "", "admin, operator, supervisor or auditor")
	facilities := fs.String("facility", "", "the facility (operator, supervisor) or facilities, comma-separated (auditor); none for an admin")
	stdin := fs.Bool("password-stdin", false, "read the password (12 characters or more) from the first line of standard input instead of generating one")
	if _, err := parse(fs, args, 0, "name", "role"); err != nil {
		return err
	}
	password := ""
	if *stdin {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read the password from standard input: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	a, cr, err := console.NewAccount(*name, ledger.Role(*role), splitComma(*facilities), password, console.DefaultArgon2, time.Now())
	if err != nil {
		return err
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return g.atomic(ctx, s, func(ctx context.Context) error {
		if err := s.AddAccount(ctx, a); err != nil {
			return err
		}
		g.changed("account.add", "", a.Name, nil, console.AccountDoc(a))
		fmt.Fprintf(g.stdout, "added %s %s%s\n", a.Role, a.Name, facilitiesNote(a.Facilities))
		printCredentials(g, cr)
		return nil
	})
}

func facilitiesNote(fs []string) string {
	if len(fs) == 0 {
		return " (every facility)"
	}
	return " of " + strings.Join(fs, ", ")
}

func printCredentials(g *globals, cr console.Credentials) {
	if cr.Password != "" {
		fmt.Fprintf(g.stdout, "password:    %s\n", cr.Password)
	}
	if cr.TOTPSecret != "" {
		fmt.Fprintf(g.stdout, "totp secret: %s\ntotp url:    %s\n", cr.TOTPSecret, cr.TOTPURL)
		fmt.Fprintln(g.stdout, "give these to the person, in person: they enter the secret (or the url) in an authenticator app and log in with its six-digit code")
	}
}

func splitComma(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func accountList(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("account list")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	as, err := s.ListAccounts(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ACCOUNT\tROLE\tFACILITIES\tTOTP\tSTATUS\tCREATED")
	for _, a := range as {
		st, totp := "active", "no"
		if a.Disabled {
			st = "disabled"
		}
		if a.TOTPSecret != "" {
			totp = "yes"
		}
		fac := strings.Join(a.Facilities, ",")
		if a.Role == ledger.RoleAdmin {
			fac = "*"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, a.Role, fac, totp, st, a.Created.UTC().Format(time.RFC3339))
	}
	return w.Flush()
}

func accountDisable(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("account disable")
	name := fs.String("name", "", "account to disable")
	enable := fs.Bool("enable", false, "enable it again instead")
	if _, err := parse(fs, args, 0, "name"); err != nil {
		return err
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return g.atomic(ctx, s, func(ctx context.Context) error {
		action := "account.disable"
		if *enable {
			action = "account.enable"
		}
		b, a, err := console.DisableAccount(ctx, s, *name, !*enable)
		if err != nil {
			return err
		}
		g.changed(action, "", *name, console.AccountDoc(b), console.AccountDoc(a))
		if *enable {
			fmt.Fprintf(g.stdout, "enabled %s\n", *name)
		} else {
			fmt.Fprintf(g.stdout, "disabled %s; its sessions are ended\n", *name)
		}
		return nil
	})
}

func accountResetTOTP(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("account reset-totp")
	name := fs.String("name", "", "account whose second factor is replaced (a lost phone)")
	if _, err := parse(fs, args, 0, "name"); err != nil {
		return err
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return g.atomic(ctx, s, func(ctx context.Context) error {
		b, a, cr, err := console.ResetTOTP(ctx, s, *name)
		if err != nil {
			return err
		}
		g.changed("account.reset-totp", "", *name, console.AccountDoc(b), console.AccountDoc(a))
		fmt.Fprintf(g.stdout, "new second factor for %s; its sessions are ended; the old authenticator no longer works\n", *name)
		printCredentials(g, cr)
		return nil
	})
}
