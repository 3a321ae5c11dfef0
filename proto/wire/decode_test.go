package wire

import (
	"fmt"
	"strings"
	"testing"
)

// describe renders a decoded request compactly, for table tests. Invalid
// messages are left out (they are prose); TestDecode checks they are set.
func describe(v Request) string {
	switch r := v.(type) {
	case *Say:
		return fmt.Sprintf("say text=%q%s%s", r.Text, keyDesc(r.Key), refDesc(r.Ref))
	case *Dm:
		return fmt.Sprintf("dm to=%q text=%q%s%s", r.To, r.Text, keyDesc(r.Key), refDesc(r.Ref))
	case *Who:
		return fmt.Sprintf("who after=%q%s", r.After, refDesc(r.Ref))
	case *History:
		return fmt.Sprintf("history limit=%d before=%q%s", r.Limit, r.Before, refDesc(r.Ref))
	case *DebugPanic:
		return "debug panic"
	case *Invalid:
		counts := ""
		if r.Counts {
			counts = " counts"
		}
		return fmt.Sprintf("invalid %s%s%s", r.Code, counts, refDesc(r.Ref))
	}
	return fmt.Sprintf("unexpected %T", v)
}

func refDesc(ref *string) string {
	if ref == nil {
		return ""
	}
	return fmt.Sprintf(" ref=%q", *ref)
}

func keyDesc(key string) string {
	if key == "" {
		return ""
	}
	return fmt.Sprintf(" key=%q", key)
}

type decodeCase struct {
	name, frame, want string
}

