package server

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/proto/wire"
)

func strp(s string) *string { return &s }

// ts0 is 2026-11-28T12:00:00.123Z.
const ts0 = int64(1795867200123)

func TestRequestTranslation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   wire.Request
		want proto.Message
	}{
		{"say", &wire.Say{Text: "hi", Ref: strp("1"), Key: "k"},
			&chatpb.Say{Text: "hi", Ref: strp("1"), Key: "k"}},
		{"say without ref", &wire.Say{Text: "hi"}, &chatpb.Say{Text: "hi"}},
		{"say with empty ref", &wire.Say{Text: "hi", Ref: strp("")}, &chatpb.Say{Text: "hi", Ref: strp("")}},
		{"dm", &wire.Dm{To: "bob", Text: "psst", Ref: strp("2"), Key: "k2"},
			&chatpb.Dm{To: "bob", Text: "psst", Ref: strp("2"), Key: "k2"}},
		{"who", &wire.Who{After: "bob", Ref: strp("3")}, &chatpb.Who{After: "bob", Ref: strp("3")}},
		{"history", &wire.History{Limit: 200, Before: "m1", Ref: strp("4")},
			&chatpb.History{Limit: 200, Before: "m1", Ref: strp("4")}},
		{"debug panic", &wire.DebugPanic{}, &chatpb.DebugPanic{}},
		{"invalid", &wire.Invalid{Code: wire.CodeUnknownUser, Message: `"b!" is not a valid user name`, Ref: strp("5"), Counts: true},
			&chatpb.Invalid{Code: chatpb.ErrorCode_ERROR_CODE_UNKNOWN_USER, Message: `"b!" is not a valid user name`, Ref: strp("5"), Counts: true}},
		{"invalid without ref", &wire.Invalid{Code: wire.CodeUnknownCommand, Message: "no"},
			&chatpb.Invalid{Code: chatpb.ErrorCode_ERROR_CODE_UNKNOWN_COMMAND, Message: "no"}},
		{"nil", nil, &chatpb.Invalid{Code: chatpb.ErrorCode_ERROR_CODE_INTERNAL, Message: "request not understood"}},
	}
	for _, tc := range cases {
		got, ok := request(tc.in).(proto.Message)
		if !ok || !proto.Equal(got, tc.want) {
			t.Errorf("%s: request(%+v) = %v, want %v", tc.name, tc.in, got, tc.want)
		}
	}
}

// TestRequestTranslationOfDecodedFrames runs frames through the reader's
// whole path, decoding and translating, for one of each request.
func TestRequestTranslationOfDecodedFrames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		frame string
		want  proto.Message
	}{
		{`{"type":"say","text":"hi","ref":"1","key":"k"}`, &chatpb.Say{Text: "hi", Ref: strp("1"), Key: "k"}},
		{"/dm Bob hi", &chatpb.Dm{To: "bob", Text: "hi"}},
		{`{"type":"history"}`, &chatpb.History{Limit: wire.DefaultHistoryLimit}},
		{`{"type":"say","text":" ","ref":"r"}`, &chatpb.Invalid{Code: chatpb.ErrorCode_ERROR_CODE_INVALID_TEXT,
			Message: `"text" is blank`, Ref: strp("r"), Counts: true}},
		{`{"type":1}`, &chatpb.Invalid{Code: chatpb.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: `"type" must be a string`}},
	}
	for _, tc := range cases {
		got, ok := request(wire.Decode([]byte(tc.frame), wire.Limits{})).(proto.Message)
		if !ok || !proto.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.frame, got, tc.want)
		}
	}
}

