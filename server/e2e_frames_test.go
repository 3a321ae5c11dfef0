package server_test

// docs/protocol.md, "What a client sends": bad frames, plain-text lines,
// refs, sizes, close codes and the order in which broken rules are
// reported.

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/proto/wire"
)

// refusedCase is a frame the server must refuse with an error frame,
// keeping the connection.
type refusedCase struct {
	name string
	send string
	code string
	ref  *string // the ref the error echoes; nil: the error has none
}

// deepJSON nests depth arrays inside a say request.
func deepJSON(depth int) string {
	return `{"type":"say","text":"deep","x":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`
}

var refusedCases = []refusedCase{
	// Not a JSON object although it starts with '{'.
	{"unterminated object", `{"type":"say","text":"hi"`, wire.CodeBadRequest, nil},
	{"not JSON", `{not json}`, wire.CodeBadRequest, nil},
	{"blanks before a broken object", " \t\n{bad", wire.CodeBadRequest, nil},
	{"data after the object", `{"type":"who"} trailing`, wire.CodeBadRequest, nil},
	{"two objects", `{"type":"who"}{"type":"who"}`, wire.CodeBadRequest, nil},
	{"raw control character in a string", "{\"type\":\"say\",\"text\":\"a\x01b\"}", wire.CodeBadRequest, nil},
	{"invalid escape", `{"type":"say","text":"a\xb"}`, wire.CodeBadRequest, nil},
	{"single quotes", `{'type':'say'}`, wire.CodeBadRequest, nil},
	{"deeply nested arrays", deepJSON(5000), wire.CodeBadRequest, nil},
	{"deeply nested objects", strings.Repeat(`{"a":`, 2000) + "1" + strings.Repeat("}", 2000), wire.CodeBadRequest, nil},
	// Shape: type, missing or mistyped fields.
	{"empty object", `{}`, wire.CodeBadRequest, nil},
	{"type is a number", `{"type":5,"ref":"t1"}`, wire.CodeBadRequest, ptr("t1")},
	{"type is null", `{"type":null}`, wire.CodeBadRequest, nil},
	{"unknown type", `{"type":"shout","ref":"t2"}`, wire.CodeBadRequest, ptr("t2")},
	{"type is case-sensitive", `{"type":"SAY","text":"hi"}`, wire.CodeBadRequest, nil},
	{"say without text", `{"type":"say","ref":"s1"}`, wire.CodeBadRequest, ptr("s1")},
	{"say with null text", `{"type":"say","text":null,"ref":"s2"}`, wire.CodeBadRequest, ptr("s2")},
	{"say with numeric text", `{"type":"say","text":5,"ref":"s3"}`, wire.CodeBadRequest, ptr("s3")},
	{"say with array text", `{"type":"say","text":["hi"]}`, wire.CodeBadRequest, nil},
	{"say with object text", `{"type":"say","text":{"a":1}}`, wire.CodeBadRequest, nil},
	{"dm without to", `{"type":"dm","text":"hi","ref":"d1"}`, wire.CodeBadRequest, ptr("d1")},
	{"dm without text", `{"type":"dm","to":"bob","ref":"d2"}`, wire.CodeBadRequest, ptr("d2")},
	{"dm with numeric to", `{"type":"dm","to":5,"text":"hi"}`, wire.CodeBadRequest, nil},
	{"who with numeric after", `{"type":"who","after":7,"ref":"w1"}`, wire.CodeBadRequest, ptr("w1")},
	{"history limit as string", `{"type":"history","limit":"5","ref":"h1"}`, wire.CodeBadRequest, ptr("h1")},
	{"history limit 0", `{"type":"history","limit":0,"ref":"h2"}`, wire.CodeBadRequest, ptr("h2")},
	{"history limit 201", `{"type":"history","limit":201}`, wire.CodeBadRequest, nil},
	{"history limit negative", `{"type":"history","limit":-1}`, wire.CodeBadRequest, nil},
	{"history limit fraction", `{"type":"history","limit":1.5}`, wire.CodeBadRequest, nil},
	{"history limit exponent", `{"type":"history","limit":1e2}`, wire.CodeBadRequest, nil},
	{"history limit huge", `{"type":"history","limit":` + strings.Repeat("9", 400) + `}`, wire.CodeBadRequest, nil},
	{"history limit 1e400", `{"type":"history","limit":1e400}`, wire.CodeBadRequest, nil},
	{"history limit 2^64", `{"type":"history","limit":18446744073709551617}`, wire.CodeBadRequest, nil},
	{"history with numeric before", `{"type":"history","before":5}`, wire.CodeBadRequest, nil},
	{"numeric ref", `{"type":"say","text":"hi","ref":5}`, wire.CodeBadRequest, nil},
	{"ref of 65 characters", `{"type":"who","ref":"` + strings.Repeat("r", 65) + `"}`, wire.CodeBadRequest, ptr(strings.Repeat("r", 65))},
	{"numeric key", `{"type":"say","text":"hi","key":5,"ref":"k1"}`, wire.CodeBadRequest, ptr("k1")},
	{"key of 65 characters", `{"type":"say","text":"hi","key":"` + strings.Repeat("k", 65) + `"}`, wire.CodeBadRequest, nil},
	{"/dm without a name", "/dm", wire.CodeBadRequest, nil},
	{"/dm with blanks only", "/dm   ", wire.CodeBadRequest, nil},
	// Text.
	{"empty frame", "", wire.CodeInvalidText, nil},
	{"blank frame", "   ", wire.CodeInvalidText, nil},
	{"newline only", "\n", wire.CodeInvalidText, nil},
	{"CRLF only", "\r\n", wire.CodeInvalidText, nil},
	{"Unicode blanks only", "\t\u00a0\u3000", wire.CodeInvalidText, nil},
	{"empty text", `{"type":"say","text":"","ref":"b1"}`, wire.CodeInvalidText, ptr("b1")},
	{"blank text", `{"type":"say","text":" \t\n\u00a0\u2003"}`, wire.CodeInvalidText, nil},
	{"text of 4097 bytes", `{"type":"say","text":"` + strings.Repeat("x", 4097) + `"}`, wire.CodeInvalidText, nil},
	{"text of 4098 bytes in 2-byte runes", `{"type":"say","text":"` + strings.Repeat("é", 2049) + `"}`, wire.CodeInvalidText, nil},
	{"line of 4097 bytes", strings.Repeat("x", 4097), wire.CodeInvalidText, nil},
	{"lone high surrogate", `{"type":"say","text":"\ud800","ref":"u1"}`, wire.CodeInvalidText, ptr("u1")},
	{"lone low surrogate", `{"type":"say","text":"a\udc00b"}`, wire.CodeInvalidText, nil},
	{"high surrogate then a letter", `{"type":"say","text":"\ud800\u0041"}`, wire.CodeInvalidText, nil},
	{"/dm with no text", "/dm bob", wire.CodeInvalidText, nil},
	{"/dm with blank text", "/dm bob  \t ", wire.CodeInvalidText, nil},
	// Names.
	{"dm to an invalid name", `{"type":"dm","to":"not a name!","text":"hi","ref":"n1"}`, wire.CodeUnknownUser, ptr("n1")},
	{"dm to an empty name", `{"type":"dm","to":"","text":"hi"}`, wire.CodeUnknownUser, nil},
	{"dm to a 33-character name", `{"type":"dm","to":"` + strings.Repeat("b", 33) + `","text":"hi"}`, wire.CodeUnknownUser, nil},
	{"dm to a name never seen", `{"type":"dm","to":"ghost","text":"hi","ref":"n2"}`, wire.CodeUnknownUser, ptr("n2")},
	{"/dm to a name never seen", "/dm ghost hi", wire.CodeUnknownUser, nil},
	{"/dm to an invalid name", "/dm gh?st hi", wire.CodeUnknownUser, nil},
	// Commands.
	{"unknown command", "/nope", wire.CodeUnknownCommand, nil},
	{"unknown command with arguments", "/NOPE a b", wire.CodeUnknownCommand, nil},
	{"slash alone", "/", wire.CodeUnknownCommand, nil},
	{"debug panic is off by default", "/debug panic", wire.CodeUnknownCommand, nil},
	// Several broken rules: the first in the protocol's order is reported.
	{"missing to beats blank text", `{"type":"dm","text":" ","ref":"p1"}`, wire.CodeBadRequest, ptr("p1")},
	{"mistyped key beats blank text", `{"type":"say","text":"","key":7}`, wire.CodeBadRequest, nil},
	{"long ref beats bad surrogate", `{"type":"say","text":"\ud800","ref":"` + strings.Repeat("r", 65) + `"}`, wire.CodeBadRequest, ptr(strings.Repeat("r", 65))},
	{"blank text beats unknown user", `{"type":"dm","to":"ghost","text":"  ","ref":"p2"}`, wire.CodeInvalidText, ptr("p2")},
	{"surrogate beats invalid name", `{"type":"dm","to":"no such!","text":"\ud800"}`, wire.CodeInvalidText, nil},
	{"long text beats unknown user", `{"type":"dm","to":"ghost","text":"` + strings.Repeat("x", 4097) + `"}`, wire.CodeInvalidText, nil},
	{"/dm blank text beats unknown user", "/dm ghost  ", wire.CodeInvalidText, nil},
}

