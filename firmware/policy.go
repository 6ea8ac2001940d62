package main

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/session"
)

// policyStore keeps the centre's rules document across restarts.
type policyStore interface {
	Policy() ([]byte, error)
	SetPolicy(doc []byte) error
}

// keptRules returns the file's rules with the centre's kept document over
// them, so a restarted booth decides as it did before it stopped; the
// centre sends the document again only when it changes.
func keptRules(own policy.Rules, st policyStore, log *slog.Logger) policy.Rules {
	doc, err := st.Policy()
	if err != nil {
		log.Error("the centre's kept policy is unreadable: the booth uses its file's rules until the centre sends it again", "err", err)
		return own
	}
	if doc == nil {
		return own
	}
	r, err := applyPolicy(own, doc)
	if err != nil {
		log.Error("the centre's kept policy is unusable: the booth uses its file's rules", "err", err)
		return own
	}
	log.Info("policy from the centre in force", "allowance", r.Allowance, "period", r.Period, "zone", r.Location, "per_call", r.PerCall)
	return r
}

func applyPolicy(own policy.Rules, doc []byte) (policy.Rules, error) {
	p, err := protocol.ParsePolicy(doc)
	if err != nil {
		return policy.Rules{}, err
	}
	return p.Apply(own)
}

// onPolicy keeps a document the centre sends and hands its rules to the
// engine. A document the booth cannot apply is logged and dropped (the
// gateway checks documents with the same parser, so only a newer gateway
// can send one); failing to keep it is an error, so the uplink does not
// store the roster version and the next sync brings it again.
func (w *wiring) onPolicy(own policy.Rules, st policyStore) func(json.RawMessage) error {
	return func(doc json.RawMessage) error {
		r, err := applyPolicy(own, doc)
		if err != nil {
			w.log.Error("the centre's policy is unusable: the booth keeps its rules; correct it with wartel-gateway policy set", "err", err)
			return nil
		}
		if err := st.SetPolicy(doc); err != nil {
			return fmt.Errorf("keeping the centre's policy: %w", err)
		}
		w.send(w.ctx, session.Policy{Rules: r})
		return nil
	}
}
