package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"wartelsuspas/kiosk/bundle"

	"pgregory.net/rapid"
)

const day = 24 * time.Hour

func newCA(t *testing.T) *CA {
	t.Helper()
	c, err := Init(filepath.Join(t.TempDir(), "ca"), "Kanwil DKI Jakarta")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func enroll(t *testing.T, c *CA, facility, booth string) bundle.Bundle {
	t.Helper()
	b, err := c.Enroll(facility, booth, 365*day)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gateway is a loopback HTTPS server with the gateway's TLS configuration
// whose handler reports the device it bound the request to.
type gateway struct {
	srv  *httptest.Server
	hits atomic.Int32
}

func startGateway(t *testing.T, c *CA, revoked func(*x509.Certificate) bool) *gateway {
	t.Helper()
	sc, err := c.ServerCert(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{}
	g.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hits.Add(1)
		device, err := DeviceFromState(r.TLS)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		io.WriteString(w, device)
	}))
	g.srv.TLS = ServerTLSConfig(c.Certificate(), sc, revoked)
	g.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	g.srv.StartTLS()
	t.Cleanup(g.srv.Close)
	return g
}

// call makes one request as the booth of b and returns the device the
// gateway saw, or the error.
func (g *gateway) call(t *testing.T, b bundle.Bundle) (string, error) {
	t.Helper()
	cfg, err := bundle.ClientTLSConfig(b, bundle.ClientOpts{ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Get(g.srv.URL + "/v1/heartbeat")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s: %s", resp.Status, body)
	}
	return string(body), nil
}

func TestGoodBoothIsBoundToItsDevice(t *testing.T) {
	c := newCA(t)
	g := startGateway(t, c, c.Revoked)
	for _, booth := range []string{"b03", "b04"} {
		b := enroll(t, c, "lapas-cipinang", booth)
		got, err := g.call(t, b)
		if err != nil {
			t.Fatalf("booth %s refused: %v", booth, err)
		}
		if want := "lapas-cipinang/" + booth; got != want {
			t.Errorf("gateway saw %q, want %q", got, want)
		}
	}
}

func TestRefusedClients(t *testing.T) {
	c := newCA(t)
	other := newCA(t)

	past := time.Now().Add(-30 * day)
	c.Now = func() time.Time { return past }
	expired, err := c.Enroll("lapas-cipinang", "b01", 10*day)
	c.Now = nil
	if err != nil {
		t.Fatal(err)
	}

	future := time.Now().Add(10 * day)
	c.Now = func() time.Time { return future }
	notYet, err := c.Enroll("lapas-cipinang", "b02", 10*day)
	c.Now = nil
	if err != nil {
		t.Fatal(err)
	}

	// A client that trusts our CA but presents another CA's certificate.
	foreign := enroll(t, other, "lapas-cipinang", "b03")
	foreign.CAPEM = c.CertPEM()

	revokedBySerial := enroll(t, c, "lapas-cipinang", "b05")
	if err := c.Revoke(revokedBySerial.Serial); err != nil {
		t.Fatal(err)
	}
	revokedByDevice := enroll(t, c, "lapas-cipinang", "b06")
	if err := c.Revoke("lapas-cipinang/b06"); err != nil {
		t.Fatal(err)
	}

	// The gateway's own server certificate, presented as a client: it is
	// ours, but not for client authentication and names no device.
	sc, err := c.ServerCert(nil)
	if err != nil {
		t.Fatal(err)
	}
	// A client certificate of our CA that names no device.
	anonymous := signed(t, c, &x509.Certificate{Subject: pkix.Name{CommonName: "lapas-cipinang/b07"}})

	g := startGateway(t, c, c.Revoked)
	// The alert is all a refused booth learns (the gateway logs the
	// reason); checking it proves each case fails for its own reason.
	tests := []struct {
		name  string
		cert  tls.Certificate
		alert string
	}{
		{"other CA", pair(t, foreign), "unknown certificate authority"},
		{"expired", pair(t, expired), "expired certificate"},
		{"not yet valid", pair(t, notYet), "expired certificate"},
		{"revoked by serial", pair(t, revokedBySerial), "bad certificate"},
		{"revoked by device", pair(t, revokedByDevice), "bad certificate"},
		{"server certificate as client", sc, "bad certificate"},
		{"no device identity", anonymous, "bad certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := g.hits.Load()
			pool := x509.NewCertPool()
			pool.AddCert(c.Certificate())
			cfg := &tls.Config{Certificates: []tls.Certificate{tt.cert}, RootCAs: pool, MinVersion: tls.VersionTLS13}
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			resp, err := client.Get(g.srv.URL + "/v1/heartbeat")
			if err == nil {
				resp.Body.Close()
				t.Fatalf("request succeeded with status %s", resp.Status)
			}
			if !strings.Contains(err.Error(), "remote error: tls: "+tt.alert) {
				t.Errorf("refused with %v, want the alert %q", err, tt.alert)
			}
			if g.hits.Load() != before {
				t.Fatal("the handler ran for a refused client")
			}
		})
	}

	// Without a certificate at all.
	pool := x509.NewCertPool()
	pool.AddCert(c.Certificate())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	if resp, err := client.Get(g.srv.URL); err == nil {
		resp.Body.Close()
		t.Fatal("a client without a certificate was served")
	}
}

