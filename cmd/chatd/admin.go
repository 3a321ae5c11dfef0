package main

// `chatd admin`: the operator's commands, sent to a running server over its
// admin socket (adminsock.go; the server side is server.AdminHandler).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/actorchat/chat/server"
)

// Exit codes of `chatd admin`, one per kind of failure, so that scripts
// can tell them apart.
const (
	exitOK          = 0
	exitFailed      = 1 // the server failed, or answered something unexpected
	exitUsage       = 2 // bad flags, command or arguments, or no password given
	exitUnreachable = 3 // no server answers on the socket
	exitNotFound    = 4 // no such account
	exitTaken       = 5 // create: the name is taken
	exitRefused     = 6 // an invalid name or a weak password
)

const adminUsage = `usage: chatd admin [flags] COMMAND [NAME]

Commands, sent to the running server over its admin socket:
  create NAME   create an account (also with -registration closed)
  passwd NAME   set a new password; every token of the account is revoked
  disable NAME  refuse the account's logins; every token is revoked
  enable NAME   allow a disabled account again
  revoke NAME   revoke every token of the account (it signs in again)
  list          every account: created, disabled, valid tokens

create and passwd read the password from -password-file, else from the
terminal (asked twice, not echoed), else from the first line of stdin.

Exit codes: 0 done, 1 the server failed, 2 usage, 3 no server on the
socket, 4 no such account, 5 name taken, 6 invalid name or weak password.

Flags:
`

// adminOptions are the flags of `chatd admin`.
type adminOptions struct {
	dataDir, socket string
	passwordFile    string
	timeout         time.Duration
}

// adminCommand is one parsed command line.
type adminCommand struct {
	opts adminOptions
	verb string
	name string // "" for list
}

// errAdminUsage is a usage error, already explained on stderr.
var errAdminUsage = errors.New("usage")

// runAdmin runs `chatd admin ARGS` and returns its exit code. Errors are
// one line on stderr.
func runAdmin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd, err := parseAdmin(args, getenv, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case err != nil:
		return exitUsage
	}
	password := ""
	if cmd.verb == "create" || cmd.verb == "passwd" {
		if password, err = readPassword(cmd.opts.passwordFile, stdin, stderr); err != nil {
			_, _ = fmt.Fprintln(stderr, "chatd admin:", err)
			return exitUsage
		}
	}
	c := newAdminClient(adminSocketPath(cmd.opts.dataDir, cmd.opts.socket), cmd.opts.timeout)
	defer c.close()
	out, code := c.do(ctx, cmd, password)
	if code != exitOK {
		_, _ = fmt.Fprintln(stderr, "chatd admin:", out)
		return code
	}
	_, _ = fmt.Fprint(stdout, out)
	return exitOK
}

// parseAdmin reads the flags (with CHAT_* variables as defaults, as the
// server's: the same -data and -admin-socket find the same socket), the
// command and its argument.
func parseAdmin(args []string, getenv func(string) string, stderr io.Writer) (adminCommand, error) {
	var c adminCommand
	fs := flag.NewFlagSet("chatd admin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, adminUsage)
		fs.PrintDefaults()
	}
	e := envFlags{fs: fs, getenv: getenv}
	e.str(&c.opts.dataDir, "data", "data", "the server's data directory, where its admin socket is by default")
	e.str(&c.opts.socket, "admin-socket", "", "the server's admin socket (default: DIR/admin/chatd.sock, DIR being -data)")
	fs.StringVar(&c.opts.passwordFile, "password-file", "", "read the password from the first line of this file")
	fs.DurationVar(&c.opts.timeout, "timeout", 30*time.Second, "how long to wait for the server")
	if e.err != nil {
		_, _ = fmt.Fprintln(stderr, "chatd admin:", e.err)
		return c, errAdminUsage
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return c, adminUsageError(stderr, "no command")
	}
	c.verb = rest[0]
	argc, known := adminCommands[c.verb]
	switch {
	case !known:
		return c, adminUsageError(stderr, "unknown command "+c.verb)
	case len(rest)-1 != argc:
		return c, adminUsageError(stderr, fmt.Sprintf("%s takes %d argument(s), not %d", c.verb, argc, len(rest)-1))
	case argc == 1:
		c.name = rest[1]
	}
	return c, nil
}

// adminCommands are the commands and how many arguments each takes.
var adminCommands = map[string]int{"create": 1, "passwd": 1, "disable": 1, "enable": 1, "revoke": 1, "list": 0}

// adminUsageError explains a bad command line in one line.
func adminUsageError(stderr io.Writer, what string) error {
	_, _ = fmt.Fprintf(stderr, "chatd admin: %s (chatd admin -h for help)\n", what)
	return errAdminUsage
}

// readPassword reads the password of create or passwd: from file, else
// from a terminal (twice, without echo), else the first line of stdin.
func readPassword(file string, stdin io.Reader, stderr io.Writer) (string, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return firstLine(bytes.NewReader(data))
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return askPassword(int(f.Fd()), stderr)
	}
	return firstLine(stdin)
}

