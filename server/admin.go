package server

import (
	"log/slog"
	"net/http"

	"github.com/actorchat/chat/auth"
	"github.com/actorchat/chat/proto/wire"
)

// AdminHandler serves the operator's commands (auth.Service's Create,
// ResetPassword, Disable, Enable, RevokeAll and List) as a small JSON API,
// for the admin socket that cmd/chatd opens and `chatd admin` talks to:
//
//	GET  /accounts                    200 AdminList
//	POST /accounts {"name","password"}  201 {"user"}
//	POST /accounts/NAME/password {"password"}  204 (a reset: every token revoked)
//	POST /accounts/NAME/disable       204 (every token revoked)
//	POST /accounts/NAME/enable        204
//	POST /accounts/NAME/revoke        204 (every token revoked)
//
// Refusals are {"error":CODE,"message":REASON} as in the accounts API,
// plus 404 not_found for an account that does not exist. The handler has
// no authentication of its own: whoever may connect to the socket is the
// operator, which is why the socket is its owner's alone.
func AdminHandler(svc *auth.Service, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &api{svc: svc, log: logger}
	mux := http.NewServeMux()
	mux.Handle("GET /accounts", a.serve(a.adminList))
	mux.Handle("POST /accounts", a.serve(a.adminCreate))
	mux.Handle("POST /accounts/{name}/password", a.serve(a.adminReset))
	mux.Handle("POST /accounts/{name}/disable", a.serve(a.adminDo(svc.Disable)))
	mux.Handle("POST /accounts/{name}/enable", a.serve(a.adminDo(svc.Enable)))
	mux.Handle("POST /accounts/{name}/revoke", a.serve(a.adminDo(svc.RevokeAll)))
	return quietPanics(mux, logger) // a panic's value could quote a password
}

// AdminList is the admin socket's list of accounts, by name.
type AdminList struct {
	Accounts []AdminAccount `json:"accounts"`
}

// AdminAccount is one account in an AdminList.
type AdminAccount struct {
	Name     string `json:"name"`
	Created  string `json:"created"` // the protocol's timestamp
	Disabled bool   `json:"disabled"`
	Tokens   int    `json:"tokens"` // valid now
}

func (a *api) adminList(_ http.ResponseWriter, _ *http.Request) (int, any, error) {
	accts, err := a.svc.List()
	if err != nil {
		return 0, nil, err
	}
	list := AdminList{Accounts: make([]AdminAccount, len(accts))}
	for i, acct := range accts {
		list.Accounts[i] = AdminAccount{
			Name: acct.Name, Created: wire.FormatTS(acct.Created.UnixMilli()),
			Disabled: acct.Disabled, Tokens: acct.Tokens,
		}
	}
	return http.StatusOK, list, nil
}

func (a *api) adminCreate(w http.ResponseWriter, r *http.Request) (int, any, error) {
	name, password, err := credentials(w, r)
	if err != nil {
		return 0, nil, err
	}
	user, err := a.svc.Create(r.Context(), name, password)
	return http.StatusCreated, struct {
		User string `json:"user"`
	}{user}, err
}

func (a *api) adminReset(w http.ResponseWriter, r *http.Request) (int, any, error) {
	body, err := readObject(w, r)
	if err != nil {
		return 0, nil, err
	}
	password, err := body.str("password")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, a.svc.ResetPassword(r.Context(), r.PathValue("name"), password)
}

// adminDo serves a command on the account named in the path.
func (a *api) adminDo(command func(name string) error) apiHandler {
	return func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, command(r.PathValue("name"))
	}
}
