package uplink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
)

// faultHeader carries the fault the test transport drew for an upload to
// the fake gateway, which acts on it.
const faultHeader = "X-Test-Fault"

// gwBeforeSend is a fault of the transport: the upload never leaves the
// booth (a refused connection).
const gwBeforeSend gwFault = -1

// faultTransport draws the fault of each upload from a plan made in
// advance (rapid draws only on the test's goroutine) and either fails the
// request itself or tells the fake gateway what to do.
type faultTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	plan []gwFault // then gwPass
	sent int
}

func (f *faultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != protocol.PathUpload {
		return f.next.RoundTrip(r)
	}
	f.mu.Lock()
	fault := gwPass
	if f.sent < len(f.plan) {
		fault = f.plan[f.sent]
	}
	f.sent++
	f.mu.Unlock()
	if fault == gwBeforeSend {
		r.Body.Close()
		return nil, errors.New("connection refused (injected)")
	}
	r = r.Clone(r.Context())
	r.Header.Set(faultHeader, strconv.Itoa(int(fault)))
	return f.next.RoundTrip(r)
}

func faultOf(r *http.Request) gwFault {
	n, _ := strconv.Atoi(r.Header.Get(faultHeader))
	return gwFault(n)
}

// ackStore is a memStore whose Acks fail by a plan (deleting nothing, as a
// commit that failed) and that checks, at every Ack, that the gateway
// holds each record acknowledged, unchanged.
type ackStore struct {
	*memStore
	g *fakeGateway

	mu       sync.Mutex
	fail     []bool // then succeed
	acks     int
	hook     func(upTo uint64) // called before each Ack, unlocked
	after    func(upTo uint64) // called after each Ack that succeeded
	violated error
}

func (s *ackStore) Ack(upTo uint64) error {
	if s.hook != nil {
		s.hook(upTo)
	}
	s.mu.Lock()
	i := s.acks
	s.acks++
	fail := i < len(s.fail) && s.fail[i]
	s.mu.Unlock()
	if fail {
		return errors.New("disk I/O error (injected)")
	}
	pending, _ := s.memStore.Pending(0)
	s.g.mu.Lock()
	for _, r := range pending {
		if r.Seq <= upTo && s.g.held[r.Seq] != r.Hash {
			s.mu.Lock()
			if s.violated == nil {
				s.violated = fmt.Errorf("Ack(%d) deletes #%d, which the gateway does not hold", upTo, r.Seq)
			}
			s.mu.Unlock()
			break
		}
	}
	s.g.mu.Unlock()
	err := s.memStore.Ack(upTo)
	if err == nil && s.after != nil {
		s.after(upTo)
	}
	return err
}

func (s *ackStore) violation() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.violated
}

func (g *fakeGateway) reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held, g.stored, g.gaps = map[uint64]string{}, map[uint64]int{}, nil
}

// checkHolds fails unless the gateway holds exactly the records written,
// each stored once, none before its predecessor.
func (g *fakeGateway) checkHolds(written []record.Record) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.gaps) > 0 {
		return fmt.Errorf("records reached the gateway out of order: #%v stored before their predecessors", g.gaps)
	}
	if len(g.held) != len(written) {
		return fmt.Errorf("gateway holds %d records, %d were written", len(g.held), len(written))
	}
	for _, r := range written {
		if g.held[r.Seq] != r.Hash || g.stored[r.Seq] != 1 {
			return fmt.Errorf("#%d: held hash %.12q (want %.12q), stored %d times", r.Seq, g.held[r.Seq], r.Hash, g.stored[r.Seq])
		}
	}
	return nil
}

func never() bool { return false }