// jsonCases covers the JSON request rules of docs/protocol.md "Client to server".
var jsonCases = []decodeCase{
	// Well-formed requests.
	{"say", `{"type":"say","text":"hi","ref":"1"}`, `say text="hi" ref="1"`},
	{"say with key", `{"type":"say","text":"hi","key":"k1"}`, `say text="hi" key="k1"`},
	{"say keeps white space", `{"type":"say","text":"  hi \n "}`, `say text="  hi \n "`},
	{"dm", `{"type":"dm","to":"bob","text":"hi","ref":"2"}`, `dm to="bob" text="hi" ref="2"`},
	{"dm folds to", `{"type":"dm","to":"BoB","text":"hi"}`, `dm to="bob" text="hi"`},
	{"dm with key", `{"type":"dm","to":"bob","text":"hi","key":"k"}`, `dm to="bob" text="hi" key="k"`},
	{"who", `{"type":"who"}`, `who after=""`},
	{"who after", `{"type":"who","after":"Bob","ref":"3"}`, `who after="bob" ref="3"`},
	{"history default", `{"type":"history"}`, `history limit=50 before=""`},
	{"history full", `{"type":"history","limit":200,"before":"m1","ref":"4"}`, `history limit=200 before="m1" ref="4"`},
	{"history limit 1", `{"type":"history","limit":1}`, `history limit=1 before=""`},
	{"history null limit", `{"type":"history","limit":null}`, `history limit=50 before=""`},
	{"unknown fields ignored", `{"x":[1,{"y":null}],"type":"say","text":"hi","z":true}`, `say text="hi"`},
	{"brackets and quotes inside skipped values", `{"x":"}{\"","y":["]",{"z":"{["}],"type":"say","text":"hi"}`, `say text="hi"`},
	{"skipped value ends in a backslash", `{"x":"a\\","type":"who"}`, `who after=""`},
	{"numbers skipped", `{"n":-1.5e+3,"m":0,"type":"who","k":1e700}`, `who after=""`},
	{"fields of other types ignored", `{"type":"who","text":5,"limit":"x"}`, `who after=""`},
	{"white space around", " \t\r\n{ \"type\" : \"say\" , \"text\" : \"hi\" } \n", `say text="hi"`},
	{"unicode blank before brace", "\u00a0{\"type\":\"say\",\"text\":\"hi\"}", `invalid bad_request`},
	{"escaped key", `{"\u0074ype":"say","text":"hi"}`, `say text="hi"`},
	{"last duplicate wins", `{"type":"who","type":"say","text":"a","text":"b"}`, `say text="b"`},
	{"escapes in text", `{"type":"say","text":"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`, "say text=\"a\\\"\\\\/\\b\\f\\n\\r\\t\u00e9\U0001F600\""},
	{"null ref is absent", `{"type":"say","text":"hi","ref":null}`, `say text="hi"`},

	// ref echo.
	{"empty ref echoed", `{"type":"say","text":"hi","ref":""}`, `say text="hi" ref=""`},
	{"empty ref on error", `{"type":"say","ref":""}`, `invalid bad_request counts ref=""`},
	{"ref on unknown type", `{"type":"nope","ref":"r"}`, `invalid bad_request ref="r"`},
	{"ref on missing type", `{"ref":"r"}`, `invalid bad_request ref="r"`},
	{"ref on invalid text", `{"type":"say","text":" ","ref":"r"}`, `invalid invalid_text counts ref="r"`},
	{"ref on unknown user", `{"type":"dm","to":"-x","text":"hi","ref":"r"}`, `invalid unknown_user counts ref="r"`},
	{"ref of 64 runes", `{"type":"who","ref":"` + strings.Repeat("é", 64) + `"}`, `who after="" ref="` + strings.Repeat("é", 64) + `"`},
	{"ref too long still echoed", `{"type":"who","ref":"` + strings.Repeat("r", 65) + `"}`, `invalid bad_request ref="` + strings.Repeat("r", 65) + `"`},
	{"ref number", `{"type":"say","text":"hi","ref":1}`, `invalid bad_request counts`},
	{"ref object", `{"type":"who","ref":{}}`, `invalid bad_request`},

	// bad_request: shape.
	{"not JSON", `{hello}`, `invalid bad_request`},
	{"array not object", ` {"type":"say"}]`, `invalid bad_request`},
	{"unterminated", `{"type":"say","text":"hi"`, `invalid bad_request`},
	{"trailing garbage", `{"type":"say","text":"hi"} x`, `invalid bad_request`},
	{"two objects", `{"type":"who"}{"type":"who"}`, `invalid bad_request`},
	{"trailing comma", `{"type":"who",}`, `invalid bad_request`},
	{"single quotes", `{'type':'who'}`, `invalid bad_request`},
	{"raw control char in string", "{\"type\":\"say\",\"text\":\"a\x01b\"}", `invalid bad_request`},
	{"raw newline in string", "{\"type\":\"say\",\"text\":\"a\nb\"}", `invalid bad_request`},
	{"bad escape", `{"type":"say","text":"\x41"}`, `invalid bad_request`},
	{"short unicode escape", `{"type":"say","text":"\u12"}`, `invalid bad_request`},
	{"leading zero number", `{"type":"history","limit":050}`, `invalid bad_request`},
	{"bare word", `{"type":"history","limit":nul}`, `invalid bad_request`},
	{"empty object", `{}`, `invalid bad_request`},
	{"missing type", `{"text":"hi"}`, `invalid bad_request`},
	{"unknown type", `{"type":"shout","text":"hi"}`, `invalid bad_request`},
	{"type case matters", `{"type":"SAY","text":"hi"}`, `invalid bad_request`},
	{"field name case matters", `{"Type":"say","text":"hi"}`, `invalid bad_request`},
	{"type number", `{"type":1}`, `invalid bad_request`},
	{"type null", `{"type":null}`, `invalid bad_request`},
	{"say no text", `{"type":"say"}`, `invalid bad_request counts`},
	{"say Text is not text", `{"type":"say","Text":"hi"}`, `invalid bad_request counts`},
	{"say null text", `{"type":"say","text":null}`, `invalid bad_request counts`},
	{"say text number", `{"type":"say","text":5}`, `invalid bad_request counts`},
	{"say text array", `{"type":"say","text":["hi"]}`, `invalid bad_request counts`},
	{"say key number", `{"type":"say","text":"hi","key":7}`, `invalid bad_request counts`},
	{"say key too long", `{"type":"say","text":"hi","key":"` + strings.Repeat("k", 65) + `"}`, `invalid bad_request counts`},
	{"say key 64", `{"type":"say","text":"hi","key":"` + strings.Repeat("k", 64) + `"}`, `say text="hi" key="` + strings.Repeat("k", 64) + `"`},
	{"dm no to", `{"type":"dm","text":"hi"}`, `invalid bad_request counts`},
	{"dm no text", `{"type":"dm","to":"bob"}`, `invalid bad_request counts`},
	{"dm to number", `{"type":"dm","to":5,"text":"hi"}`, `invalid bad_request counts`},
	{"who after number", `{"type":"who","after":1}`, `invalid bad_request`},
	{"history before number", `{"type":"history","before":1}`, `invalid bad_request`},
	{"history limit 0", `{"type":"history","limit":0}`, `invalid bad_request`},
	{"history limit 201", `{"type":"history","limit":201}`, `invalid bad_request`},
	{"history limit negative", `{"type":"history","limit":-1}`, `invalid bad_request`},
	{"history limit float", `{"type":"history","limit":50.0}`, `invalid bad_request`},
	{"history limit exponent", `{"type":"history","limit":1e1}`, `invalid bad_request`},
	{"history limit huge", `{"type":"history","limit":1` + strings.Repeat("0", 400) + `}`, `invalid bad_request`},
	{"history limit string", `{"type":"history","limit":"50"}`, `invalid bad_request`},
	{"history limit bool", `{"type":"history","limit":true}`, `invalid bad_request`},
	{"huge number elsewhere is fine", `{"type":"who","n":-1` + strings.Repeat("9", 400) + `e999999}`, `who after=""`},
	{"deep nesting", `{"type":"who","x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`, `invalid bad_request`},
	{"deep objects", strings.Repeat(`{"a":`, 3000) + "1" + strings.Repeat("}", 3000), `invalid bad_request`},
	{"nesting within bound", `{"type":"who","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, `who after=""`},

	// invalid_text.
	{"empty text", `{"type":"say","text":""}`, `invalid invalid_text counts`},
	{"blank text", `{"type":"say","text":" \t\n\u00a0\u3000"}`, `invalid invalid_text counts`},
	{"lone high surrogate", `{"type":"say","text":"\ud800"}`, `invalid invalid_text counts`},
	{"lone low surrogate", `{"type":"say","text":"a\udc00b"}`, `invalid invalid_text counts`},
	{"reversed pair", `{"type":"say","text":"\ude00\ud83d"}`, `invalid invalid_text counts`},
	{"high then letter", `{"type":"say","text":"\ud83d\u0041"}`, `invalid invalid_text counts`},
	{"lone surrogate in dm", `{"type":"dm","to":"bob","text":"\ud800"}`, `invalid invalid_text counts`},
	{"raw invalid utf8", "{\"type\":\"say\",\"text\":\"\xff\"}", `invalid invalid_text counts`},
	{"text 4096 bytes", `{"type":"say","text":"` + strings.Repeat("a", 4096) + `"}`, `say text="` + strings.Repeat("a", 4096) + `"`},
	{"text 4097 bytes", `{"type":"say","text":"` + strings.Repeat("a", 4097) + `"}`, `invalid invalid_text counts`},
	{"text limit counts bytes", `{"type":"say","text":"` + strings.Repeat("é", 2049) + `"}`, `invalid invalid_text counts`},
	{"escaped control chars are text", `{"type":"say","text":"\u0000\u0007"}`, "say text=\"\\x00\\a\""},
	{"surrogate in ref is kept", `{"type":"who","ref":"\ud800"}`, "who after=\"\" ref=\"\uFFFD\""},

	// unknown_user.
	{"dm invalid name", `{"type":"dm","to":"bob!","text":"hi"}`, `invalid unknown_user counts`},
	{"dm empty name", `{"type":"dm","to":"","text":"hi"}`, `invalid unknown_user counts`},
	{"dm long name", `{"type":"dm","to":"` + strings.Repeat("b", 33) + `","text":"hi"}`, `invalid unknown_user counts`},
	{"dm non-ascii name", `{"type":"dm","to":"bøb","text":"hi"}`, `invalid unknown_user counts`},
	{"dm to self is fine", `{"type":"dm","to":"alice","text":"hi"}`, `dm to="alice" text="hi"`},

	// Precedence: bad_request, then invalid_text, then unknown_user.
	{"bad shape before bad text", `{"type":"dm","to":5,"text":""}`, `invalid bad_request counts`},
	{"bad key before bad text", `{"type":"say","text":"","key":[]}`, `invalid bad_request counts`},
	{"bad ref before bad text", `{"type":"say","text":"","ref":1}`, `invalid bad_request counts`},
	{"bad text before bad name", `{"type":"dm","to":"b@d","text":"  "}`, `invalid invalid_text counts`},
	{"missing text before bad name", `{"type":"dm","to":"b@d"}`, `invalid bad_request counts`},
	{"surrogate before bad name", `{"type":"dm","to":"b@d","text":"\udfff"}`, `invalid invalid_text counts`},
}

// lineCases covers plain-text lines and commands.
var lineCases = []decodeCase{
	{"plain line", "hello all", `say text="hello all"`},
	{"one newline removed", "hi\n", `say text="hi"`},
	{"one crlf removed", "hi\r\n", `say text="hi"`},
	{"only one newline removed", "hi\n\n", `say text="hi\n"`},
	{"lone cr kept", "hi\r", `say text="hi\r"`},
	{"blanks kept", "  hi  ", `say text="  hi  "`},
	{"inner newline kept", "a\nb", `say text="a\nb"`},
	{"slash not first", " /who", `say text=" /who"`},
	{"brace later", "hi {}", `say text="hi {}"`},
	{"empty frame", "", `invalid invalid_text counts`},
	{"only newline", "\n", `invalid invalid_text counts`},
	{"white space only", " \t \u00a0 ", `invalid invalid_text counts`},
	{"white space and brace is JSON", "   {", `invalid bad_request`},
	{"too long line", strings.Repeat("x", 4097), `invalid invalid_text counts`},
	{"4096 plus newline", strings.Repeat("x", 4096) + "\n", `say text="` + strings.Repeat("x", 4096) + `"`},
	{"invalid utf8 line", "a\xffb", `invalid invalid_text counts`},

	{"dm", "/dm bob hi there", `dm to="bob" text="hi there"`},
	{"dm case-insensitive", "/DM Bob hi", `dm to="bob" text="hi"`},
	{"dm blanks after name", "/dm bob \t  hi  there ", `dm to="bob" text="hi  there "`},
	{"dm blanks after command", "/dm   bob hi", `dm to="bob" text="hi"`},
	{"dm tab separated", "/dm\tbob\thi", `dm to="bob" text="hi"`},
	{"dm newline trimmed", "/dm bob hi\r\n", `dm to="bob" text="hi"`},
	{"dm multi-line text", "/dm bob line1\nline2", `dm to="bob" text="line1\nline2"`},
	{"dm no name", "/dm", `invalid bad_request counts`},
	{"dm only blanks", "/dm   ", `invalid bad_request counts`},
	{"dm no text", "/dm bob", `invalid invalid_text counts`},
	{"dm blank text", "/dm bob   ", `invalid invalid_text counts`},
	{"dm invalid name", "/dm b@b hi", `invalid unknown_user counts`},
	{"dm invalid name and no text", "/dm b@b", `invalid invalid_text counts`},
	{"dm text too long", "/dm bob " + strings.Repeat("x", 4097), `invalid invalid_text counts`},
	{"who", "/who", `who after=""`},
	{"who upper", "/WHO\n", `who after=""`},
	{"who with blanks", "/who  ", `who after=""`},
	{"debug panic", "/debug panic", `debug panic`},
	{"debug panic any case", "/Debug PANIC\n", `debug panic`},
	{"debug other", "/debug", `invalid unknown_command`},
	{"debug wrong arg", "/debug crash", `invalid unknown_command`},
	{"unknown command", "/shout hi", `invalid unknown_command`},
	{"bare slash", "/", `invalid unknown_command`},
	{"double slash", "//dm bob hi", `invalid unknown_command`},
	{"whoami", "/whoami", `invalid unknown_command`},
	{"dm prefix only", "/dmbob hi", `invalid unknown_command`},
}

func TestDecode(t *testing.T) {
	t.Parallel()
	groups := []struct {
		name  string
		cases []decodeCase
	}{{"json", jsonCases}, {"line", lineCases}}
	for _, g := range groups {
		for _, tc := range g.cases {
			t.Run(g.name+"/"+tc.name, func(t *testing.T) {
				got := Decode([]byte(tc.frame), Limits{})
				if d := describe(got); d != tc.want {
					t.Errorf("Decode(%.80q)\n got  %s\n want %s", tc.frame, d, tc.want)
				}
				if inv, ok := got.(*Invalid); ok && inv.Message == "" {
					t.Errorf("Decode(%.80q): Invalid without a message", tc.frame)
				}
			})
		}
	}
}

func TestDecodeMaxText(t *testing.T) {
	t.Parallel()
	lim := Limits{MaxText: 5}
	if d := describe(Decode([]byte("12345"), lim)); d != `say text="12345"` {
		t.Errorf("5 bytes under MaxText 5: %s", d)
	}
	for _, frame := range []string{"123456", `{"type":"say","text":"123456"}`, "/dm bob 123456"} {
		if d := describe(Decode([]byte(frame), lim)); d != "invalid invalid_text counts" {
			t.Errorf("%q under MaxText 5: %s", frame, d)
		}
	}
}

func TestDecodeMessages(t *testing.T) {
	t.Parallel()
	cases := []struct{ frame, want string }{
		{`{"type":"say"}`, `"text" is required`},
		{`{"type":"say","text":1}`, `"text" must be a string`},
		{`{"type":"dm","text":"x"}`, `"to" is required`},
		{`{"text":"x"}`, `"type" is required`},
		{`{"type":"yell"}`, `unknown type "yell"`},
		{`{"type":"history","limit":0}`, `"limit" must be an integer from 1 to 200`},
		{`{"type":"who","ref":"` + strings.Repeat("r", 65) + `"}`, `"ref" is longer than 64 characters`},
		{`{"type":"say","text":" "}`, `"text" is blank`},
		{`{"type":"say","text":"` + strings.Repeat("a", 4097) + `"}`, `"text" is longer than 4096 bytes`},
		{`{"type":"dm","to":"b!","text":"x"}`, `"b!" is not a valid user name`},
		{`{nope`, reasonNotObject},
		{"/dm", "/dm needs a user name: /dm NAME TEXT"},
		{"/frob x", `unknown command "/frob"; commands are /dm NAME TEXT and /who`},
	}
	for _, tc := range cases {
		inv, ok := Decode([]byte(tc.frame), Limits{}).(*Invalid)
		if !ok {
			t.Errorf("%q: not refused", tc.frame)
			continue
		}
		if inv.Message != tc.want {
			t.Errorf("%q: message %q, want %q", tc.frame, inv.Message, tc.want)
		}
	}
}

func TestDecodeLongValuesInMessagesAreCut(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 5000)
	for _, frame := range []string{`{"type":"` + long + `"}`, "/" + long, `{"type":"dm","to":"` + long + `","text":"x"}`} {
		inv, ok := Decode([]byte(frame), Limits{}).(*Invalid)
		if !ok {
			t.Errorf("a %d-byte value was not refused", len(long))
		} else if len(inv.Message) > 120 {
			t.Errorf("error message for a %d-byte value is %d bytes", len(long), len(inv.Message))
		}
	}
}

func TestDecodeNeverSharesTheFrame(t *testing.T) {
	t.Parallel()
	// The server reuses its read buffer: decoded strings must not alias it.
	frame := []byte(`{"type":"say","text":"hello","ref":"r1","key":"k1"}`)
	say := Decode(frame, Limits{}).(*Say)
	for i := range frame {
		frame[i] = 'x'
	}
	if say.Text != "hello" || *say.Ref != "r1" || say.Key != "k1" {
		t.Errorf("decoded values changed with the frame: %s", describe(say))
	}
}

func TestFoldName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"alice", "alice", true},
		{"Alice", "alice", true},
		{"ALICE_1.x-Y", "alice_1.x-y", true},
		{"a", "a", true},
		{"7", "7", true},
		{"_bot", "_bot", true},
		{strings.Repeat("a", 32), strings.Repeat("a", 32), true},
		{strings.Repeat("a", 33), "", false},
		{"", "", false},
		{".alice", "", false},
		{"-alice", "", false},
		{"al ice", "", false},
		{"alice ", "", false},
		{"al+ice", "", false},
		{"alice!", "", false},
		{"élise", "", false},
		{"ａlice", "", false},       // fullwidth a
		{"\u212aelvin", "", false}, // Kelvin sign folds to k in Unicode, not here
		{"a\x00", "", false},
	}
	for _, tc := range cases {
		got, ok := FoldName(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("FoldName(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// Not parallel: AllocsPerRun counts the whole process's allocations.
func TestFoldNameDoesNotAllocateWhenFolded(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _, _ = FoldName("alice_1") }); n != 0 {
		t.Errorf("FoldName of a folded name: %v allocations", n)
	}
}

func TestCheckText(t *testing.T) {
	t.Parallel()
	cases := []struct {
		text string
		max  int
		ok   bool
	}{
		{"hi", 0, true},
		{" hi ", 0, true},
		{"", 0, false},
		{" \t\r\n\v\f\u0085\u00a0\u1680\u2000\u2028\u202f\u205f\u3000", 0, false},
		{"\u200b", 0, true}, // zero width space is not white space in Unicode
		{"\xc3", 0, false},
		{strings.Repeat("a", DefaultMaxText), 0, true},
		{strings.Repeat("a", DefaultMaxText+1), 0, false},
		{"abc", 3, true},
		{"abcd", 3, false},
		{"éé", 3, false},
	}
	for _, tc := range cases {
		reason, ok := CheckText(tc.text, tc.max)
		if ok != tc.ok || (reason == "") != ok {
			t.Errorf("CheckText(%.40q, %d) = %q, %v; want ok=%v", tc.text, tc.max, reason, ok, tc.ok)
		}
	}
}
