// Command wartel-gateway is the reference central gateway of the
// Wartelsuspas booths: the certificate authority that enrols them, the
// mutual-TLS HTTP server they upload to and sync from, and the centre's
// command line for rosters, policies, revocations and monthly reports.
//
// Usage:
//
//	wartel-gateway init     [-state DIR] [-db URL]
//	wartel-gateway serve    [-state DIR] [-db URL] [-listen ADDR] [-metrics ADDR]
//	wartel-gateway enroll   -facility F -booth B -out DIR [-validity 8760h]
//	wartel-gateway revoke   F/B | SERIAL   (or -device F/B, -serial SERIAL)
//	wartel-gateway roster block  -facility F -card C [-unblock]
//	wartel-gateway roster import -facility F [-by ACCOUNT] [-replace] FILE.csv  (the numbers column and new officer cards need -by)
//	wartel-gateway roster officers list|approve|reject -facility F [-by ACCOUNT] [-person P] [-reason R] [CARD]
//	wartel-gateway numbers add|approve|reject|revoke|list|block|unblock|blocked -facility F [-by ACCOUNT] ...
//	wartel-gateway policy set    -facility F FILE.json
//	wartel-gateway report   -facility F -month 2026-11 [-officers | -days] [-out FILE.csv]
//	wartel-gateway retention set -facility F -months N | show | apply
//	wartel-gateway devices  -facility F
//	wartel-gateway events   -facility F [-device D] [-since 24h|RFC3339]
//	wartel-gateway audit    verify | list [-facility F] [-n 50]
//	wartel-gateway account  add -name N -role R [-facility F] | list | disable -name N | reset-totp -name N
//
// docs/gateway.md describes every subcommand, the file formats and the
// metrics.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ca"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/centre/roster"
)

// DefaultState is where the gateway keeps its CA and database unless
// -state says otherwise.
const DefaultState = "/var/lib/wartel-gateway"

// errUsage marks a command line that is wrong (exit status 2).
var errUsage = errors.New("usage")

type command struct {
	name, args, help string
	run              func(ctx context.Context, g *globals, args []string) error
}

var commands = []command{
	{"init", "", "create the CA and the database", cmdInit},
	{"serve", "[-listen ADDR] [-metrics ADDR]", "serve the booths over mutual TLS", cmdServe},
	{"enroll", "-facility F -booth B -out DIR", "issue a booth its certificate bundle", cmdEnroll},
	{"revoke", "F/B | SERIAL", "stop a booth, or one certificate by serial", cmdRevoke},
	{"roster", "import|block|officers ...", "import a roster CSV, block or unblock a card, approve officer cards", cmdRoster},
	{"numbers", "add|approve|reject|revoke|list|block|unblock|blocked ...", "register inmates' numbers, keep the blocked list", cmdNumbers},
	{"policy", "set -facility F FILE.json", "set a facility's rules", cmdPolicy},
	{"report", "-facility F -month YYYY-MM", "write the monthly (or -officers, -days) report CSV", cmdReport},
	{"retention", "set -facility F -months N|show|apply", "personal data retention (UU 27/2022)", cmdRetention},
	{"devices", "-facility F", "list a facility's booths and their health", cmdDevices},
	{"events", "-facility F [-device D] [-since T]", "list booth and centre events, oldest first", cmdEvents},
	{"account", "add|list|disable|reset-totp ...", "the console's accounts (the first admin)", cmdAccount},
	{"audit", "verify | list [-facility F]", "check the audit trail's chain, or list it", cmdAudit},
}

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "wartel-gateway: %v\n", err)
		os.Exit(1)
	}
}

