// Package bundle is the booth's half of the PKI: the device bundle on the SD card (its key, its
// certificate, the CA certificate and a manifest of their digests), read and checked (Read, Check);
// the booth's TLS client configuration (ClientTLSConfig); and device ids, "FACILITY/BOOTH", as a
// certificate names them (DeviceID, DeviceFromCert). It issues nothing: signing, enrolment and
// revocation are the gateway's (tools/centre/ca), which uses this package for the same names and
// the same bundle format, so both ends agree by construction. Standard library only (docs/pki.md).
package bundle

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// URIScheme and uriHost make a device's URI SAN: wartel://device/FACILITY/BOOTH.
const (
	URIScheme = "wartel"
	uriHost   = "device"
)

// Bundle files, as the CA writes them (ca.WriteBundle) and the booth reads them (Read).
const (
	KeyFile      = "booth.key"
	CertFile     = "booth.crt"
	CAFile       = "ca.crt"
	ManifestFile = "bundle.json"
)

// Bundle is what a booth needs to talk to the gateway: its key, its
// certificate and the CA certificate that the gateway's certificate chains
// to.
type Bundle struct {
	KeyPEM   []byte
	CertPEM  []byte
	CAPEM    []byte
	Device   string // "FACILITY/BOOTH"
	Serial   string // the certificate's serial, lower-case hex
	NotAfter time.Time
}

// Manifest is bundle.json: who the bundle is for and the SHA-256 of each
// file, so that the flashing tool and the booth can tell a bundle that was
// altered or assembled from two enrolments.
type Manifest struct {
	Facility string            `json:"facility"`
	Booth    string            `json:"booth"`
	Serial   string            `json:"serial"`
	NotAfter time.Time         `json:"not_after"`
	SHA256   map[string]string `json:"sha256"` // file name → hex digest
}

// DeviceID returns the booth id "FACILITY/BOOTH" after checking both names.
func DeviceID(facility, booth string) (string, error) {
	if err := checkName("facility", facility); err != nil {
		return "", err
	}
	if err := checkName("booth", booth); err != nil {
		return "", err
	}
	return facility + "/" + booth, nil
}

// checkName allows what is safe in a URI path, a file name and a log line:
// lower-case letters, digits, '-', '_' and '.', starting with a letter or digit.
func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("empty %s name", what)
	}
	if len(s) > 64 {
		return fmt.Errorf("%s name %q is longer than 64 characters", what, s)
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || i > 0 && (r == '-' || r == '_' || r == '.')
		if !ok {
			return fmt.Errorf("%s name %q: character %q at %d not allowed (use a-z, 0-9, and - _ . after the first)", what, s, r, i)
		}
	}
	return nil
}

// Serial returns cert's serial number as the CA writes it: lower-case hex.
func Serial(cert *x509.Certificate) string { return cert.SerialNumber.Text(16) }