// askPassword asks for the password twice on the terminal fd.
func askPassword(fd int, stderr io.Writer) (string, error) {
	var got [2]string
	for i, prompt := range []string{"Password: ", "Again: "} {
		_, _ = fmt.Fprint(stderr, prompt)
		p, err := term.ReadPassword(fd)
		_, _ = fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		got[i] = string(p)
	}
	if got[0] != got[1] {
		return "", errors.New("the two passwords differ")
	}
	return got[0], nil
}

// firstLine returns the first line of r without its line ending; an empty
// one is no password.
func firstLine(r io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(r, 4096).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("no password given")
	}
	return line, nil
}

// adminClient speaks HTTP to the server over its admin socket.
type adminClient struct {
	socket string
	hc     *http.Client
}

func newAdminClient(socket string, timeout time.Duration) *adminClient {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}
	return &adminClient{socket: socket, hc: &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: dial}}}
}

func (c *adminClient) close() { c.hc.CloseIdleConnections() }

// do sends cmd and returns what to print (on stdout if code is exitOK,
// else as the error line) and the exit code.
func (c *adminClient) do(ctx context.Context, cmd adminCommand, password string) (string, int) {
	account := "/accounts/" + url.PathEscape(cmd.name)
	switch cmd.verb {
	case "list":
		return c.list(ctx)
	case "create":
		return c.create(ctx, cmd.name, password)
	case "passwd":
		return c.send(ctx, account+"/password", map[string]string{"password": password}, nil,
			"password of "+cmd.name+" set; its tokens are revoked\n")
	case "disable":
		return c.send(ctx, account+"/disable", nil, nil, cmd.name+" disabled; its tokens are revoked\n")
	case "enable":
		return c.send(ctx, account+"/enable", nil, nil, cmd.name+" enabled\n")
	}
	return c.send(ctx, account+"/revoke", nil, nil, "tokens of "+cmd.name+" revoked\n")
}

// create creates an account and names it as the server folded it.
func (c *adminClient) create(ctx context.Context, name, password string) (string, int) {
	var created struct{ User string }
	msg, code := c.send(ctx, "/accounts", map[string]string{"name": name, "password": password}, &created, "")
	if code != exitOK {
		return msg, code
	}
	return "created " + created.User + "\n", exitOK
}

// send posts body (nil: none) to path, decodes the answer into v (if not
// nil) and returns done on success.
func (c *adminClient) send(ctx context.Context, path string, body, v any, done string) (string, int) {
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body) // a map of strings always encodes
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://chatd"+path, bytes.NewReader(data))
	if err != nil {
		return err.Error(), exitFailed
	}
	req.Header.Set("Content-Type", "application/json")
	if msg, code := c.roundTrip(req, v); code != exitOK {
		return msg, code
	}
	return done, exitOK
}

// list fetches the accounts and renders them as a table.
func (c *adminClient) list(ctx context.Context) (string, int) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://chatd/accounts", nil)
	if err != nil {
		return err.Error(), exitFailed
	}
	var list server.AdminList
	if msg, code := c.roundTrip(req, &list); code != exitOK {
		return msg, code
	}
	var out bytes.Buffer
	tw := tabwriter.NewWriter(&out, 0, 8, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "NAME\tCREATED\tSTATUS\tTOKENS")
	for _, a := range list.Accounts {
		status := "enabled"
		if a.Disabled {
			status = "disabled"
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", a.Name, a.Created, status, a.Tokens)
	}
	_ = tw.Flush() // into a buffer: cannot fail
	return out.String(), exitOK
}

// roundTrip sends req and decodes a successful answer into v (if not nil),
// or turns a failure into a message and an exit code.
func (c *adminClient) roundTrip(req *http.Request, v any) (msg string, code int) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Sprintf("no server answers on %s: %v", c.socket, unwrapURLError(err)), exitUnreachable
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return "reading the answer: " + err.Error(), exitFailed
	}
	if resp.StatusCode >= 300 {
		return refusal(resp.StatusCode, data)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			return "the server's answer does not decode: " + err.Error(), exitFailed
		}
	}
	return "", exitOK
}

// refusal is a refused command's message and exit code.
func refusal(status int, data []byte) (string, int) {
	var e struct{ Error, Message string }
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		return fmt.Sprintf("the server answered %d %s", status, strings.TrimSpace(string(data))), exitFailed
	}
	code := exitFailed
	switch e.Error {
	case "not_found":
		code = exitNotFound
	case "name_taken":
		code = exitTaken
	case "invalid_name", "weak_password", "bad_request":
		code = exitRefused
	}
	return e.Message + " (" + e.Error + ")", code
}

// unwrapURLError drops net/http's "Post \"http://chatd/...\":" prefix,
// which names a made-up URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
