package wire

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// ts0 is 2026-11-28T12:00:00.123Z.
const ts0 = int64(1795867200123)

func strp(s string) *string { return &s }

func publicMsg() Message {
	return Message{ID: "m1", Kind: KindPublic, From: "alice", Text: "hi", TS: ts0}
}

func dmMsg() Message {
	return Message{ID: "m2", Kind: KindDM, From: "alice", To: "bob", Text: "psst", TS: ts0}
}

// event is any server frame type.
type event interface {
	AppendTo(dst []byte) []byte
}

// eventCases pairs each event with its exact frame. The golden strings pin
// field names, order and the omission of false booleans.
var eventCases = []struct {
	name  string
	ev    event
	frame string
}{
	{"welcome", &Welcome{User: "alice", Users: []string{"alice", "bob"}, Online: 2, TS: ts0},
		`{"type":"welcome","user":"alice","users":["alice","bob"],"online":2,"ts":"2026-11-28T12:00:00.123Z"}`},
	{"welcome nil users", &Welcome{User: "alice", Online: 0, TS: 0},
		`{"type":"welcome","user":"alice","users":[],"online":0,"ts":"1970-01-01T00:00:00.000Z"}`},
	{"welcome with rate limit", &Welcome{User: "a", Users: []string{"a"}, Online: 1, TS: ts0, MsgRate: 10, MsgBurst: 30},
		`{"type":"welcome","user":"a","users":["a"],"online":1,"ts":"2026-11-28T12:00:00.123Z","msg_rate":10,"msg_burst":30}`},
	{"welcome with fractional rate", &Welcome{User: "a", TS: ts0, MsgRate: 0.5, MsgBurst: 1},
		`{"type":"welcome","user":"a","users":[],"online":0,"ts":"2026-11-28T12:00:00.123Z","msg_rate":0.5,"msg_burst":1}`},
	{"public message", ptr(publicMsg()),
		`{"type":"message","id":"m1","kind":"public","from":"alice","text":"hi","ts":"2026-11-28T12:00:00.123Z"}`},
	{"dm", ptr(dmMsg()),
		`{"type":"message","id":"m2","kind":"dm","from":"alice","to":"bob","text":"psst","ts":"2026-11-28T12:00:00.123Z"}`},
	{"offline redelivered dm", &Message{ID: "m2", Kind: KindDM, From: "alice", To: "bob", Text: "psst", TS: ts0, Offline: true, Redelivered: true},
		`{"type":"message","id":"m2","kind":"dm","from":"alice","to":"bob","text":"psst","ts":"2026-11-28T12:00:00.123Z","offline":true,"redelivered":true}`},
	{"public message has no to", &Message{ID: "x", From: "a", To: "ignored", Text: "t", TS: ts0},
		`{"type":"message","id":"x","kind":"public","from":"a","text":"t","ts":"2026-11-28T12:00:00.123Z"}`},
	{"sent", &Sent{Ref: strp("1"), ID: "m1", TS: ts0},
		`{"type":"sent","ref":"1","id":"m1","ts":"2026-11-28T12:00:00.123Z"}`},
	{"sent queued no ref", &Sent{ID: "m2", TS: ts0, Queued: true},
		`{"type":"sent","id":"m2","ts":"2026-11-28T12:00:00.123Z","queued":true}`},
	{"sent empty ref", &Sent{Ref: strp(""), ID: "m1", TS: ts0},
		`{"type":"sent","ref":"","id":"m1","ts":"2026-11-28T12:00:00.123Z"}`},
	{"users", &Users{Ref: strp("3"), Users: []string{"alice", "bob"}, Online: 1500},
		`{"type":"users","ref":"3","users":["alice","bob"],"online":1500}`},
	{"users empty", &Users{},
		`{"type":"users","users":[],"online":0}`},
	{"presence online", &Presence{User: "bob", Online: true, TS: ts0},
		`{"type":"presence","user":"bob","online":true,"ts":"2026-11-28T12:00:00.123Z"}`},
	{"presence offline", &Presence{User: "bob", TS: ts0},
		`{"type":"presence","user":"bob","online":false,"ts":"2026-11-28T12:00:00.123Z"}`},
	{"history", &HistoryPage{Ref: strp("h1"), Messages: []Message{publicMsg(), publicMsg()}},
		`{"type":"history","ref":"h1","messages":[` +
			`{"type":"message","id":"m1","kind":"public","from":"alice","text":"hi","ts":"2026-11-28T12:00:00.123Z"},` +
			`{"type":"message","id":"m1","kind":"public","from":"alice","text":"hi","ts":"2026-11-28T12:00:00.123Z"}]}`},
	{"history empty", &HistoryPage{},
		`{"type":"history","messages":[]}`},
	{"error", &Error{Ref: strp("2"), Code: CodeUnknownUser, Message: "no such user"},
		`{"type":"error","ref":"2","code":"unknown_user","message":"no such user"}`},
	{"error without code is internal", &Error{Message: "oops"},
		`{"type":"error","code":"internal","message":"oops"}`},
	{"error with an unknown code is internal", &Error{Code: "Bad_Request", Message: "x"},
		`{"type":"error","code":"internal","message":"x"}`},
	{"error session replaced", &Error{Code: CodeSessionReplaced, Message: "replaced"},
		`{"type":"error","code":"session_replaced","message":"replaced"}`},
}