func TestErrorCodesTranslateBothWays(t *testing.T) {
	t.Parallel()
	want := map[chatpb.ErrorCode]string{
		chatpb.ErrorCode_ERROR_CODE_BAD_REQUEST:         "bad_request",
		chatpb.ErrorCode_ERROR_CODE_UNKNOWN_COMMAND:     "unknown_command",
		chatpb.ErrorCode_ERROR_CODE_INVALID_TEXT:        "invalid_text",
		chatpb.ErrorCode_ERROR_CODE_UNKNOWN_USER:        "unknown_user",
		chatpb.ErrorCode_ERROR_CODE_QUEUE_FULL:          "queue_full",
		chatpb.ErrorCode_ERROR_CODE_RATE_LIMITED:        "rate_limited",
		chatpb.ErrorCode_ERROR_CODE_SESSION_REPLACED:    "session_replaced",
		chatpb.ErrorCode_ERROR_CODE_INTERNAL:            "internal",
		chatpb.ErrorCode_ERROR_CODE_CREDENTIALS_REVOKED: "credentials_revoked",
		chatpb.ErrorCode_ERROR_CODE_STORAGE_FULL:        "storage_full",
	}
	for v := range chatpb.ErrorCode_name {
		c := chatpb.ErrorCode(v)
		if c == chatpb.ErrorCode_ERROR_CODE_UNSPECIFIED {
			continue
		}
		w, ok := want[c]
		if !ok {
			t.Errorf("%v has no expected protocol code; add it here and to errorCodes", c)
			continue
		}
		if got := wireCode(c); string(got) != w || !got.Known() {
			t.Errorf("wireCode(%v) = %q, want %q", c, got, w)
		}
		if back := actorCode(wire.ErrorCode(w)); back != c {
			t.Errorf("actorCode(%q) = %v, want %v", w, back, c)
		}
	}
	for _, c := range []chatpb.ErrorCode{chatpb.ErrorCode_ERROR_CODE_UNSPECIFIED, 99} {
		if got := wireCode(c); got != wire.CodeInternal {
			t.Errorf("wireCode(%v) = %q, want internal", c, got)
		}
	}
	for _, w := range []wire.ErrorCode{"", "nope", "BAD_REQUEST"} {
		if got := actorCode(w); got != chatpb.ErrorCode_ERROR_CODE_INTERNAL {
			t.Errorf("actorCode(%q) = %v, want internal", w, got)
		}
	}
}

func TestCloseReasonsTranslate(t *testing.T) {
	t.Parallel()
	want := map[chatpb.CloseReason]int{
		chatpb.CloseReason_CLOSE_REASON_NORMAL:              1000,
		chatpb.CloseReason_CLOSE_REASON_SHUTDOWN:            1001,
		chatpb.CloseReason_CLOSE_REASON_BINARY_FRAME:        1003,
		chatpb.CloseReason_CLOSE_REASON_INVALID_UTF8:        1007,
		chatpb.CloseReason_CLOSE_REASON_POLICY:              1008,
		chatpb.CloseReason_CLOSE_REASON_TOO_LARGE:           1009,
		chatpb.CloseReason_CLOSE_REASON_REPLACED:            4000,
		chatpb.CloseReason_CLOSE_REASON_SLOW_CONSUMER:       4001,
		chatpb.CloseReason_CLOSE_REASON_INTERNAL:            1011,
		chatpb.CloseReason_CLOSE_REASON_CREDENTIALS_REVOKED: 4003,
	}
	if len(want) != len(chatpb.CloseReason_name)-1 {
		t.Errorf("a close reason has no expected code; add it here and to closeReasons")
	}
	seen := map[int]chatpb.CloseReason{}
	for r, code := range want {
		got, text := closeCode(r)
		if got != code {
			t.Errorf("closeCode(%v) = %d, want %d", r, got, code)
		}
		if (text == "") != (r == chatpb.CloseReason_CLOSE_REASON_NORMAL) || len(text) > 123 {
			t.Errorf("closeCode(%v) text %q: want one (none for a normal close) that fits a close frame", r, text)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("%v and %v share close code %d", r, other, got)
		}
		seen[got] = r
	}
	for _, r := range []chatpb.CloseReason{chatpb.CloseReason_CLOSE_REASON_UNSPECIFIED, 99} {
		if code, text := closeCode(r); code != 1011 || text != "internal error" {
			t.Errorf("closeCode(%v) = %d %q, want 1011 internal error", r, code, text)
		}
	}
}

