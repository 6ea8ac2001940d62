package ca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
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

// Bundle files, as WriteDir writes them and the booth reads them.
const (
	BundleKey      = "booth.key"
	BundleCert     = "booth.crt"
	BundleCA       = "ca.crt"
	BundleManifest = "bundle.json"
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

// Enroll issues booth of facility a new key and client certificate valid
// for validity from now, records it in issued.json, and returns the bundle.
// Enrolling a booth again (a new Pi, a rotation) issues a new certificate;
// the old one stays valid until it expires or is revoked.
func (c *CA) Enroll(facility, booth string, validity time.Duration) (Bundle, error) {
	device, err := DeviceID(facility, booth)
	if err != nil {
		return Bundle{}, fmt.Errorf("ca: enroll: %w", err)
	}
	if validity <= 0 {
		return Bundle{}, fmt.Errorf("ca: enroll %s: validity %v is not positive", device, validity)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Bundle{}, fmt.Errorf("ca: enroll %s: generate key: %w", device, err)
	}
	now := c.now()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: device, Organization: []string{organisation}, OrganizationalUnit: []string{facility}},
		URIs:        []*url.URL{deviceURI(facility, booth)},
		NotBefore:   now.Add(-backdate),
		NotAfter:    now.Add(validity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	cert, certPEM, err := c.sign(tmpl, &key.PublicKey)
	if err != nil {
		return Bundle{}, fmt.Errorf("ca: enroll %s: %w", device, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Bundle{}, fmt.Errorf("ca: enroll %s: encode key: %w", device, err)
	}
	if err := c.recordIssued(issued{Serial: Serial(cert), Device: device, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter}); err != nil {
		return Bundle{}, fmt.Errorf("ca: enroll %s: %w", device, err)
	}
	return Bundle{
		KeyPEM:   pemBlock("PRIVATE KEY", keyDER),
		CertPEM:  certPEM,
		CAPEM:    c.CertPEM(),
		Device:   device,
		Serial:   Serial(cert),
		NotAfter: cert.NotAfter,
	}, nil
}

func deviceURI(facility, booth string) *url.URL {
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

// WriteDir writes the bundle into dir (created mode 0700): booth.key (mode
// 0600), booth.crt, ca.crt, and last bundle.json, so a bundle cut short by a
// crash has no manifest and is refused by ReadBundle.
func (b Bundle) WriteDir(dir string) error {
	m, err := b.manifest()
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
	}{{BundleKey, b.KeyPEM, 0o600}, {BundleCert, b.CertPEM, 0o644}, {BundleCA, b.CAPEM, 0o644}}
	for _, f := range files {
		m.SHA256[f.name] = digest(f.data)
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data, f.perm); err != nil {
			return fmt.Errorf("ca: write bundle %s: %w", b.Device, err)
		}
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("ca: write bundle %s: %w", b.Device, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, BundleManifest), append(mb, '\n'), 0o644); err != nil {
		return fmt.Errorf("ca: write bundle %s: %w", b.Device, err)
	}
	return nil
}

// manifest describes b, checking that its certificate names b.Device.
func (b Bundle) manifest() (Manifest, error) {
	cert, err := parseCert(b.CertPEM)
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

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ReadBundle reads and checks the bundle in dir: every file must match the
// digest in bundle.json, the key must belong to the certificate, the
// certificate must chain to the bundle's CA and name the manifest's device.
// The error names the file at fault.
func ReadBundle(dir string) (Bundle, error) {
	mpath := filepath.Join(dir, BundleManifest)
	mb, err := os.ReadFile(mpath)
	if err != nil {
		return Bundle{}, fmt.Errorf("ca: read bundle: %w (an incomplete bundle: enrol the booth again)", err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(mb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Bundle{}, fmt.Errorf("ca: read bundle: %s: %w", mpath, err)
	}
	data := make(map[string][]byte)
	for _, name := range []string{BundleKey, BundleCert, BundleCA} {
		path := filepath.Join(dir, name)
		want, ok := m.SHA256[name]
		if !ok {
			return Bundle{}, fmt.Errorf("ca: read bundle: %s lists no digest for %s", mpath, name)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return Bundle{}, fmt.Errorf("ca: read bundle: %w", err)
		}
		if got := digest(b); got != want {
			return Bundle{}, fmt.Errorf("ca: read bundle: %s does not match %s (sha256 %.12s…, manifest says %.12s…): the bundle was altered or mixed with another; enrol the booth again", path, BundleManifest, got, want)
		}
		data[name] = b
	}
	if len(m.SHA256) != 3 {
		return Bundle{}, fmt.Errorf("ca: read bundle: %s lists %d files, want %s, %s and %s", mpath, len(m.SHA256), BundleKey, BundleCert, BundleCA)
	}
	b := Bundle{KeyPEM: data[BundleKey], CertPEM: data[BundleCert], CAPEM: data[BundleCA]}
	cert, err := checkBundle(b)
	if err != nil {
		return Bundle{}, fmt.Errorf("ca: read bundle %s: %w", dir, err)
	}
	facility, booth, _ := DeviceFromCert(cert) // checked by checkBundle
	if facility != m.Facility || booth != m.Booth || Serial(cert) != m.Serial || !cert.NotAfter.Equal(m.NotAfter) {
		return Bundle{}, fmt.Errorf("ca: read bundle: %s says %s/%s serial %s, %s holds %s/%s serial %s", mpath, m.Facility, m.Booth, m.Serial, BundleCert, facility, booth, Serial(cert))
	}
	b.Device, b.Serial, b.NotAfter = facility+"/"+booth, m.Serial, cert.NotAfter
	return b, nil
}

// checkBundle checks that b's key belongs to its certificate, which names a
// device and chains to b's CA for client authentication, and returns the
// certificate. Expiry is not checked here: the gateway refuses an expired
// certificate and the technician sees why.
func checkBundle(b Bundle) (*x509.Certificate, error) {
	pair, err := tls.X509KeyPair(b.CertPEM, b.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", BundleKey, BundleCert, err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", BundleCert, err)
	}
	caCert, err := parseCert(b.CAPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", BundleCA, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	_, err = cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: cert.NotBefore.Add(time.Second), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return nil, fmt.Errorf("%s is not a booth certificate of %s: %w", BundleCert, BundleCA, err)
	}
	if _, _, err := DeviceFromCert(cert); err != nil {
		return nil, fmt.Errorf("%s: %w", BundleCert, err)
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
		return nil, fmt.Errorf("ca: client TLS for %s: no gateway server name to verify its certificate against", b.Device)
	}
	if _, err := checkBundle(b); err != nil {
		return nil, fmt.Errorf("ca: client TLS for %s: %w", b.Device, err)
	}
	pair, err := tls.X509KeyPair(b.CertPEM, b.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("ca: client TLS for %s: %w", b.Device, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(b.CAPEM) {
		return nil, fmt.Errorf("ca: client TLS for %s: no certificate in the CA PEM", b.Device)
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
		return errors.New("ca: gateway sent no certificate")
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
		return fmt.Errorf("ca: gateway certificate for %s: %w", opts.ServerName, err)
	}
	return nil
}
