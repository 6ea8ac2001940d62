package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
)

// Booth is one simulated booth: its own certificate and its own mutual-TLS
// connection (an http.Transport of its own, one connection kept alive), a
// chain of records sealed as kiosk/record seals them, and an outbox of what
// the gateway has not confirmed. It speaks /v1 as kiosk/uplink does, with
// the protocol's own types, but without a store or an engine: thousands of
// them run in one process.
type Booth struct {
	Device   string
	facility string
	url      string
	client   *http.Client
	chain    string
	bootID   string

	mu     sync.Mutex // the chain and the outbox; one upload at a time
	seq    uint64
	last   *record.Record
	outbox []record.Record
	calls  int64
	sent   int64 // records the gateway confirmed (stored_up_to)
	dups   int64 // records it answered duplicate: sent twice
}

func newBooth(b bundle.Bundle, url string) (*Booth, error) {
	conf, err := bundle.ClientTLSConfig(b, bundle.ClientOpts{ServerName: "127.0.0.1"})
	if err != nil {
		return nil, err
	}
	facility, _, _ := strings.Cut(b.Device, "/")
	return &Booth{
		Device:   b.Device,
		facility: facility,
		url:      url,
		// One connection per booth, kept between requests (the gateway's
		// IdleTimeout is 2 min, longer than a heartbeat's interval).
		client: &http.Client{Transport: &http.Transport{TLSClientConfig: conf, MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1,
			IdleConnTimeout: 3 * time.Minute, DisableCompression: true}, Timeout: 3 * time.Minute},
		chain:  record.NewChainID(),
		bootID: strings.ReplaceAll(record.NewChainID()[:16], "-", ""),
	}, nil
}

// Close drops the booth's connection.
func (b *Booth) Close() { b.client.CloseIdleConnections() }

// post sends one /v1 call and decodes the answer into out (nil: ignore
// it); it returns the bytes of the answer's body.
func (b *Booth) post(ctx context.Context, path string, body, out any) (int, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url+path, bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", protocol.ContentType)
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", b.Device, path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return len(got), fmt.Errorf("%s %s: read the answer: %w", b.Device, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return len(got), fmt.Errorf("%s %s: status %d: %s", b.Device, path, resp.StatusCode, bytes.TrimSpace(got))
	}
	if out != nil && len(got) > 0 {
		if err := json.Unmarshal(got, out); err != nil {
			return len(got), fmt.Errorf("%s %s: %w", b.Device, path, err)
		}
	}
	return len(got), nil
}

// Heartbeat reports the booth's state and chain head, as kiosk/uplink does.
func (b *Booth) Heartbeat(ctx context.Context) error {
	b.mu.Lock()
	req := protocol.HeartbeatRequest{
		Firmware: "country-sim", State: "ready", OutboxDepth: len(b.outbox), ClockUnixMs: time.Now().UnixMilli(),
		ClockTrusted: true, Faults: []string{}, OutOfService: []string{}, BootID: b.bootID,
		Chain: b.chain, HeadSeq: b.seq, HeadHash: record.GenesisHash,
	}
	if b.last != nil {
		req.HeadHash = b.last.Hash
	}
	b.mu.Unlock()
	var resp protocol.HeartbeatResponse
	_, err := b.post(ctx, protocol.PathHeartbeat, req, &resp)
	return err
}

// Authorise asks for inmate k's remaining minutes and a lease, as a tap does.
func (b *Booth) Authorise(ctx context.Context, k int) (protocol.AuthoriseResponse, error) {
	var resp protocol.AuthoriseResponse
	_, err := b.post(ctx, protocol.PathAuthorise, protocol.AuthoriseRequest{Card: cardOf(b.facility, k), Inmate: inmateOf(k), Period: time.Now().Format(time.DateOnly)}, &resp)
	return resp, err
}

// Call appends the record of a call of inmate k that ended now, talked for
// talked, under the lease and period of the gateway's answer, to the
// chain and the outbox.
func (b *Booth) Call(k int, a protocol.AuthoriseResponse, at time.Time, talked time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	granted := time.Duration(a.RemainingMs) * time.Millisecond
	charged := min(talked, granted)
	period := a.Period
	if period == "" {
		period = at.Format(time.DateOnly)
	}
	c := record.Call{
		CallID: b.calls, Card: cardOf(b.facility, k), Inmate: inmateOf(k), Period: period,
		AuthorisedAt: at.Add(-talked - 20*time.Second).UTC(), TalkStartAt: at.Add(-talked).UTC(),
		MaxMs: granted.Milliseconds(), TalkedMs: talked.Milliseconds(), ChargedMs: charged.Milliseconds(),
		EndReason: record.EndHangup, ClockTrusted: true, Lease: a.Lease,
	}
	b.append(record.KindCall, c)
}

