package wire

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/actorchat/chat/proto/chatpb"
)

// ts0 is 2026-11-28T12:00:00.123Z.
const ts0 = int64(1795867200123)

func strp(s string) *string { return &s }

func publicMsg() *chatpb.Message {
	return &chatpb.Message{Id: "m1", Kind: chatpb.Kind_KIND_PUBLIC, From: "alice", Text: "hi", TsUnixMs: ts0}
}

func dmMsg() *chatpb.Message {
	return &chatpb.Message{Id: "m2", Kind: chatpb.Kind_KIND_DM, From: "alice", To: "bob", Text: "psst", TsUnixMs: ts0}
}

// eventCases pairs each event with its exact frame. The golden strings pin
// field names, order and the omission of false booleans.
var eventCases = []struct {
	name  string
	ev    any
	frame string
}{
	{"welcome", &chatpb.Welcome{User: "alice", Users: []string{"alice", "bob"}, Online: 2, TsUnixMs: ts0},
		`{"type":"welcome","user":"alice","users":["alice","bob"],"online":2,"ts":"2026-11-28T12:00:00.123Z"}`},
	{"welcome nil users", &chatpb.Welcome{User: "alice", Online: 0, TsUnixMs: 0},
		`{"type":"welcome","user":"alice","users":[],"online":0,"ts":"1970-01-01T00:00:00.000Z"}`},
	{"public message", &chatpb.Deliver{Message: publicMsg()},
		`{"type":"message","id":"m1","kind":"public","from":"alice","text":"hi","ts":"2026-11-28T12:00:00.123Z"}`},
	{"dm", &chatpb.Deliver{Message: dmMsg(), Seq: 3},
		`{"type":"message","id":"m2","kind":"dm","from":"alice","to":"bob","text":"psst","ts":"2026-11-28T12:00:00.123Z"}`},
	{"offline redelivered dm", &chatpb.Deliver{Message: func() *chatpb.Message { m := dmMsg(); m.Offline = true; return m }(), Redelivered: true},
		`{"type":"message","id":"m2","kind":"dm","from":"alice","to":"bob","text":"psst","ts":"2026-11-28T12:00:00.123Z","offline":true,"redelivered":true}`},
	{"unspecified kind is public", &chatpb.Deliver{Message: &chatpb.Message{Id: "x", From: "a", To: "ignored", Text: "t", TsUnixMs: ts0}},
		`{"type":"message","id":"x","kind":"public","from":"a","text":"t","ts":"2026-11-28T12:00:00.123Z"}`},
	{"pre-rendered frame", &chatpb.Deliver{Message: dmMsg(), Frame: []byte(`{"type":"message","id":"pre"}`)},
		`{"type":"message","id":"pre"}`},
	{"sent", &chatpb.Sent{Ref: strp("1"), Id: "m1", TsUnixMs: ts0},
		`{"type":"sent","ref":"1","id":"m1","ts":"2026-11-28T12:00:00.123Z"}`},
	{"sent queued no ref", &chatpb.Sent{Id: "m2", TsUnixMs: ts0, Queued: true},
		`{"type":"sent","id":"m2","ts":"2026-11-28T12:00:00.123Z","queued":true}`},
	{"sent empty ref", &chatpb.Sent{Ref: strp(""), Id: "m1", TsUnixMs: ts0},
		`{"type":"sent","ref":"","id":"m1","ts":"2026-11-28T12:00:00.123Z"}`},
	{"users", &chatpb.Users{Ref: strp("3"), Users: []string{"alice", "bob"}, Online: 1500},
		`{"type":"users","ref":"3","users":["alice","bob"],"online":1500}`},
	{"users empty", &chatpb.Users{},
		`{"type":"users","users":[],"online":0}`},
	{"presence online", &chatpb.Presence{User: "bob", Online: true, TsUnixMs: ts0},
		`{"type":"presence","user":"bob","online":true,"ts":"2026-11-28T12:00:00.123Z"}`},
	{"presence offline", &chatpb.Presence{User: "bob", TsUnixMs: ts0},
		`{"type":"presence","user":"bob","online":false,"ts":"2026-11-28T12:00:00.123Z"}`},
	{"history", &chatpb.HistoryPage{Ref: strp("h1"), Messages: []*chatpb.Message{publicMsg(), nil, publicMsg()}},
		`{"type":"history","ref":"h1","messages":[` +
			`{"type":"message","id":"m1","kind":"public","from":"alice","text":"hi","ts":"2026-11-28T12:00:00.123Z"},` +
			`{"type":"message","id":"m1","kind":"public","from":"alice","text":"hi","ts":"2026-11-28T12:00:00.123Z"}]}`},
	{"history empty", &chatpb.HistoryPage{},
		`{"type":"history","messages":[]}`},
	{"refused", &chatpb.Refused{Ref: strp("2"), Code: chatpb.ErrorCode_ERROR_CODE_UNKNOWN_USER, Message: "no such user"},
		`{"type":"error","ref":"2","code":"unknown_user","message":"no such user"}`},
	{"refused unspecified is internal", &chatpb.Refused{Message: "oops"},
		`{"type":"error","code":"internal","message":"oops"}`},
	{"end session with code", &chatpb.EndSession{Reason: chatpb.CloseReason_CLOSE_REASON_REPLACED, Code: chatpb.ErrorCode_ERROR_CODE_SESSION_REPLACED, Message: "replaced"},
		`{"type":"error","code":"session_replaced","message":"replaced"}`},
}