// A revocation made by another process (the CLI, with its own *CA on the
// same directory) reaches the running gateway at the next connection, and
// a booth enrolled again afterwards is served.
func TestRevocationSeenByRunningGateway(t *testing.T) {
	c := newCA(t)
	g := startGateway(t, c, c.Revoked)
	b := enroll(t, c, "rutan-salemba", "b01")
	if _, err := g.call(t, b); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	cli, err := Load(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Revoke("rutan-salemba/b01"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.call(t, b); err == nil {
		t.Fatal("revoked booth still served")
	}
	again, err := cli.Enroll("rutan-salemba", "b01", 30*day)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := g.call(t, again); err != nil || got != "rutan-salemba/b01" {
		t.Fatalf("re-enrolled booth: %q, %v", got, err)
	}
	serials, err := c.Issued("rutan-salemba/b01")
	if err != nil || len(serials) != 2 || serials[0] != b.Serial || serials[1] != again.Serial {
		t.Fatalf("Issued = %v, %v; want [%s %s]", serials, err, b.Serial, again.Serial)
	}
}

func TestRevokeUnknownIsAnError(t *testing.T) {
	c := newCA(t)
	enroll(t, c, "lapas-cipinang", "b01")
	for _, id := range []string{"lapas-cipinang/b02", "abc123", ""} {
		if err := c.Revoke(id); err == nil {
			t.Errorf("Revoke(%q) succeeded", id)
		}
	}
}

// A corrupt revocation list refuses everyone rather than no one.
func TestCorruptRevocationListFailsClosed(t *testing.T) {
	c := newCA(t)
	b := enroll(t, c, "lapas-cipinang", "b01")
	cert := leaf(t, b)
	if c.Revoked(cert) {
		t.Fatal("fresh certificate revoked")
	}
	if err := os.WriteFile(filepath.Join(c.dir, RevokedFile), []byte("[{\"serial\":"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !c.Revoked(cert) {
		t.Fatal("corrupt list admitted a booth")
	}
	if err := c.RevocationErr(); err == nil || !strings.Contains(err.Error(), RevokedFile) {
		t.Fatalf("RevocationErr = %v, want it to name %s", err, RevokedFile)
	}
	if _, err := Load(c.dir); err == nil {
		t.Fatal("Load accepted a corrupt revocation list")
	}
}

func TestDeviceFromCert(t *testing.T) {
	c := newCA(t)
	u := func(s string) *url.URL {
		p, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		cn      string
		uris    []*url.URL
		want    string // facility/booth, or "" for an error
		errPart string
	}{
		{"good", "lapas-cipinang/b03", []*url.URL{u("wartel://device/lapas-cipinang/b03")}, "lapas-cipinang/b03", ""},
		{"other URIs ignored", "lapas-cipinang/b03", []*url.URL{u("https://example.org/x"), u("wartel://device/lapas-cipinang/b03")}, "lapas-cipinang/b03", ""},
		{"CN disagrees", "lapas-cipinang/b04", []*url.URL{u("wartel://device/lapas-cipinang/b03")}, "", "does not match"},
		{"no URI", "lapas-cipinang/b03", nil, "", "names no device"},
		{"two devices", "lapas-cipinang/b03", []*url.URL{u("wartel://device/lapas-cipinang/b03"), u("wartel://device/lapas-cipinang/b04")}, "", "two devices"},
		{"wrong host", "lapas-cipinang/b03", []*url.URL{u("wartel://gateway/lapas-cipinang/b03")}, "", "is not wartel://device"},
		{"three parts", "a/b/c", []*url.URL{u("wartel://device/a/b/c")}, "", "is not wartel://device"},
		{"bad name", "Lapas/b03", []*url.URL{u("wartel://device/Lapas/b03")}, "", "not allowed"},
		{"dot dot", "../b03", []*url.URL{u("wartel://device/../b03")}, "", "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := signed(t, c, &x509.Certificate{Subject: pkix.Name{CommonName: tt.cn}, URIs: tt.uris,
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			f, b, err := bundle.DeviceFromCert(tc.Leaf)
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("bundle.DeviceFromCert = %s/%s, %v; want an error containing %q", f, b, err, tt.errPart)
				}
				return
			}
			if err != nil || f+"/"+b != tt.want {
				t.Fatalf("bundle.DeviceFromCert = %s/%s, %v; want %s", f, b, err, tt.want)
			}
		})
	}
}

func TestEnrollChecksNames(t *testing.T) {
	c := newCA(t)
	tests := []struct{ facility, booth string }{
		{"", "b01"}, {"lapas", ""}, {"Lapas", "b01"}, {"lapas/x", "b01"}, {"lapas", "b 01"},
		{"-lapas", "b01"}, {"lapas", "b01\n"}, {strings.Repeat("a", 65), "b01"},
	}
	for _, tt := range tests {
		if _, err := c.Enroll(tt.facility, tt.booth, day); err == nil {
			t.Errorf("Enroll(%q, %q) succeeded", tt.facility, tt.booth)
		}
	}
	if _, err := c.Enroll("lapas", "b01", 0); err == nil {
		t.Error("Enroll with zero validity succeeded")
	}
	if _, err := c.Enroll("lapas", "b01", 20*365*day); err == nil {
		t.Error("Enroll outliving the CA succeeded")
	}
	b, err := c.Enroll("lapas-cipinang.2", "b_01", day)
	if err != nil {
		t.Fatal(err)
	}
	cert := leaf(t, b)
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("ExtKeyUsage = %v, want client auth only", cert.ExtKeyUsage)
	}
	if cert.SerialNumber.BitLen() < 64 || bundle.Serial(cert) != b.Serial {
		t.Errorf("serial %s (%d bits), bundle says %s", bundle.Serial(cert), cert.SerialNumber.BitLen(), b.Serial)
	}
}