// TestPipelinedDrainProperty: rounds of the pipelined drain against the
// fake gateway, with failures at random points — before the upload leaves
// the booth, at the gateway before it stores, after it stored but before
// the answer, a prefix stored, an Ack that fails — and records appended
// between rounds: the booth never acknowledges a record the gateway does
// not hold, the gateway ends with every record exactly once and received
// in order, the outbox empties and Status().Uploaded counts each record
// once.
func TestPipelinedDrainProperty(t *testing.T) {
	g := newFakeGateway(t)
	ft := &faultTransport{next: g.srv.Client().Transport}
	g.fault = faultOf
	rapid.Check(t, func(t *rapid.T) {
		g.reset()
		n := rapid.IntRange(0, 80).Draw(t, "records")
		batch := rapid.IntRange(1, 20).Draw(t, "batch")
		faults := rapid.SliceOfN(rapid.SampledFrom([]gwFault{gwPass, gwPass, gwBeforeSend, gwRefuse, gwLoseAnswer, gwPrefix}), 0, 40).Draw(t, "uploads")
		ackFails := rapid.SliceOfN(rapid.Bool(), 0, 20).Draw(t, "ack fails")
		appends := rapid.SliceOfN(rapid.IntRange(0, 15), 0, 5).Draw(t, "appended between rounds")
		ft.mu.Lock()
		ft.plan, ft.sent = faults, 0
		ft.mu.Unlock()
		st := &ackStore{memStore: newMemStore(n), g: g, fail: ackFails}
		written, _ := st.Pending(0)
		o := g.options(st)
		o.BatchSize = batch
		o.HTTPClient = &http.Client{Transport: ft}
		u, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		for round := 0; ; round++ {
			// Each round either drains the outbox or ends on a failure.
			if round > len(faults)+len(ackFails)+len(appends)+1 {
				d, _ := st.Depth()
				t.Fatalf("outbox not drained after %d rounds: %d records left", round, d)
			}
			_, err := u.drain(context.Background(), never)
			if v := st.violation(); v != nil {
				t.Fatal(v)
			}
			if round < len(appends) {
				_, head, _ := st.ChainHead()
				st.add(appends[round])
				added, _ := st.PendingAfter(head, 0)
				written = append(written, added...)
				continue
			}
			if d, _ := st.Depth(); d == 0 && err == nil {
				break
			}
		}
		if err := g.checkHolds(written); err != nil {
			t.Fatal(err)
		}
		if up := u.Status().Uploaded; up != uint64(len(written)) {
			t.Fatalf("Status().Uploaded %d, want %d", up, len(written))
		}
	})
}

// TestDrainCancelMidWindow: Run's context ends while the window is full —
// batch k's Ack committing, batch k+1 at the gateway, k+2 read — and a new
// uplink on the same store resumes: nothing the gateway did not confirm is
// deleted, the confirmed Ack still commits, and the gateway ends with every
// record once, in order.
func TestDrainCancelMidWindow(t *testing.T) {
	const n, batch = 50, 5
	g := newFakeGateway(t)
	mem := newMemStore(n)
	written, _ := mem.Pending(0)
	// The gateway answers batch 3 only once #1–#10 are acknowledged, so
	// batch 3 gets an Ack of its own, which is held while batch 4 (the
	// window lets it go once batch 2 is acknowledged) hangs at the gateway.
	hung, acked10 := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var uploads int
	g.fault = func(r *http.Request) gwFault {
		g.mu.Lock()
		uploads++
		k := uploads
		g.mu.Unlock()
		switch k {
		case 3:
			select {
			case <-acked10:
			case <-time.After(30 * time.Second): // bounds a hang only
			}
		case 4: // #16–#20
			close(hung)
			return gwHang
		}
		return gwPass
	}
	ackHeld, release := make(chan struct{}), make(chan struct{})
	st := &ackStore{memStore: mem, g: g, hook: func(upTo uint64) {
		if upTo == 15 {
			close(ackHeld)
			<-release
		}
	}, after: func(upTo uint64) {
		if upTo >= 10 {
			once.Do(func() { close(acked10) })
		}
	}}
	o := g.options(st)
	o.BatchSize = batch
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	bound := time.After(30 * time.Second) // bounds a hang only
	for _, c := range []chan struct{}{hung, ackHeld} {
		select {
		case <-c:
		case <-bound:
			t.Fatal("the window never filled: batch 4 at the gateway while batch 3's Ack commits")
		}
	}
	cancel()
	close(release)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	if v := st.violation(); v != nil {
		t.Fatal(v)
	}
	// Run returns only once the Ack in progress has committed.
	if pending, _ := st.Pending(0); len(pending) != n-15 || pending[0].Seq != 16 {
		t.Fatalf("after the cancel the outbox holds %d records, want #16–#%d: the confirmed Ack must commit, nothing unconfirmed may go", len(pending), n)
	}
	g.mu.Lock()
	held := len(g.held)
	g.mu.Unlock()
	if held != 15 {
		t.Fatalf("gateway holds %d records after the cancel, want 15", held)
	}

	// The restart: a new uplink on the same store.
	g.fault = nil
	st.hook, st.after = nil, nil
	u, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.drain(context.Background(), never); err != nil {
		t.Fatal(err)
	}
	if d, _ := st.Depth(); d != 0 {
		t.Fatalf("outbox holds %d after the restart drained", d)
	}
	if v := st.violation(); v != nil {
		t.Fatal(v)
	}
	if err := g.checkHolds(written); err != nil {
		t.Fatal(err)
	}
}
