package client

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/actorchat/chat/proto/wire"
)

// testNow is the fixed clock of the formatter tests: 14:00 on 28 November
// in testZone.
var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// testZone is two hours east of UTC, so that a test can tell UTC from
// local time and "today" in UTC from today here.
var testZone = time.FixedZone("UTC+2", 2*60*60)

// frame parses a server frame written as JSON, or fails the test.
func frame(t *testing.T, js string) wire.ServerFrame {
	t.Helper()
	f, err := wire.ParseServerFrame([]byte(js))
	if err != nil {
		t.Fatalf("ParseServerFrame(%s): %v", js, err)
	}
	return f
}

func TestFormatterEvent(t *testing.T) {
	t.Parallel()
	dmReq := &Request{Ref: "r1", Command: Command{Kind: CmdDM, To: "bob", Text: "psst"}}
	sayReq := &Request{Ref: "r2", Command: Command{Kind: CmdSay, Text: "hello everyone"}}
	tests := []struct {
		name string
		ev   func(t *testing.T) Event
		want []string
	}{
		{"public in local time", evFrame(`{"type":"message","id":"1","kind":"public","from":"bob","text":"hi","ts":"2026-11-28T10:00:00.123Z"}`),
			[]string{"12:00:00 <bob> hi"}},
		{"own public", evFrame(`{"type":"message","id":"1","kind":"public","from":"alice","text":"me","ts":"2026-11-28T11:59:59.999Z"}`),
			[]string{"13:59:59 <alice> me"}},
		{"today here though yesterday in UTC", evFrame(`{"type":"message","id":"1","kind":"public","from":"bob","text":"late","ts":"2026-11-27T23:00:00.000Z"}`),
			[]string{"01:00:00 <bob> late"}},
		{"another day shows the date", evFrame(`{"type":"message","id":"1","kind":"public","from":"bob","text":"old","ts":"2026-11-27T21:30:00.000Z"}`),
			[]string{"2026-11-27 23:30:00 <bob> old"}},
		{"dm", evFrame(`{"type":"message","id":"2","kind":"dm","from":"bob","to":"alice","text":"psst","ts":"2026-11-28T10:00:00.000Z"}`),
			[]string{"12:00:00 [dm from bob] psst"}},
		{"offline dm", evFrame(`{"type":"message","id":"2","kind":"dm","from":"bob","to":"alice","text":"psst","ts":"2026-11-28T10:00:00.000Z","offline":true}`),
			[]string{"12:00:00 [dm from bob] psst  (sent while you were offline)"}},
		{"redelivered dm", evFrame(`{"type":"message","id":"2","kind":"dm","from":"bob","to":"alice","text":"psst","ts":"2026-11-28T10:00:00.000Z","redelivered":true}`),
			[]string{"12:00:00 [dm from bob] psst  (redelivered)"}},
		{"control characters escaped", evFrame(`{"type":"message","id":"3","kind":"public","from":"bob","text":"a\nb\u001b[2J\tc\u202e","ts":"2026-11-28T10:00:00.000Z"}`),
			[]string{`12:00:00 <bob> a\nb\x1b[2J` + "\tc" + `\u202e`}},
		{"history shows fresh messages only", func(t *testing.T) Event {
			f := frame(t, `{"type":"history","ref":"h1","messages":[{"type":"message","id":"1","kind":"public","from":"bob","text":"one","ts":"2026-11-28T09:00:00.000Z"},{"type":"message","id":"2","kind":"public","from":"carol","text":"two","ts":"2026-11-28T09:01:00.000Z"}]}`)
			return Event{Frame: f, Fresh: f.Messages[1:]}
		}, []string{"11:01:00 [history] <carol> two"}},
		{"welcome", evFrame(`{"type":"welcome","user":"alice","users":["alice","bob"],"online":2,"ts":"2026-11-28T10:00:00.000Z"}`),
			[]string{"12:00:00 *** connected as alice; 2 online: alice, bob"}},
		{"welcome after reconnect", func(t *testing.T) Event {
			return Event{Frame: frame(t, `{"type":"welcome","user":"alice","users":["alice"],"online":1,"ts":"2026-11-28T10:00:00.000Z"}`), Reconnect: true}
		}, []string{"12:00:00 *** reconnected as alice; 1 online: alice"}},
		{"who answer", evFrame(`{"type":"users","ref":"r3","users":["alice","bob"],"online":2}`),
			[]string{"14:00:00 *** 2 online: alice, bob"}},
		{"who answer, one page of more", evFrame(`{"type":"users","ref":"r3","users":["alice","bob"],"online":5}`),
			[]string{"14:00:00 *** 5 online: alice, bob (more may follow: /who bob)"}},
		{"presence on", evFrame(`{"type":"presence","user":"bob","online":true,"ts":"2026-11-28T10:00:00.000Z"}`),
			[]string{"12:00:00 *** bob joined"}},
		{"presence off", evFrame(`{"type":"presence","user":"bob","online":false,"ts":"2026-11-28T10:00:00.000Z"}`),
			[]string{"12:00:00 *** bob left"}},
		{"dm receipt shows the dm", evReq(`{"type":"sent","ref":"r1","id":"9","ts":"2026-11-28T10:00:00.000Z"}`, dmReq),
			[]string{"12:00:00 [dm to bob] psst"}},
		{"queued dm receipt", evReq(`{"type":"sent","ref":"r1","id":"9","ts":"2026-11-28T10:00:00.000Z","queued":true}`, dmReq),
			[]string{"12:00:00 [dm to bob] psst  (queued: bob is offline)"}},
		{"say receipt shows nothing", evReq(`{"type":"sent","ref":"r2","id":"9","ts":"2026-11-28T10:00:00.000Z"}`, sayReq), nil},
		{"error for a request", evReq(`{"type":"error","ref":"r1","code":"unknown_user","message":"no such user: bob"}`, dmReq),
			[]string{`14:00:00 *** error [unknown_user] no such user: bob -- not sent: "psst"`}},
		{"error without request", evFrame(`{"type":"error","code":"bad_request","message":"unknown type"}`),
			[]string{"14:00:00 *** error [bad_request] unknown type"}},
		{"session takeover left to the notice", evFrame(`{"type":"error","code":"session_replaced","message":"replaced"}`), nil},
		{"unknown frame type", evFrame(`{"type":"typing","user":"bob"}`), nil},
		{"notice", func(*testing.T) Event { return Event{Notice: "connection lost; reconnecting in 2s...", Down: true} },
			[]string{"14:00:00 *** connection lost; reconnecting in 2s..."}},
	}
	f := Formatter{User: "alice", Now: func() time.Time { return testNow }, Location: testZone}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.Event(tt.ev(t)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// evFrame returns an event maker for a frame written as JSON.
func evFrame(js string) func(*testing.T) Event {
	return func(t *testing.T) Event { return Event{Frame: frame(t, js), Raw: []byte(js)} }
}

// evReq returns an event maker for a frame answering req.
func evReq(js string, req *Request) func(*testing.T) Event {
	return func(t *testing.T) Event { return Event{Frame: frame(t, js), Raw: []byte(js), Request: req} }
}

func TestFormatterColors(t *testing.T) {
	t.Parallel()
	plain := Formatter{User: "alice", Now: func() time.Time { return testNow }, Location: time.UTC}
	color := plain
	color.Color = true
	kinds := map[string]string{
		"public": `{"type":"message","id":"1","kind":"public","from":"bob","text":"hi","ts":"2026-11-28T10:00:00.000Z"}`,
		"own":    `{"type":"message","id":"1","kind":"public","from":"alice","text":"hi","ts":"2026-11-28T10:00:00.000Z"}`,
		"dm":     `{"type":"message","id":"2","kind":"dm","from":"bob","to":"alice","text":"hi","ts":"2026-11-28T10:00:00.000Z"}`,
		"system": `{"type":"presence","user":"bob","online":true,"ts":"2026-11-28T10:00:00.000Z"}`,
		"error":  `{"type":"error","code":"bad_request","message":"nope"}`,
	}
	seen := map[string]string{}
	for kind, js := range kinds {
		ev := Event{Frame: frame(t, js)}
		p, c := plain.Event(ev)[0], color.Event(ev)[0]
		if strings.Contains(p, "\x1b") {
			t.Errorf("%s: plain line %q has escape sequences", kind, p)
		}
		if !strings.Contains(c, ansiReset) {
			t.Errorf("%s: colored line %q has no colors", kind, c)
		}
		// Kinds must look different from each other beyond their text.
		colors := strings.Join(ansiCodes(c), "")
		if other, dup := seen[colors]; dup {
			t.Errorf("%s and %s use the same colors %q", kind, other, colors)
		}
		seen[colors] = kind
	}
}

// ansiCodes returns the escape sequences in s, in order.
func ansiCodes(s string) []string {
	var out []string
	for {
		i := strings.Index(s, "\x1b[")
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i:], 'm')
		out = append(out, s[i:i+j+1])
		s = s[i+j+1:]
	}
}

