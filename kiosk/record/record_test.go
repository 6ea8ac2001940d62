package record

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func chain(t *testing.T, n int) []Record {
	t.Helper()
	var rs []Record
	for i := 1; i <= n; i++ {
		p, err := json.Marshal(Event{Event: "test", Detail: strings.Repeat("x", i)})
		if err != nil {
			t.Fatal(err)
		}
		r := Record{Device: "f/b1", Seq: uint64(i), Kind: KindEvent, Payload: p}
		if i == 1 {
			r.Seal(nil)
		} else {
			r.Seal(&rs[i-2])
		}
		rs = append(rs, r)
	}
	return rs
}

func TestVerifyChain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mutate  func([]Record) []Record
		wantErr string
	}{
		{"intact", func(rs []Record) []Record { return rs }, ""},
		{"edited payload", func(rs []Record) []Record { rs[2].Payload = json.RawMessage(`{"event":"forged"}`); return rs }, "does not match its content"},
		{"gap", func(rs []Record) []Record { return append(rs[:2:2], rs[3:]...) }, "gap after #2"},
		{"resealed edit", func(rs []Record) []Record {
			rs[2].Payload = json.RawMessage(`{"event":"forged"}`)
			rs[2].Hash = rs[2].ComputeHash()
			return rs
		}, "prev hash"},
		{"not starting at 1", func(rs []Record) []Record { return rs[1:] }, "does not start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyChain(nil, tc.mutate(chain(t, 5)))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("VerifyChain: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("VerifyChain error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// The chain identity is part of what the hash covers, but only when it is
// set: a legacy record (chain "") keeps the hash it was written with.
func TestHashCoversChain(t *testing.T) {
	legacy := Record{Device: "f/b1", Seq: 1, Kind: KindEvent, Payload: json.RawMessage(`{"event":"x"}`)}
	legacy.Seal(nil)
	// The legacy formula, written out: a store that predates chains hashed
	// exactly this.
	h := sha256.Sum256([]byte("f/b1\x001\x00event\x00" + GenesisHash + "\x00" + `{"event":"x"}`))
	if legacy.Hash != hex.EncodeToString(h[:]) {
		t.Fatalf("legacy hash %s changed", legacy.Hash)
	}
	chained := legacy
	chained.Chain = NewChainID()
	if chained.ComputeHash() == legacy.Hash {
		t.Fatal("the hash does not cover the chain")
	}
	chained.Seal(nil)
	moved := chained
	moved.Chain = NewChainID()
	if moved.ComputeHash() == chained.Hash {
		t.Fatal("a record moved to another chain keeps its hash")
	}
	if err := VerifyChain(nil, []Record{chained}); err != nil {
		t.Fatal(err)
	}
}

func TestChainID(t *testing.T) {
	a, b := NewChainID(), NewChainID()
	if a == b || !ValidChainID(a) || len(a) != ChainIDLen {
		t.Fatalf("NewChainID: %q, %q", a, b)
	}
	for _, tc := range []struct {
		id string
		ok bool
	}{{"", true}, {a, true}, {strings.ToUpper(a), false}, {a[:31], false}, {a + "0", false}, {strings.Repeat("g", 32), false}} {
		if got := ValidChainID(tc.id); got != tc.ok {
			t.Errorf("ValidChainID(%q) = %v, want %v", tc.id, got, tc.ok)
		}
	}
}

// TestFollows: the link rules VerifyChain and the gateway's ledger share, and Link as the one
// sealing: a record linked on a chain has a hash over that chain identity.
func TestFollows(t *testing.T) {
	chain := NewChainID()
	first := Record{Device: "lapas-x/b01", Chain: chain, Seq: 1, Kind: KindEvent, Payload: []byte(`{}`)}
	first.Link(GenesisHash)
	second := Record{Device: "lapas-x/b01", Chain: chain, Seq: 2, Kind: KindEvent, Payload: []byte(`{}`)}
	second.Seal(&first)
	third := second
	third.Seq = 3
	third.Link(second.Hash)
	for _, tc := range []struct {
		name string
		r    Record
		prev *Record
		want error
	}{
		{"first", first, nil, nil},
		{"second", second, &first, nil},
		{"first not from genesis", second, nil, ErrLink},
		{"gap", third, &first, ErrGap},
		{"prev is not the predecessor's hash", Record{Seq: 2, Prev: "ab"}, &first, ErrLink},
	} {
		if err := tc.r.Follows(tc.prev); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%s: Follows = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := VerifyChain(nil, []Record{first, second, third}); err != nil {
		t.Errorf("VerifyChain of a linked chain: %v", err)
	}
	moved := second
	moved.Chain = NewChainID()
	if moved.ComputeHash() == second.Hash {
		t.Error("a record moved to another chain keeps its hash: the chain identity is not covered")
	}
}
