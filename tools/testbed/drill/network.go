package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/testbed/boothrig"
	"wartelsuspas/tools/testbed/faultproxy"
)

// Link modes of the network drill's proxy.
const (
	linkPass  = iota // start: the booths enrol and trust their clocks
	linkDown         // every connection refused
	linkFlaky        // every connection slow or cut at a random byte
)

// flakyLink is the proxy's plan once the gateway is back: no connection
// is clean. Delayed ones are slow but whole; the others are cut after a
// random number of answer bytes, so a request may be processed and its
// answer lost (the booth sends it again: a duplicate at the gateway).
// The first cutFirst connections of the flaky link are all cut, so every
// drain meets faults before a delayed connection may carry the rest.
const cutFirst = 6

func flakyLink(mode *atomic.Int32, from *atomic.Int64) func(int, *rand.Rand) faultproxy.Action {
	return func(n int, r *rand.Rand) faultproxy.Action {
		switch mode.Load() {
		case linkPass:
			return faultproxy.Action{Fault: faultproxy.Pass}
		case linkDown:
			return faultproxy.Action{Fault: faultproxy.Refuse}
		}
		a := faultproxy.Action{Delay: time.Duration(r.Int64N(int64(60 * time.Millisecond))), Bytes: 2000 + r.IntN(6000)}
		// A delayed connection lives on (and the booth keeps it): it ends
		// the faults, so it is the rarer choice.
		x := r.IntN(10)
		if int64(n)-from.Load() < cutFirst {
			x = 2 + r.IntN(8)
		}
		switch {
		case x < 2:
			a.Fault = faultproxy.Delay
		case x < 5:
			a.Fault = faultproxy.LoseAnswer
		case x < 8:
			a.Fault = faultproxy.Truncate
		default:
			a.Fault = faultproxy.Reset
		}
		return a
	}
}

var gatewayURL = regexp.MustCompile(`(?m)^url = "https://([^"]+)"`)

// tapped is one tap the drill made at a booth, to match the booth's
// records at the gateway in order.
type tapped struct {
	kind record.Kind
	card cardid.ID
}

