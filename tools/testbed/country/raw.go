package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"wartelsuspas/kiosk/record"
)

// rawInsertRate inserts n rows shaped like the ledger's records in batches,
// one transaction a batch, with plain INSERTs into a fresh table of the same
// PostgreSQL, and returns rows per second: the floor under which no ingest
// path can go, measured in the same run (as the bench's gateway suite does).
func (c *Country) rawInsertRate(ctx context.Context, n, batch int) (float64, error) {
	if n == 0 {
		return 0, errors.New("country: no records to insert")
	}
	if _, err := c.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS country_raw (device TEXT, chain TEXT, seq BIGINT, kind TEXT, payload BYTEA, prev TEXT, hash TEXT, PRIMARY KEY (device, chain, seq))`); err != nil {
		return 0, err
	}
	defer c.db.ExecContext(ctx, `DROP TABLE country_raw`)
	payload, _ := json.Marshal(record.Call{CallID: 1, Card: "em:0400D8B2A5", Inmate: "WB-00001", Period: "2026-12-01",
		AuthorisedAt: time.Now().UTC(), TalkStartAt: time.Now().UTC(), MaxMs: 600000, TalkedMs: 300000, ChargedMs: 300000, EndReason: record.EndHangup, ClockTrusted: true})
	chain := record.NewChainID()
	start := time.Now()
	for i := 0; i < n; i += batch {
		tx, err := c.db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		for j := i; j < min(i+batch, n); j++ {
			if _, err := tx.ExecContext(ctx, `INSERT INTO country_raw VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				fmt.Sprintf("raw-%04d/b%02d", j/2100, 0), chain, j, "call", payload, record.GenesisHash, record.GenesisHash); err != nil {
				tx.Rollback()
				return 0, err
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
