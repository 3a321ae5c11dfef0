package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// The tool keeps its own minimal view of the wire (docs/protocol.md) instead of
// importing proto/wire: it must also speak to gorilla's example hub, which
// relays arbitrary text lines, and it wants to inspect frames without decoding
// them on the hot path.

// textMarker starts every message text the tool sends. A received frame that
// contains it (with the opening quote of the JSON string) carries one of our
// messages, so a delivery is recognised without decoding the JSON. The text is
// "cb1:RUN:SENDER:SEQ:NANOS" with RUN in hex and the rest in decimal: only
// characters JSON never escapes, so the text appears verbatim in any frame.
var textMarker = []byte(`"cb1:`)

// delivery is what the tool embedded in one message text.
type delivery struct {
	run    uint32 // the measurement window the message belongs to
	sender int    // index of the sending client
	seq    uint32 // per-sender sequence number, from 0
	sent   int64  // send time, Unix nanoseconds
}

// appendText appends the message text for d (without quotes) to b.
func appendText(b []byte, d delivery) []byte {
	b = append(b, textMarker[1:]...)
	b = strconv.AppendUint(b, uint64(d.run), 16)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(d.sender), 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(d.seq), 10)
	b = append(b, ':')
	return strconv.AppendInt(b, d.sent, 10)
}

// parseDelivery finds our message text in a frame and decodes it. It reports
// false when the frame carries no text of ours.
func parseDelivery(frame []byte) (delivery, bool) {
	i := bytes.Index(frame, textMarker)
	if i < 0 {
		return delivery{}, false
	}
	rest := frame[i+len(textMarker):]
	run, rest, ok1 := parseUint(rest, 16, ':')
	sender, rest, ok2 := parseUint(rest, 10, ':')
	seq, rest, ok3 := parseUint(rest, 10, ':')
	sent, _, ok4 := parseUint(rest, 10, '"')
	if !ok1 || !ok2 || !ok3 || !ok4 || run > 1<<32-1 || seq > 1<<32-1 {
		return delivery{}, false
	}
	return delivery{run: uint32(run), sender: int(sender), seq: uint32(seq), sent: int64(sent)}, true
}

// parseUint reads digits in base up to the terminator byte end and returns the
// value and what follows the terminator.
func parseUint(b []byte, base uint64, end byte) (uint64, []byte, bool) {
	var v uint64
	for i, c := range b {
		var d uint64
		switch {
		case c == end:
			return v, b[i+1:], i > 0
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		default:
			return 0, nil, false
		}
		if v > (1<<63)/base {
			return 0, nil, false
		}
		v = v*base + d
	}
	return 0, nil, false
}

// appendSay appends a public-message request carrying d.
func appendSay(b []byte, d delivery) []byte {
	b = append(b, `{"type":"say","text":"`...)
	b = appendText(b, d)
	return append(b, `"}`...)
}

// appendDM appends a private-message request to user to, carrying d. The name
// is one the tool made up (see userName), so it needs no JSON escaping.
func appendDM(b []byte, to string, d delivery) []byte {
	b = append(b, `{"type":"dm","to":"`...)
	b = append(b, to...)
	b = append(b, `","text":"`...)
	b = appendText(b, d)
	return append(b, `"}`...)
}

// appendWho appends an online-list request paging on after the name after.
func appendWho(b []byte, after string) []byte {
	b = append(b, `{"type":"who","after":"`...)
	b = append(b, after...)
	return append(b, `"}`...)
}

// appendHubLine appends the line sent to gorilla's hub, which relays it
// unchanged to every client. It has the shape and size of the public message
// frame our server sends, so both servers move the same bytes per delivery.
func appendHubLine(b []byte, from string, d delivery, now time.Time) []byte {
	b = append(b, `{"type":"message","id":"`...)
	b = strconv.AppendUint(b, uint64(d.run)<<32|uint64(d.seq), 36)
	b = append(b, `","kind":"public","from":"`...)
	b = append(b, from...)
	b = append(b, `","text":"`...)
	b = appendText(b, d)
	b = append(b, `","ts":"`...)
	b = now.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	return append(b, `"}`...)
}

// frameKind classifies a server frame that is not one of our deliveries.
type frameKind int

// The server frames the tool tells apart (docs/protocol.md, "Server to
// client").
const (
	kindOther frameKind = iota
	kindWelcome
	kindSent
	kindError
	kindPresence
	kindUsers
)

// serverFrame holds the few fields of a server frame the tool reads.
type serverFrame struct {
	Type   string   `json:"type"`
	Code   string   `json:"code"`
	Queued bool     `json:"queued"`
	Users  []string `json:"users"`
}

// Fast-path type tags: Go's and most JSON encoders write no blanks, and a user
// name cannot contain a quote, so these byte strings appear only as the type.
var (
	tagWelcome  = []byte(`"type":"welcome"`)
	tagPresence = []byte(`"type":"presence"`)
	tagSent     = []byte(`"type":"sent"`)
	tagQueued   = []byte(`"queued":true`)
	tagOffline  = []byte(`"offline":true`)
)

// classify tells what kind of frame b is. Frames that arrive by the thousand
// (presence, receipts) are recognised by substring; anything else is decoded,
// and the decoded frame is returned for the caller to read codes and lists.
func classify(b []byte) (frameKind, serverFrame) {
	switch {
	case bytes.Contains(b, tagPresence):
		return kindPresence, serverFrame{Type: "presence"}
	case bytes.Contains(b, tagSent):
		return kindSent, serverFrame{Type: "sent", Queued: bytes.Contains(b, tagQueued)}
	case bytes.Contains(b, tagWelcome):
		return kindWelcome, serverFrame{Type: "welcome"}
	}
	var f serverFrame
	if json.Unmarshal(b, &f) != nil {
		return kindOther, f
	}
	switch f.Type {
	case "welcome":
		return kindWelcome, f
	case "sent":
		return kindSent, f
	case "error":
		return kindError, f
	case "presence":
		return kindPresence, f
	case "users":
		return kindUsers, f
	}
	return kindOther, f
}
