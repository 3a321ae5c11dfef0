package wire

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestClientFrameEncode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		f     ClientFrame
		frame string
		req   string // describe(Decode(frame))
	}{
		{ClientFrame{Type: "say", Text: "hi", Ref: strp("1")},
			`{"type":"say","ref":"1","text":"hi"}`, `say text="hi" ref="1"`},
		{ClientFrame{Type: "say", Text: "a\"b\n", Key: "k"},
			`{"type":"say","text":"a\"b\n","key":"k"}`, `say text="a\"b\n" key="k"`},
		{ClientFrame{Type: "say"},
			`{"type":"say","text":""}`, `invalid invalid_text counts`},
		{ClientFrame{Type: "dm", To: "Bob", Text: "hi", Ref: strp("")},
			`{"type":"dm","ref":"","to":"Bob","text":"hi"}`, `dm to="bob" text="hi" ref=""`},
		{ClientFrame{Type: "dm", Text: "hi"},
			`{"type":"dm","to":"","text":"hi"}`, `invalid unknown_user counts`},
		{ClientFrame{Type: "who"},
			`{"type":"who"}`, `who after=""`},
		{ClientFrame{Type: "who", After: "bob", Ref: strp("3")},
			`{"type":"who","ref":"3","after":"bob"}`, `who after="bob" ref="3"`},
		{ClientFrame{Type: "history", Limit: 20, Before: "m9", Ref: strp("h")},
			`{"type":"history","ref":"h","limit":20,"before":"m9"}`, `history limit=20 before="m9" ref="h"`},
		{ClientFrame{Type: "history", Limit: -3},
			`{"type":"history","limit":-3}`, `invalid bad_request`},
		{ClientFrame{Type: "history"},
			`{"type":"history"}`, `history limit=50 before=""`},
	}
	for _, tc := range cases {
		got := tc.f.Encode()
		if string(got) != tc.frame {
			t.Errorf("Encode(%+v)\n got  %s\n want %s", tc.f, got, tc.frame)
		}
		viaJSON, err := json.Marshal(tc.f)
		if err != nil || string(viaJSON) != tc.frame {
			t.Errorf("json.Marshal(%+v) = %s, %v", tc.f, viaJSON, err)
		}
		if d := describe(Decode(got, Limits{})); d != tc.req {
			t.Errorf("Decode(%s) = %s, want %s", got, d, tc.req)
		}
	}
}

func TestParseServerFrame(t *testing.T) {
	t.Parallel()
	f, err := ParseServerFrame([]byte(`{"type":"presence","user":"bob","online":true,"ts":"2026-11-28T12:00:00.123Z","extra":[1]}`))
	if err != nil || !f.IsOnline || f.Online != 0 || f.User != "bob" {
		t.Errorf("presence: %+v, %v", f, err)
	}
	f, err = ParseServerFrame([]byte(`{"type":"welcome","user":"a","users":["a"],"online":7,"ts":"2026-11-28T12:00:00.123Z"}`))
	if err != nil || f.IsOnline || f.Online != 7 || len(f.Users) != 1 {
		t.Errorf("welcome: %+v, %v", f, err)
	}
	if tm, err := f.Time(); err != nil || !tm.Equal(time.UnixMilli(ts0)) {
		t.Errorf("Time() = %v, %v", tm, err)
	}
	f, err = ParseServerFrame([]byte(`{"type":"history","messages":[{"type":"message","id":"1","ts":"2026-11-28T12:00:00.000Z"},{"type":"message","id":"2"}]}`))
	if err != nil || len(f.Messages) != 2 || f.Messages[1].ID != "2" || f.Ref != nil {
		t.Errorf("history: %+v, %v", f, err)
	}
	if _, err := f.Messages[1].Time(); err == nil {
		t.Error("Time() of a frame without ts succeeded")
	}
	for _, bad := range []string{
		``, `[]`, `"x"`, `{"type":"x"`, `{}`, `{"user":"a"}`,
		`{"type":"presence","online":"yes"}`,
		`{"type":"users","online":1.5}`,
		`{"type":"users","users":"a"}`,
	} {
		if f, err := ParseServerFrame([]byte(bad)); err == nil {
			t.Errorf("ParseServerFrame(%q) = %+v, want an error", bad, f)
		}
	}
}

func TestParseServerFrameErrorNamesTheProblem(t *testing.T) {
	t.Parallel()
	_, err := ParseServerFrame([]byte(`{"type":"presence","online":"yes"}`))
	if err == nil || !strings.Contains(err.Error(), `"online"`) {
		t.Errorf("error = %v, want it to name \"online\"", err)
	}
}