func TestServerCertVerifiesForLoopbackAndHosts(t *testing.T) {
	c := newCA(t)
	sc, err := c.ServerCert([]string{"gateway.kanwil.example", "10.20.0.5"})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.Certificate())
	for _, host := range []string{"127.0.0.1", "::1", "localhost", "gateway.kanwil.example", "10.20.0.5"} {
		if _, err := sc.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: pool}); err != nil {
			t.Errorf("server certificate for %s: %v", host, err)
		}
	}
	if _, err := sc.Leaf.Verify(x509.VerifyOptions{DNSName: "evil.example", Roots: pool}); err == nil {
		t.Error("server certificate verifies for a host it was not issued for")
	}
}

func TestInitAndLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	c, err := Init(dir, "Kanwil")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	cert := c.Certificate()
	if !cert.IsCA || cert.NotAfter.Sub(cert.NotBefore) < 9*365*day {
		t.Fatalf("CA certificate IsCA=%v valid %v", cert.IsCA, cert.NotAfter.Sub(cert.NotBefore))
	}
	if _, err := Init(dir, "Kanwil"); err == nil {
		t.Fatal("Init over an existing CA succeeded")
	}
	l, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Certificate().Equal(cert) {
		t.Fatal("Load returned another certificate")
	}
	// A booth of the loaded CA verifies against the original.
	b := enroll(t, l, "lapas-cipinang", "b01")
	if _, err := bundle.Check(bundle.Bundle{KeyPEM: b.KeyPEM, CertPEM: b.CertPEM, CAPEM: c.CertPEM()}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Load of a world-readable key: %v, want a chmod hint", err)
	}
}