func ptr[T any](v T) *T { return &v }

func TestAppendToGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range eventCases {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("keep:")
			out := tc.ev.AppendTo(prefix)
			if got := string(out[len(prefix):]); got != tc.frame {
				t.Errorf("frame\n got  %s\n want %s", got, tc.frame)
			}
			if string(out[:len(prefix)]) != "keep:" {
				t.Errorf("dst prefix overwritten: %q", out[:len(prefix)])
			}
		})
	}
}

// TestAppendToRoundTrip checks every frame with two independent readers:
// encoding/json into a generic map (exactly these fields, these JSON types)
// and ParseServerFrame (what the client sees).
func TestAppendToRoundTrip(t *testing.T) {
	t.Parallel()
	ts := "2026-11-28T12:00:00.123Z"
	msg := map[string]any{"type": "message", "id": "m1", "kind": "public", "from": "alice", "text": "hi", "ts": ts}
	cases := []struct {
		name   string
		ev     event
		fields map[string]any
		frame  ServerFrame
	}{
		{"welcome", eventCases[0].ev,
			map[string]any{"type": "welcome", "user": "alice", "users": []any{"alice", "bob"}, "online": 2.0, "ts": ts},
			ServerFrame{Type: "welcome", User: "alice", Users: []string{"alice", "bob"}, Online: 2, TS: ts}},
		{"welcome with rate limit", &Welcome{User: "a", Users: []string{"a"}, Online: 1, TS: ts0, MsgRate: 2.5, MsgBurst: 7},
			map[string]any{"type": "welcome", "user": "a", "users": []any{"a"}, "online": 1.0, "ts": ts, "msg_rate": 2.5, "msg_burst": 7.0},
			ServerFrame{Type: "welcome", User: "a", Users: []string{"a"}, Online: 1, TS: ts, MsgRate: 2.5, MsgBurst: 7}},
		{"dm", eventCases[6].ev,
			map[string]any{"type": "message", "id": "m2", "kind": "dm", "from": "alice", "to": "bob", "text": "psst", "ts": ts, "offline": true, "redelivered": true},
			ServerFrame{Type: "message", ID: "m2", Kind: "dm", From: "alice", To: "bob", Text: "psst", TS: ts, Offline: true, Redelivered: true}},
		{"sent", &Sent{Ref: strp(""), ID: "m2", TS: ts0, Queued: true},
			map[string]any{"type": "sent", "ref": "", "id": "m2", "ts": ts, "queued": true},
			ServerFrame{Type: "sent", Ref: strp(""), ID: "m2", TS: ts, Queued: true}},
		{"users", eventCases[11].ev,
			map[string]any{"type": "users", "ref": "3", "users": []any{"alice", "bob"}, "online": 1500.0},
			ServerFrame{Type: "users", Ref: strp("3"), Users: []string{"alice", "bob"}, Online: 1500}},
		{"presence on", eventCases[13].ev,
			map[string]any{"type": "presence", "user": "bob", "online": true, "ts": ts},
			ServerFrame{Type: "presence", User: "bob", IsOnline: true, TS: ts}},
		{"presence off", eventCases[14].ev,
			map[string]any{"type": "presence", "user": "bob", "online": false, "ts": ts},
			ServerFrame{Type: "presence", User: "bob", TS: ts}},
		{"history", &HistoryPage{Ref: strp("h"), Messages: []Message{publicMsg()}},
			map[string]any{"type": "history", "ref": "h", "messages": []any{msg}},
			ServerFrame{Type: "history", Ref: strp("h"), Messages: []ServerFrame{{Type: "message", ID: "m1", Kind: "public", From: "alice", Text: "hi", TS: ts}}}},
		{"error", eventCases[17].ev,
			map[string]any{"type": "error", "ref": "2", "code": "unknown_user", "message": "no such user"},
			ServerFrame{Type: "error", Ref: strp("2"), Code: "unknown_user", Message: "no such user"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := tc.ev.AppendTo(nil)
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

// TestWelcomeRateLimitOmittedWhenOff checks that a welcome announces no
// limit when there is none, and never renders a number JSON cannot hold.
func TestWelcomeRateLimitOmittedWhenOff(t *testing.T) {
	t.Parallel()
	for _, w := range []Welcome{
		{MsgRate: 0, MsgBurst: 0},
		{MsgRate: -1, MsgBurst: -1},
		{MsgRate: math.Inf(1)},
		{MsgRate: math.NaN()},
	} {
		out := w.AppendTo(nil)
		if strings.Contains(string(out), "msg_") || !json.Valid(out) {
			t.Errorf("rate %v, burst %d: %s", w.MsgRate, w.MsgBurst, out)
		}
	}
}

// TestAppendNumberIsJSON checks rates of every magnitude against
// encoding/json: valid JSON that reads back as the same float64.
func TestAppendNumberIsJSON(t *testing.T) {
	t.Parallel()
	for _, v := range []float64{1, 10, 0.5, 1.0 / 3, 1e-7, 123456.789, 1e20, 1e21, 1e300, math.SmallestNonzeroFloat64, math.MaxFloat64} {
		out := appendNumber(nil, v)
		var back float64
		if err := json.Unmarshal(out, &back); err != nil || back != v {
			t.Errorf("appendNumber(%v) = %s: read back %v, %v", v, out, back, err)
		}
		if len(out) > 32 {
			t.Errorf("appendNumber(%v) = %s: longer than encoding/json would write", v, out)
		}
	}
}

func TestErrorCodesKnown(t *testing.T) {
	t.Parallel()
	for _, c := range []ErrorCode{CodeBadRequest, CodeUnknownCommand, CodeInvalidText, CodeUnknownUser,
		CodeQueueFull, CodeRateLimited, CodeSessionReplaced, CodeInternal, CodeCredentialsRevoked, CodeStorageFull} {
		if !c.Known() {
			t.Errorf("%q is not Known", c)
		}
	}
	for _, c := range []ErrorCode{"", "BAD_REQUEST", "nope", "internal "} {
		if c.Known() {
			t.Errorf("%q is Known", c)
		}
	}
}

func TestKindString(t *testing.T) {
	t.Parallel()
	if KindPublic.String() != "public" || KindDM.String() != "dm" || Kind(7).String() != "public" {
		t.Errorf("kinds: %s %s %s", KindPublic, KindDM, Kind(7))
	}
}

func TestAppendStringEscaping(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

// Not parallel: AllocsPerRun counts the whole process's allocations.
func TestAppendToAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	m := dmMsg()
	m.Text, m.Redelivered = strings.Repeat("quote\" and é ", 20), true
	page := HistoryPage{Ref: strp("h"), Messages: []Message{m, publicMsg()}}
	names := AppendNames(nil, []string{"alice", "bob"})
	for _, tc := range []struct {
		name   string
		append func([]byte) []byte
	}{
		{"message", m.AppendTo},
		{"sent", (&Sent{Ref: strp("r"), ID: "m", TS: ts0}).AppendTo},
		{"users", (&Users{Users: []string{"alice", "bob"}, Online: 2}).AppendTo},
		{"presence", (&Presence{User: "bob", TS: ts0}).AppendTo},
		{"history", page.AppendTo},
		{"error", (&Error{Code: CodeQueueFull, Message: "full"}).AppendTo},
		{"welcome with names", func(dst []byte) []byte {
			return (&Welcome{User: "a", Online: 2, TS: ts0, MsgRate: 10, MsgBurst: 30}).AppendWithNames(dst, names)
		}},
	} {
		buf := make([]byte, 0, 2048)
		if n := testing.AllocsPerRun(100, func() { buf = tc.append(buf[:0]) }); n != 0 {
			t.Errorf("%s with room in dst: %v allocations", tc.name, n)
		}
	}
}

func TestPlain8(t *testing.T) {
	t.Parallel()
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
