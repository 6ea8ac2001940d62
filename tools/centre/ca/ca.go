// Package ca is the certificate authority of the booths: it issues each
// booth a client certificate that names the booth ("FACILITY/BOOTH"), the
// gateway its server certificate, and keeps the list of revoked booth
// certificates. The gateway's TLS configuration (ServerTLSConfig) accepts a
// client only with a valid, unrevoked certificate of this CA, and every
// request is bound to the device the certificate names (DeviceFromCert).
//
// Keys are ECDSA P-256; only the standard library is used. The CA lives in
// one directory (see docs/pki.md):
//
//	ca.key        the CA's private key, mode 0600 — the crown jewels
//	ca.crt        the CA certificate, given to every booth
//	issued.json   every certificate issued: serial, device, validity
//	revoked.json  revoked serials
package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"
	"wartelsuspas/kiosk/bundle"
)

// File names in the CA directory.
const (
	KeyFile     = "ca.key"
	CertFile    = "ca.crt"
	IssuedFile  = "issued.json"
	RevokedFile = "revoked.json"
)

// Validity of the CA certificate, and the backdating of every certificate's
// NotBefore so that a booth whose clock lags a little still accepts it.
const (
	caValidity = 10 * 365 * 24 * time.Hour
	backdate   = 5 * time.Minute
)

// organisation goes into every subject, so a certificate says what it is.
const organisation = "Wartelsuspas"

// CA is an open certificate authority directory.
type CA struct {
	// Now is the CA's clock for issuing (nil: time.Now). Tests set it to
	// issue certificates that are already expired.
	Now func() time.Time

	dir  string
	cert *x509.Certificate
	pem  []byte
	key  *ecdsa.PrivateKey

	mu      sync.Mutex // guards the files issued.json and revoked.json and the cache below
	revoked revocations
}

// Init creates a new CA named name in dir (created if missing, mode 0700)
// and returns it. It refuses a directory that already holds a CA key, so a
// slip of the finger never replaces the CA every booth trusts.
func Init(dir, name string) (*CA, error) {
	if name == "" {
		return nil, errors.New("ca: init: empty CA name")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ca: init: %w", err)
	}
	keyPath := filepath.Join(dir, KeyFile)
	if _, err := os.Stat(keyPath); err == nil {
		return nil, fmt.Errorf("ca: init: %s already exists: this directory holds a CA already; use it (ca.Load) or choose another directory", keyPath)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ca: init: generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, fmt.Errorf("ca: init: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{organisation}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // it signs booths and the gateway, never another CA
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("ca: init: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("ca: init: encode key: %w", err)
	}
	// The key goes first and exclusively: two concurrent inits cannot both win.
	if err := writeNew(keyPath, pemBlock("PRIVATE KEY", keyDER), 0o600); err != nil {
		return nil, fmt.Errorf("ca: init: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, CertFile), pemBlock("CERTIFICATE", der), 0o644); err != nil {
		return nil, fmt.Errorf("ca: init: %w", err)
	}
	return Load(dir)
}

// Load opens the CA in dir. It refuses a key file that others may read,
// a key that does not belong to the certificate, and a corrupt revocation
// list.
func Load(dir string) (*CA, error) {
	keyPath := filepath.Join(dir, KeyFile)
	fi, err := os.Stat(keyPath)
	if err != nil {
		return nil, fmt.Errorf("ca: load: %w (is %s a CA directory? create one with init)", err, dir)
	}
	if mode := fi.Mode().Perm(); mode&0o077 != 0 {
		return nil, fmt.Errorf("ca: load: %s has mode %#o: others can read the CA key; run chmod 600 %s and consider the CA compromised if it was copied", keyPath, mode, keyPath)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("ca: load: %w", err)
	}
	k, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("ca: load %s: %w", keyPath, err)
	}
	certPath := filepath.Join(dir, CertFile)
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("ca: load: %w", err)
	}
	cert, err := bundle.ParseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("ca: load %s: %w", certPath, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("ca: load %s: not a CA certificate", certPath)
	}
	if !k.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("ca: load: %s does not belong to %s: the directory mixes two CAs", keyPath, certPath)
	}
	c := &CA{dir: dir, cert: cert, pem: certPEM, key: k}
	if _, err := c.revokedSet(); err != nil {
		return nil, fmt.Errorf("ca: load: %w", err)
	}
	return c, nil
}

// Certificate returns the CA certificate.
func (c *CA) Certificate() *x509.Certificate { return c.cert }

// CertPEM returns the CA certificate in PEM, as booths receive it.
func (c *CA) CertPEM() []byte { return append([]byte(nil), c.pem...) }

// String names the CA for logs.
func (c *CA) String() string {
	return fmt.Sprintf("ca %q in %s (until %s)", c.cert.Subject.CommonName, c.dir, c.cert.NotAfter.UTC().Format(time.DateOnly))
}

func (c *CA) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// sign issues a certificate for pub from tmpl, with a fresh serial and the
// CA's validity bound.
func (c *CA) sign(tmpl *x509.Certificate, pub any) (*x509.Certificate, []byte, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	if tmpl.NotAfter.After(c.cert.NotAfter) {
		return nil, nil, fmt.Errorf("validity until %s outlives the CA (until %s): shorten it or renew the CA",
			tmpl.NotAfter.UTC().Format(time.RFC3339), c.cert.NotAfter.UTC().Format(time.RFC3339))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, pub, c.key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return cert, pemBlock("CERTIFICATE", der), nil
}

// newSerial returns a random positive 128-bit serial number.
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil // never zero
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func parseKey(b []byte) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("no PEM PRIVATE KEY block")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want ECDSA", k)
	}
	return ek, nil
}

// writeNew creates path with data, failing if it exists.
func writeNew(path string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeFileAtomic replaces path with data, mode perm, through a temporary
// file and a rename, so a reader (another process) sees the old file or
// the new one, never half of one.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
