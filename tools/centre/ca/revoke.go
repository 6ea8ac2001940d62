package ca

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"wartelsuspas/kiosk/bundle"
)

// issued is one line of issued.json.
type issued struct {
	Serial    string    `json:"serial"`
	Device    string    `json:"device"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
}

// Revocation is one entry of revoked.json.
type Revocation struct {
	Serial    string    `json:"serial"`
	Device    string    `json:"device,omitempty"` // when known from issued.json
	RevokedAt time.Time `json:"revoked_at"`
}

// revocations caches revoked.json, keyed on the file's size and time so a
// revocation written by another process (the CLI) is seen at the next
// handshake.
type revocations struct {
	size    int64
	mod     time.Time
	loaded  bool
	serials map[string]bool
}

func (c *CA) readIssued() ([]issued, error) {
	var list []issued
	if err := readJSON(filepath.Join(c.dir, IssuedFile), &list); err != nil {
		return nil, err
	}
	return list, nil
}

func (c *CA) recordIssued(es ...issued) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	list, err := c.readIssued()
	if err != nil {
		return err
	}
	return writeJSON(filepath.Join(c.dir, IssuedFile), append(list, es...))
}

// Issued returns the serials issued to device, oldest first.
func (c *CA) Issued(device string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	list, err := c.readIssued()
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	var serials []string
	for _, e := range list {
		if e.Device == device {
			serials = append(serials, e.Serial)
		}
	}
	return serials, nil
}

// NormalSerial writes a serial as the CA does (lower-case hex, no leading
// zeros), forgiving the colons, spaces and upper case other tools print it
// with (openssl: 3F:9A:…). ok is false when s is not hexadecimal.
func NormalSerial(s string) (serial string, ok bool) {
	s = strings.NewReplacer(":", "", " ", "").Replace(strings.ToLower(strings.TrimSpace(s)))
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return "", false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return "", false
		}
	}
	return s, true
}

// DeviceOfSerial returns the device ("FACILITY/BOOTH") the certificate with
// serial was issued to; an error names issued.json when this CA issued no
// such certificate.
func (c *CA) DeviceOfSerial(serial string) (string, error) {
	id, ok := NormalSerial(serial)
	if !ok {
		return "", fmt.Errorf("ca: %q is not a certificate serial (hexadecimal, as in bundle.json)", serial)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	list, err := c.readIssued()
	if err != nil {
		return "", fmt.Errorf("ca: %w", err)
	}
	for _, e := range list {
		if e.Serial == id {
			return e.Device, nil
		}
	}
	return "", fmt.Errorf("ca: no certificate of this CA has serial %s (see %s, or the booth's bundle.json)", id, filepath.Join(c.dir, IssuedFile))
}

// Revoke revokes a certificate by its serial (hex, as in bundle.json), or
// every certificate issued so far to a device ("FACILITY/BOOTH"). A booth
// enrolled again afterwards gets a new, valid certificate. It is an error
// to name nothing this CA issued, so that a typo does not pass for a
// revocation. Revoking twice is harmless.
func (c *CA) Revoke(serialOrDevice string) error {
	id := strings.ToLower(strings.TrimSpace(serialOrDevice))
	if serial, ok := NormalSerial(id); ok && !strings.Contains(id, "/") {
		id = serial
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	list, err := c.readIssued()
	if err != nil {
		return fmt.Errorf("ca: revoke %s: %w", id, err)
	}
	var hits []issued
	for _, e := range list {
		if e.Serial == id || e.Device == id {
			hits = append(hits, e)
		}
	}
	if len(hits) == 0 {
		return fmt.Errorf("ca: revoke %q: no certificate of this CA has that serial or device (see %s)", serialOrDevice, filepath.Join(c.dir, IssuedFile))
	}
	path := filepath.Join(c.dir, RevokedFile)
	var revoked []Revocation
	if err := readJSON(path, &revoked); err != nil {
		return fmt.Errorf("ca: revoke %s: %w", id, err)
	}
	now := c.now().UTC()
	for _, h := range hits {
		if !slices.ContainsFunc(revoked, func(r Revocation) bool { return r.Serial == h.Serial }) {
			revoked = append(revoked, Revocation{Serial: h.Serial, Device: h.Device, RevokedAt: now})
		}
	}
	if err := writeJSON(path, revoked); err != nil {
		return fmt.Errorf("ca: revoke %s: %w", id, err)
	}
	return nil
}

// Revoked reports whether cert is on the revocation list. It rereads
// revoked.json when the file changed. If the list cannot be read it
// answers true — refusing every booth until a technician repairs the file
// beats admitting a revoked one — and RevocationErr says why.
func (c *CA) Revoked(cert *x509.Certificate) bool {
	set, err := c.revokedSet()
	if err != nil {
		return true
	}
	return set[bundle.Serial(cert)]
}

// RevocationErr returns why the revocation list cannot be read, or nil.
func (c *CA) RevocationErr() error {
	_, err := c.revokedSet()
	return err
}

func (c *CA) revokedSet() (map[string]bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	path := filepath.Join(c.dir, RevokedFile)
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.revoked = revocations{loaded: true}
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("revocation list: %w", err)
	case c.revoked.loaded && fi.Size() == c.revoked.size && fi.ModTime().Equal(c.revoked.mod):
		return c.revoked.serials, nil
	}
	var list []Revocation
	if err := readJSON(path, &list); err != nil {
		c.revoked = revocations{}
		return nil, fmt.Errorf("revocation list: %w", err)
	}
	set := make(map[string]bool, len(list))
	for _, r := range list {
		set[r.Serial] = true
	}
	c.revoked = revocations{size: fi.Size(), mod: fi.ModTime(), loaded: true, serials: set}
	return set, nil
}

// readJSON reads path into v strictly; a missing file leaves v unchanged.
func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s is corrupt: %w (restore it from the CA backup)", path, err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), 0o644)
}
