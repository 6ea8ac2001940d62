package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/tools/centre/ledger"
)

// TestCertificateRevokedInLedger: one certificate revoked in the database
// by serial is refused at its next request, on a connection opened before;
// another certificate of the same booth is served.
func TestCertificateRevokedInLedger(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		hb := protocol.HeartbeatRequest{Firmware: "1.0", State: "idle", Faults: []string{}}
		old := e.booth(facility, "b03")
		old.call(protocol.PathHeartbeat, hb, &protocol.HeartbeatResponse{})
		fresh := e.booth(facility, "b03")
		serials, err := e.ca.Issued(old.device)
		if err != nil || len(serials) != 2 {
			t.Fatalf("issued %v, %v; want two certificates", serials, err)
		}
		if err := store.RevokeCertificate(context.Background(), old.device, serials[0], e.clk.Now()); err != nil {
			t.Fatal(err)
		}
		if status, got, _, err := old.post(protocol.PathHeartbeat, hb); err != nil || status != http.StatusForbidden || !strings.Contains(string(got), serials[0]) {
			t.Errorf("heartbeat with the revoked certificate: %d %s %v, want 403 naming it", status, got, err)
		}
		fresh.call(protocol.PathHeartbeat, hb, &protocol.HeartbeatResponse{})
	})
}
