package ledger

import (
	"errors"
	"testing"
	"time"
)

func TestAccountsAndSessions(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ss := b.open(t, 2) // two replicas over one database
			s, r := ss[0], ss[1]
			a := Account{Name: "siti", Role: RoleAuditor, Facilities: []string{"lapas-a", "lapas-b"}, PasswordHash: "$argon2id$x", Created: t0}
			if err := s.AddAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
			if err := r.AddAccount(ctx, a); !errors.Is(err, ErrAccountExists) {
				t.Errorf("second add: %v, want ErrAccountExists", err)
			}
			got, err := r.Account(ctx, "siti")
			if err != nil || got.Role != RoleAuditor || len(got.Facilities) != 2 || !got.Created.Equal(t0) || got.Disabled {
				t.Errorf("account from the other replica: %+v, %v", got, err)
			}
			if _, err := r.Account(ctx, "nobody"); !errors.Is(err, ErrNoAccount) {
				t.Errorf("unknown account: %v", err)
			}
			got.TOTPSecret = "ABC"
			if err := s.UpdateAccount(ctx, got); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				step int64
				ok   bool
			}{{100, true}, {100, false}, {99, false}, {101, true}} {
				if ok, err := r.UseTOTPStep(ctx, "siti", tc.step); err != nil || ok != tc.ok {
					t.Errorf("UseTOTPStep(%d) = %v, %v; want %v", tc.step, ok, err, tc.ok)
				}
			}
			// Sessions are shared by replicas.
			c := ConsoleSession{Key: "k1", Account: "siti", CSRF: "t", Lang: "id", Created: t0, Seen: t0}
			if err := s.CreateSession(ctx, c); err != nil {
				t.Fatal(err)
			}
			if err := r.TouchSession(ctx, "k1", t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			got2, err := s.Session(ctx, "k1")
			if err != nil || got2.Account != "siti" || !got2.Seen.Equal(t0.Add(time.Minute)) {
				t.Errorf("session: %+v, %v", got2, err)
			}
			if n, err := r.DeleteSessions(ctx, "siti"); err != nil || n != 1 {
				t.Errorf("DeleteSessions = %d, %v", n, err)
			}
			if _, err := s.Session(ctx, "k1"); !errors.Is(err, ErrNoSession) {
				t.Errorf("deleted session: %v", err)
			}
			// Failures count per key within the window.
			for i := range 3 {
				if err := s.LoginFailure(ctx, "account:siti", t0.Add(time.Duration(i)*time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := r.LoginFailures(ctx, "account:siti", t0); err != nil || n != 2 {
				t.Errorf("failures after t0 = %d, %v; want 2", n, err)
			}
			if err := r.ClearLoginFailures(ctx, "account:siti", t0); err != nil {
				t.Fatal(err)
			}
			if n, _ := s.LoginFailures(ctx, "account:siti", t0.Add(-time.Hour)); n != 0 {
				t.Errorf("after clear: %d", n)
			}
		})
	}
}