// ParseCert parses the first PEM CERTIFICATE block of b.
func ParseCert(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// DeviceURI is the URI SAN that names booth of facility in its certificate.
func DeviceURI(facility, booth string) *url.URL {
	return &url.URL{Scheme: URIScheme, Host: uriHost, Path: "/" + facility + "/" + booth}
}

// DeviceFromCert returns the booth a client certificate names. The URI SAN
// wartel://device/FACILITY/BOOTH is the identity; the Subject CN must agree
// with it, so that no tool that shows only one of them can be misled.
func DeviceFromCert(cert *x509.Certificate) (facility, booth string, err error) {
	var found *url.URL
	for _, u := range cert.URIs {
		if u.Scheme != URIScheme {
			continue
		}
		if found != nil {
			return "", "", fmt.Errorf("certificate %s names two devices (%s, %s)", Serial(cert), found, u)
		}
		found = u
	}
	if found == nil {
		return "", "", fmt.Errorf("certificate %s (CN %q) names no device: no %s:// URI", Serial(cert), cert.Subject.CommonName, URIScheme)
	}
	parts := strings.Split(strings.TrimPrefix(found.Path, "/"), "/")
	if found.Host != uriHost || len(parts) != 2 || found.RawQuery != "" || found.Fragment != "" || found.User != nil {
		return "", "", fmt.Errorf("certificate %s: device URI %s is not %s://%s/FACILITY/BOOTH", Serial(cert), found, URIScheme, uriHost)
	}
	device, err := DeviceID(parts[0], parts[1])
	if err != nil {
		return "", "", fmt.Errorf("certificate %s: device URI %s: %w", Serial(cert), found, err)
	}
	if cn := cert.Subject.CommonName; cn != device {
		return "", "", fmt.Errorf("certificate %s: CN %q does not match its device URI %s", Serial(cert), cn, found)
	}
	return parts[0], parts[1], nil
}

// NewManifest describes b, checking that its certificate names b.Device; the file digests are
// left for the writer to fill in as it writes each file.
func NewManifest(b Bundle) (Manifest, error) {
	cert, err := ParseCert(b.CertPEM)
	if err != nil {
		return Manifest{}, fmt.Errorf("certificate: %w", err)
	}
	facility, booth, err := DeviceFromCert(cert)
	if err != nil {
		return Manifest{}, err
	}
	if d := facility + "/" + booth; d != b.Device {
		return Manifest{}, fmt.Errorf("bundle says device %q, its certificate names %q", b.Device, d)
	}
	return Manifest{Facility: facility, Booth: booth, Serial: Serial(cert), NotAfter: cert.NotAfter.UTC(), SHA256: map[string]string{}}, nil
}

// Digest is a file's digest as the manifest lists it: SHA-256, lower-case hex.
func Digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Read reads and checks the bundle in dir: every file must match the
// digest in bundle.json, the key must belong to the certificate, the
// certificate must chain to the bundle's CA and name the manifest's device.
// The error names the file at fault.
func Read(dir string) (Bundle, error) {
	mpath := filepath.Join(dir, ManifestFile)
	mb, err := os.ReadFile(mpath)
	if err != nil {
		return Bundle{}, fmt.Errorf("bundle: read: %w (an incomplete bundle: enrol the booth again)", err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(mb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Bundle{}, fmt.Errorf("bundle: read: %s: %w", mpath, err)
	}
	data := make(map[string][]byte)
	for _, name := range []string{KeyFile, CertFile, CAFile} {
		path := filepath.Join(dir, name)
		want, ok := m.SHA256[name]
		if !ok {
			return Bundle{}, fmt.Errorf("bundle: read: %s lists no digest for %s", mpath, name)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return Bundle{}, fmt.Errorf("bundle: read: %w", err)
		}
		if got := Digest(b); got != want {
			return Bundle{}, fmt.Errorf("bundle: read: %s does not match %s (sha256 %.12s…, manifest says %.12s…): the bundle was altered or mixed with another; enrol the booth again", path, ManifestFile, got, want)
		}
		data[name] = b
	}
	if len(m.SHA256) != 3 {
		return Bundle{}, fmt.Errorf("bundle: read: %s lists %d files, want %s, %s and %s", mpath, len(m.SHA256), KeyFile, CertFile, CAFile)
	}
	b := Bundle{KeyPEM: data[KeyFile], CertPEM: data[CertFile], CAPEM: data[CAFile]}
	cert, err := Check(b)
	if err != nil {
		return Bundle{}, fmt.Errorf("bundle: read %s: %w", dir, err)
	}
	facility, booth, _ := DeviceFromCert(cert) // checked by Check
	if facility != m.Facility || booth != m.Booth || Serial(cert) != m.Serial || !cert.NotAfter.Equal(m.NotAfter) {
		return Bundle{}, fmt.Errorf("bundle: read: %s says %s/%s serial %s, %s holds %s/%s serial %s", mpath, m.Facility, m.Booth, m.Serial, CertFile, facility, booth, Serial(cert))
	}
	b.Device, b.Serial, b.NotAfter = facility+"/"+booth, m.Serial, cert.NotAfter
	return b, nil
}

// Check checks that b's key belongs to its certificate, which names a
// device and chains to b's CA for client authentication, and returns the
// certificate. Expiry is not checked here: the gateway refuses an expired
// certificate and the technician sees why.
func Check(b Bundle) (*x509.Certificate, error) {
	pair, err := tls.X509KeyPair(b.CertPEM, b.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", KeyFile, CertFile, err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CertFile, err)
	}
	caCert, err := ParseCert(b.CAPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CAFile, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	_, err = cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: cert.NotBefore.Add(time.Second), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return nil, fmt.Errorf("%s is not a booth certificate of %s: %w", CertFile, CAFile, err)
	}
	if _, _, err := DeviceFromCert(cert); err != nil {
		return nil, fmt.Errorf("%s: %w", CertFile, err)
	}
	return cert, nil
}

// ClientOpts are the booth's choices for ClientTLSConfig.
type ClientOpts struct {
	// ServerName is the gateway's host as the booth dials it, a name or an
	// address; the gateway's certificate must be issued for it. Required.
	ServerName string
	// ClockTrusted says whether the booth's wall clock has been confirmed
	// since boot (nil: always). See ClientTLSConfig.
	ClockTrusted func() bool
}

// ClientTLSConfig returns the booth's TLS configuration: its certificate as
// the client identity, TLS 1.3, and the gateway's certificate verified
// against the bundle's CA for opts.ServerName.
//
// A Raspberry Pi has no battery clock and sets its clock from the gateway's
// heartbeat, so while opts.ClockTrusted says no, the gateway certificate's
// validity period is not checked — the chain, the usage and the host name
// still are. The gateway's key never leaves its memory and its certificate
// lives 90 days, so accepting an expired one for that while is a small
// risk; refusing would leave the booth unable ever to learn the time.
func ClientTLSConfig(b Bundle, opts ClientOpts) (*tls.Config, error) {
	if opts.ServerName == "" {
		return nil, fmt.Errorf("bundle: client TLS for %s: no gateway server name to verify its certificate against", b.Device)
	}
	if _, err := Check(b); err != nil {
		return nil, fmt.Errorf("bundle: client TLS for %s: %w", b.Device, err)
	}
	pair, err := tls.X509KeyPair(b.CertPEM, b.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("bundle: client TLS for %s: %w", b.Device, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(b.CAPEM) {
		return nil, fmt.Errorf("bundle: client TLS for %s: no certificate in the CA PEM", b.Device)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		MinVersion:   tls.VersionTLS13,
		ServerName:   opts.ServerName,
		// Verification is done by verifyGateway instead, to choose the
		// time it uses; it runs on every handshake, resumed ones too.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyGateway(cs, roots, opts)
		},
	}, nil
}

func verifyGateway(cs tls.ConnectionState, roots *x509.CertPool, opts ClientOpts) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("bundle: gateway sent no certificate")
	}
	leaf := cs.PeerCertificates[0]
	vo := x509.VerifyOptions{
		Roots:         roots,
		Intermediates: x509.NewCertPool(),
		DNSName:       opts.ServerName,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, c := range cs.PeerCertificates[1:] {
		vo.Intermediates.AddCert(c)
	}
	if opts.ClockTrusted != nil && !opts.ClockTrusted() {
		vo.CurrentTime = leaf.NotBefore.Add(time.Second) // a time at which it is valid
	}
	if _, err := leaf.Verify(vo); err != nil {
		return fmt.Errorf("bundle: gateway certificate for %s: %w", opts.ServerName, err)
	}
	return nil
}
