package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"time"
	"wartelsuspas/kiosk/bundle"
)

// serverValidity is the life of a gateway certificate. The gateway issues
// itself a new one at every start (booths trust the CA, not the
// certificate), so it is short and its key never touches the disk.
const serverValidity = 90 * 24 * time.Hour

// ServerCert issues the gateway a certificate for server authentication,
// valid for 127.0.0.1, ::1, localhost and each of hosts (names or
// addresses).
func (c *CA) ServerCert(hosts []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ca: server certificate: generate key: %w", err)
	}
	now := c.now()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "wartel-gateway", Organization: []string{organisation}},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:   now.Add(-backdate),
		NotAfter:    now.Add(serverValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotAfter.After(c.cert.NotAfter) {
		tmpl.NotAfter = c.cert.NotAfter
	}
	for _, h := range hosts {
		switch ip := net.ParseIP(h); {
		case ip != nil:
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		case h != "":
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	cert, _, err := c.sign(tmpl, &key.PublicKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ca: server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}, nil
}

// ServerTLSConfig returns the gateway's TLS configuration: TLS 1.3 only,
// serverCert as its identity, and a client certificate required from every
// peer, verified against caCert for client authentication, naming a device
// (DeviceFromCert), and not revoked. revoked may be nil (nothing revoked);
// the gateway passes (*CA).Revoked or a lookup in its database. The check
// runs on every handshake, resumed ones included, so a revocation takes
// effect at the booth's next connection.
func ServerTLSConfig(caCert *x509.Certificate, serverCert tls.Certificate, revoked func(*x509.Certificate) bool) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS13,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("ca: no client certificate")
			}
			cert := cs.PeerCertificates[0]
			if _, _, err := bundle.DeviceFromCert(cert); err != nil {
				return fmt.Errorf("ca: refused client: %w", err)
			}
			if revoked != nil && revoked(cert) {
				return fmt.Errorf("ca: refused client %s: certificate %s is revoked", cert.Subject.CommonName, bundle.Serial(cert))
			}
			return nil
		},
	}
}

// DeviceFromState returns the booth id ("FACILITY/BOOTH") of the verified
// client of a connection: what a handler binds every request to (pass
// *r.TLS). It fails on a connection without a verified client certificate.
func DeviceFromState(cs *tls.ConnectionState) (string, error) {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return "", errors.New("ca: connection has no verified client certificate")
	}
	facility, booth, err := bundle.DeviceFromCert(cs.VerifiedChains[0][0])
	if err != nil {
		return "", err
	}
	return facility + "/" + booth, nil
}