// TestE2EBadFramesAreRefused sends every kind of bad frame on one
// connection and checks the exact error, its ref, that nothing else comes
// back, that the connection stays usable, and that nothing reached anyone.
func TestE2EBadFramesAreRefused(t *testing.T) {
	t.Parallel()
	e := startServer(t, noRateLimit())
	bob := join(t, e, "bob")
	c := join(t, e, "sender")
	expectPresence(t, bob, "sender", true)
	for _, tc := range refusedCases {
		c.sendText(t, tc.send)
		f, err := c.recvFrame(waitFor)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if f.Type != "error" || f.Code != tc.code {
			t.Errorf("%s: got %s, want error %q", tc.name, f.Raw, tc.code)
		}
		switch {
		case tc.ref == nil && f.Ref != nil:
			t.Errorf("%s: error has ref %q, want none", tc.name, *f.Ref)
		case tc.ref != nil && !refIs(f, *tc.ref):
			t.Errorf("%s: error %s, want ref %q", tc.name, f.Raw, *tc.ref)
		}
		// Still usable, and the error was the only answer.
		c.who(t, "", "after "+tc.name)
	}
	// A refused request changes nothing: bob's next frame is this one.
	c.say(t, "barrier", "end")
	if m := bob.expect(t, "message"); m.Text != "barrier" {
		t.Errorf("bob got %s before the barrier; refused requests leaked", m.Raw)
	}
}

