package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"wartelsuspas/kiosk/bundle"
)

// Enroll issues booth of facility a new key and client certificate valid
// for validity from now, records it in issued.json, and returns the bundle.
// Enrolling a booth again (a new Pi, a rotation) issues a new certificate;
// the old one stays valid until it expires or is revoked.
func (c *CA) Enroll(facility, booth string, validity time.Duration) (bundle.Bundle, error) {
	b, e, err := c.issueBooth(facility, booth, validity)
	if err != nil {
		return bundle.Bundle{}, err
	}
	if err := c.recordIssued(e); err != nil {
		return bundle.Bundle{}, fmt.Errorf("ca: enroll %s: %w", b.Device, err)
	}
	return b, nil
}

// Booth names one booth to enrol: its facility and booth id.
type Booth struct{ Facility, Booth string }

// EnrollAll is Enroll for many booths at once: the keys are generated and
// signed on every core, and issued.json is written once for the lot, not
// once a booth (rewriting it each time makes enrolling n booths cost n²).
// A fleet's first enrolment and the load generator of tools/testbed/country
// use it. On error nothing is recorded in issued.json.
func (c *CA) EnrollAll(booths []Booth, validity time.Duration) ([]bundle.Bundle, error) {
	out := make([]bundle.Bundle, len(booths))
	entries := make([]issued, len(booths))
	errs := make([]error, len(booths))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				out[i], entries[i], errs[i] = c.issueBooth(booths[i].Facility, booths[i].Booth, validity)
			}
		})
	}
	for i := range booths {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := c.recordIssued(entries...); err != nil {
		return nil, fmt.Errorf("ca: enroll %d booths: %w", len(booths), err)
	}
	return out, nil
}

// issueBooth makes the key and certificate of one booth and the line of
// issued.json that records it, without writing it.
func (c *CA) issueBooth(facility, booth string, validity time.Duration) (bundle.Bundle, issued, error) {
	device, err := bundle.DeviceID(facility, booth)
	if err != nil {
		return bundle.Bundle{}, issued{}, fmt.Errorf("ca: enroll: %w", err)
	}
	if validity <= 0 {
		return bundle.Bundle{}, issued{}, fmt.Errorf("ca: enroll %s: validity %v is not positive", device, validity)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return bundle.Bundle{}, issued{}, fmt.Errorf("ca: enroll %s: generate key: %w", device, err)
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
		return bundle.Bundle{}, issued{}, fmt.Errorf("ca: enroll %s: %w", device, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return bundle.Bundle{}, issued{}, fmt.Errorf("ca: enroll %s: encode key: %w", device, err)
	}
	return bundle.Bundle{
			KeyPEM:   pemBlock("PRIVATE KEY", keyDER),
			CertPEM:  certPEM,
			CAPEM:    c.CertPEM(),
			Device:   device,
			Serial:   bundle.Serial(cert),
			NotAfter: cert.NotAfter,
		}, issued{Serial: bundle.Serial(cert), Device: device, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter},
		nil
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
