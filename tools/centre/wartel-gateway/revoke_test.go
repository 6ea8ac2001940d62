package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/tools/centre/ca"
)

// TestRevokeRotation follows docs/pki.md's rotation with the real
// binaries: a booth's old bundle works; a new bundle is enrolled for the
// same booth; `revoke OLD-SERIAL` refuses the old one (on a kept-alive
// connection at its next request, then at the handshake) while the new
// one is served; `revoke FACILITY/BOOTH` then stops the booth. Naming a
// serial or a booth this gateway never issued is an error that writes
// nothing.
func TestRevokeRotation(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	mustGW(t, "init", "-state", state)
	oldDir, newDir := filepath.Join(dir, "old"), filepath.Join(dir, "new")
	mustGW(t, "enroll", "-state", state, "-facility", "lapas-cipinang", "-booth", "b03", "-out", oldDir)
	old := newBooth(t, oldDir)
	g := serve(t, "-state", state)
	hb := protocol.HeartbeatRequest{Firmware: "1.0", State: "idle", Faults: []string{}}
	old.must(g, protocol.PathHeartbeat, hb, &protocol.HeartbeatResponse{})

	mustGW(t, "enroll", "-state", state, "-facility", "lapas-cipinang", "-booth", "b03", "-out", newDir)
	fresh := newBooth(t, newDir)
	fresh.must(g, protocol.PathHeartbeat, hb, &protocol.HeartbeatResponse{})
	old.must(g, protocol.PathHeartbeat, hb, &protocol.HeartbeatResponse{}) // both valid until the old is revoked

	oldBundle, err := bundle.Read(oldDir)
	if err != nil {
		t.Fatal(err)
	}
	out := mustGW(t, "revoke", "-state", state, oldBundle.Serial)
	if !strings.Contains(out, oldBundle.Serial) || !strings.Contains(out, "lapas-cipinang/b03") {
		t.Errorf("revoke by serial said %q, want the serial and its booth", out)
	}
	// The old bundle's kept-alive connection: refused at its next request.
	if status, err := old.post(g, protocol.PathHeartbeat, hb, nil); status != 403 || err == nil || !strings.Contains(err.Error(), oldBundle.Serial) {
		t.Errorf("old bundle on its open connection after revoke: %d %v, want 403 naming the certificate", status, err)
	}
	old.http.CloseIdleConnections()
	if status, err := old.post(g, protocol.PathHeartbeat, hb, nil); err == nil || status != 0 {
		t.Errorf("old bundle on a new connection: status %d %v, want the handshake refused", status, err)
	}
	// The new bundle of the same booth keeps working, new connection too.
	fresh.http.CloseIdleConnections()
	fresh.must(g, protocol.PathHeartbeat, hb, &protocol.HeartbeatResponse{})

	revoked := filepath.Join(state, "ca", ca.RevokedFile)
	before, err := os.ReadFile(revoked)
	if err != nil {
		t.Fatal(err)
	}
	devsBefore := mustGW(t, "devices", "-state", state, "-facility", "lapas-cipinang")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"deadbeef"}, 1, "no certificate of this CA has serial deadbeef"},
		{[]string{"-serial", "DE:AD:BE:EF"}, 1, "no certificate of this CA has serial deadbeef"},
		{[]string{"lapas-cipinang/b99"}, 1, "never enrolled"},
		{[]string{"-device", "lapas-baru/b01"}, 1, "never enrolled"},
		{[]string{"not-hex!"}, 1, "neither a booth id"},
		{[]string{"-device", "lapas-cipinang/b03", "-serial", oldBundle.Serial}, 2, "name one booth"},
		{[]string{}, 2, "name one booth"},
	} {
		_, errOut, err := gw(t, append([]string{"revoke", "-state", state}, tc.args...)...)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("revoke %q: %v %q, want exit %d with %q", tc.args, err, errOut, tc.code, tc.want)
		}
	}
	if after, _ := os.ReadFile(revoked); !bytes.Equal(before, after) {
		t.Errorf("a refused revoke changed %s:\n%s\nwas\n%s", revoked, after, before)
	}
	if devs := mustGW(t, "devices", "-state", state, "-facility", "lapas-cipinang"); devs != devsBefore || strings.Contains(devs, "b99") {
		t.Errorf("a refused revoke changed the devices:\n%s\nwas\n%s", devs, devsBefore)
	}
	if devs := mustGW(t, "devices", "-state", state, "-facility", "lapas-baru"); strings.Count(devs, "\n") != 1 {
		t.Errorf("a refused revoke left a row:\n%s", devs)
	}
	fresh.must(g, protocol.PathHeartbeat, hb, &protocol.HeartbeatResponse{})

	// The documented stop of a whole booth.
	out = mustGW(t, "revoke", "-state", state, "lapas-cipinang/b03")
	if !strings.Contains(out, "2 certificate(s)") {
		t.Errorf("revoke by device said %q, want both certificates counted", out)
	}
	if status, err := fresh.post(g, protocol.PathHeartbeat, hb, nil); err == nil {
		t.Errorf("new bundle after the booth was revoked: status %d, want refused", status)
	}
	g.stop(t)
}