// acceptedCase is a frame that must become a public message with exactly
// this text.
type acceptedCase struct {
	name, send, text string
}

var acceptedCases = []acceptedCase{
	{"plain line", "hello", "hello"},
	{"one trailing LF removed", "hello\n", "hello"},
	{"one trailing CRLF removed", "hello\r\n", "hello"},
	{"only one LF removed", "hello\n\n", "hello\n"},
	{"only one CRLF removed", "hello\r\n\r\n", "hello\r\n"},
	{"a lone CR stays", "hello\r", "hello\r"},
	{"blanks kept", "  two  spaces  ", "  two  spaces  "},
	{"slash not first is not a command", " /who", " /who"},
	{"JSON array is a line", `[1,2]`, `[1,2]`},
	{"JSON string is a line", `"quoted"`, `"quoted"`},
	{"control characters in a line", "a\x01b\x7fc\td\x1b[31m", "a\x01b\x7fc\td\x1b[31m"},
	{"escaped control characters", `{"type":"say","text":"a\u0000b\u001fc\td\n\r\f\b"}`, "a\x00b\x1fc\td\n\r\f\b"},
	{"escapes", `{"type":"say","text":"q\"b\\s\/\u00e9"}`, "q\"b\\s/é"},
	{"surrogate pair", `{"type":"say","text":"\ud83d\ude00"}`, "😀"},
	{"raw non-ASCII", `{"type":"say","text":"zoë 中文 😀"}`, "zoë 中文 😀"},
	{"text of 4096 bytes", `{"type":"say","text":"` + strings.Repeat("x", 4096) + `"}`, strings.Repeat("x", 4096)},
	{"text of 4096 bytes in 2-byte runes", `{"type":"say","text":"` + strings.Repeat("é", 2048) + `"}`, strings.Repeat("é", 2048)},
	{"line of 4096 bytes", strings.Repeat("y", 4096), strings.Repeat("y", 4096)},
	{"line of 4096 bytes plus LF", strings.Repeat("z", 4096) + "\n", strings.Repeat("z", 4096)},
	{"blanks before the object", " \n\t{\"type\":\"say\",\"text\":\"ws\"}", "ws"},
	{"unknown fields ignored", `{"type":"say","text":"extra","x":{"y":[1,{"z":null}],"w":true},"TYPE":"dm","To":"ghost"}`, "extra"},
	{"escaped member name", `{"\u0074ype":"say","\u0074ext":"esc"}`, "esc"},
	{"null optional fields", `{"type":"say","text":"nulls","ref":null,"key":null}`, "nulls"},
	{"text with blanks around", `{"type":"say","text":"  padded\n"}`, "  padded\n"},
}