// eventCases pairs each actor message for a session with its frame. The
// frames' details are proto/wire's tests; these pin the translation.
var eventCases = []struct {
	name  string
	ev    any
	frame string
}{
	{"public message", &chatpb.Deliver{Message: &chatpb.Message{Id: "m1", Kind: chatpb.Kind_KIND_PUBLIC, From: "alice", To: "x", Text: "hi", TsUnixMs: ts0}},
		`{"type":"message","id":"m1","kind":"public","from":"alice","text":"hi","ts":"2026-11-28T12:00:00.123Z"}`},
	{"unspecified kind is public", &chatpb.Deliver{Message: &chatpb.Message{Id: "m0", From: "a", Text: "t", TsUnixMs: ts0}},
		`{"type":"message","id":"m0","kind":"public","from":"a","text":"t","ts":"2026-11-28T12:00:00.123Z"}`},
	{"redelivered offline dm", &chatpb.Deliver{Seq: 3, Redelivered: true, Message: &chatpb.Message{Id: "m2", Kind: chatpb.Kind_KIND_DM,
		From: "alice", To: "bob", Text: "psst", TsUnixMs: ts0, Offline: true}},
		`{"type":"message","id":"m2","kind":"dm","from":"alice","to":"bob","text":"psst","ts":"2026-11-28T12:00:00.123Z","offline":true,"redelivered":true}`},
	{"welcome", &chatpb.Welcome{User: "alice", Users: []string{"alice", "bob"}, Online: 2, TsUnixMs: ts0, MsgRate: 10, MsgBurst: 30},
		`{"type":"welcome","user":"alice","users":["alice","bob"],"online":2,"ts":"2026-11-28T12:00:00.123Z","msg_rate":10,"msg_burst":30}`},
	{"welcome without a rate limit", &chatpb.Welcome{User: "alice", Online: 1, TsUnixMs: ts0},
		`{"type":"welcome","user":"alice","users":[],"online":1,"ts":"2026-11-28T12:00:00.123Z"}`},
	{"sent", &chatpb.Sent{Ref: strp("1"), Id: "m2", TsUnixMs: ts0, Queued: true},
		`{"type":"sent","ref":"1","id":"m2","ts":"2026-11-28T12:00:00.123Z","queued":true}`},
	{"users", &chatpb.Users{Ref: strp(""), Users: []string{"bob"}, Online: 1500},
		`{"type":"users","ref":"","users":["bob"],"online":1500}`},
	{"presence", &chatpb.Presence{User: "bob", TsUnixMs: ts0},
		`{"type":"presence","user":"bob","online":false,"ts":"2026-11-28T12:00:00.123Z"}`},
	{"history skips nil messages", &chatpb.HistoryPage{Ref: strp("h"), Messages: []*chatpb.Message{nil,
		{Id: "m1", Kind: chatpb.Kind_KIND_PUBLIC, From: "alice", Text: "hi", TsUnixMs: ts0}}},
		`{"type":"history","ref":"h","messages":[{"type":"message","id":"m1","kind":"public","from":"alice","text":"hi","ts":"2026-11-28T12:00:00.123Z"}]}`},
	{"refused", &chatpb.Refused{Ref: strp("2"), Code: chatpb.ErrorCode_ERROR_CODE_QUEUE_FULL, Message: "full"},
		`{"type":"error","ref":"2","code":"queue_full","message":"full"}`},
	{"refused without a code is internal", &chatpb.Refused{Message: "oops"},
		`{"type":"error","code":"internal","message":"oops"}`},
	{"end session with a code", &chatpb.EndSession{Reason: chatpb.CloseReason_CLOSE_REASON_REPLACED,
		Code: chatpb.ErrorCode_ERROR_CODE_SESSION_REPLACED, Message: "replaced"},
		`{"type":"error","code":"session_replaced","message":"replaced"}`},
	{"end of a revoked session", &chatpb.EndSession{Reason: chatpb.CloseReason_CLOSE_REASON_CREDENTIALS_REVOKED,
		Code: chatpb.ErrorCode_ERROR_CODE_CREDENTIALS_REVOKED, Message: "revoked"},
		`{"type":"error","code":"credentials_revoked","message":"revoked"}`},
}

func TestAppendEvent(t *testing.T) {
	t.Parallel()
	for _, tc := range eventCases {
		out, ok := appendEvent([]byte("keep:"), tc.ev)
		if !ok || string(out) != "keep:"+tc.frame {
			t.Errorf("%s: appendEvent = %s, %v\n want keep:%s", tc.name, out, ok, tc.frame)
		}
	}
}

func TestAppendEventWithoutFrame(t *testing.T) {
	t.Parallel()
	for _, ev := range []any{
		nil, &chatpb.Say{Text: "hi"}, chatpb.Sent{}, &chatpb.Joined{},
		(*chatpb.Deliver)(nil), (*chatpb.Welcome)(nil), (*chatpb.Sent)(nil), (*chatpb.Users)(nil),
		(*chatpb.Presence)(nil), (*chatpb.HistoryPage)(nil), (*chatpb.Refused)(nil), (*chatpb.EndSession)(nil),
		&chatpb.Deliver{Seq: 1},
		&chatpb.EndSession{Reason: chatpb.CloseReason_CLOSE_REASON_SHUTDOWN},
	} {
		if out, ok := appendEvent([]byte("x"), ev); ok || string(out) != "x" {
			t.Errorf("appendEvent(%T %v) = %q, %v; want dst unchanged, false", ev, ev, out, ok)
		}
	}
}

// TestAppendEventAllocs holds the translation to the wire's promise:
// nothing allocated when dst has room. Two frames are exempt: a welcome
// renders its name list apart (sessions use the shared rendering of
// welcomes.list instead) and a history page builds its list of messages.
// Not parallel: AllocsPerRun counts the whole process's allocations.
func TestAppendEventAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	buf := make([]byte, 0, 1024)
	for _, tc := range eventCases {
		switch tc.ev.(type) {
		case *chatpb.Welcome, *chatpb.HistoryPage:
			continue
		}
		if n := testing.AllocsPerRun(100, func() { buf, _ = appendEvent(buf[:0], tc.ev) }); n != 0 {
			t.Errorf("%s: %v allocations", tc.name, n)
		}
	}
}