func TestBundleRoundTrip(t *testing.T) {
	c := newCA(t)
	b := enroll(t, c, "lapas-cipinang", "b03")
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := WriteBundle(dir, b); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, bundle.KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("booth.key mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	got, err := bundle.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Device != b.Device || got.Serial != b.Serial || !got.NotAfter.Equal(b.NotAfter) ||
		string(got.KeyPEM) != string(b.KeyPEM) || string(got.CertPEM) != string(b.CertPEM) || string(got.CAPEM) != string(b.CAPEM) {
		t.Fatalf("ReadBundle = %+v\nwant %+v", got, b)
	}
	// Writing over an existing bundle (re-enrolment) replaces it.
	b2 := enroll(t, c, "lapas-cipinang", "b03")
	if err := WriteBundle(dir, b2); err != nil {
		t.Fatal(err)
	}
	if got, err := bundle.Read(dir); err != nil || got.Serial != b2.Serial {
		t.Fatalf("after re-enrolment: %v, %v", got.Serial, err)
	}
}

func TestReadBundleRefusesTampering(t *testing.T) {
	c := newCA(t)
	other := enroll(t, c, "lapas-cipinang", "b04")
	tests := []struct {
		name    string
		tamper  func(dir string, b bundle.Bundle) error
		errPart string
	}{
		{"certificate edited", appendTo(bundle.CertFile, "\n"), bundle.CertFile},
		{"key swapped", writeTo(bundle.KeyFile, other.KeyPEM), bundle.KeyFile},
		{"ca replaced", writeTo(bundle.CAFile, newCA(t).CertPEM()), bundle.CAFile},
		{"manifest missing", func(dir string, _ bundle.Bundle) error { return os.Remove(filepath.Join(dir, bundle.ManifestFile)) }, bundle.ManifestFile},
		{"file missing", func(dir string, _ bundle.Bundle) error { return os.Remove(filepath.Join(dir, bundle.CAFile)) }, bundle.CAFile},
		{"manifest names another booth", editManifest(`"booth": "b03"`, `"booth": "b09"`), "says lapas-cipinang/b09"},
		{"manifest unknown field", editManifest(`"facility"`, `"extra": 1, "facility"`), "unknown field"},
		{"certificate of another booth, digest updated", func(dir string, b bundle.Bundle) error {
			if err := os.WriteFile(filepath.Join(dir, bundle.CertFile), other.CertPEM, 0o644); err != nil {
				return err
			}
			return editManifest(bundle.Digest(b.CertPEM), bundle.Digest(other.CertPEM))(dir, b)
		}, "private key does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := enroll(t, c, "lapas-cipinang", "b03")
			dir := t.TempDir()
			if err := WriteBundle(dir, b); err != nil {
				t.Fatal(err)
			}
			if err := tt.tamper(dir, b); err != nil {
				t.Fatal(err)
			}
			_, err := bundle.Read(dir)
			if err == nil || !strings.Contains(err.Error(), tt.errPart) {
				t.Fatalf("ReadBundle = %v, want an error naming %q", err, tt.errPart)
			}
		})
	}
}

// Tampering steps of TestReadBundleRefusesTampering.