// TestE2EAcceptedFramesAreDeliveredExactly checks that what the protocol
// accepts reaches everyone byte for byte.
func TestE2EAcceptedFramesAreDeliveredExactly(t *testing.T) {
	t.Parallel()
	e := startServer(t, noRateLimit())
	bob := join(t, e, "bob")
	c := join(t, e, "sender")
	expectPresence(t, bob, "sender", true)
	for _, tc := range acceptedCases {
		c.sendText(t, tc.send)
		var msg, sent frame
		for range 2 { // the receipt and the own copy, in either order
			f := c.recv(t)
			switch f.Type {
			case "message":
				msg = f
			case "sent":
				sent = f
			default:
				t.Fatalf("%s: got %s, want message and sent", tc.name, f.Raw)
			}
		}
		if msg.Text != tc.text || msg.Kind != "public" || msg.From != "sender" {
			t.Errorf("%s: own copy %q (%s), want text %q", tc.name, msg.Text, msg.Kind, tc.text)
		}
		if sent.ID != msg.ID || sent.TS != msg.TS || sent.Ref != nil {
			t.Errorf("%s: receipt %s does not match %s, or has a ref", tc.name, sent.Raw, msg.Raw)
		}
		if m := bob.expect(t, "message"); m.Text != tc.text || m.ID != msg.ID {
			t.Errorf("%s: bob got %q, want %q", tc.name, m.Text, tc.text)
		}
	}
}

// TestE2EPlainTextCommands checks /dm and /who typed as lines.
func TestE2EPlainTextCommands(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	bob := join(t, e, "bob")
	carol := join(t, e, "carol")
	expectPresence(t, bob, "carol", true)

	lines := []struct{ send, text string }{
		{"/DM bob hi  there", "hi  there"},
		{"/dm BOB   spaced out  \n", "spaced out  "},
		{"/Dm\tbob\ttabbed", "tabbed"},
	}
	for _, l := range lines {
		carol.sendText(t, l.send)
		s := carol.expect(t, "sent")
		m := bob.expect(t, "message")
		if m.Kind != "dm" || m.From != "carol" || m.To != "bob" || m.Text != l.text || m.ID != s.ID {
			t.Errorf("%q: bob got %s, want dm %q with id %s", l.send, m.Raw, l.text, s.ID)
		}
		if s.Ref != nil {
			t.Errorf("%q: receipt %s has a ref, but none was sent", l.send, s.Raw)
		}
	}
	for _, cmd := range []string{"/who", "/WHO", "/who\r\n", "/who extra words"} {
		carol.sendText(t, cmd)
		u := carol.expect(t, "users")
		if u.Online != 2 || len(u.Users) != 2 || u.Ref != nil {
			t.Errorf("%q: got %s, want users [bob carol] without ref", cmd, u.Raw)
		}
	}
}

