package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds how deeply a request's JSON may nest. No request needs more
// than one level, so a frame nested deeper is refused as bad_request.
// encoding/json's own bound (10000) would not do: a frame of the default
// 16 KiB cannot reach it.
const maxDepth = 1000

// Reasons a frame that starts with '{' is refused as bad_request.
const (
	reasonNotObject = "frame is not a valid JSON object"
	reasonTooDeep   = "JSON is nested too deeply"
)

// member is one request member's raw JSON text, quotes included for a
// string; it is empty when the request does not have the member.
type member []byte

// members holds the raw values of the request members the protocol knows.
type members struct {
	typ, text, to, after, limit, before, ref, key member
}

// parseRequest reads a frame that must hold exactly one JSON object (JSON
// white space around it allowed) and collects the members the protocol knows.
// reason is empty on success.
//
// encoding/json judges the JSON (json.Valid); then, the frame being valid,
// a walk over its top-level members is all that is left. A struct would
// not do, because encoding/json matches struct fields without regard to
// case and the protocol's names are exact ("Type" is not "type"); a map was
// what this did first, at 1.8 µs and 23 allocations a request, which at
// 64,000 private messages a second was 15% of the server's CPU. A key
// written with escapes ("\u0074ype") is still that key, and of repeated
// members the last one wins, as with encoding/json.
func parseRequest(frame []byte) (members, string) {
	i := skipSpace(frame, 0)
	if i == len(frame) || frame[i] != '{' || !json.Valid(frame) {
		return members{}, reasonNotObject
	}
	if nestedTooDeep(frame) {
		return members{}, reasonTooDeep
	}
	var m members
	for i = skipSpace(frame, i+1); frame[i] == '"'; {
		end := closingQuote(frame, i)
		key := frame[i+1 : end]
		i = skipSpace(frame, skipSpace(frame, end+1)+1) // past the colon
		vend := valueEnd(frame, i)
		m.set(key, frame[i:vend])
		if i = skipSpace(frame, vend); frame[i] == ',' {
			i = skipSpace(frame, i+1)
		}
	}
	return m, ""
}

// set keeps value if key names a member the protocol knows.
func (m *members) set(key []byte, value member) {
	if bytes.IndexByte(key, '\\') >= 0 {
		var k string
		_ = json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &k) // valid: json.Valid read it
		key = []byte(k)
	}
	switch string(key) { // no allocation: the cases are constants
	case "type":
		m.typ = value
	case "text":
		m.text = value
	case "to":
		m.to = value
	case "after":
		m.after = value
	case "limit":
		m.limit = value
	case "before":
		m.before = value
	case "ref":
		m.ref = value
	case "key":
		m.key = value
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the index just past the JSON value that starts at
// data[i], in text already known to be valid JSON.
func valueEnd(data []byte, i int) int {
	switch data[i] {
	case '"':
		return closingQuote(data, i) + 1
	case '{', '[':
		end, _ := nesting(data, i, len(data))
		return end
	}
	for i < len(data) && strings.IndexByte(",}] \t\n\r", data[i]) < 0 {
		i++
	}
	return i
}

// nestedTooDeep reports whether valid JSON text nests objects and arrays more
// than maxDepth deep. Brackets inside strings can only make the first count
// larger, so the exact walk runs only for a frame with many brackets.
func nestedTooDeep(data []byte) bool {
	if bytes.Count(data, []byte("{"))+bytes.Count(data, []byte("[")) <= maxDepth {
		return false
	}
	_, deeper := nesting(data, skipSpace(data, 0), maxDepth)
	return deeper
}

// nesting walks valid JSON text from the object or array that opens at
// data[i] to the bracket that closes it, and returns the index just past
// that bracket; or, as soon as it nests more than limit deep, deeper.
func nesting(data []byte, i, limit int) (end int, deeper bool) {
	depth := 0
	for ; i < len(data); i++ {
		switch data[i] {
		case '"':
			i = closingQuote(data, i)
		case '{', '[':
			if depth++; depth > limit {
				return i, true
			}
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1, false
			}
		}
	}
	return len(data), false
}

// closingQuote returns the index of the quote that ends the string opened at
// data[open], or len(data) when there is none: the first quote not escaped by
// an odd run of backslashes.
func closingQuote(data []byte, open int) int {
	for i := open + 1; ; i++ {
		j := bytes.IndexByte(data[i:], '"')
		if j < 0 {
			return len(data)
		}
		i += j
		k := i
		for k > open+1 && data[k-1] == '\\' {
			k--
		}
		if (i-k)%2 == 0 {
			return i
		}
	}
}

// isNull reports whether the member is absent or null, which the protocol
// treats alike.
func (v member) isNull() bool {
	return len(v) == 0 || string(v) == "null"
}

// isString reports whether the member is a JSON string.
func (v member) isString() bool {
	return len(v) > 0 && v[0] == '"'
}

// str decodes a string member. One without escapes, the usual case, is
// copied as it stands; encoding/json decodes the others, turning a lone
// surrogate escape into U+FFFD (which suits every member but "text").
func (v member) str() string {
	body := v[1 : len(v)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return string(body)
	}
	var s string
	_ = json.Unmarshal(v, &s) // cannot fail: encoding/json has read v as a string
	return s
}

// strictStr decodes a string member that must be valid Unicode ("text");
// lone reports a \u escape of a lone surrogate, which str silently replaces.
// A string holding bytes that are not UTF-8 is returned without decoding its
// escapes: it is refused whatever they say, and decoding would hide those
// bytes behind U+FFFD.
func (v member) strictStr() (s string, lone bool) {
	body := v[1 : len(v)-1]
	if bytes.IndexByte(body, '\\') < 0 || !utf8.Valid(body) {
		return string(body), false
	}
	return v.str(), hasLoneSurrogate(body)
}

// hasLoneSurrogate reports whether a JSON string body that encoding/json has
// accepted holds a \u escape of a surrogate that is not the first half of a
// high-low pair, or an unpaired second half.
func hasLoneSurrogate(body []byte) bool {
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			continue
		}
		i++ // the escape's letter: skipping it keeps "\\u" from reading as an escape
		if body[i] != 'u' {
			continue
		}
		r := escapedRune(body[i+1:])
		i += 4
		if !utf16.IsSurrogate(r) {
			continue
		}
		if !bytes.HasPrefix(body[i+1:], []byte(`\u`)) ||
			utf16.DecodeRune(r, escapedRune(body[i+3:])) == utf8.RuneError {
			return true
		}
		i += 6
	}
	return false
}

// escapedRune decodes the four hex digits that start b, the tail of a \u
// escape encoding/json has accepted.
func escapedRune(b []byte) rune {
	var pair [2]byte
	_, _ = hex.Decode(pair[:], b[:4]) // cannot fail: the digits were validated
	return rune(pair[0])<<8 | rune(pair[1])
}