// Busy appends the denial a booth writes when the centre says inmate k
// talks in another booth.
func (b *Booth) Busy(k int, a protocol.AuthoriseResponse, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.append(record.KindDenial, record.Denial{At: at.UTC(), Card: cardOf(b.facility, k), Inmate: inmateOf(k), Reason: "busy", ClockTrusted: true, Lease: a.Lease})
}

// append seals a record of kind and payload at the chain's head.
func (b *Booth) append(kind record.Kind, payload any) {
	raw, err := json.Marshal(payload)
	if err != nil {
		panic(err) // our own types always encode
	}
	b.seq++
	r := record.Record{Device: b.Device, Chain: b.chain, Seq: b.seq, Kind: kind, Payload: raw}
	r.Seal(b.last)
	b.outbox = append(b.outbox, r)
	b.last = &r
}

// Backlog puts n records of calls into the outbox, spread over the days
// before now, as a booth cut off from the gateway for that long holds.
func (b *Booth) Backlog(n int, days int) {
	now := time.Now()
	b.mu.Lock()
	b.outbox = make([]record.Record, 0, n)
	b.mu.Unlock()
	for i := range n {
		at := now.Add(-time.Duration(days*24) * time.Hour * time.Duration(n-i) / time.Duration(n))
		k := i % inmatesPerFacility
		b.Call(k, protocol.AuthoriseResponse{RemainingMs: 600000, Period: at.Format(time.DateOnly)}, at, time.Duration(60+i%540)*time.Second)
	}
}

// Outbox is how many records wait for the gateway's confirmation.
func (b *Booth) Outbox() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.outbox)
}

// Duplicates is how many records the gateway answered other than stored:
// sent twice, or in conflict.
func (b *Booth) Duplicates() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dups
}

// Written is how many records the booth has written.
func (b *Booth) Written() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}

// Drain uploads the outbox in batches of batch, in order, until it is
// empty or an upload fails; it keeps each record until the gateway's
// stored_up_to covers it, as the booth's outbox does.
func (b *Booth) Drain(ctx context.Context, batch int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.outbox) > 0 {
		n := min(batch, len(b.outbox))
		var resp protocol.UploadResponse
		if _, err := b.post(ctx, protocol.PathUpload, protocol.UploadRequest{Records: b.outbox[:n]}, &resp); err != nil {
			return err
		}
		if len(resp.ChainErrors) > 0 {
			return fmt.Errorf("%s: the gateway found chain errors in a simulated booth's chain: %v", b.Device, resp.ChainErrors)
		}
		for _, it := range resp.Results {
			if it.Status != protocol.StatusStored {
				b.dups++
			}
		}
		done := 0
		for done < len(b.outbox) && b.outbox[done].Seq <= resp.StoredUpTo {
			done++
		}
		if done == 0 {
			return fmt.Errorf("%s: upload of seq %d… answered stored_up_to %d: nothing confirmed", b.Device, b.outbox[0].Seq, resp.StoredUpTo)
		}
		b.sent += int64(done)
		b.outbox = append([]record.Record(nil), b.outbox[done:]...)
	}
	return nil
}

// Sync fetches the facility's whole roster in pages of pageCards, as a
// booth's first sync does; it returns the cards, the pages and the bytes of
// the answers.
func (b *Booth) Sync(ctx context.Context, pageCards int) (cards map[string]bool, pages, bytes int, err error) {
	cards = map[string]bool{}
	req := protocol.SyncRequest{PageCards: pageCards}
	var version int64 = -1
	for {
		var resp protocol.SyncResponse
		n, err := b.post(ctx, protocol.PathSync, req, &resp)
		bytes += n
		if err != nil {
			return cards, pages, bytes, err
		}
		pages++
		if version >= 0 && resp.Version != version {
			return cards, pages, bytes, fmt.Errorf("%s: roster changed during the sync (version %d then %d): nothing changes it here", b.Device, version, resp.Version)
		}
		version = resp.Version
		for _, c := range resp.Upserts {
			cards[c.Card] = true
		}
		if resp.NextCursor == "" {
			return cards, pages, bytes, nil
		}
		req.Cursor = resp.NextCursor
	}
}

// rng is a booth load's random source: each booth its own, seeded by its
// device so that a run can be repeated.
func rng(device string) *rand.Rand {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(device); i++ {
		h = (h ^ uint64(device[i])) * 1099511628211
	}
	return rand.New(rand.NewPCG(h, 0x636f756e747279))
}