// TestE2ERefEcho checks that ref is echoed exactly, even empty, and left
// out when none was sent.
func TestE2ERefEcho(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := join(t, e, "refs")
	c.sendText(t, `{"type":"who","ref":""}`)
	if u := c.expect(t, "users"); !strings.Contains(u.Raw, `"ref":""`) {
		t.Errorf("empty ref: %s, want \"ref\":\"\"", u.Raw)
	}
	for _, req := range []string{`{"type":"who"}`, `{"type":"history"}`, `{"type":"shout"}`} {
		c.sendText(t, req)
		if f := c.recv(t); strings.Contains(f.Raw, `"ref"`) {
			t.Errorf("%s: answer %s has a ref", req, f.Raw)
		}
	}
	c.sendText(t, `{"type":"say","text":"no ref"}`)
	for range 2 { // receipt and own copy
		if f := c.recv(t); strings.Contains(f.Raw, `"ref"`) {
			t.Errorf("%s has a ref, but the say had none", f.Raw)
		}
	}
	refs := []string{"", strings.Repeat("é", 64), `q"b\s`, "😀 ref", strings.Repeat("r", 64)}
	for _, ref := range refs {
		if s := c.say(t, "x", ref); !refIs(s, ref) {
			t.Errorf("say ref %q: %s", ref, s.Raw)
		}
		c.sendFrame(t, wire.ClientFrame{Type: "history", Limit: 1, Ref: &ref})
		if h := c.expect(t, "history"); !refIs(h, ref) {
			t.Errorf("history ref %q: %s", ref, h.Raw)
		}
	}
}

// closeCase is a frame that must end the connection with a close code.
type closeCase struct {
	name string
	op   int
	data []byte
	code int
}

// sizedSay is a say request of exactly n bytes (padded with an unknown
// field), with ref "sized".
func sizedSay(n int) []byte {
	head := `{"type":"say","text":"sized","ref":"sized","pad":"`
	return []byte(head + strings.Repeat("p", n-len(head)-2) + `"}`)
}

func TestE2EFramesThatCloseTheConnection(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	watcher := join(t, e, "watcher")
	cases := []closeCase{
		{"binary frame", websocket.BinaryMessage, []byte(`{"type":"who"}`), 1003},
		{"empty binary frame", websocket.BinaryMessage, nil, 1003},
		{"invalid UTF-8", websocket.TextMessage, []byte("hi \xff\xfe"), 1007},
		{"invalid UTF-8 in a JSON string", websocket.TextMessage, []byte(`{"type":"say","text":"` + "\xc3" + `"}`), 1007},
		{"overlong encoding", websocket.TextMessage, []byte("\xc0\xaf"), 1007},
		{"UTF-8 encoded surrogate", websocket.TextMessage, []byte("\xed\xa0\x80"), 1007},
		{"message of 16385 bytes", websocket.TextMessage, sizedSay(16385), 1009},
	}
	for i, tc := range cases {
		c := join(t, e, "closer"+string(rune('a'+i)))
		c.sendRaw(t, tc.op, tc.data)
		for _, f := range c.expectClose(t, tc.code) {
			if f.Type != "presence" { // the previous closer leaving
				t.Errorf("%s: %s before the close", tc.name, f.Raw)
			}
		}
	}
	// Fragments count after reassembly.
	c := join(t, e, "fragmenter", fragmentingDialer())
	c.sendFragmented(t, sizedSay(16385))
	c.expectClose(t, 1009)

	// None of it reached anyone: the watcher's next message is its own.
	watcher.sendFrame(t, sayFrame("barrier", "b"))
	watcher.expectFrame(t, "barrier", func(f frame) bool {
		if f.Type == "message" && f.Text != "barrier" {
			t.Errorf("watcher got %s from a closed connection", f.Raw)
		}
		return f.Type == "message"
	})
}

