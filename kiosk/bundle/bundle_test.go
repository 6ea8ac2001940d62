package bundle

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The issuing side's tests (tools/centre/ca) check bundles the CA writes; these check the
// booth's half alone, with certificates made here.

func TestDeviceID(t *testing.T) {
	for _, tc := range []struct {
		facility, booth, want, errPart string
	}{
		{"lapas-x", "b01", "lapas-x/b01", ""},
		{"", "b01", "", "empty facility"},
		{"lapas-x", "B01", "", "not allowed"},
		{"lapas-x", "-b01", "", "not allowed"},
		{"lapas-x", strings.Repeat("b", 65), "", "longer than 64"},
	} {
		got, err := DeviceID(tc.facility, tc.booth)
		if got != tc.want || (err == nil) != (tc.errPart == "") || err != nil && !strings.Contains(err.Error(), tc.errPart) {
			t.Errorf("DeviceID(%q, %q) = %q, %v; want %q, error with %q", tc.facility, tc.booth, got, err, tc.want, tc.errPart)
		}
	}
}

func cert(t *testing.T, cn string, uris ...*url.URL) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: cn}, URIs: uris,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDeviceFromCert(t *testing.T) {
	good := DeviceURI("lapas-x", "b01")
	for _, tc := range []struct {
		name    string
		c       *x509.Certificate
		errPart string
	}{
		{"good", cert(t, "lapas-x/b01", good), ""},
		{"no device URI", cert(t, "lapas-x/b01"), "names no device"},
		{"two devices", cert(t, "lapas-x/b01", good, DeviceURI("lapas-x", "b02")), "names two devices"},
		{"CN disagrees", cert(t, "lapas-x/b02", good), "does not match"},
		{"bad host", cert(t, "lapas-x/b01", &url.URL{Scheme: URIScheme, Host: "other", Path: "/lapas-x/b01"}), "is not wartel://device"},
	} {
		f, b, err := DeviceFromCert(tc.c)
		if (err == nil) != (tc.errPart == "") || err != nil && !strings.Contains(err.Error(), tc.errPart) {
			t.Errorf("%s: DeviceFromCert = %q, %q, %v; want an error with %q", tc.name, f, b, err, tc.errPart)
		}
		if err == nil && (f != "lapas-x" || b != "b01") {
			t.Errorf("%s: DeviceFromCert = %q, %q", tc.name, f, b)
		}
	}
}

func TestReadIncomplete(t *testing.T) {
	if _, err := Read(t.TempDir()); err == nil || !strings.Contains(err.Error(), "enrol the booth again") {
		t.Errorf("Read of an empty directory: %v, want an error saying to enrol again", err)
	}
}
