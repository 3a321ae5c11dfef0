package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/actorchat/chat/client"
)

// authFlags are the flags and variables about credentials and TLS.
type authFlags struct {
	token        *string
	passwordFile *string
	register     *bool
	ca           *string
}

// addAuthFlags defines the credential and TLS flags on fs, with their
// CHAT_* variables as defaults.
func addAuthFlags(fs *flag.FlagSet, env func(name, def string) string) (authFlags, error) {
	envRegister, err := strconv.ParseBool(env("CHAT_REGISTER", "false"))
	if err != nil {
		return authFlags{}, fmt.Errorf("CHAT_REGISTER: want true or false, got %q", env("CHAT_REGISTER", ""))
	}
	return authFlags{
		token: fs.String("token", env("CHAT_TOKEN", ""),
			"a `token` from elsewhere (a server in jwt mode), used as is, never saved; prefer the env CHAT_TOKEN, which ps does not show"),
		passwordFile: fs.String("password-file", env("CHAT_PASSWORD_FILE", ""),
			"read the password from the first line of `FILE` rather than asking (env CHAT_PASSWORD_FILE; or the password itself in CHAT_PASSWORD)"),
		register: fs.Bool("register", envRegister,
			"create the account: a script registers if the login is refused; at a terminal, offer it first (env CHAT_REGISTER)"),
		ca: fs.String("ca", env("CHAT_CA", ""),
			"trust the CA certificates in this PEM `FILE` for wss:// and the accounts API (env CHAT_CA)"),
	}, nil
}

// apply puts the parsed flags into cfg: the token, the password source,
// the TLS settings and where tokens are saved.
func (af authFlags) apply(cfg *client.Config, inv invocation) error {
	cfg.Token, cfg.Register = *af.token, *af.register
	password, err := passwordSource(*af.passwordFile, inv.getenv("CHAT_PASSWORD"))
	if err != nil {
		return err
	}
	cfg.Password = password
	if *af.ca != "" {
		if cfg.TLS, err = client.LoadCA(*af.ca); err != nil {
			return fmt.Errorf("-ca: %w", err)
		}
	}
	if cfg.Token != "" || inv.tokenDir == nil {
		return nil
	}
	dir, err := inv.tokenDir()
	if err != nil {
		_, _ = fmt.Fprintln(inv.stderr, "chat: sign-ins will not be saved:", err)
		return nil
	}
	cfg.TokenDir = dir
	return nil
}

// passwordSource returns the password of file (its first line), or else
// of the CHAT_PASSWORD value; nil when there is neither, and the user is
// asked. The file is read now, so that a missing one is a usage error.
func passwordSource(file, value string) (func() (string, error), error) {
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("-password-file: %w", err)
		}
		value, _, _ = strings.Cut(string(data), "\n")
		value = strings.TrimSuffix(value, "\r")
		if value == "" {
			return nil, errors.New("-password-file: the first line is empty")
		}
	}
	if value == "" {
		return nil, nil
	}
	return func() (string, error) { return value, nil }, nil
}
