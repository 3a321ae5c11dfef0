// Command chat is the chat's command-line client. At a terminal it is an
// interactive line editor; with input from a pipe or a file it sends each
// line and prints one line per event, for scripts and tests.
//
//	chat -user alice                        # chat on ws://localhost:8000/chat
//	echo 'hello all' | chat -user alice     # send one line, then exit
//	chat -user bob -json < /dev/null        # print what is waiting, raw
//
// # Signing in
//
// The client connects as protocol version 1 does (the user parameter),
// presenting the token saved from an earlier sign-in, if any. A server
// that keeps no accounts (-auth none) takes that as it is. One that wants
// credentials answers 401; the client then logs in through the server's
// accounts API (/api/login on the same host, https:// for wss://) and
// connects again with the token it got, which it saves, 0600, in
// actorchat/tokens under the user's configuration directory, for the
// reconnects and the next run. At a terminal it asks for the password
// without echo and offers to create the account when the login is refused
// (or at once for Enter alone). A script gives the password in
// CHAT_PASSWORD or -password-file, and -register to create the account if
// the login is refused; it is never asked anything. A saved token the
// server refuses is deleted, and the client signs in again. A server in
// jwt mode answers the API with 404: its tokens come from elsewhere, in
// CHAT_TOKEN or -token, used as they are and never saved. -ca trusts a
// private CA for wss:// and the API alike. The client never prints or logs
// a password or token.
//
// Exit status: 0 on a clean exit (also after /logout); 1 when the session
// was taken over, a request was refused or never confirmed, or the server
// could not be reached; 2 for a usage error or a name the server refuses;
// 3 when signing in failed: credentials missing where nobody can be asked,
// refused (a wrong password, a disabled account, a token the server does
// not take or that names another user); 4 when signed out by the server
// while connected: the token was revoked (a logout or password change
// elsewhere, or the account was disabled; close code 4003); 130 when
// interrupted by a signal (or Ctrl-C at a password prompt).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/actorchat/chat/client"
	"github.com/actorchat/chat/proto/wire"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, invocation{
		args:       os.Args[1:],
		getenv:     os.Getenv,
		stdin:      os.Stdin,
		stdout:     os.Stdout,
		stderr:     os.Stderr,
		isTerminal: client.IsTerminal(os.Stdin.Fd()) && client.IsTerminal(os.Stdout.Fd()),
		tokenDir:   client.DefaultTokenDir,
	})
	stop()
	os.Exit(code)
}

// invocation is everything run takes from the process, so that tests can
// give their own.
type invocation struct {
	args           []string
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
	isTerminal     bool                   // stdin and stdout are a terminal: run interactively
	tokenDir       func() (string, error) // where sign-ins are saved
}

// Exit codes (the package documentation says when each is used).
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitSignIn      = 3
	exitRevoked     = 4
	exitInterrupted = 130
)

// run runs the client and returns the process's exit code.
func run(ctx context.Context, inv invocation) int {
	cfg, err := parseFlags(inv)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		_, _ = fmt.Fprintln(inv.stderr, "chat:", err)
		return exitUsage
	}
	if inv.isTerminal {
		err = client.RunTerminal(ctx, cfg)
	} else {
		err = client.RunLines(ctx, cfg, inv.stdin, inv.stdout)
	}
	return exitCode(err, inv.stderr)
}

// exitCode maps the client's result to an exit code, saying why on stderr
// unless the client has already said so.
func exitCode(err error, stderr io.Writer) int {
	var refused *client.RefusedError
	var signIn *client.SignInError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &refused):
		_, _ = fmt.Fprintln(stderr, "chat: the server refused the connection:", refused.Reason)
		return exitUsage
	case errors.As(err, &signIn):
		_, _ = fmt.Fprintln(stderr, "chat:", signIn.Reason)
		return exitSignIn
	case errors.Is(err, client.ErrRevoked):
		return exitRevoked // the client printed a notice already
	case errors.Is(err, client.ErrSessionReplaced):
		return exitFailed // the client printed a notice already
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	_, _ = fmt.Fprintln(stderr, "chat:", err)
	return exitFailed
}

