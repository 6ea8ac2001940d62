package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/tools/centre/ca"
	"wartelsuspas/tools/centre/ledger"
)

// cmdRevoke stops a booth (every certificate issued to it so far) or one
// certificate by its serial (a rotation's old bundle). It names what the CA
// issued or fails, writing nothing.
func cmdRevoke(ctx context.Context, g *globals, args []string) error {
	fs := g.flags("revoke")
	device := fs.String("device", "", "booth to revoke, FACILITY/BOOTH: every certificate issued to it so far")
	serial := fs.String("serial", "", "one certificate to revoke, by the serial in its bundle.json")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	switch {
	case fs.NArg() == 1 && *device == "" && *serial == "":
		if id := fs.Arg(0); strings.Contains(id, "/") {
			*device = id
		} else {
			*serial = id
		}
	case fs.NArg() == 0 && (*device == "") != (*serial == ""):
	default:
		fmt.Fprintf(fs.Output(), "%s: name one booth (FACILITY/BOOTH) or one certificate serial, as an argument or with -device or -serial\n", fs.Name())
		fs.Usage()
		return errUsage
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
	if *serial != "" {
		return revokeSerial(ctx, g, c, s, *serial)
	}
	return revokeDevice(ctx, g, c, s, *device)
}

// revokeDevice revokes every certificate of device. The database first:
// every replica checks it on every request and handshake; then each serial
// by itself, so that a later re-enrolment (which lifts the device's
// revocation) does not readmit an old bundle at a replica whose copy of the
// CA directory lacks this revoked.json.
func revokeDevice(ctx context.Context, g *globals, c *ca.CA, s ledger.Store, device string) error {
	f, b, _ := strings.Cut(device, "/")
	if _, err := bundle.DeviceID(f, b); err != nil {
		return fmt.Errorf("%q is not a booth id FACILITY/BOOTH, e.g. lapas-cipinang/b03: %w", device, err)
	}
	serials, err := c.Issued(device)
	if err != nil {
		return err
	}
	now := time.Now()
	// The database's revocations and their audit entry are one
	// transaction (globals.atomic): a booth is never refused by a change
	// the trail does not show.
	err = g.atomic(ctx, s, func(ctx context.Context) error {
		err := s.RevokeDevice(ctx, device, now)
		if errors.Is(err, ledger.ErrUnknownDevice) {
			if len(serials) == 0 {
				return fmt.Errorf("%s was never enrolled at this gateway (no certificate of its CA names it, the database does not know it): nothing revoked; check the id with wartel-gateway devices -facility %s", device, f)
			}
			// Enrolled by the CA, but its registration never reached the
			// database (enroll failed after issuing): register it to revoke it.
			if err = s.RegisterDevice(ctx, device, now); err == nil {
				err = s.RevokeDevice(ctx, device, now)
			}
		}
		if err != nil {
			return fmt.Errorf("revoke %s in the database: %w", device, err)
		}
		for _, serial := range serials {
			if err := s.RevokeCertificate(ctx, device, serial, now); err != nil {
				return fmt.Errorf("revoke certificate %s of %s in the database: %w", serial, device, err)
			}
		}
		g.changed("booth.revoke", f, device, nil, map[string]any{"certificates": serials})
		return nil
	})
	if err != nil {
		return err
	}
	if len(serials) > 0 {
		if err := c.Revoke(device); err != nil {
			return fmt.Errorf("revoke the certificates of %s (the database already refuses it): %w", device, err)
		}
	}
	fmt.Fprintf(g.stdout, "revoked %s (%d certificate(s)): refused from its next request; enroll it again to readmit it\n", device, len(serials))
	return nil
}

// revokeSerial revokes one certificate; the device's others keep working.
func revokeSerial(ctx context.Context, g *globals, c *ca.CA, s ledger.Store, arg string) error {
	serial, ok := ca.NormalSerial(arg)
	if !ok {
		return fmt.Errorf("%q is neither a booth id FACILITY/BOOTH nor a certificate serial (hexadecimal, as in bundle.json)", arg)
	}
	device, err := c.DeviceOfSerial(serial)
	if err != nil {
		return fmt.Errorf("%w: nothing revoked", err)
	}
	fac, _, _ := strings.Cut(device, "/")
	err = g.atomic(ctx, s, func(ctx context.Context) error {
		if err := s.RevokeCertificate(ctx, device, serial, time.Now()); err != nil {
			return fmt.Errorf("revoke certificate %s of %s in the database: %w", serial, device, err)
		}
		g.changed("certificate.revoke", fac, device, nil, map[string]any{"serial": serial})
		return nil
	})
	if err != nil {
		return err
	}
	if err := c.Revoke(serial); err != nil {
		return fmt.Errorf("revoke certificate %s of %s in the CA (the database already refuses it): %w", serial, device, err)
	}
	left, err := c.Issued(device)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "revoked certificate %s of %s: refused from its next request; %s's other certificates (%d issued in all) are not affected\n", serial, device, device, len(left))
	return nil
}
