package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/actorchat/chat/auth"
)

// authOptions are the flags of accounts and credentials (protocol version
// 2), kept apart from the others so that each block stays whole.
type authOptions struct {
	mode         string // accounts, jwt or none
	rate         int    // registrations and logins per client address a minute; 0: no limit
	registration string // open or closed
	tokenTTL     time.Duration
	adminSocket  string // "" means adminSocketPath's default
}

// define registers the flags on e.
func (a *authOptions) define(e *envFlags) {
	e.str(&a.mode, "auth", "accounts", "how a client proves its name: accounts (name and password, then a token), "+
		"jwt (a token another service signs) or none (the user query parameter is trusted as is: for local trials and tests)")
	e.int(&a.rate, "auth-rate", auth.DefaultIPAttempts, "registrations and logins one client address may make a minute; 0 turns that limit off")
	e.str(&a.registration, "registration", "open", "self-registration: open, or closed (the operator then creates accounts with chatd admin)")
	e.dur(&a.tokenTTL, "token-ttl", auth.DefaultTokenTTL, "how long an issued token is valid")
	e.str(&a.adminSocket, "admin-socket", "", "the operator's Unix socket, for chatd admin (default: DIR/admin/chatd.sock, DIR being -data)")
}

func (a authOptions) validate() error {
	switch {
	case a.mode != "accounts" && a.mode != "jwt" && a.mode != "none":
		return fmt.Errorf("-auth must be accounts, jwt or none, not %q", a.mode)
	case a.registration != "open" && a.registration != "closed":
		return fmt.Errorf("-registration must be open or closed, not %q", a.registration)
	case a.rate < 0:
		return fmt.Errorf("-auth-rate must be 0 or more, not %d", a.rate)
	case a.tokenTTL <= 0:
		return fmt.Errorf("-token-ttl must be positive, not %s", a.tokenTTL)
	}
	return nil
}

// adminSocketPath is where the admin socket is: flag, or by default in a
// directory of its own (which can be 0700 whatever the data directory's
// mode) under dataDir.
func adminSocketPath(dataDir, flag string) string {
	if flag != "" {
		return flag
	}
	return filepath.Join(dataDir, "admin", "chatd.sock")
}