// parseFlags reads the flags, with CHAT_* environment variables as their
// defaults, and checks them.
func parseFlags(inv invocation) (client.Config, error) {
	env := func(name, def string) string {
		if v := inv.getenv(name); v != "" {
			return v
		}
		return def
	}
	envHistory, err := strconv.Atoi(env("CHAT_HISTORY", "20"))
	if err != nil {
		return client.Config{}, fmt.Errorf("CHAT_HISTORY: want a number, got %q", inv.getenv("CHAT_HISTORY"))
	}
	envJSON, err := strconv.ParseBool(env("CHAT_JSON", "false"))
	if err != nil {
		return client.Config{}, fmt.Errorf("CHAT_JSON: want true or false, got %q", inv.getenv("CHAT_JSON"))
	}

	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(inv.stderr)
	servers := &serverList{def: env("CHAT_SERVER", client.DefaultServer)}
	fs.Var(servers, "server", "chat server's WebSocket `URL`; several (comma-separated, or the flag repeated), such as a cluster's nodes, are tried in turn on a failed dial or a dropped connection (env CHAT_SERVER)")
	user := fs.String("user", env("CHAT_USER", ""), "user `name` to chat as; required (env CHAT_USER)")
	jsonOut := fs.Bool("json", envJSON, "print the server's frames as raw JSON, one per line (env CHAT_JSON)")
	history := fs.Int("history", envHistory, fmt.Sprintf("recent public messages to show on joining, 0 to %d (env CHAT_HISTORY)", wire.MaxHistoryLimit))
	af, err := addAuthFlags(fs, env)
	if err != nil {
		return client.Config{}, err
	}
	fs.Usage = func() { usage(fs) }
	if err := fs.Parse(inv.args); err != nil {
		return client.Config{}, err
	}
	all := servers.list()
	cfg := client.Config{Server: all[0], Servers: all[1:], User: *user, JSON: *jsonOut, History: *history, Logger: newLogger(inv.stderr), Notices: inv.stderr}
	if err := af.apply(&cfg, inv); err != nil {
		return cfg, err
	}
	return checkFlags(fs, cfg)
}

// checkFlags validates the parsed configuration.
func checkFlags(fs *flag.FlagSet, cfg client.Config) (client.Config, error) {
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (see chat -h)", fs.Arg(0))
	}
	if cfg.User == "" {
		return cfg, errors.New("-user is required (or set CHAT_USER); see chat -h")
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	cfg.User, _ = wire.FoldName(cfg.User)
	if cfg.History < 0 || cfg.History > wire.MaxHistoryLimit {
		return cfg, fmt.Errorf("-history %d: want 0 to %d", cfg.History, wire.MaxHistoryLimit)
	}
	return cfg, nil
}

// usage prints the help for -h.
func usage(fs *flag.FlagSet) {
	out := fs.Output()
	_, _ = fmt.Fprintln(out, "usage: chat -user NAME [-server URL[,URL...]] [-history N] [-json] [-ca FILE]")
	_, _ = fmt.Fprintln(out, "            [-password-file FILE] [-register] [-token TOKEN]")
	_, _ = fmt.Fprintln(out, "\nChat at a terminal, or pipe lines in to send them. Flags:")
	fs.PrintDefaults()
	_, _ = fmt.Fprintln(out, signInHelp)
	_, _ = fmt.Fprintln(out, "\nIn the chat:")
	_, _ = fmt.Fprintln(out, client.HelpText)
	_, _ = fmt.Fprintln(out, exitHelp)
}

// signInHelp explains signing in, for -h.
const signInHelp = `
Signing in: against a server with accounts, the client asks for the
password at a terminal (and offers to create the account), or logs in with
CHAT_PASSWORD or -password-file in a script (-register creates the account
if the login is refused). The token it gets is saved in actorchat/tokens
in your configuration directory and used again; /logout deletes it. A
server in jwt mode takes a token from elsewhere: CHAT_TOKEN or -token.`

// exitHelp lists the exit codes, for -h.
const exitHelp = `
exit status:
  0    clean exit (also after /logout)
  1    session taken over, a request refused or unconfirmed, server unreachable
  2    usage error, or a name the server refuses
  3    sign-in failed: no password where nobody can be asked, or the
       credentials were refused (wrong password, disabled account, token)
  4    signed out: the server revoked the credentials while connected
  130  interrupted`

// newLogger returns the diagnostics logger: warnings and errors on stderr.
func newLogger(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
