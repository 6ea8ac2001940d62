package ledger

import (
	"errors"
	"testing"
	"time"
)

// TestRevocation: a certificate revoked by serial is refused and its
// device's other certificates are not; a revoked device refuses every
// certificate until it is registered again, but a serial revoked stays
// revoked; a device never enrolled cannot be revoked and leaves no row.
func TestRevocation(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			check := func(step, device, serial string, want bool) {
				t.Helper()
				got, err := s.CertificateRevoked(ctx, device, serial)
				if err != nil || got != want {
					t.Errorf("%s: CertificateRevoked(%s, %s) = %v, %v; want %v", step, device, serial, got, err, want)
				}
			}
			if err := s.RegisterDevice(ctx, "lp/b03", t0); err != nil {
				t.Fatal(err)
			}
			check("enrolled", "lp/b03", "aa01", false)
			if err := s.RevokeCertificate(ctx, "lp/b03", "aa01", t0); err != nil {
				t.Fatal(err)
			}
			if err := s.RevokeCertificate(ctx, "lp/b03", "aa01", t0.Add(time.Minute)); err != nil {
				t.Fatalf("second revocation of one serial: %v", err)
			}
			check("old serial revoked", "lp/b03", "aa01", true)
			check("old serial revoked", "lp/b03", "bb02", false)
			if r, err := s.DeviceRevoked(ctx, "lp/b03"); err != nil || r {
				t.Errorf("device revoked %v, %v after one serial's revocation; want not", r, err)
			}
			if err := s.RevokeDevice(ctx, "lp/b03", t0); err != nil {
				t.Fatal(err)
			}
			check("device revoked", "lp/b03", "bb02", true)
			if err := s.RegisterDevice(ctx, "lp/b03", t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			check("re-enrolled", "lp/b03", "cc03", false)
			check("re-enrolled", "lp/b03", "aa01", true)

			if err := s.RevokeDevice(ctx, "lp/b99", t0); !errors.Is(err, ErrUnknownDevice) {
				t.Errorf("revoke of a device never enrolled: %v, want ErrUnknownDevice", err)
			}
			ds, err := s.Devices(ctx, "lp")
			if err != nil || len(ds) != 1 || ds[0].Device != "lp/b03" {
				t.Errorf("devices after refusing lp/b99: %+v, %v; want lp/b03 only", ds, err)
			}
			if err := s.RevokeCertificate(ctx, "lp", "aa01", t0); err == nil {
				t.Error("a certificate revoked for a device id that is not FACILITY/BOOTH")
			}
		})
	}
}
