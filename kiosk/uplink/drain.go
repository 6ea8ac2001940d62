package uplink

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
)

// drainWindow is how many batches may be past the store's acknowledged
// point at once: one at the gateway and one whose Ack is being committed.
// One upload at a time goes to the gateway, in order: two at once could
// be stored out of order, and the gateway flags a record that arrives
// before its predecessor (`gap`, docs/ledger.md), which the booth reports
// at ERROR as a chain fault.
const drainWindow = 2

// batch is one upload read from the outbox and encoded, ready to send.
type batch struct {
	recs []record.Record
	body []byte
	err  error
}

// readBatch reads the next batch after seq and encodes it.
func (u *Uplink) readBatch(after uint64) batch {
	recs, err := u.opt.Store.PendingAfter(after, u.opt.BatchSize)
	if err != nil {
		return batch{err: fmt.Errorf("uplink: read outbox after #%d: %w", after, err)}
	}
	if len(recs) == 0 {
		return batch{}
	}
	body, err := json.Marshal(protocol.UploadRequest{Records: recs})
	if err != nil {
		return batch{err: fmt.Errorf("uplink: encode records #%d–#%d: %w", recs[0].Seq, recs[len(recs)-1].Seq, err)}
	}
	return batch{recs: recs, body: body}
}

// drain uploads the outbox batch after batch and acknowledges what the
// gateway confirmed, until the outbox is empty, a step fails, or stop
// (asked before each batch after the first) ends the round. more reports
// that records remain to be sent at once.
//
// It is a pipeline (docs/uplink.md, "The drain is a pipeline"): while batch k is at
// the gateway, batch k+1 is read and encoded, and the Ack of batch k-1 is
// committed behind the uploads; an Ack covers every confirmation before
// it, so a slow Ack covers several batches in one commit. Acks are
// applied in order and never past what the gateway confirmed, so the
// store's acknowledged point is always one the gateway holds. On any
// error the round ends: what is in flight is dropped, what was confirmed
// is still acknowledged, and the next round reads from the store's
// acknowledged point. The gateway is idempotent by (device, chain, seq),
// so records confirmed but not yet acknowledged when the booth stops are
// answered `duplicate` when they go again.
func (u *Uplink) drain(ctx context.Context, stop func() bool) (more bool, err error) {
	ack := u.startAcker()
	defer func() {
		if aerr := ack.close(); err == nil {
			err = aerr
		}
		depth := u.setDepth()
		more = err == nil && depth > 0
	}()
	// The points the last batches of this round were confirmed up to,
	// batch j's at j % drainWindow.
	var confirmed [drainWindow]uint64
	sent := 0
	b := u.readBatch(0) // the store's acknowledged point
	for {
		if b.err != nil {
			return false, b.err
		}
		if len(b.recs) == 0 {
			return false, nil
		}
		if err := ack.failed(); err != nil {
			return false, err
		}
		// The window: batch j goes once batch j-2's Ack is committed.
		if sent >= drainWindow {
			if err := ack.wait(confirmed[sent%drainWindow]); err != nil {
				return false, err
			}
		}
		first, last := b.recs[0].Seq, b.recs[len(b.recs)-1].Seq
		var next chan batch
		if !stop() {
			next = make(chan batch, 1)
			go func() { next <- u.readBatch(last) }()
		}
		upTo, err := u.upload(ctx, b)
		if err != nil || next == nil || stop() {
			if next != nil {
				<-next // dropped: the next round reads from the store again
			}
			if err != nil {
				return false, err
			}
			ack.confirm(upTo, upTo-first+1)
			return false, nil
		}
		ack.confirm(upTo, upTo-first+1)
		confirmed[sent%drainWindow] = upTo
		sent++
		b = <-next
		if upTo < last {
			// The gateway holds a prefix of the batch only: the rest goes
			// again, not the batch read past it.
			b = u.readBatch(upTo)
		}
	}
}

// upload sends one batch and returns the point the gateway confirmed:
// never more than it holds, never past what was sent.
func (u *Uplink) upload(ctx context.Context, b batch) (upTo uint64, err error) {
	first, last := b.recs[0].Seq, b.recs[len(b.recs)-1].Seq
	var resp protocol.UploadResponse
	if err := u.postBody(ctx, protocol.PathUpload, b.body, &resp); err != nil {
		return 0, fmt.Errorf("uplink: upload records #%d–#%d: %w", first, last, err)
	}
	for _, ce := range resp.ChainErrors {
		u.opt.Log.Error("uplink: the gateway flagged this booth's hash chain", "detail", ce,
			"action", "keep this booth's database for a technician; do not wipe it")
	}
	for _, it := range resp.Results {
		if it.Status == protocol.StatusConflict {
			u.opt.Log.Error("uplink: the gateway holds a different record under this sequence", "seq", it.Seq,
				"action", "keep this booth's database for a technician")
		}
	}
	// The rest is resent next time.
	upTo = min(resp.StoredUpTo, last)
	if upTo < first {
		return 0, fmt.Errorf("uplink: the gateway stored records only up to #%d after upload of #%d–#%d; it must hold the earlier ones before these count", resp.StoredUpTo, first, last)
	}
	return upTo, nil
}

// acker commits the gateway's confirmations to the store behind the
// uploads, one Ack at a time, each past the one before.
type acker struct {
	u      *Uplink
	mu     sync.Mutex
	cond   *sync.Cond
	want   uint64 // confirmed by the gateway
	n      uint64 // records confirmed since the last Ack began
	done   uint64 // committed to the store
	err    error
	closed bool
	exited chan struct{}
}

func (u *Uplink) startAcker() *acker {
	a := &acker{u: u, exited: make(chan struct{})}
	a.cond = sync.NewCond(&a.mu)
	go a.run()
	return a
}

func (a *acker) run() {
	defer close(a.exited)
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		for a.want == a.done && !a.closed {
			a.cond.Wait()
		}
		if a.want == a.done {
			return
		}
		upTo, n := a.want, a.n
		a.n = 0
		a.mu.Unlock()
		err := a.u.opt.Store.Ack(upTo)
		a.mu.Lock()
		if err != nil {
			a.err = fmt.Errorf("uplink: acknowledge records up to #%d: %w", upTo, err)
			a.cond.Broadcast()
			return
		}
		a.done = upTo
		// The outbox is counted at the end of the round; until then the
		// status follows the Acks (records appended meanwhile show then).
		a.u.mu.Lock()
		a.u.status.Uploaded += n
		a.u.status.OutboxDepth = max(0, a.u.status.OutboxDepth-int(n))
		a.u.mu.Unlock()
		a.cond.Broadcast()
	}
}

// confirm hands on the gateway's confirmation up to upTo (n records more).
func (a *acker) confirm(upTo, n uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if upTo > a.want {
		a.want = upTo
		a.n += n
		a.cond.Broadcast()
	}
}

// wait returns once records up to upTo are acknowledged in the store, or
// acknowledging failed.
func (a *acker) wait(upTo uint64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.done < upTo && a.err == nil {
		a.cond.Wait()
	}
	return a.err
}

func (a *acker) failed() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// close commits what is confirmed and not yet acknowledged, and ends the
// acker.
func (a *acker) close() error {
	a.mu.Lock()
	a.closed = true
	a.cond.Broadcast()
	a.mu.Unlock()
	<-a.exited
	return a.err
}