// network queues c.Records records at booths that cannot reach the
// gateway, then lets them drain through a flaky link, and checks every
// record arrived once, in order, with an unbroken chain.
func network(ctx context.Context, c *Config) (string, []string, error) {
	booths := 4
	if c.Short {
		booths = 2
	}
	var mode atomic.Int32
	var flakyFrom atomic.Int64
	var proxy *faultproxy.Proxy
	defer func() {
		if proxy != nil {
			proxy.Close()
		}
	}()
	// The booths dial the gateway through the proxy: the rig has started
	// the gateway when it writes their configuration.
	configure := func(b *boothrig.Booth, doc string) (string, error) {
		m := gatewayURL.FindStringSubmatch(doc)
		if m == nil {
			return "", fmt.Errorf("no gateway url in %s", b.Config)
		}
		if proxy == nil {
			p, err := faultproxy.New(faultproxy.Options{Target: m[1], Seed: c.Seed, Plan: flakyLink(&mode, &flakyFrom)})
			if err != nil {
				return "", err
			}
			proxy = p
		}
		return setKeys(doc, "gateway", "url", fmt.Sprintf("%q", "https://"+proxy.Addr()))
	}
	cards, inmates := drillRoster(8)
	r, err := startRig(ctx, c, "network", booths, cards, configure)
	if err != nil {
		return "", nil, err
	}
	defer r.Close()

	// The gateway goes away: refused at the proxy and stopped.
	mode.Store(linkDown)
	if err := r.Gateway.Stop(); err != nil {
		return "", nil, err
	}
	down := time.Now()
	per := (c.Records + booths - 1) / booths
	made := make([][]tapped, booths)
	errs := make([]error, booths)
	var wg sync.WaitGroup
	for i, b := range r.Booths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			made[i], errs[i] = queue(ctx, b, i, per, inmates)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return "", nil, err
		}
	}
	outage := time.Since(down)
	total, calls := 0, 0
	for _, m := range made {
		total += len(m)
		for _, t := range m {
			if t.kind == record.KindCall {
				calls++
			}
		}
	}

	// Back, over a flaky link, until every outbox is empty.
	seen := 0
	for _, n := range proxy.Counts() {
		seen += n
	}
	flakyFrom.Store(int64(seen))
	mode.Store(linkFlaky)
	back := time.Now()
	metrics, err := r.Gateway.StartWithMetrics(ctx, r.Gateway.Addr, c.Log)
	if err != nil {
		return "", nil, err
	}
	g, err := openGatewayDB(r)
	if err != nil {
		return "", nil, err
	}
	defer g.Close()
	var lost []string
	for i, b := range r.Booths {
		var denials int
		for _, t := range made[i] {
			if t.kind == record.KindDenial {
				denials++
			}
		}
		if err := g.waitCount(ctx, b.Device, record.KindDenial, denials, drainHang); err != nil {
			lost = append(lost, err.Error())
		}
		if err := g.waitCount(ctx, b.Device, record.KindCall, len(made[i])-denials, drainHang); err != nil {
			lost = append(lost, err.Error())
		}
		wctx, cancel := context.WithTimeout(ctx, drainHang)
		_, err := b.WaitStatus(wctx, func(s boothrig.Status) bool { return s.Outbox == 0 })
		cancel()
		if err != nil {
			lost = append(lost, err.Error())
		}
	}
	drain := time.Since(back)
	ingest, err := ingestCounts(ctx, metrics)
	if err != nil {
		return "", nil, err
	}
	atGateway, outOfOrder := 0, 0
	for i, b := range r.Booths {
		recs, chainLost, err := chainCheck(ctx, g, r, b.Device)
		if err != nil {
			return "", nil, err
		}
		lost = append(lost, chainLost...)
		got, err := tapsOf(recs)
		if err != nil {
			return "", nil, err
		}
		atGateway += len(got)
		n := 0
		for k := 0; k < min(len(got), len(made[i])); k++ {
			if got[k] != made[i][k] {
				n++
			}
		}
		if n > 0 {
			outOfOrder += n
			lost = append(lost, fmt.Sprintf("%s: %d records differ from the taps made, in order", b.Device, n))
		}
		if len(got) != len(made[i]) {
			lost = append(lost, fmt.Sprintf("%s: %d taps made, %d call and denial records at the gateway", b.Device, len(made[i]), len(got)))
		}
	}
	conflicts, err := g.conflicts(ctx)
	if err != nil {
		return "", nil, err
	}
	if conflicts > 0 {
		lost = append(lost, fmt.Sprintf("%d records stored twice with different content (conflicts)", conflicts))
	}
	var faults []string
	for f, n := range proxy.Counts() {
		faults = append(faults, fmt.Sprintf("%s %d", f, n))
	}
	sort.Strings(faults)
	sum := fmt.Sprintf("%d records (%d denials, %d calls) queued at %d booths while the gateway was down %v, then drained in %v through a flaky link (connections: %s; records sent again and answered as duplicates %.0f); at gateway %d/%d, stored once each (unique key), conflicts %d, out of order %d, chain errors %d",
		total, total-calls, calls, booths, outage.Round(time.Second), drain.Round(time.Second), strings.Join(faults, ", "), ingest["duplicate"],
		atGateway, total, conflicts, outOfOrder, countPrefix(lost, "chain error"))
	return sum, lost, nil
}

// queue makes n records at b: mostly denials of unknown cards, a blocked
// card now and then, and a short call every 25th.
func queue(ctx context.Context, b *boothrig.Booth, booth, n int, inmates []record.CardInfo) ([]tapped, error) {
	var out []tapped
	for j := range n {
		var t tapped
		switch {
		case j%25 == 12:
			t = tapped{record.KindCall, cardid.ID(inmates[(booth+j)%len(inmates)].Card)}
			if _, err := call(ctx, b, t.card, 300*time.Millisecond); err != nil {
				return out, fmt.Errorf("%s: call %d: %w", b.Name, j, err)
			}
		case j%10 == 4:
			t = tapped{record.KindDenial, blockedCard}
			if err := tapDenied(ctx, b, t.card); err != nil {
				return out, fmt.Errorf("%s: tap %d: %w", b.Name, j, err)
			}
		default:
			t = tapped{record.KindDenial, unknownCard(booth<<20 | j)}
			if err := tapDenied(ctx, b, t.card); err != nil {
				return out, fmt.Errorf("%s: tap %d: %w", b.Name, j, err)
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// tapsOf is the card of each call and denial record, by sequence.
func tapsOf(recs []gwRecord) ([]tapped, error) {
	var out []tapped
	for _, r := range recs {
		if r.Kind != record.KindCall && r.Kind != record.KindDenial {
			continue
		}
		var p struct {
			Card string `json:"card"`
		}
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			return nil, fmt.Errorf("%s record %s seq %d: %w", r.Kind, r.Device, r.Seq, err)
		}
		out = append(out, tapped{r.Kind, cardid.ID(p.Card)})
	}
	return out, nil
}

func countPrefix(s []string, substr string) int {
	n := 0
	for _, x := range s {
		if strings.Contains(x, substr) {
			n++
		}
	}
	return n
}
