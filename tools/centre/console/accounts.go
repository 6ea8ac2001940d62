package console

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	"wartelsuspas/tools/centre/ledger"
)

var accountNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// facilityRE is a facility id as devices name them ("lapas-cipinang").
var facilityRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// CheckAccount checks an account's name, role and facilities: an operator
// or a supervisor has exactly one facility, an auditor at least one, an
// admin none (it sees every facility).
func CheckAccount(name string, role ledger.Role, facilities []string) error {
	if !accountNameRE.MatchString(name) {
		return fmt.Errorf("account name %q: use lower-case letters, digits, '.', '_' or '-', e.g. siti.rahma", name)
	}
	if !role.Valid() {
		return fmt.Errorf("role %q: want one of %v", role, ledger.AllRoles)
	}
	for _, f := range facilities {
		if !facilityRE.MatchString(f) {
			return fmt.Errorf("facility %q: use the id booths are enrolled under, e.g. lapas-cipinang", f)
		}
	}
	switch {
	case role == ledger.RoleAdmin && len(facilities) != 0:
		return fmt.Errorf("an admin sees every facility: give no facility")
	case (role == ledger.RoleOperator || role == ledger.RoleSupervisor) && len(facilities) != 1:
		return fmt.Errorf("a%s %s works for exactly one facility: give one", map[bool]string{true: "n"}[role == ledger.RoleOperator], role)
	case role == ledger.RoleAuditor && len(facilities) == 0:
		return fmt.Errorf("an auditor needs the facilities it reads: give at least one")
	}
	return nil
}

// Credentials are what a new account (or a reset) is given, shown once.
type Credentials struct {
	Password   string // "" when the password was not changed
	TOTPSecret string // "" when the account has no second factor
	TOTPURL    string // otpauth:// for an authenticator app
}

// NewPassword is a random password of 16 letters and digits (about 95
// bits), without the ones people misread (0/O, 1/l/I).
func NewPassword() (string, error) {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", fmt.Errorf("console: random password: %w", err)
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b), nil
}

// NewAccount makes an account with a password (a random one when password
// is "") and, for a role that can change anything, a TOTP secret; it does
// not store it.
func NewAccount(name string, role ledger.Role, facilities []string, password string, p Argon2Params, now time.Time) (ledger.Account, Credentials, error) {
	slices.Sort(facilities)
	facilities = slices.Compact(facilities)
	if err := CheckAccount(name, role, facilities); err != nil {
		return ledger.Account{}, Credentials{}, err
	}
	var cr Credentials
	var err error
	if password == "" {
		if password, err = NewPassword(); err != nil {
			return ledger.Account{}, Credentials{}, err
		}
	} else if len(password) < 12 {
		return ledger.Account{}, Credentials{}, fmt.Errorf("the password is %d characters: give at least 12", len(password))
	}
	cr.Password = password
	hash, err := HashPassword(password, p)
	if err != nil {
		return ledger.Account{}, Credentials{}, err
	}
	a := ledger.Account{Name: name, Role: role, Facilities: facilities, PasswordHash: hash, Created: now}
	if role.Writes() {
		if cr.TOTPSecret, cr.TOTPURL, err = NewTOTP(name); err != nil {
			return ledger.Account{}, Credentials{}, err
		}
		a.TOTPSecret = cr.TOTPSecret
	}
	return a, cr, nil
}

// AccountDoc is an account as the audit trail shows it: never its password
// hash nor its secret.
func AccountDoc(a ledger.Account) string {
	if a.Name == "" {
		return ""
	}
	b, _ := json.Marshal(struct {
		Name       string      `json:"name"`
		Role       ledger.Role `json:"role"`
		Facilities []string    `json:"facilities,omitempty"`
		TOTP       bool        `json:"totp"`
		Disabled   bool        `json:"disabled"`
	}{a.Name, a.Role, a.Facilities, a.TOTPSecret != "", a.Disabled})
	return string(b)
}

// Doc is v as JSON for the audit trail's before and after ("" for nil).
func Doc(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%q", fmt.Sprint(v))
	}
	return string(b)
}

// AuditedChange runs do, which changes the ledger st and returns the audit
// entries of what it changed, and appends them, in one transaction
// (Store.Atomic): do's ledger calls are made with the context it is given,
// and the change is stored with its entries or not at all. A change that
// fails is not audited (nothing changed). The console's actions (Audit)
// and the host's commands that change the ledger go through it.
func AuditedChange(ctx context.Context, st ledger.Store, do func(ctx context.Context) ([]ledger.AuditEntry, error)) error {
	return st.Atomic(ctx, func(ctx context.Context) error {
		entries, err := do(ctx)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if _, err := st.AppendAudit(ctx, e); err != nil {
				return fmt.Errorf("%s of %s is not made: its audit entry could not be written: %w", e.Action, e.Target, err)
			}
		}
		return nil
	})
}

// Audit runs a change made at the console by the signed-in account on the
// route's facility: do changes something and returns the thing before and
// after (anything JSON can encode, or a string already encoded), audited
// through AuditedChange; while do runs, q.Ctx() is the change's
// transaction.
func (q *Request) Audit(action, target string, do func() (before, after any, err error)) error {
	return q.AuditAs(action, func() (string, any, any, error) {
		before, after, err := do()
		return target, before, after, err
	})
}

// AuditAs is Audit for a change whose target is known once it is made (a
// registered number's id): do returns it.
func (q *Request) AuditAs(action string, do func() (target string, before, after any, err error)) error {
	return AuditedChange(q.Ctx(), q.Store(), func(ctx context.Context) ([]ledger.AuditEntry, error) {
		q.atomic = ctx
		defer func() { q.atomic = nil }()
		target, before, after, err := do()
		if err != nil {
			return nil, err
		}
		return []ledger.AuditEntry{{At: q.Now(), Actor: q.Account.Name, Via: "console", Action: action, Facility: q.Facility,
			Target: target, Before: Doc(before), After: Doc(after)}}, nil
	})
}

// splitList splits "a, b,c" into its non-empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// DisableAccount disables (or enables again) the named account and ends its
// sessions; it returns the account before and after.
func DisableAccount(ctx context.Context, st ledger.Store, name string, disabled bool) (before, after ledger.Account, err error) {
	before, err = st.Account(ctx, name)
	if err != nil {
		return before, after, err
	}
	after = before
	after.Disabled = disabled
	if err := st.SetAccountDisabled(ctx, name, disabled); err != nil {
		return before, after, err
	}
	if _, err := st.DeleteSessions(ctx, name); err != nil {
		return before, after, err
	}
	return before, after, nil
}

// ResetTOTP gives the named account a new second-factor secret (its old
// authenticator stops working) and ends its sessions.
func ResetTOTP(ctx context.Context, st ledger.Store, name string) (before, after ledger.Account, cr Credentials, err error) {
	before, err = st.Account(ctx, name)
	if err != nil {
		return before, after, cr, err
	}
	after = before
	if cr.TOTPSecret, cr.TOTPURL, err = NewTOTP(name); err != nil {
		return before, after, cr, err
	}
	after.TOTPSecret = cr.TOTPSecret
	if err := st.SetAccountTOTP(ctx, name, cr.TOTPSecret); err != nil {
		return before, after, cr, err
	}
	if _, err := st.DeleteSessions(ctx, name); err != nil {
		return before, after, cr, err
	}
	return before, after, cr, nil
}
