package console

import (
	"errors"

	"wartelsuspas/tools/centre/ledger"
)

type accountsData struct {
	Accounts []ledger.Account
	Roles    []ledger.Role
	// New is shown once, after an account is added or its second factor
	// reset.
	New     *Credentials
	NewName string
}

func accountsPage(q *Request) error {
	as, err := q.Store().ListAccounts(q.Ctx())
	if err != nil {
		return err
	}
	return q.Render("accounts", q.T("accounts.title"), accountsData{Accounts: as, Roles: ledger.AllRoles})
}

func accountAdd(q *Request) error {
	role := ledger.Role(q.Form("role"))
	a, cr, err := NewAccount(q.Form("name"), role, splitList(q.Form("facilities")), "", q.c.opts.Argon2, q.Now())
	if err != nil {
		return &Fail{Status: 400, Key: "err.account", Args: []any{err.Error()}}
	}
	err = q.Audit("account.add", a.Name, func() (any, any, error) {
		return nil, AccountDoc(a), q.Store().AddAccount(q.Ctx(), a)
	})
	if errors.Is(err, ledger.ErrAccountExists) {
		return Bad("err.account_exists", a.Name)
	}
	if err != nil {
		return err
	}
	return q.showCredentials(a.Name, cr)
}

func (q *Request) showCredentials(name string, cr Credentials) error {
	as, err := q.Store().ListAccounts(q.Ctx())
	if err != nil {
		return err
	}
	return q.Render("accounts", q.T("accounts.title"), accountsData{Accounts: as, Roles: ledger.AllRoles, New: &cr, NewName: name})
}

func accountDisable(q *Request) error {
	name := q.Form("name")
	if name == q.Account.Name {
		return Bad("err.disable_self")
	}
	disable := q.Form("enable") == ""
	action := "account.disable"
	if !disable {
		action = "account.enable"
	}
	err := q.Audit(action, name, func() (any, any, error) {
		b, a, err := DisableAccount(q.Ctx(), q.Store(), name, disable)
		return AccountDoc(b), AccountDoc(a), err
	})
	if errors.Is(err, ledger.ErrNoAccount) {
		return Bad("err.no_account", name)
	}
	if err != nil {
		return err
	}
	q.Redirect("/accounts")
	return nil
}

func accountResetTOTP(q *Request) error {
	name := q.Form("name")
	var cr Credentials
	err := q.Audit("account.reset-totp", name, func() (any, any, error) {
		b, a, c, err := ResetTOTP(q.Ctx(), q.Store(), name)
		cr = c
		return AccountDoc(b), AccountDoc(a), err
	})
	if errors.Is(err, ledger.ErrNoAccount) {
		return Bad("err.no_account", name)
	}
	if err != nil {
		return err
	}
	return q.showCredentials(name, cr)
}