func appendTo(name, s string) func(string, bundle.Bundle) error {
	return func(dir string, _ bundle.Bundle) error {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		if _, err := f.WriteString(s); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
}

func writeTo(name string, data []byte) func(string, bundle.Bundle) error {
	return func(dir string, _ bundle.Bundle) error { return os.WriteFile(filepath.Join(dir, name), data, 0o600) }
}

func editManifest(old, new string) func(string, bundle.Bundle) error {
	return func(dir string, _ bundle.Bundle) error {
		p := filepath.Join(dir, bundle.ManifestFile)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := string(b)
		if !strings.Contains(s, old) {
			return os.ErrNotExist
		}
		return os.WriteFile(p, []byte(strings.Replace(s, old, new, 1)), 0o644)
	}
}

// signed issues tmpl as a client certificate of c with a fresh key,
// bypassing Enroll's checks, to make the certificates Enroll never would.
func signed(t *testing.T, c *CA, tmpl *x509.Certificate) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(day)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	if tmpl.ExtKeyUsage == nil {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	cert, _, err := c.sign(tmpl, &key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
}

func pair(t *testing.T, b bundle.Bundle) tls.Certificate {
	t.Helper()
	p, err := tls.X509KeyPair(b.CertPEM, b.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func leaf(t *testing.T, b bundle.Bundle) *x509.Certificate {
	t.Helper()
	cert, err := bundle.ParseCert(b.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// A booth whose clock is not yet set still reaches its gateway (that is
// how it learns the time), but only its own gateway, by its right name.
func TestClientWithUntrustedClock(t *testing.T) {
	c := newCA(t)
	b := enroll(t, c, "lapas-cipinang", "b01")
	// The gateway started "in the future" as far as this booth's clock
	// goes: its certificate is not yet valid by the booth's clock.
	c.Now = func() time.Time { return time.Now().Add(30 * day) }
	g := startGateway(t, c, c.Revoked)
	c.Now = nil
	other := startGateway(t, newCA(t), nil)

	trusted := func() bool { return true }
	untrusted := func() bool { return false }
	tests := []struct {
		name       string
		url        string
		serverName string
		clock      func() bool
		wantErr    string // "" for success
	}{
		{"trusted clock refuses a certificate not yet valid", g.srv.URL, "127.0.0.1", trusted, "not yet valid"},
		{"untrusted clock accepts it", g.srv.URL, "127.0.0.1", untrusted, ""},
		{"by name", g.srv.URL, "localhost", untrusted, ""},
		{"untrusted clock, wrong host name", g.srv.URL, "evil.example", untrusted, "evil.example"},
		{"untrusted clock, wrong address", g.srv.URL, "10.9.9.9", untrusted, "10.9.9.9"},
		{"untrusted clock, another CA's gateway", other.srv.URL, "127.0.0.1", untrusted, "unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := bundle.ClientTLSConfig(b, bundle.ClientOpts{ServerName: tt.serverName, ClockTrusted: tt.clock})
			if err != nil {
				t.Fatal(err)
			}
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			resp, err := client.Get(tt.url)
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if tt.wantErr != "" {
					t.Fatalf("connected (%s), want an error containing %q", body, tt.wantErr)
				}
				if string(body) != b.Device {
					t.Fatalf("gateway saw %q, want %q", body, b.Device)
				}
				return
			}
			if tt.wantErr == "" || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
	if _, err := bundle.ClientTLSConfig(b, bundle.ClientOpts{}); err == nil {
		t.Error("bundle.ClientTLSConfig without a server name succeeded")
	}
}

// Any pair of valid names makes a certificate that names exactly that
// booth; the identity survives the certificate's encoding.
func TestEnrollIdentityProperty(t *testing.T) {
	c := newCA(t)
	name := rapid.StringMatching(`[a-z0-9][a-z0-9._-]{0,20}`)
	rapid.Check(t, func(t *rapid.T) {
		facility, booth := name.Draw(t, "facility"), name.Draw(t, "booth")
		b, err := c.Enroll(facility, booth, day)
		if err != nil {
			t.Fatalf("Enroll(%q, %q): %v", facility, booth, err)
		}
		cert, err := bundle.ParseCert(b.CertPEM)
		if err != nil {
			t.Fatal(err)
		}
		f, bo, err := bundle.DeviceFromCert(cert)
		if err != nil || f != facility || bo != booth || b.Device != facility+"/"+booth {
			t.Fatalf("bundle.DeviceFromCert = %q, %q, %v; bundle %q; want %q/%q", f, bo, err, b.Device, facility, booth)
		}
	})
}
