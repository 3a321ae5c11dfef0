package client

import (
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line    string
		want    Command
		wantErr string // substring of the error; "" for none
	}{
		{line: "", want: Command{Kind: CmdNone}},
		{line: " \t ", want: Command{Kind: CmdNone}},
		{line: "\u00a0\u3000", want: Command{Kind: CmdNone}}, // Unicode blanks
		{line: "hello all", want: Command{Kind: CmdSay, Text: "hello all"}},
		{line: "  spaced  out  ", want: Command{Kind: CmdSay, Text: "  spaced  out  "}},
		{line: "hello\n", want: Command{Kind: CmdSay, Text: "hello"}},
		{line: "hello\r\n", want: Command{Kind: CmdSay, Text: "hello"}},
		{line: "a / b", want: Command{Kind: CmdSay, Text: "a / b"}},
		{line: "//etc/passwd", want: Command{Kind: CmdSay, Text: "/etc/passwd"}},
		{line: "/dm bob hi there", want: Command{Kind: CmdDM, To: "bob", Text: "hi there"}},
		{line: "/DM Bob  \t hi  there ", want: Command{Kind: CmdDM, To: "bob", Text: "hi  there "}},
		{line: "/dm\tbob\thi", want: Command{Kind: CmdDM, To: "bob", Text: "hi"}},
		{line: "/dm", wantErr: "usage: /dm"},
		{line: "/dm bob", wantErr: "usage: /dm"},
		{line: "/dm bob   ", wantErr: "usage: /dm"},
		{line: "/dm b@b hi", wantErr: "not a valid user name"},
		{line: "/who", want: Command{Kind: CmdWho}},
		{line: "/WHO  ", want: Command{Kind: CmdWho}},
		{line: "/who Carol", want: Command{Kind: CmdWho, After: "carol"}},
		{line: "/who a b", wantErr: "usage: /who"},
		{line: "/help", want: Command{Kind: CmdHelp}},
		{line: "/?", want: Command{Kind: CmdHelp}},
		{line: "/quit", want: Command{Kind: CmdQuit}},
		{line: "/Exit", want: Command{Kind: CmdQuit}},
		{line: "/logout", want: Command{Kind: CmdLogout}},
		{line: "/PASSWD ", want: Command{Kind: CmdPasswd}},
		// Commands this client does not know are the server's to answer.
		{line: "/debug panic", want: Command{Kind: CmdServer, Text: "/debug panic"}},
		{line: "/DEBUG  Panic \r\n", want: Command{Kind: CmdServer, Text: "/DEBUG  Panic "}},
		{line: "/dmbob hi", want: Command{Kind: CmdServer, Text: "/dmbob hi"}},
		{line: "/nick alice", want: Command{Kind: CmdServer, Text: "/nick alice"}},
		{line: "/", want: Command{Kind: CmdServer, Text: "/"}},
	}
	for _, tt := range tests {
		got, err := ParseCommand(tt.line)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseCommand(%q) error = %v, want one containing %q", tt.line, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("ParseCommand(%q) error %q is not one line", tt.line, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseCommand(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
		}
	}
}
