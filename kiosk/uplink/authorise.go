package uplink

import (
	"context"
	"fmt"
	"time"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/session"
)

// Authorise asks the gateway for the inmate's authoritative remaining time
// and a lease on card; period is the booth's key, sent for the gateway's
// log, and the answer carries the period the centre computed; it implements session.Authoriser. The
// engine's ctx carries the deadline (protocol.AuthoriseDeadline): on error
// or deadline the engine decides offline, so no retry happens here.
func (u *Uplink) Authorise(ctx context.Context, card, inmate, period string) (session.Remote, error) {
	var resp protocol.AuthoriseResponse
	req := protocol.AuthoriseRequest{Card: card, Inmate: inmate, Period: period}
	if err := u.post(ctx, protocol.PathAuthorise, req, &resp); err != nil {
		return session.Remote{}, fmt.Errorf("uplink: authorise card %s of %s in %s: %w", card, inmate, period, err)
	}
	if resp.RemainingMs < 0 {
		resp.RemainingMs = 0
	}
	return session.Remote{
		Remaining: time.Duration(resp.RemainingMs) * time.Millisecond,
		Lease:     resp.Lease,
		Busy:      resp.Busy,
		Period:    resp.Period,
	}, nil
}

// Release ends a lease when the call ends; charged is informative (the
// ledger counts the call record). The engine does not call it yet: until
// it does, leases end by their TTL at the gateway.
func (u *Uplink) Release(ctx context.Context, lease string, charged time.Duration) error {
	if lease == "" {
		return nil
	}
	req := protocol.ReleaseRequest{Lease: lease, ChargedMs: charged.Milliseconds()}
	if err := u.post(ctx, protocol.PathRelease, req, nil); err != nil {
		return fmt.Errorf("uplink: release lease %s: %w", lease, err)
	}
	return nil
}

var _ session.Authoriser = (*Uplink)(nil)