func TestFormatterMissingTimestamp(t *testing.T) {
	t.Parallel()
	f := Formatter{Now: func() time.Time { return testNow }, Location: time.UTC}
	got := f.Event(Event{Frame: frame(t, `{"type":"message","id":"1","kind":"public","from":"bob","text":"hi","ts":"yesterday"}`)})
	if want := []string{"--:--:-- <bob> hi"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSeenSetForgetsOldest(t *testing.T) {
	t.Parallel()
	s := newSeenSet(3)
	for _, id := range []string{"a", "b", "c"} {
		if !s.add(id) {
			t.Fatalf("add(%q) on first sight = false", id)
		}
	}
	if s.add("a") || s.add("c") {
		t.Fatal("a remembered id was reported new")
	}
	s.add("d") // pushes out "a", the oldest
	if !s.add("a") {
		t.Error("the oldest id was not forgotten past the bound")
	}
	if s.add("d") {
		t.Error("the newest id was forgotten")
	}
	if first, again := s.add(""), s.add(""); !first || !again {
		t.Error("an empty id must always count as new")
	}
	if len(s.ids) != 3 {
		t.Errorf("set holds %d ids, want its bound 3", len(s.ids))
	}
}

// A message from another day than the reader's today, in the reader's zone,
// shows its date; one from today shows only the time. "Today" is the
// injected clock's day in the injected zone, not UTC's.
func TestFormatterShowsTheDateOffToday(t *testing.T) {
	t.Parallel()
	west := time.FixedZone("UTC-5", -5*60*60)
	lateHere := time.Date(2026, 11, 28, 21, 59, 59, 0, time.UTC) // 23:59:59 in testZone
	tests := []struct {
		name string
		zone *time.Location
		now  time.Time
		ts   string
		want string
	}{
		{"earlier today", testZone, testNow, "2026-11-28T10:00:00.000Z", "12:00:00"},
		{"today's first instant here", testZone, testNow, "2026-11-27T22:00:00.000Z", "00:00:00"},
		{"yesterday's last instant here", testZone, testNow, "2026-11-27T21:59:59.999Z", "2026-11-27 23:59:59"},
		{"a week ago", testZone, testNow, "2026-11-21T10:00:00.000Z", "2026-11-21 12:00:00"},
		{"this day a year ago", testZone, testNow, "2025-11-28T10:00:00.000Z", "2025-11-28 12:00:00"},
		{"tomorrow, from a clock ahead", testZone, testNow, "2026-11-29T09:00:00.000Z", "2026-11-29 11:00:00"},
		{"today in UTC, yesterday here", west, testNow, "2026-11-28T04:59:59.000Z", "2026-11-27 23:59:59"},
		{"today here, at UTC's", west, testNow, "2026-11-28T05:00:00.000Z", "00:00:00"},
		{"a second before midnight, read at it", testZone, lateHere, "2026-11-28T21:59:58.000Z", "23:59:58"},
		{"just past midnight here, read before it", testZone, lateHere, "2026-11-28T22:00:00.000Z", "2026-11-29 00:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := Formatter{User: "alice", Now: func() time.Time { return tt.now }, Location: tt.zone}
			m := frame(t, `{"type":"message","id":"1","kind":"public","from":"bob","text":"hi","ts":"`+tt.ts+`"}`)
			ev := Event{Frame: wire.ServerFrame{Type: "history"}, Fresh: []wire.ServerFrame{m}}
			want := []string{tt.want + " [history] <bob> hi"}
			if got := f.Event(ev); !reflect.DeepEqual(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
			if got, want := f.Event(Event{Frame: m}), tt.want+" <bob> hi"; len(got) != 1 || got[0] != want {
				t.Errorf("live: got %q, want %q", got, want)
			}
		})
	}
}
