package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"wartelsuspas/kiosk/bundle"
)

// Enroll issues booth of facility a new key and client certificate valid
// for validity from now, records it in issued.json, and returns the bundle.
// Enrolling a booth again (a new Pi, a rotation) issues a new certificate;
// the old one stays valid until it expires or is revoked.
func (c *CA) Enroll(facility, booth string, validity time.Duration) (bundle.Bundle, error) {
	device, err := bundle.DeviceID(facility, booth)
	if err != nil {
		return bundle.Bundle{}, fmt.Errorf("ca: enroll: %w", err)
	}
	if validity <= 0 {
		return bundle.Bundle{}, fmt.Errorf("ca: enroll %s: validity %v is not positive", device, validity)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return bundle.Bundle{}, fmt.Errorf("ca: enroll %s: generate key: %w", device, err)
	}
	now := c.now()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: device, Organization: []string{organisation}, OrganizationalUnit: []string{facility}},
		URIs:        []*url.URL{bundle.DeviceURI(facility, booth)},
		NotBefore:   now.Add(-backdate),
		NotAfter:    now.Add(validity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	cert, certPEM, err := c.sign(tmpl, &key.PublicKey)
	if err != nil {
		return bundle.Bundle{}, fmt.Errorf("ca: enroll %s: %w", device, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return bundle.Bundle{}, fmt.Errorf("ca: enroll %s: encode key: %w", device, err)
	}
	if err := c.recordIssued(issued{Serial: bundle.Serial(cert), Device: device, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter}); err != nil {
		return bundle.Bundle{}, fmt.Errorf("ca: enroll %s: %w", device, err)
	}
	return bundle.Bundle{
		KeyPEM:   pemBlock("PRIVATE KEY", keyDER),
		CertPEM:  certPEM,
		CAPEM:    c.CertPEM(),
		Device:   device,
		Serial:   bundle.Serial(cert),
		NotAfter: cert.NotAfter,
	}, nil
}

// WriteBundle writes b into dir (created mode 0700): booth.key (mode
// 0600), booth.crt, ca.crt, and last bundle.json, so a bundle cut short by a
// crash has no manifest and is refused by bundle.Read.
func WriteBundle(dir string, b bundle.Bundle) error {
	m, err := bundle.NewManifest(b)
	if err != nil {
		return fmt.Errorf("ca: write bundle: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("ca: write bundle: %w", err)
	}
	files := []struct {
		name string
		data []byte
		perm os.FileMode
	}{{bundle.KeyFile, b.KeyPEM, 0o600}, {bundle.CertFile, b.CertPEM, 0o644}, {bundle.CAFile, b.CAPEM, 0o644}}
	for _, f := range files {
		m.SHA256[f.name] = bundle.Digest(f.data)
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data, f.perm); err != nil {
			return fmt.Errorf("ca: write bundle %s: %w", b.Device, err)
		}
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("ca: write bundle %s: %w", b.Device, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, bundle.ManifestFile), append(mb, '\n'), 0o644); err != nil {
		return fmt.Errorf("ca: write bundle %s: %w", b.Device, err)
	}
	return nil
}