// globals are the flags every subcommand takes, and its output streams.
type globals struct {
	state string
	db    string
	by    string // who runs a changing command, for the audit trail
	// changes are what the command changed (g.changed), appended to the
	// audit trail when it returns.
	changes []ledger.AuditEntry
	stdout  io.Writer
	stderr  io.Writer
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		return errUsage
	}
	for _, c := range commands {
		if c.name == args[0] {
			g := &globals{stdout: stdout, stderr: stderr}
			err := c.run(ctx, g, args[1:])
			if aerr := g.flushAudit(ctx); aerr != nil {
				err = errors.Join(err, aerr)
			}
			if err != nil {
				if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
					return err
				}
				return fmt.Errorf("%s: %w", c.name, err)
			}
			return nil
		}
	}
	fmt.Fprintf(stderr, "wartel-gateway: unknown command %q\n", args[0])
	usage(stderr)
	return errUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: wartel-gateway COMMAND [flags]  (each command takes -state DIR and -db URL; -h for its flags)")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %-38s %s\n", c.name, c.args, c.help)
	}
}

// flags returns a flag set for a subcommand with the common flags bound.
func (g *globals) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("wartel-gateway "+name, flag.ContinueOnError)
	fs.SetOutput(g.stderr)
	fs.StringVar(&g.state, "state", DefaultState, "directory holding the CA (ca/) and the SQLite database (gateway.db)")
	fs.StringVar(&g.db, "db", "", "PostgreSQL URL (postgres://…) instead of the SQLite database in -state")
	fs.StringVar(&g.by, "by", "", "your name in the audit trail for a command that changes something (default: $USER)")
	return fs
}

// parse parses args and checks that the named flags were given and that
// exactly nargs arguments remain.
func parse(fs *flag.FlagSet, args []string, nargs int, required ...string) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		return nil, errUsage
	}
	for _, name := range required {
		if fs.Lookup(name).Value.String() == "" {
			fmt.Fprintf(fs.Output(), "%s: flag -%s is required\n", fs.Name(), name)
			fs.Usage()
			return nil, errUsage
		}
	}
	if fs.NArg() != nargs {
		fmt.Fprintf(fs.Output(), "%s: want %d argument(s) after the flags, got %d: %q\n", fs.Name(), nargs, fs.NArg(), fs.Args())
		fs.Usage()
		return nil, errUsage
	}
	return fs.Args(), nil
}

func (g *globals) caDir() string { return filepath.Join(g.state, "ca") }

func (g *globals) loadCA() (*ca.CA, error) {
	c, err := ca.Load(g.caDir())
	if err != nil {
		return nil, fmt.Errorf("open the CA in %s (run wartel-gateway init first, or pass -state): %w", g.caDir(), err)
	}
	return c, nil
}

func (g *globals) openLedger(ctx context.Context) (ledger.Store, error) {
	if g.db != "" {
		s, err := ledger.OpenPostgres(ctx, g.db)
		if err != nil {
			return nil, fmt.Errorf("open the PostgreSQL database given by -db (is it running and reachable?): %w", err)
		}
		return s, nil
	}
	if _, err := os.Stat(g.state); err != nil {
		return nil, fmt.Errorf("state directory %s: %w (run wartel-gateway init first, or pass -state)", g.state, err)
	}
	path := filepath.Join(g.state, "gateway.db")
	s, err := ledger.OpenSQLite(path)
	if err != nil {
		return nil, fmt.Errorf("open the database %s: %w", path, err)
	}
	return s, nil
}