func TestAppendEventGolden(t *testing.T) {
	for _, tc := range eventCases {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("keep:")
			out, ok := AppendEvent(prefix, tc.ev)
			if !ok {
				t.Fatal("ok = false")
			}
			if got := string(out[len(prefix):]); got != tc.frame {
				t.Errorf("frame\n got  %s\n want %s", got, tc.frame)
			}
			if string(out[:len(prefix)]) != "keep:" {
				t.Errorf("dst prefix overwritten: %q", out[:len(prefix)])
			}
		})
	}
}

// TestAppendEventRoundTrip checks every frame with two independent readers:
// encoding/json into a generic map (exactly these fields, these JSON types)
// and ParseServerFrame (what the client sees).
func TestAppendEventRoundTrip(t *testing.T) {
	ts := "2026-11-28T12:00:00.123Z"
	msg := map[string]any{"type": "message", "id": "m1", "kind": "public", "from": "alice", "text": "hi", "ts": ts}
	cases := []struct {
		name   string
		ev     any
		fields map[string]any
		frame  ServerFrame
	}{
		{"welcome", eventCases[0].ev,
			map[string]any{"type": "welcome", "user": "alice", "users": []any{"alice", "bob"}, "online": 2.0, "ts": ts},
			ServerFrame{Type: "welcome", User: "alice", Users: []string{"alice", "bob"}, Online: 2, TS: ts}},
		{"dm", eventCases[4].ev,
			map[string]any{"type": "message", "id": "m2", "kind": "dm", "from": "alice", "to": "bob", "text": "psst", "ts": ts, "offline": true, "redelivered": true},
			ServerFrame{Type: "message", ID: "m2", Kind: "dm", From: "alice", To: "bob", Text: "psst", TS: ts, Offline: true, Redelivered: true}},
		{"sent", &chatpb.Sent{Ref: strp(""), Id: "m2", TsUnixMs: ts0, Queued: true},
			map[string]any{"type": "sent", "ref": "", "id": "m2", "ts": ts, "queued": true},
			ServerFrame{Type: "sent", Ref: strp(""), ID: "m2", TS: ts, Queued: true}},
		{"users", eventCases[10].ev,
			map[string]any{"type": "users", "ref": "3", "users": []any{"alice", "bob"}, "online": 1500.0},
			ServerFrame{Type: "users", Ref: strp("3"), Users: []string{"alice", "bob"}, Online: 1500}},
		{"presence on", eventCases[12].ev,
			map[string]any{"type": "presence", "user": "bob", "online": true, "ts": ts},
			ServerFrame{Type: "presence", User: "bob", IsOnline: true, TS: ts}},
		{"presence off", eventCases[13].ev,
			map[string]any{"type": "presence", "user": "bob", "online": false, "ts": ts},
			ServerFrame{Type: "presence", User: "bob", TS: ts}},
		{"history", &chatpb.HistoryPage{Ref: strp("h"), Messages: []*chatpb.Message{publicMsg()}},
			map[string]any{"type": "history", "ref": "h", "messages": []any{msg}},
			ServerFrame{Type: "history", Ref: strp("h"), Messages: []ServerFrame{{Type: "message", ID: "m1", Kind: "public", From: "alice", Text: "hi", TS: ts}}}},
		{"error", eventCases[16].ev,
			map[string]any{"type": "error", "ref": "2", "code": "unknown_user", "message": "no such user"},
			ServerFrame{Type: "error", Ref: strp("2"), Code: "unknown_user", Message: "no such user"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, ok := AppendEvent(nil, tc.ev)
			if !ok {
				t.Fatal("ok = false")
			}
			var fields map[string]any
			if err := json.Unmarshal(out, &fields); err != nil {
				t.Fatalf("encoding/json: %v in %s", err, out)
			}
			if !reflect.DeepEqual(fields, tc.fields) {
				t.Errorf("fields\n got  %v\n want %v", fields, tc.fields)
			}
			f, err := ParseServerFrame(out)
			if err != nil {
				t.Fatalf("ParseServerFrame: %v", err)
			}
			if !reflect.DeepEqual(f, tc.frame) {
				t.Errorf("ServerFrame\n got  %+v\n want %+v", f, tc.frame)
			}
		})
	}
}

