// Command chat is the chat's command-line client. At a terminal it is an
// interactive line editor; with input from a pipe or a file it sends each
// line and prints one line per event, for scripts and tests.
//
//	chat -user alice                        # chat on ws://localhost:8000/chat
//	echo 'hello all' | chat -user alice     # send one line, then exit
//	chat -user bob -json < /dev/null        # print what is waiting, raw
//
// Exit status: 0 on a clean exit; 1 when the session was taken over, a
// request was refused or never confirmed, or the server could not be
// reached; 2 for a usage error or a name the server refuses; 130 when
// interrupted by a signal.
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
	isTerminal     bool // stdin and stdout are a terminal: run interactively
}

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// run runs the client and returns the process's exit code.
func run(ctx context.Context, inv invocation) int {
	cfg, err := parseFlags(inv)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(inv.stderr, "chat:", err)
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
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &refused):
		fmt.Fprintln(stderr, "chat: the server refused the connection:", refused.Reason)
		return exitUsage
	case errors.Is(err, client.ErrSessionReplaced):
		return exitFailed // the client printed a notice already
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	fmt.Fprintln(stderr, "chat:", err)
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
	server := fs.String("server", env("CHAT_SERVER", client.DefaultServer), "chat server's WebSocket `URL` (env CHAT_SERVER)")
	user := fs.String("user", env("CHAT_USER", ""), "user `name` to chat as; required (env CHAT_USER)")
	jsonOut := fs.Bool("json", envJSON, "print the server's frames as raw JSON, one per line (env CHAT_JSON)")
	history := fs.Int("history", envHistory, fmt.Sprintf("recent public messages to show on joining, 0 to %d (env CHAT_HISTORY)", wire.MaxHistoryLimit))
	fs.Usage = func() { usage(fs) }
	if err := fs.Parse(inv.args); err != nil {
		return client.Config{}, err
	}
	return checkFlags(fs, client.Config{Server: *server, User: *user, JSON: *jsonOut, History: *history, Logger: newLogger(inv.stderr), Notices: inv.stderr})
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
	fmt.Fprintln(out, "usage: chat -user NAME [-server URL] [-history N] [-json]")
	fmt.Fprintln(out, "\nChat at a terminal, or pipe lines in to send them. Flags:")
	fs.PrintDefaults()
	fmt.Fprintln(out, "\nIn the chat:")
	fmt.Fprintln(out, client.HelpText)
}

// newLogger returns the diagnostics logger: warnings and errors on stderr.
func newLogger(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