func cmdInit(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("init")
	name := fs.String("name", "Wartelsuspas gateway CA", "name of the new certificate authority")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if err := os.MkdirAll(g.state, 0o700); err != nil {
		return fmt.Errorf("create the state directory: %w", err)
	}
	c, err := ca.Init(g.caDir(), *name)
	if err != nil {
		return fmt.Errorf("create the CA in %s: %w", g.caDir(), err)
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(g.stdout, "created %s; database %s\nkeep %s secret and backed up: every booth trusts it\n",
		c, s, filepath.Join(g.caDir(), ca.KeyFile))
	return nil
}

func cmdEnroll(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("enroll")
	facility := fs.String("facility", "", "facility id, e.g. lapas-cipinang")
	boothName := fs.String("booth", "", "booth id within the facility, e.g. b03")
	out := fs.String("out", "", "directory to write the device bundle into (copied to the booth's SD card)")
	validity := fs.Duration("validity", 8760*time.Hour, "how long the booth's certificate is valid")
	if _, err := parse(fs, args, 0, "facility", "booth", "out"); err != nil {
		return err
	}
	c, err := g.loadCA()
	if err != nil {
		return err
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	b, err := c.Enroll(*facility, *boothName, *validity)
	if err != nil {
		return err
	}
	// The booth's key exists only in this process until its registration
	// and audit entry are committed together: a certificate is admitted
	// without registration, so a bundle written first and a failure (or a
	// kill) before the entry would leave a working booth nobody audited.
	// A failure from here on loses the key and with it the certificate.
	err = g.atomic(ctx, s, func(ctx context.Context) error {
		if err := s.RegisterDevice(ctx, b.Device, time.Now()); err != nil {
			return fmt.Errorf("register %s in the database (no bundle written; run enroll again): %w", b.Device, err)
		}
		g.changed("booth.enroll", *facility, b.Device, nil, map[string]any{"serial": b.Serial, "not_after": b.NotAfter.UTC()})
		return nil
	})
	if err != nil {
		return err
	}
	if err := ca.WriteBundle(*out, b); err != nil {
		return fmt.Errorf("write the bundle of %s (registered and audited as certificate %s, whose key is now lost; run enroll again, and revoke %s with wartel-gateway revoke -serial): %w", b.Device, b.Serial, b.Serial, err)
	}
	fmt.Fprintf(g.stdout, "enrolled %s: certificate %s valid until %s, bundle in %s\n", b.Device, b.Serial, b.NotAfter.UTC().Format(time.RFC3339), *out)
	return nil
}

func cmdRoster(ctx context.Context, g *globals, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(g.stderr, "usage: wartel-gateway roster import -facility F [-by ACCOUNT] [-replace] FILE.csv | roster block -facility F -card C [-unblock] | roster officers list|approve|reject ...")
		return errUsage
	}
	switch args[0] {
	case "import":
		return rosterImport(ctx, g, args[1:])
	case "block":
		return rosterBlock(ctx, g, args[1:])
	case "officers":
		return rosterOfficers(ctx, g, args[1:])
	}
	fmt.Fprintf(g.stderr, "wartel-gateway roster: unknown subcommand %q; want import, block or officers\n", args[0])
	return errUsage
}

func rosterImport(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("roster import")
	facility := fs.String("facility", "", "facility the roster belongs to")
	replace := fs.Bool("replace", false, "also delete the facility's cards that are not in the file")
	by := &g.by // the common -by: the account named in the audit trail, on the numbers and on new officer cards
	rest, err := parse(fs, args, 1, "facility")
	if err != nil {
		return err
	}
	f, err := os.Open(rest[0])
	if err != nil {
		return fmt.Errorf("open the roster: %w", err)
	}
	defer f.Close()
	cards, lines, err := roster.ParseLines(f)
	if err != nil {
		return fmt.Errorf("%s: nothing imported; fix these and import again:\n%w", rest[0], indent(err))
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return g.atomic(ctx, s, func(ctx context.Context) error {
		now, err := s.RosterSince(ctx, *facility, 0)
		if err != nil {
			return fmt.Errorf("read the roster of %s to check the file against it: %w", *facility, err)
		}
		if err := roster.CheckRoles(cards, lines, append(now.Upserts, now.Withheld...)); err != nil {
			return fmt.Errorf("%s: nothing imported; fix these and import again:\n%w", rest[0], indent(err))
		}
		if err := officersNeedBy(*by, cards, lines); err != nil {
			return fmt.Errorf("%s: nothing imported; fix these and import again:\n%w", rest[0], indent(err))
		}
		todo, err := numbersToRegister(ctx, s, *facility, *by, cards, lines)
		if err != nil {
			return fmt.Errorf("%s: nothing imported; fix these and import again:\n%w", rest[0], indent(err))
		}
		version, err := s.UpsertCards(ctx, *facility, *by, cards)
		if err != nil {
			return fmt.Errorf("store %d cards of %s: %w", len(cards), *facility, err)
		}
		for i, n := range todo {
			entry, err := s.RegisterNumber(ctx, *facility, n.entry)
			if err != nil {
				return fmt.Errorf("%s: nothing imported (the cards and numbers are one change): number %d of %d, line %d: %w", rest[0], i+1, len(todo), n.line, err)
			}
			// Each registration is an entry of its own, as numbers add
			// writes: a supervisor approving it later finds who
			// registered it, and when.
			g.changed("numbers.add", *facility, fmt.Sprint(entry.ID), nil, entry)
		}
		byHand, err := s.BlockedByHand(ctx, *facility)
		if err != nil {
			return fmt.Errorf("read the cards of %s blocked by hand (nothing imported): %w", *facility, err)
		}
		was, changed := importChanges(append(now.Upserts, now.Withheld...), cards, byHand)
		g.changed("roster.import", *facility, rest[0], map[string]any{"version": now.Version, "cards": len(now.Upserts), "changed": was},
			map[string]any{"version": version, "cards_in_file": len(cards), "changed": changed})
		deleted := 0
		var gone []string
		defer func() {
			if len(gone) > 0 {
				g.changed("roster.replace", *facility, rest[0], map[string]any{"deleted_cards": gone}, map[string]any{"version": version})
			}
		}()
		if *replace {
			all, err := s.RosterSince(ctx, *facility, 0)
			if err != nil {
				return fmt.Errorf("read the roster of %s to replace it (nothing imported): %w", *facility, err)
			}
			keep := make(map[string]bool, len(cards))
			for _, c := range cards {
				keep[c.Card] = true
			}
			// The roster as booths get it, and the officer cards it withholds
			// pending approval.
			var leave []string
			for _, c := range append(all.Upserts, all.Withheld...) {
				if !keep[c.Card] {
					leave = append(leave, c.Card)
				}
			}
			if len(leave) > 0 {
				if version, err = s.DeleteCards(ctx, *facility, leave); err != nil {
					return fmt.Errorf("delete the %d cards of %s that are not in the file (nothing imported): %w", len(leave), *facility, err)
				}
				gone, deleted = leave, len(leave)
			}
		}
		fmt.Fprintf(g.stdout, "imported %d cards into %s (deleted %d); roster version %d\n", len(cards), *facility, deleted, version)
		if len(todo) > 0 {
			fmt.Fprintf(g.stdout, "registered %d numbers as pending by %s: a supervisor approves each (wartel-gateway numbers list -facility %s -status pending)\n", len(todo), *by, *facility)
		}
		if n, err := pendingOfficers(ctx, s, *facility); err != nil {
			return err
		} else if n > 0 {
			fmt.Fprintf(g.stdout, "%d officer cards pending a supervisor's approval, honoured by no booth until then (wartel-gateway roster officers list -facility %s)\n", n, *facility)
		}
		// byHand as read before the import: an import never lifts a block
		// by hand, nor sets one.
		if open := openInFile(byHand, cards); len(open) > 0 {
			fmt.Fprintf(g.stdout, "%d cards stay blocked by hand though the file does not block them (an import never lifts an officer's block): %s; lift one with wartel-gateway roster block -facility %s -card CARD -unblock\n",
				len(open), listed(open, 20), *facility)
		}
		return nil
	})
}

// importChanges names, for the audit trail, the cards of an import that
// add or change a card: was holds each changed card as it stood in the
// roster held (before), changed as the file has it. A card the file
// repeats unchanged is left out, as the ledger leaves it, and so is the
// block of a card blocked by hand (byHand), which an import never lifts;
// a file's numbers are entries of their own (numbers.add).
func importChanges(held, file []record.CardInfo, byHand []string) (was, changed []auditCard) {
	before := make(map[string]record.CardInfo, len(held))
	for _, c := range held {
		before[c.Card] = c
	}
	hand := make(map[string]bool, len(byHand))
	for _, card := range byHand {
		hand[card] = true
	}
	was, changed = []auditCard{}, []auditCard{}
	for _, c := range file {
		old, ok := before[c.Card]
		same := old
		if hand[c.Card] {
			same.Blocked = c.Blocked // the block stands whatever the file says
		}
		if ok && cardOfAudit(same) == cardOfAudit(c) {
			continue
		}
		if ok {
			was = append(was, cardOfAudit(old))
		}
		changed = append(changed, cardOfAudit(c))
	}
	return was, changed
}

// auditCard is a roster card as an audit entry names it.
type auditCard struct {
	Card         string      `json:"card"`
	Role         record.Role `json:"role"`
	Person       string      `json:"person"`
	Name         string      `json:"name,omitempty"`
	Block        string      `json:"block,omitempty"`
	AllowanceMin float64     `json:"allowance_min,omitempty"`
	Blocked      bool        `json:"blocked,omitempty"`
}

func cardOfAudit(c record.CardInfo) auditCard {
	return auditCard{Card: c.Card, Role: c.Role, Person: c.Person, Name: c.Name, Block: c.Block, AllowanceMin: c.Allowance.Minutes(), Blocked: c.Blocked}
}

// indent puts each line of err's message on its own indented line.
func indent(err error) error {
	return errors.New("  " + strings.ReplaceAll(err.Error(), "\n", "\n  "))
}

func rosterBlock(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("roster block")
	facility := fs.String("facility", "", "facility of the card")
	card := fs.String("card", "", "card id, e.g. em:0400D8B2A5")
	unblock := fs.Bool("unblock", false, "lift the block instead")
	if _, err := parse(fs, args, 0, "facility", "card"); err != nil {
		return err
	}
	id, err := cardid.Parse(*card)
	if err != nil {
		return fmt.Errorf("-card: %w", err)
	}
	s, err := g.openLedger(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return g.atomic(ctx, s, func(ctx context.Context) error {
		before, err := cardOf(ctx, s, *facility, string(id))
		if err != nil {
			return err
		}
		version, err := s.BlockCard(ctx, *facility, string(id), !*unblock)
		if err != nil {
			verb := "block"
			if *unblock {
				verb = "unblock"
			}
			return fmt.Errorf("%s %s in %s: %w", verb, id, *facility, err)
		}
		after := map[string]any{"card": string(id), "blocked": !*unblock, "version": version}
		action := "roster.block"
		if *unblock {
			action = "roster.unblock"
		}
		g.changed(action, *facility, string(id), before, after)
		verb := "blocked"
		if *unblock {
			verb = "unblocked"
		}
		fmt.Fprintf(g.stdout, "%s %s in %s; roster version %d (booths apply it at their next sync)\n", verb, id, *facility, version)
		return nil
	})
}

// cardOf is a card as the roster holds it, for the audit trail's before
// (nil: not in the roster).
func cardOf(ctx context.Context, s ledger.Store, facility, card string) (any, error) {
	r, err := s.RosterSince(ctx, facility, 0)
	if err != nil {
		return nil, fmt.Errorf("read the roster of %s: %w", facility, err)
	}
	for _, c := range r.Upserts {
		if c.Card == card {
			return map[string]any{"card": c.Card, "role": c.Role, "person": c.Person, "blocked": c.Blocked}, nil
		}
	}
	// An officer card pending approval is in the roster, withheld from the booths.
	return officerCard(ctx, s, facility, card)
}