func TestAppendEventRefused(t *testing.T) {
	cases := []struct {
		name string
		ev   any
	}{
		{"nil", nil},
		{"other type", &chatpb.Say{Text: "hi"}},
		{"value not pointer", chatpb.Sent{}},
		{"nil welcome", (*chatpb.Welcome)(nil)},
		{"nil deliver", (*chatpb.Deliver)(nil)},
		{"nil refused", (*chatpb.Refused)(nil)},
		{"nil end session", (*chatpb.EndSession)(nil)},
		{"deliver without message", &chatpb.Deliver{Seq: 1}},
		{"end session without code", &chatpb.EndSession{Reason: chatpb.CloseReason_CLOSE_REASON_SHUTDOWN}},
	}
	for _, tc := range cases {
		out, ok := AppendEvent([]byte("x"), tc.ev)
		if ok || string(out) != "x" {
			t.Errorf("%s: AppendEvent = %q, %v; want dst unchanged, false", tc.name, out, ok)
		}
	}
}

func TestAppendStringEscaping(t *testing.T) {
	cases := []struct{ in, want string }{
		{`plain`, `"plain"`},
		{`q"b\s`, `"q\"b\\s"`},
		{"\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{"<a&b>", `"<a&b>"`},
		{"é😀\u2028\u2029", "\"é😀\u2028\u2029\""},
		{"a\xffb\xc3", `"a\ufffdb\ufffd"`},
		{"", `""`},
	}
	for _, tc := range cases {
		got := string(appendString(nil, tc.in))
		if got != tc.want {
			t.Errorf("appendString(%q) = %s, want %s", tc.in, got, tc.want)
		}
		if !utf8.ValidString(got) || !json.Valid([]byte(got)) {
			t.Errorf("appendString(%q) = %q is not valid UTF-8 JSON", tc.in, got)
		}
	}
}

func TestTimestamps(t *testing.T) {
	cases := []struct {
		ms   int64
		want string
	}{
		{0, "1970-01-01T00:00:00.000Z"},
		{1, "1970-01-01T00:00:00.001Z"},
		{10, "1970-01-01T00:00:00.010Z"},
		{999, "1970-01-01T00:00:00.999Z"},
		{1000, "1970-01-01T00:00:01.000Z"},
		{-1, "1969-12-31T23:59:59.999Z"},
		{ts0, "2026-11-28T12:00:00.123Z"},
		{1795867200000, "2026-11-28T12:00:00.000Z"},
		{951782400000, "2000-02-29T00:00:00.000Z"},
		{253402300799999, "9999-12-31T23:59:59.999Z"},
	}
	for _, tc := range cases {
		if got := FormatTS(tc.ms); got != tc.want {
			t.Errorf("FormatTS(%d) = %s, want %s", tc.ms, got, tc.want)
		}
		if got := string(AppendTS([]byte("x"), tc.ms)); got != "x"+tc.want {
			t.Errorf("AppendTS(%d) = %s", tc.ms, got)
		}
		// Go's own formatter agrees, and the text parses back to the instant.
		if std := time.UnixMilli(tc.ms).UTC().Format("2006-01-02T15:04:05.000Z07:00"); std != tc.want {
			t.Errorf("time.Format(%d) = %s, FormatTS = %s", tc.ms, std, tc.want)
		}
		back, err := ParseTS(tc.want)
		if err != nil || back.UnixMilli() != tc.ms || back.Location() != time.UTC {
			t.Errorf("ParseTS(%s) = %v, %v", tc.want, back, err)
		}
	}
}

func TestParseTSIsStrict(t *testing.T) {
	for _, s := range []string{
		"2026-11-28T12:00:00Z",
		"2026-11-28T12:00:00.12Z",
		"2026-11-28T12:00:00.1234Z",
		"2026-11-28T12:00:00.123+00:00",
		"2026-11-28T12:00:00.123",
		"2026-11-28 12:00:00.123Z",
		"",
	} {
		if _, err := ParseTS(s); err == nil {
			t.Errorf("ParseTS(%q) accepted", s)
		}
	}
}

func TestAppendMessageAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	m := dmMsg()
	m.Text = strings.Repeat("quote\" and é ", 20)
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf = AppendMessage(buf[:0], m, true) }); n != 0 {
		t.Errorf("AppendMessage with room in dst: %v allocations", n)
	}
	ev := &chatpb.Sent{Ref: strp("r"), Id: "m", TsUnixMs: ts0}
	if n := testing.AllocsPerRun(100, func() { buf, _ = AppendEvent(buf[:0], ev) }); n != 0 {
		t.Errorf("AppendEvent(Sent) with room in dst: %v allocations", n)
	}
}

