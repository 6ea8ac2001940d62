package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/session"
)

type memPolicy struct {
	doc      []byte
	readErr  error
	writeErr error
}

func (m *memPolicy) Policy() ([]byte, error) { return m.doc, m.readErr }
func (m *memPolicy) SetPolicy(doc []byte) error {
	if m.writeErr != nil {
		return m.writeErr
	}
	m.doc = append([]byte(nil), doc...)
	return nil
}

func ownRules(t *testing.T) policy.Rules {
	t.Helper()
	jkt, err := policy.LoadZone("Asia/Jakarta")
	if err != nil {
		t.Fatal(err)
	}
	return policy.Rules{Location: jkt, Period: policy.Day, Allowance: 30 * time.Minute, PerCall: 10 * time.Minute,
		Billing: policy.Billing{Unit: policy.PerSecond}, Untrusted: policy.UntrustedRefuse, Officer: policy.OfficerReset}
}

const centreDoc = `{"allowance_ms":180000,"period":"week","zone":"Asia/Makassar","per_call_ms":90000}`

func TestKeptRules(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tt := range []struct {
		name      string
		st        memPolicy
		allowance time.Duration
	}{
		{"none kept", memPolicy{}, 30 * time.Minute},
		{"kept", memPolicy{doc: []byte(centreDoc)}, 3 * time.Minute},
		{"unusable", memPolicy{doc: []byte(`{"allowance_ms":1}`)}, 30 * time.Minute},
		{"unreadable", memPolicy{readErr: errors.New("disk")}, 30 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := keptRules(ownRules(t), &tt.st, log)
			if r.Allowance != tt.allowance {
				t.Errorf("allowance %v, want %v", r.Allowance, tt.allowance)
			}
		})
	}
}

func TestOnPolicy(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &wiring{in: make(chan session.Input, 1), log: slog.New(slog.NewTextHandler(io.Discard, nil)), ctx: ctx}

	st := &memPolicy{}
	if err := w.onPolicy(ownRules(t), st)([]byte(centreDoc)); err != nil {
		t.Fatal(err)
	}
	select {
	case in := <-w.in:
		p, ok := in.(session.Policy)
		if !ok || p.Rules.Allowance != 3*time.Minute || p.Rules.Period != policy.Week || p.Rules.PerCall != 90*time.Second || p.Rules.Billing.Unit != policy.PerSecond {
			t.Errorf("engine got %+v, want the centre's rules over the booth's billing", in)
		}
	default:
		t.Fatal("nothing sent to the engine")
	}
	if string(st.doc) != centreDoc {
		t.Errorf("kept %q, want the document", st.doc)
	}

	// Not kept: an error, so the uplink leaves the roster version; nothing sent.
	failing := &memPolicy{writeErr: errors.New("disk full")}
	if err := w.onPolicy(ownRules(t), failing)([]byte(centreDoc)); err == nil {
		t.Error("a policy that could not be kept was accepted")
	}
	// Unusable: dropped, nothing kept or sent, the sync goes on.
	st2 := &memPolicy{}
	if err := w.onPolicy(ownRules(t), st2)([]byte(`{"allowance_ms":1}`)); err != nil || st2.doc != nil {
		t.Errorf("unusable document: %v, kept %q", err, st2.doc)
	}
	if len(w.in) != 0 {
		t.Error("a policy not kept or unusable reached the engine")
	}
}
