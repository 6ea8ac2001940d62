package ledger

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"
)

// Role is what a console account may do (docs/console.md "Roles").
type Role string

// Roles of console accounts.
const (
	RoleAdmin      Role = "admin"      // the Kanwil: every facility, and the accounts
	RoleOperator   Role = "operator"   // one facility: roster, numbers, policy
	RoleSupervisor Role = "supervisor" // one facility: approves numbers and officer cards, sees reports
	RoleAuditor    Role = "auditor"    // read-only over the facilities it is given
)

// AllRoles lists every role, for tests that give each its place (a label in
// both languages, a row of the route table).
var AllRoles = []Role{RoleAdmin, RoleOperator, RoleSupervisor, RoleAuditor}

// Writes reports whether the role can change anything; such accounts must
// have a second factor.
func (r Role) Writes() bool { return r != RoleAuditor }

// Valid reports whether r is one of AllRoles.
func (r Role) Valid() bool { return slices.Contains(AllRoles, r) }

// Account is a person at the console.
type Account struct {
	Name string
	Role Role
	// Facilities the account sees: exactly one for an operator or a
	// supervisor, one or more for an auditor, none for an admin (who sees
	// every facility).
	Facilities []string
	// PasswordHash is the PHC-style argon2id string (console.HashPassword).
	PasswordHash string
	// TOTPSecret is the base32 RFC 6238 secret ("" : no second factor,
	// allowed for an auditor only).
	TOTPSecret string
	// TOTPStep is the last time step a code was accepted at, so a code is
	// never accepted twice (by any replica).
	TOTPStep int64
	Disabled bool
	Created  time.Time
}

// Sees reports whether the account may see facility's data.
func (a Account) Sees(facility string) bool {
	return a.Role == RoleAdmin || slices.Contains(a.Facilities, facility)
}

// ConsoleSession is one browser's session at the console. Before login it
// has no Account (it carries the login form's CSRF token); a login
// replaces it with a new one.
type ConsoleSession struct {
	// Key is the SHA-256 of the cookie's value (console.sessionKey): the
	// database never holds a live cookie.
	Key     string
	Account string // "" before login
	CSRF    string // the token every form of this session carries
	Lang    string // "id" or "en"
	Created time.Time
	Seen    time.Time // last request, for the idle timeout
}

// Errors of the console's storage.
var (
	ErrNoAccount     = errors.New("no such account")
	ErrAccountExists = errors.New("account exists")
	ErrNoSession     = errors.New("no such session")
)

// Accounts is the console's storage of accounts, sessions and login
// throttling. Every method is safe for concurrent use, also from several
// replicas over one PostgreSQL database.
type Accounts interface {
	// AddAccount creates a; a name already taken is ErrAccountExists.
	AddAccount(ctx context.Context, a Account) error
	// Account returns the named account, or ErrNoAccount.
	Account(ctx context.Context, name string) (Account, error)
	// ListAccounts lists every account by name.
	ListAccounts(ctx context.Context) ([]Account, error)
	// UpdateAccount replaces the role, facilities, password, TOTP secret
	// (resetting its step) and disabled flag of a.Name.
	UpdateAccount(ctx context.Context, a Account) error
	// SetAccountDisabled disables (or enables) account name, and
	// SetAccountTOTP gives it a new TOTP secret (its step reset); each
	// writes its own column only, so a disable and a reset at once by two
	// admins both hold (UpdateAccount writes back the whole row it was
	// given, and one of the two would undo the other).
	SetAccountDisabled(ctx context.Context, name string, disabled bool) error
	SetAccountTOTP(ctx context.Context, name, secret string) error
	// UseTOTPStep records that account name accepted a code of step; it
	// reports false when that step or a later one was already used (a
	// replayed code).
	UseTOTPStep(ctx context.Context, name string, step int64) (bool, error)

	// CreateSession stores a new session.
	CreateSession(ctx context.Context, s ConsoleSession) error
	// Session returns the session of key, or ErrNoSession.
	Session(ctx context.Context, key string) (ConsoleSession, error)
	// TouchSession moves a session's last use to at.
	TouchSession(ctx context.Context, key string, at time.Time) error
	// SetSessionLang changes the language a session shows.
	SetSessionLang(ctx context.Context, key, lang string) error
	// DeleteSession ends one session (logout, login, expiry).
	DeleteSession(ctx context.Context, key string) error
	// DeleteSessions ends every session of account (disabled, password or
	// second factor reset) and returns how many there were.
	DeleteSessions(ctx context.Context, account string) (int, error)
	// PruneSessions deletes sessions created before created or last used
	// before seen.
	PruneSessions(ctx context.Context, created, seen time.Time) error

	// LoginFailure counts one failed login against key ("account:NAME",
	// "addr:IP") at at.
	LoginFailure(ctx context.Context, key string, at time.Time) error
	// LoginFailures counts key's failed logins after since.
	LoginFailures(ctx context.Context, key string, since time.Time) (int, error)
	// Facilities lists every facility the centre knows (of an enrolled
	// device or a roster card), by name: what an admin's console shows.
	Facilities(ctx context.Context) ([]string, error)

	// ClearLoginFailures forgets key's failures (after a good login) and
	// everyone's before before.
	ClearLoginFailures(ctx context.Context, key string, before time.Time) error
	// ForgetLoginFailure takes back one failure of key at at: a login
	// attempt is counted before it is checked (so a burst at once is
	// throttled too) and, when it succeeds, no longer counts.
	ForgetLoginFailure(ctx context.Context, key string, at time.Time) error
}

