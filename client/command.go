package client

import (
	"fmt"
	"strings"

	"github.com/actorchat/chat/proto/wire"
)

// CommandKind says what a typed line asks for.
type CommandKind int

// The kinds of command a line can hold.
const (
	// CmdNone is a blank line: nothing to send.
	CmdNone CommandKind = iota
	// CmdSay is a public message (any line not starting with "/").
	CmdSay
	// CmdDM is "/dm <user> <text>", a private message.
	CmdDM
	// CmdWho is "/who [after]", a request for who is online.
	CmdWho
	// CmdHelp is "/help": show the commands, locally.
	CmdHelp
	// CmdQuit is "/quit": close the connection and exit.
	CmdQuit
	// CmdLogout is "/logout": sign out (the server revokes the token, the
	// client forgets it) and exit.
	CmdLogout
	// CmdPasswd is "/passwd": change the account's password, asking for
	// the current and the new one without echo; the chat goes on.
	CmdPasswd
	// CmdServer is a command this client does not know, such as "/debug
	// panic": it is sent to the server as the plain-text line it is (the
	// protocol accepts those), and the server carries it out or answers
	// unknown_command. The server answers such a line without a ref, so
	// it is sent once and not kept for an answer.
	CmdServer
)

// Command is one parsed line of user input.
type Command struct {
	// Kind is what the line asks for.
	Kind CommandKind
	// To is the folded recipient of a CmdDM.
	To string
	// Text is the message of a CmdSay or CmdDM, exactly as typed, or the
	// whole line of a CmdServer.
	Text string
	// After is the folded name a CmdWho pages on from; empty for the start.
	After string
}

// HelpText is what /help prints, one command per line.
const HelpText = `commands:
  <text>             send <text> to everyone
  /dm <user> <text>  send <text> to <user> only
  /who [after]       list who is online (after a name, to page on)
  /help              show this help
  /quit              leave (Ctrl-D works too)
  /passwd            change your password (asks without echo; your other
                     sign-ins elsewhere are signed out, this one goes on)
  /logout            sign out: the server revokes this sign-in, the saved
                     token is deleted, and the client exits
  //text             send "/text" to everyone
  /<other> ...       any other command goes to the server as typed, e.g.
                     /debug panic (a server started with -debug-faults);
                     the server answers unknown_command if it has none`

// blanks are the characters that separate words in a command line.
const blanks = " \t"

// ParseCommand parses one line of input (a trailing "\n" or "\r\n" is
// removed). It returns an error, meant to be shown to the user as one line,
// for a command of this client used wrongly; nothing should be sent then.
// A command it does not know is a CmdServer: the server has commands of its
// own (and may gain more), and it, not this client, says which it knows.
// Command names are case-insensitive, as on the server; a line starting
// with "//" is a public message starting with "/".
func ParseCommand(line string) (Command, error) {
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if strings.TrimSpace(line) == "" {
		return Command{Kind: CmdNone}, nil
	}
	if !strings.HasPrefix(line, "/") {
		return Command{Kind: CmdSay, Text: line}, nil
	}
	if strings.HasPrefix(line, "//") {
		return Command{Kind: CmdSay, Text: line[1:]}, nil
	}
	name, rest := splitWord(line[1:])
	switch strings.ToLower(name) {
	case "dm":
		return parseDM(rest)
	case "who":
		return parseWho(rest)
	case "help", "?":
		return Command{Kind: CmdHelp}, nil
	case "quit", "exit":
		return Command{Kind: CmdQuit}, nil
	case "logout":
		return Command{Kind: CmdLogout}, nil
	case "passwd":
		return Command{Kind: CmdPasswd}, nil
	}
	return Command{Kind: CmdServer, Text: line}, nil
}

// parseDM parses the arguments of /dm: a name, blanks, then the text, which
// is everything after those blanks, kept as typed.
func parseDM(args string) (Command, error) {
	to, text := splitWord(strings.TrimLeft(args, blanks))
	if to == "" || strings.TrimSpace(text) == "" {
		return Command{}, fmt.Errorf("usage: /dm <user> <text>")
	}
	folded, ok := wire.FoldName(to)
	if !ok {
		return Command{}, fmt.Errorf("/dm: %q is not a valid user name", to)
	}
	return Command{Kind: CmdDM, To: folded, Text: text}, nil
}

// parseWho parses the optional name /who pages on from.
func parseWho(args string) (Command, error) {
	after, extra := splitWord(strings.Trim(args, blanks))
	if after == "" {
		return Command{Kind: CmdWho}, nil
	}
	folded, ok := wire.FoldName(after)
	if !ok || extra != "" {
		return Command{}, fmt.Errorf("usage: /who [after-name]")
	}
	return Command{Kind: CmdWho, After: folded}, nil
}

// splitWord splits s at its first blank: the word before it, and what
// follows the blanks after it.
func splitWord(s string) (word, rest string) {
	i := strings.IndexAny(s, blanks)
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], blanks)
}
