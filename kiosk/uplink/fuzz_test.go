package uplink

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
)

// memStore is an in-memory Store: a fake for tests that need no SQLite.
type memStore struct {
	mu      sync.Mutex
	recs    []record.Record // pending, by seq
	version int64
	cards   map[string]record.CardInfo
	head    record.Record // the last record written
	stage   *record.RosterStage
	staged  map[string]*record.CardInfo // nil value: a staged delete
	blocked []string                    // the blocked list held
}

func newMemStore(n int) *memStore {
	s := &memStore{cards: map[string]record.CardInfo{}}
	s.add(n)
	return s
}

// add appends n records to the chain, as the engine does while the uplink
// drains.
func (s *memStore) add(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		r := record.Record{Device: device, Seq: s.head.Seq + 1, Kind: record.KindEvent, Payload: []byte(fmt.Sprintf(`{"n":%d}`, s.head.Seq))}
		if s.head.Seq == 0 {
			r.Seal(nil)
		} else {
			r.Seal(&s.head)
		}
		s.recs = append(s.recs, r)
		s.head = r
	}
}

func (s *memStore) ChainHead() (string, uint64, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head.Seq == 0 {
		return "", 0, record.GenesisHash
	}
	return s.head.Chain, s.head.Seq, s.head.Hash
}

func (s *memStore) Pending(limit int) ([]record.Record, error) { return s.PendingAfter(0, limit) }

func (s *memStore) PendingAfter(after uint64, limit int) ([]record.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := 0
	for i < len(s.recs) && s.recs[i].Seq <= after {
		i++
	}
	n := len(s.recs) - i
	if limit > 0 && limit < n {
		n = limit
	}
	return append([]record.Record(nil), s.recs[i:i+n]...), nil
}

func (s *memStore) Ack(upTo uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.recs) > 0 && s.recs[0].Seq <= upTo {
		s.recs = s.recs[1:]
	}
	return nil
}

func (s *memStore) Depth() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs), nil
}

func (s *memStore) RosterVersion() (int64, error) { return s.version, nil }

func (s *memStore) ApplyRosterBlocked(v int64, up []record.CardInfo, del []string, blocked []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if blocked != nil {
		s.blocked = blocked
	}
	for _, d := range del {
		delete(s.cards, d)
	}
	for _, c := range up {
		s.cards[c.Card] = c
	}
	s.version = v
	s.stage, s.staged = nil, nil
	return nil
}

func (s *memStore) RosterStage() (record.RosterStage, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stage == nil {
		return record.RosterStage{}, false, nil
	}
	return *s.stage, true, nil
}

func (s *memStore) StageRoster(st record.RosterStage, up []record.CardInfo, del []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.From != s.version {
		return fmt.Errorf("stage from %d, held %d", st.From, s.version)
	}
	if s.staged == nil {
		s.staged = map[string]*record.CardInfo{}
	}
	for _, d := range del {
		s.staged[d] = nil
	}
	for _, c := range up {
		s.staged[c.Card] = &c
	}
	s.stage = &st
	return nil
}

func (s *memStore) ApplyStaged(v int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stage == nil || s.stage.From != s.version || v < s.version {
		return fmt.Errorf("no stage to apply at %d", v)
	}
	if s.stage.Full {
		s.cards = map[string]record.CardInfo{}
	}
	for id, c := range s.staged {
		if c == nil {
			delete(s.cards, id)
		} else {
			s.cards[id] = *c
		}
	}
	if s.stage.BlockedSent {
		s.blocked = s.stage.Blocked
	}
	s.version, s.stage, s.staged = v, nil, nil
	return nil
}

func (s *memStore) DiscardRosterStage() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stage, s.staged = nil, nil
	return nil
}

// answer is an http.RoundTripper that answers every request with a fixed
// status and body, without a network.
type answer struct {
	status int
	body   []byte
}

func (a answer) RoundTrip(r *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return &http.Response{StatusCode: a.status, Header: http.Header{}, Request: r,
		Body: io.NopCloser(bytes.NewReader(a.body))}, nil
}

// FuzzUploadAnswer feeds arbitrary gateway answers to drain: whatever the
// answer, the booth deletes records only up to a StoredUpTo the gateway
// really sent in a well-formed 2xx answer, and never past the batch.
func FuzzUploadAnswer(f *testing.F) {
	f.Add(200, []byte(`{"stored_up_to":3,"results":[]}`))
	f.Add(200, []byte(`{"stored_up_to":99,"results":[{"seq":1,"status":"stored"}]}`))
	f.Add(200, []byte(`{"stored_up_to":0,"results":[],"chain_errors":["gap"]}`))
	f.Add(200, []byte(`{"stored_up_to":"3"}`))
	f.Add(200, []byte(`{"stored_up_to":3,"extra":1}`))
	f.Add(200, []byte(`{"stored_up_to":5,"res`))
	f.Add(500, []byte(`{"stored_up_to":5,"results":[]}`))
	f.Add(429, []byte(`not json`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		const n, batch = 10, 5
		st := newMemStore(n)
		u, err := New(Options{BaseURL: "https://gateway.invalid", Store: st, BatchSize: batch,
			HTTPClient: &http.Client{Transport: answer{status, body}}, Log: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		_, derr := u.Drain(context.Background())
		depth, _ := st.Depth()
		acked := n - depth

		var resp protocol.UploadResponse
		valid := status/100 == 2 && protocol.Decode(bytes.NewReader(body), protocol.MaxBodyBytes, &resp) == nil
		want := 0
		if valid {
			want = int(min(resp.StoredUpTo, batch))
		}
		if acked != want {
			t.Fatalf("status %d body %q: booth deleted %d records, want %d", status, body, acked, want)
		}
		if (derr == nil) != (valid && want > 0) {
			t.Fatalf("status %d body %q: drain error %v, but %d confirmed", status, body, derr, want)
		}
	})
}
