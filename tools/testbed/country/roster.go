package main

import (
	"context"
	"fmt"
	"time"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/uplink"
	"wartelsuspas/tools/centre/ca"
)

// RosterSync is one large facility's booths fetching its whole roster.
type RosterSync struct {
	Cards     int // cards of the facility
	Booths    int // booths that sync at once
	PageCards int // the booths' page size (0: kiosk/uplink's DefaultSyncPageCards)
}

// RosterResult is what the sync cost.
type RosterResult struct {
	Cards          int     `json:"cards"`
	Booths         int     `json:"booths"`
	PageCards      int     `json:"page_cards"`
	Seconds        float64 `json:"s"`          // until the last booth had the whole roster
	SlowestSeconds float64 `json:"slowest_s"`  // the slowest booth's own sync
	Pages          int     `json:"pages_each"` // pages each booth fetched
	BytesEach      int     `json:"bytes_each"` // JSON bytes of the answers, one booth
	LoadSeconds    float64 `json:"load_s"`     // loading the cards into the ledger (ledger.UpsertCards, as roster import)
	ReloadSeconds  float64 `json:"reload_s"`   // the same cards again, as a nightly import of the same file
}

// bigFacility is the facility of the roster scenario.
const bigFacility = "lapas-besar"

// RunRosterSync loads a facility of rs.Cards cards and has rs.Booths booths
// sync it from nothing at the same moment, each through every page, and
// checks that each received every card.
func (c *Country) RunRosterSync(ctx context.Context, rs RosterSync) (RosterResult, error) {
	if rs.PageCards <= 0 {
		rs.PageCards = uplink.DefaultSyncPageCards
	}
	res := RosterResult{Cards: rs.Cards, Booths: rs.Booths, PageCards: rs.PageCards}
	c.mu.Lock()
	c.facilities[bigFacility] = true // its roster is this one, not the default
	c.mu.Unlock()
	t := time.Now()
	if _, err := c.led.SetPolicy(ctx, bigFacility, []byte(countryPolicy)); err != nil {
		return res, err
	}
	cards := make([]record.CardInfo, rs.Cards)
	for k := range cards {
		cards[k] = record.CardInfo{Card: fmt.Sprintf("em:0B%08X", k), Role: record.RoleInmate, Person: inmateOf(k), Name: "Warga " + inmateOf(k), Block: string(rune('A' + k%6))}
	}
	// In one call, as `wartel-gateway roster import` of one file does.
	if _, err := c.led.UpsertCards(ctx, bigFacility, "country", cards); err != nil {
		return res, fmt.Errorf("country: load %d cards: %w", rs.Cards, err)
	}
	res.LoadSeconds = time.Since(t).Seconds()
	names := make([]ca.Booth, rs.Booths)
	for i := range names {
		names[i] = ca.Booth{Facility: bigFacility, Booth: fmt.Sprintf("b%02d", i)}
	}
	booths, err := c.Booths(ctx, names, 0)
	if err != nil {
		return res, err
	}
	defer func() {
		for _, b := range booths {
			b.Close()
		}
	}()
	// Connect first, so the figure is the sync and not the handshakes.
	if err := parallel(len(booths), len(booths), func(i int) error { return booths[i].Heartbeat(ctx) }); err != nil {
		return res, err
	}
	fmt.Fprintf(c.cfg.Log, "country: roster: %d cards loaded in %.1f s; %d booths sync at once in pages of %d\n", rs.Cards, res.LoadSeconds, rs.Booths, rs.PageCards)
	type one struct {
		took         time.Duration
		pages, bytes int
	}
	got := make([]one, len(booths))
	start := time.Now()
	err = parallel(len(booths), len(booths), func(i int) error {
		t := time.Now()
		have, pages, n, err := booths[i].Sync(ctx, rs.PageCards)
		got[i] = one{time.Since(t), pages, n}
		if err != nil {
			return err
		}
		if len(have) != rs.Cards {
			return fmt.Errorf("country: roster: %s received %d cards of %d", booths[i].Device, len(have), rs.Cards)
		}
		return nil
	})
	res.Seconds = time.Since(start).Seconds()
	if err != nil {
		return res, err
	}
	for _, g := range got {
		res.SlowestSeconds = max(res.SlowestSeconds, g.took.Seconds())
		res.Pages = max(res.Pages, g.pages)
		res.BytesEach = max(res.BytesEach, g.bytes)
	}
	fmt.Fprintf(c.cfg.Log, "country: roster: %d booths had all %d cards after %.2f s: %d pages and %d bytes each\n", rs.Booths, rs.Cards, res.Seconds, res.Pages, res.BytesEach)
	// A facility's roster is imported again every night, mostly as it
	// was: each person is checked against the roster as it stands.
	t = time.Now()
	if _, err := c.led.UpsertCards(ctx, bigFacility, "country", cards); err != nil {
		return res, fmt.Errorf("country: import the %d cards again: %w", rs.Cards, err)
	}
	res.ReloadSeconds = time.Since(t).Seconds()
	fmt.Fprintf(c.cfg.Log, "country: roster: the same %d cards imported again in %.1f s\n", rs.Cards, res.ReloadSeconds)
	return res, nil
}