func (s *sqlStore) AddAccount(ctx context.Context, a Account) error {
	if _, err := s.Account(ctx, a.Name); err == nil {
		return s.errf("add account "+a.Name, ErrAccountExists)
	} else if !errors.Is(err, ErrNoAccount) {
		return err
	}
	_, err := s.on(ctx).ExecContext(ctx, s.q(`INSERT INTO console_accounts (name, role, facilities, password_hash, totp_secret, totp_step, disabled, created_ms)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?)`), a.Name, string(a.Role), strings.Join(a.Facilities, ","), a.PasswordHash, a.TOTPSecret, boolInt(a.Disabled), msOf(a.Created))
	if err != nil {
		return s.errf("add account "+a.Name, err)
	}
	return nil
}

const accountCols = `name, role, facilities, password_hash, totp_secret, totp_step, disabled, created_ms`

func scanAccount(sc interface{ Scan(...any) error }) (Account, error) {
	var a Account
	var role, facilities string
	var disabled int
	var created sql.NullInt64
	if err := sc.Scan(&a.Name, &role, &facilities, &a.PasswordHash, &a.TOTPSecret, &a.TOTPStep, &disabled, &created); err != nil {
		return Account{}, err
	}
	a.Role = Role(role)
	if facilities != "" {
		a.Facilities = strings.Split(facilities, ",")
	}
	a.Disabled = disabled != 0
	a.Created = timeOf(created)
	return a, nil
}

func (s *sqlStore) Account(ctx context.Context, name string) (Account, error) {
	a, err := scanAccount(s.on(ctx).QueryRowContext(ctx, s.q(`SELECT `+accountCols+` FROM console_accounts WHERE name = ?`), name))
	if absent(err) {
		return Account{}, s.errf("account "+name, ErrNoAccount)
	}
	if err != nil {
		return Account{}, s.errf("account "+name, err)
	}
	return a, nil
}

func (s *sqlStore) ListAccounts(ctx context.Context) ([]Account, error) {
	rows, err := s.on(ctx).QueryContext(ctx, `SELECT `+accountCols+` FROM console_accounts ORDER BY name`)
	if err != nil {
		return nil, s.errf("accounts", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, s.errf("accounts", err)
		}
		out = append(out, a)
	}
	return out, s.errf2("accounts", rows.Err())
}

func (s *sqlStore) UpdateAccount(ctx context.Context, a Account) error {
	old, err := s.Account(ctx, a.Name)
	if err != nil {
		return err
	}
	step := old.TOTPStep
	if a.TOTPSecret != old.TOTPSecret {
		step = 0
	}
	_, err = s.on(ctx).ExecContext(ctx, s.q(`UPDATE console_accounts SET role = ?, facilities = ?, password_hash = ?, totp_secret = ?, totp_step = ?, disabled = ? WHERE name = ?`),
		string(a.Role), strings.Join(a.Facilities, ","), a.PasswordHash, a.TOTPSecret, step, boolInt(a.Disabled), a.Name)
	return s.errf2("update account "+a.Name, err)
}

func (s *sqlStore) SetAccountDisabled(ctx context.Context, name string, disabled bool) error {
	return s.setAccount(ctx, name, "disable", `disabled = ?`, boolInt(disabled))
}

func (s *sqlStore) SetAccountTOTP(ctx context.Context, name, secret string) error {
	return s.setAccount(ctx, name, "reset the second factor of", `totp_secret = ?, totp_step = 0`, secret)
}

// setAccount applies set to account name, or says there is no such account.
func (s *sqlStore) setAccount(ctx context.Context, name, op, set string, args ...any) error {
	if n, err := rowsChanged(s.on(ctx).ExecContext(ctx, s.q(`UPDATE console_accounts SET `+set+` WHERE name = ?`), append(args, name)...)); err != nil {
		return s.errf(op+" account "+name, err)
	} else if n == 0 {
		return ErrNoAccount
	}
	return nil
}