func TestErrorCodes(t *testing.T) {
	want := map[chatpb.ErrorCode]string{
		chatpb.ErrorCode_ERROR_CODE_BAD_REQUEST:      "bad_request",
		chatpb.ErrorCode_ERROR_CODE_UNKNOWN_COMMAND:  "unknown_command",
		chatpb.ErrorCode_ERROR_CODE_INVALID_TEXT:     "invalid_text",
		chatpb.ErrorCode_ERROR_CODE_UNKNOWN_USER:     "unknown_user",
		chatpb.ErrorCode_ERROR_CODE_QUEUE_FULL:       "queue_full",
		chatpb.ErrorCode_ERROR_CODE_RATE_LIMITED:     "rate_limited",
		chatpb.ErrorCode_ERROR_CODE_SESSION_REPLACED: "session_replaced",
		chatpb.ErrorCode_ERROR_CODE_INTERNAL:         "internal",
	}
	for name := range chatpb.ErrorCode_value {
		c := chatpb.ErrorCode(chatpb.ErrorCode_value[name])
		s := ErrorCodeString(c)
		if s != want[c] {
			t.Errorf("ErrorCodeString(%v) = %q, want %q", c, s, want[c])
		}
		if back, ok := ParseErrorCode(s); s != "" && (!ok || back != c) {
			t.Errorf("ParseErrorCode(%q) = %v, %v", s, back, ok)
		}
	}
	for _, s := range []string{"", "BAD_REQUEST", "nope"} {
		if _, ok := ParseErrorCode(s); ok {
			t.Errorf("ParseErrorCode(%q) accepted", s)
		}
	}
	if s := ErrorCodeString(99); s != "" {
		t.Errorf("ErrorCodeString(99) = %q", s)
	}
}

func TestCloseCodes(t *testing.T) {
	want := map[chatpb.CloseReason]int{
		chatpb.CloseReason_CLOSE_REASON_NORMAL:        1000,
		chatpb.CloseReason_CLOSE_REASON_SHUTDOWN:      1001,
		chatpb.CloseReason_CLOSE_REASON_BINARY_FRAME:  1003,
		chatpb.CloseReason_CLOSE_REASON_INVALID_UTF8:  1007,
		chatpb.CloseReason_CLOSE_REASON_POLICY:        1008,
		chatpb.CloseReason_CLOSE_REASON_TOO_LARGE:     1009,
		chatpb.CloseReason_CLOSE_REASON_REPLACED:      4000,
		chatpb.CloseReason_CLOSE_REASON_SLOW_CONSUMER: 4001,
		chatpb.CloseReason_CLOSE_REASON_INTERNAL:      1011,
	}
	for r, code := range want {
		if got := CloseCode(r); got != code {
			t.Errorf("CloseCode(%v) = %d, want %d", r, got, code)
		}
		if back := CloseReasonOf(code); back != r {
			t.Errorf("CloseReasonOf(%d) = %v, want %v", code, back, r)
		}
	}
	if len(want) != len(chatpb.CloseReason_name)-1 {
		t.Errorf("a close reason has no expected code; update the test and CloseCode")
	}
	if got := CloseCode(chatpb.CloseReason_CLOSE_REASON_UNSPECIFIED); got != 1011 {
		t.Errorf("CloseCode(UNSPECIFIED) = %d, want 1011", got)
	}
	for _, code := range []int{0, 1002, 1006, 4002} {
		if r := CloseReasonOf(code); r != chatpb.CloseReason_CLOSE_REASON_UNSPECIFIED {
			t.Errorf("CloseReasonOf(%d) = %v", code, r)
		}
	}
}

func TestPlain8(t *testing.T) {
	naive := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				return false
			}
		}
		return true
	}
	// Every byte value at every position, among plain bytes and beside
	// another special byte (where borrows could mislead the test).
	for _, fill := range []byte{'a', ' ', '~', '!', '#', '[', ']'} {
		for c := 0; c < 256; c++ {
			for pos := 0; pos < 8; pos++ {
				for _, other := range []int{-1, 0, 0x1f, '"', '\\', 0x80, 0xff} {
					b := []byte(strings.Repeat(string(fill), 8))
					b[pos] = byte(c)
					if other >= 0 {
						b[(pos+3)%8] = byte(other)
					}
					if got, want := plain8(string(b)), naive(string(b)); got != want {
						t.Fatalf("plain8(%q) = %v, want %v", b, got, want)
					}
				}
			}
		}
	}
}
