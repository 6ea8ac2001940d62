package server

import (
	"context"
	"fmt"
	"sync"

	"wartelsuspas/kiosk/record"
)

// rosterCache is one facility's roster and policy as this replica last saw
// them. Each lookup brings it up to date with a delta (usually empty), so
// replicas share no state yet never answer from a stale roster.
type rosterCache struct {
	mu      sync.Mutex // one lookup at a time applies a delta
	version int64
	cards   map[string]record.CardInfo
	policy  facilityPolicy
}

// lookup returns the card (nil when unknown) and the policy of a facility
// as the roster holds them now.
func (h *Handler) lookup(ctx context.Context, facility, card string) (*record.CardInfo, facilityPolicy, error) {
	h.mu.Lock()
	c := h.rosters[facility]
	if c == nil {
		c = &rosterCache{cards: make(map[string]record.CardInfo)}
		h.rosters[facility] = c
	}
	h.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := h.opt.Ledger.RosterSince(ctx, facility, c.version)
	if err != nil {
		return nil, facilityPolicy{}, fmt.Errorf("roster of %s since %d: %w", facility, c.version, err)
	}
	if d.Full {
		c.cards = make(map[string]record.CardInfo, len(d.Upserts))
	}
	for _, ci := range d.Upserts {
		c.cards[ci.Card] = ci
	}
	for _, id := range d.Deletes {
		delete(c.cards, id)
	}
	if d.Policy != nil {
		p, err := parseFacilityPolicy(d.Policy)
		if err != nil {
			return nil, facilityPolicy{}, fmt.Errorf("stored policy of %s is unusable (set it again with wartel-gateway policy set): %w", facility, err)
		}
		c.policy = p
	}
	c.version = d.Version
	ci, ok := c.cards[card]
	if !ok {
		return nil, c.policy, nil
	}
	return &ci, c.policy, nil
}