func (s *sqlStore) UseTOTPStep(ctx context.Context, name string, step int64) (bool, error) {
	res, err := s.on(ctx).ExecContext(ctx, s.q(`UPDATE console_accounts SET totp_step = ? WHERE name = ? AND totp_step < ?`), step, name, step)
	if err != nil {
		return false, s.errf("second factor of "+name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.errf("second factor of "+name, err)
	}
	return n == 1, nil
}

func (s *sqlStore) CreateSession(ctx context.Context, c ConsoleSession) error {
	_, err := s.on(ctx).ExecContext(ctx, s.q(`INSERT INTO console_sessions (sid, account, csrf, lang, created_ms, seen_ms) VALUES (?, ?, ?, ?, ?, ?)`),
		c.Key, c.Account, c.CSRF, c.Lang, msOf(c.Created), msOf(c.Seen))
	return s.errf2("create session", err)
}

func (s *sqlStore) Session(ctx context.Context, key string) (ConsoleSession, error) {
	c := ConsoleSession{Key: key}
	var created, seen sql.NullInt64
	err := s.on(ctx).QueryRowContext(ctx, s.q(`SELECT account, csrf, lang, created_ms, seen_ms FROM console_sessions WHERE sid = ?`), key).
		Scan(&c.Account, &c.CSRF, &c.Lang, &created, &seen)
	if absent(err) {
		return ConsoleSession{}, ErrNoSession
	}
	if err != nil {
		return ConsoleSession{}, s.errf("session", err)
	}
	c.Created, c.Seen = timeOf(created), timeOf(seen)
	return c, nil
}

func (s *sqlStore) TouchSession(ctx context.Context, key string, at time.Time) error {
	_, err := s.on(ctx).ExecContext(ctx, s.q(`UPDATE console_sessions SET seen_ms = ? WHERE sid = ?`), msOf(at), key)
	return s.errf2("touch session", err)
}

func (s *sqlStore) SetSessionLang(ctx context.Context, key, lang string) error {
	_, err := s.on(ctx).ExecContext(ctx, s.q(`UPDATE console_sessions SET lang = ? WHERE sid = ?`), lang, key)
	return s.errf2("session language", err)
}

func (s *sqlStore) DeleteSession(ctx context.Context, key string) error {
	_, err := s.on(ctx).ExecContext(ctx, s.q(`DELETE FROM console_sessions WHERE sid = ?`), key)
	return s.errf2("delete session", err)
}

func (s *sqlStore) DeleteSessions(ctx context.Context, account string) (int, error) {
	res, err := s.on(ctx).ExecContext(ctx, s.q(`DELETE FROM console_sessions WHERE account = ?`), account)
	if err != nil {
		return 0, s.errf("end the sessions of "+account, err)
	}
	n, err := res.RowsAffected()
	return int(n), s.errf2("end the sessions of "+account, err)
}

func (s *sqlStore) PruneSessions(ctx context.Context, created, seen time.Time) error {
	_, err := s.on(ctx).ExecContext(ctx, s.q(`DELETE FROM console_sessions WHERE created_ms < ? OR seen_ms < ?`), msOf(created), msOf(seen))
	return s.errf2("prune sessions", err)
}

func (s *sqlStore) LoginFailure(ctx context.Context, key string, at time.Time) error {
	_, err := s.on(ctx).ExecContext(ctx, s.q(`INSERT INTO console_login_failures (who, at_ms) VALUES (?, ?)`), key, msOf(at))
	return s.errf2("count a failed login", err)
}

func (s *sqlStore) LoginFailures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	err := s.on(ctx).QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM console_login_failures WHERE who = ? AND at_ms > ?`), key, msOf(since)).Scan(&n)
	return n, s.errf2("failed logins", err)
}

func (s *sqlStore) ClearLoginFailures(ctx context.Context, key string, before time.Time) error {
	_, err := s.on(ctx).ExecContext(ctx, s.q(`DELETE FROM console_login_failures WHERE who = ? OR at_ms < ?`), key, msOf(before))
	return s.errf2("clear failed logins", err)
}

func (s *sqlStore) ForgetLoginFailure(ctx context.Context, key string, at time.Time) error {
	one := `rowid IN (SELECT rowid FROM console_login_failures WHERE who = ? AND at_ms = ? LIMIT 1)`
	if s.dialect == postgres {
		one = `ctid IN (SELECT ctid FROM console_login_failures WHERE who = ? AND at_ms = ? LIMIT 1)`
	}
	_, err := s.on(ctx).ExecContext(ctx, s.q(`DELETE FROM console_login_failures WHERE `+one), key, msOf(at))
	return s.errf2("forget a counted login", err)
}

// errf2 is errf that passes nil through.
func (s *sqlStore) errf2(op string, err error) error {
	if err == nil {
		return nil
	}
	return s.errf(op, err)
}

func (s *sqlStore) Facilities(ctx context.Context) ([]string, error) {
	rows, err := s.on(ctx).QueryContext(ctx, `SELECT facility FROM devices UNION SELECT facility FROM cards ORDER BY 1`)
	if err != nil {
		return nil, s.errf("facilities", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return nil, s.errf("facilities", err)
		}
		out = append(out, f)
	}
	return out, s.errf2("facilities", rows.Err())
}
