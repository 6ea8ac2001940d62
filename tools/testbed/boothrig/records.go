package boothrig

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", to read the gateway's records

	"wartelsuspas/kiosk/record"
)

// GatewayCalls returns the call records of device that the gateway whose
// state is in gatewayDir (Gateway.Dir, or simbooth's DIR/rig/gateway) has
// stored, by sequence. It reads the gateway's own table beside the serving
// process (SQLite's WAL allows readers): the ledger's Store has no
// per-record query.
func GatewayCalls(ctx context.Context, gatewayDir, device string) ([]record.Call, error) {
	db, err := OpenGatewayDB(gatewayDir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT seq, payload FROM records WHERE device = ? AND kind = ? ORDER BY seq`, device, string(record.KindCall))
	if err != nil {
		return nil, fmt.Errorf("boothrig: read the gateway's calls of %s: %w", device, err)
	}
	defer rows.Close()
	var out []record.Call
	for rows.Next() {
		var seq uint64
		var payload []byte
		if err := rows.Scan(&seq, &payload); err != nil {
			return nil, fmt.Errorf("boothrig: read the gateway's calls of %s: %w", device, err)
		}
		var c record.Call
		if err := json.Unmarshal(payload, &c); err != nil {
			return nil, fmt.Errorf("boothrig: the gateway's record %d of %s: %w", seq, device, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Calls returns the call records the rig's gateway stored for booth b.
func (r *Rig) Calls(ctx context.Context, b *Booth) ([]record.Call, error) {
	return GatewayCalls(ctx, r.Gateway.Dir, b.Device)
}

// OpenGatewayDB opens the SQLite database of the gateway whose state is in
// gatewayDir, read only, beside the serving process (SQLite's WAL allows
// readers; a busy writer is waited for up to 10 s).
func OpenGatewayDB(gatewayDir string) (*sql.DB, error) {
	path := filepath.Join(gatewayDir, "gateway.db")
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("boothrig: open the gateway database %s: %w", path, err)
	}
	return db, nil
}
