package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrUnknownDevice is returned for a device id the database never
// registered (wartel-gateway enroll registers it).
var ErrUnknownDevice = errors.New("no such device: never enrolled at this gateway")

// RevokeCertificate implements Store.
func (s *sqlStore) RevokeCertificate(ctx context.Context, device, serial string, now time.Time) error {
	if _, err := facilityOf(device); err != nil {
		return s.errf("revoke certificate", err)
	}
	if serial == "" {
		return s.errf("revoke certificate of "+device, fmt.Errorf("empty serial"))
	}
	if _, err := s.on(ctx).ExecContext(ctx, s.q(`INSERT INTO revoked_certs (serial, device, revoked_ms) VALUES (?, ?, ?)
		ON CONFLICT (serial) DO NOTHING`), serial, device, msOf(now)); err != nil {
		return s.errf(fmt.Sprintf("revoke certificate %s of %s", serial, device), err)
	}
	return nil
}

// CertificateRevoked implements Store.
func (s *sqlStore) CertificateRevoked(ctx context.Context, device, serial string) (bool, error) {
	var revoked bool
	// Every request of every booth asks this: prepared where that pays.
	q := s.q(`SELECT EXISTS (SELECT 1 FROM devices WHERE device = ? AND revoked_ms IS NOT NULL)
		OR EXISTS (SELECT 1 FROM revoked_certs WHERE serial = ?)`)
	row := s.on(ctx).QueryRowContext
	if st := s.prepared(q); st != nil && s.joined(ctx) == nil { // a prepared statement runs on the pool
		row = func(ctx context.Context, _ string, args ...any) *sql.Row { return st.QueryRowContext(ctx, args...) }
	}
	err := row(ctx, q, device, serial).Scan(&revoked)
	s.prepareMissed(ctx)
	if err != nil {
		return false, s.errf(fmt.Sprintf("revocation check %s certificate %s", device, serial), err)
	}
	return revoked, nil
}