// TestE2EHugeMessageGetsClose1009 sends far more than the limit: the
// client must still read the 1009 close, not a reset, although the server
// stops reading at the limit.
func TestE2EHugeMessageGetsClose1009(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := join(t, e, "huge")
	sent := make(chan error, 1)
	go func() { sent <- c.write(websocket.TextMessage, []byte(strings.Repeat("x", 1<<20))) }()
	c.expectClose(t, 1009)
	if err := <-sent; err != nil { // may fail: the server need not read the rest
		t.Logf("the write: %v", err)
	}
}

func TestE2EMessageOfExactlyTheLimitIsAccepted(t *testing.T) {
	t.Parallel()
	e := startServer(t)
	c := join(t, e, "big", fragmentingDialer())
	c.sendText(t, string(sizedSay(16384)))
	c.expectFrame(t, "receipt", func(f frame) bool { return f.Type == "sent" && refIs(f, "sized") })
	c.sendFragmented(t, sizedSay(16384)) // in about 32 fragments
	c.expectFrame(t, "receipt", func(f frame) bool { return f.Type == "sent" && refIs(f, "sized") })
	c.who(t, "", "still open")
}

// TestE2ERateLimitComesFirst checks that a request over the rate limit is
// rate_limited whatever else is wrong with it, and that say and dm (valid
// or not), who and history count, and nothing else.
func TestE2ERateLimitComesFirst(t *testing.T) {
	t.Parallel()
	// One message, then none for 100 s; refusals far below the flood bar.
	e := startServer(t, withActors(func(c *actors.Config) {
		c.MsgRate, c.MsgBurst, c.FloodWindow = 0.01, 1, 1000*time.Second
	}))
	bob := join(t, e, "bob")
	alice := join(t, e, "alice")
	expectPresence(t, bob, "alice", true)
	alice.say(t, "allowed", "ok")

	limited := []struct{ name, send string }{
		{"valid say", `{"type":"say","text":"x","ref":"r"}`},
		{"say without text", `{"type":"say","ref":"r"}`},
		{"say with bad key", `{"type":"say","text":"x","key":5,"ref":"r"}`},
		{"dm with blank text to nobody", `{"type":"dm","to":"ghost","text":" ","ref":"r"}`},
		{"dm to nobody", `{"type":"dm","to":"ghost","text":"x","ref":"r"}`},
		{"dm to an invalid name", `{"type":"dm","to":"!","text":"x","ref":"r"}`},
		{"dm with a lone surrogate", `{"type":"dm","to":"bob","text":"\ud800","ref":"r"}`},
		{"valid dm", `{"type":"dm","to":"bob","text":"x","ref":"r"}`},
	}
	for _, l := range limited {
		alice.sendText(t, l.send)
		if f := alice.expectError(t, wire.CodeRateLimited); !refIs(f, "r") {
			t.Errorf("%s: %s, want ref r", l.name, f.Raw)
		}
	}
	for _, line := range []string{"plain line", "/dm bob hi", "/dm", "   "} {
		alice.sendText(t, line)
		alice.expectError(t, wire.CodeRateLimited)
	}
	// who and history are charged too: their answers can be large.
	alice.sendText(t, `{"type":"who","ref":"w"}`)
	if f := alice.expectError(t, wire.CodeRateLimited); !refIs(f, "w") {
		t.Errorf("who: %s, want rate_limited with ref w", f.Raw)
	}
	alice.sendText(t, `{"type":"history","ref":"h"}`)
	if f := alice.expectError(t, wire.CodeRateLimited); !refIs(f, "h") {
		t.Errorf("history: %s, want rate_limited with ref h", f.Raw)
	}
	// Requests that are none of these do not count and are answered.
	alice.sendText(t, `{"type":"shout","ref":"s"}`)
	alice.expectError(t, wire.CodeBadRequest)
	alice.sendText(t, "/nope")
	alice.expectError(t, wire.CodeUnknownCommand)

	// Nothing refused reached bob.
	if m := bob.expect(t, "message"); m.Text != "allowed" {
		t.Fatalf("bob got %s, want the allowed message", m.Raw)
	}
	bob.say(t, "barrier", "b") // fails on any other frame first

}
