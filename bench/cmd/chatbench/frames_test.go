package main

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDeliveryRoundTripsThroughEveryFrameShape(t *testing.T) {
	t.Parallel()
	d := delivery{run: 0xfeedbeef, sender: 1234, seq: 4000000000, sent: 1764331200123456789}
	var frames [][]byte
	frames = append(frames, appendSay(nil, d), appendDM(nil, "bench-7", d),
		appendHubLine(nil, "bench-1", d, time.Unix(0, d.sent)))
	// What a server sends back, encoded by encoding/json.
	server, _ := json.Marshal(map[string]any{"type": "message", "id": "9", "kind": "public",
		"from": "bench-1", "text": string(appendText(nil, d)), "ts": "2026-11-28T12:00:00.123Z"})
	frames = append(frames, server)
	for _, f := range frames {
		if !json.Valid(f) {
			t.Errorf("not JSON: %s", f)
		}
		got, ok := parseDelivery(f)
		if !ok || got != d {
			t.Errorf("parse %s = %+v %v, want %+v", f, got, ok, d)
		}
	}
}

func TestParseDeliveryRejectsOtherText(t *testing.T) {
	t.Parallel()
	for _, f := range []string{
		`{"type":"message","text":"hello"}`,
		`{"type":"message","text":"cb1:zz:1:2:3"}`,
		`{"type":"message","text":"cb1:1:2:3"}`,
		`{"type":"message","text":"cb1:1:2:3:"}`,
		`{"type":"sent","id":"1"}`,
	} {
		if d, ok := parseDelivery([]byte(f)); ok {
			t.Errorf("%s parsed as %+v", f, d)
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		frame  string
		kind   frameKind
		queued bool
		code   string
	}{
		{`{"type":"welcome","user":"a","users":["a"],"online":1,"ts":"x"}`, kindWelcome, false, ""},
		{`{"type":"sent","ref":"1","id":"5","ts":"x","queued":true}`, kindSent, true, ""},
		{`{"type":"sent","id":"5","ts":"x"}`, kindSent, false, ""},
		{`{ "type" : "sent", "queued" : true }`, kindSent, true, ""},
		{`{"type":"error","code":"rate_limited","message":"slow down"}`, kindError, false, "rate_limited"},
		{`{"type":"presence","user":"b","online":true,"ts":"x"}`, kindPresence, false, ""},
		{`{"type":"users","users":["a","b"],"online":2}`, kindUsers, false, ""},
		{`not json`, kindOther, false, ""},
	} {
		kind, f := classify([]byte(c.frame))
		if kind != c.kind || f.Queued != c.queued || f.Code != c.code {
			t.Errorf("%s: kind %d queued %v code %q", c.frame, kind, f.Queued, f.Code)
		}
	}
}
