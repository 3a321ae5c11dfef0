package wire

import (
	"bytes"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds how deeply a request's JSON may nest. No request needs more
// than one level; the bound keeps the recursive scanner's stack small on
// hostile input (encoding/json has a similar bound).
const maxDepth = 1000

// valKind is the JSON type of a scanned value.
type valKind uint8

const (
	kindAbsent valKind = iota // the member was not in the object
	kindString
	kindNumber
	kindBool
	kindNull
	kindObject
	kindArray
)

// span is one scanned member value: its JSON type and its raw text (quotes
// included for a string), pointing into the frame.
type span struct {
	kind valKind
	raw  []byte
}

// members holds the raw values of the request members the protocol knows.
// When a member is repeated the last one wins, as in encoding/json.
type members struct {
	typ, text, to, after, limit, before, ref, key span
}

// field returns where the member with the (unescaped) name is kept, or nil
// for a member the protocol does not know. Names match exactly.
func (m *members) field(name []byte) *span {
	switch string(name) {
	case "type":
		return &m.typ
	case "text":
		return &m.text
	case "to":
		return &m.to
	case "after":
		return &m.after
	case "limit":
		return &m.limit
	case "before":
		return &m.before
	case "ref":
		return &m.ref
	case "key":
		return &m.key
	}
	return nil
}

// set records a member value under its raw (quoted) key.
func (m *members) set(rawKey []byte, v span) {
	name := rawKey[1 : len(rawKey)-1]
	if bytes.IndexByte(name, '\\') >= 0 {
		// A key written with escapes ("\u0074ype") is still that key.
		s, _ := unquote(rawKey)
		name = []byte(s)
	}
	if f := m.field(name); f != nil {
		*f = v
	}
}

// Reasons a frame that starts with '{' is refused as bad_request.
const (
	reasonNotObject = "frame is not a valid JSON object"
	reasonTooDeep   = "JSON is nested too deeply"
	reasonTrailing  = "frame has data after the JSON object"
)

// scanRequest scans a frame that must hold exactly one JSON object and
// collects the members the protocol knows. reason is empty on success.
func scanRequest(data []byte) (m members, reason string) {
	s := scanner{data: data}
	s.ws()
	if s.peek() != '{' {
		return m, reasonNotObject
	}
	if !s.object(1, &m) {
		if s.tooDeep {
			return m, reasonTooDeep
		}
		return m, reasonNotObject
	}
	s.ws()
	if s.pos != len(s.data) {
		return m, reasonTrailing
	}
	return m, ""
}

// scanner is a strict RFC 8259 JSON validator over one frame. It does not
// allocate; values are reported as spans of the frame.
type scanner struct {
	data    []byte
	pos     int
	tooDeep bool // set when the nesting bound stopped the scan
}

// ws skips JSON white space.
func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the current byte, or 0 at the end.
func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// value scans one value that starts at the current position.
func (s *scanner) value(depth int) (valKind, bool) {
	switch c := s.peek(); {
	case c == '{':
		return kindObject, s.object(depth+1, nil)
	case c == '[':
		return kindArray, s.array(depth + 1)
	case c == '"':
		return kindString, s.str()
	case c == 't':
		return kindBool, s.lit("true")
	case c == 'f':
		return kindBool, s.lit("false")
	case c == 'n':
		return kindNull, s.lit("null")
	case c == '-' || '0' <= c && c <= '9':
		return kindNumber, s.number()
	}
	return kindAbsent, false
}

// object scans an object; when m is not nil it records the known members.
func (s *scanner) object(depth int, m *members) bool {
	if depth > maxDepth {
		s.tooDeep = true
		return false
	}
	s.pos++ // '{'
	s.ws()
	if s.peek() == '}' {
		s.pos++
		return true
	}
	for {
		if !s.member(depth, m) {
			return false
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.pos++
			s.ws()
		case '}':
			s.pos++
			return true
		default:
			return false
		}
	}
}

// member scans `"key": value` and records it in m when m is not nil.
func (s *scanner) member(depth int, m *members) bool {
	keyStart := s.pos
	if s.peek() != '"' || !s.str() {
		return false
	}
	key := s.data[keyStart:s.pos]
	s.ws()
	if s.peek() != ':' {
		return false
	}
	s.pos++
	s.ws()
	valStart := s.pos
	kind, ok := s.value(depth)
	if ok && m != nil {
		m.set(key, span{kind: kind, raw: s.data[valStart:s.pos]})
	}
	return ok
}

// array scans an array.
func (s *scanner) array(depth int) bool {
	if depth > maxDepth {
		s.tooDeep = true
		return false
	}
	s.pos++ // '['
	s.ws()
	if s.peek() == ']' {
		s.pos++
		return true
	}
	for {
		if _, ok := s.value(depth); !ok {
			return false
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.pos++
			s.ws()
		case ']':
			s.pos++
			return true
		default:
			return false
		}
	}
}

// str scans a string: no raw control characters, only valid escapes. Bytes
// of 0x80 and up pass; UTF-8 validity is the text check's business.
func (s *scanner) str() bool {
	s.pos++ // opening quote
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; {
		case c == '"':
			s.pos++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if !s.escape() {
				return false
			}
		default:
			s.pos++
		}
	}
	return false
}

// escape scans one backslash escape.
func (s *scanner) escape() bool {
	s.pos++ // backslash
	switch s.peek() {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.pos++
		return true
	case 'u':
		if s.pos+5 > len(s.data) {
			return false
		}
		for _, h := range s.data[s.pos+1 : s.pos+5] {
			if hexVal(h) < 0 {
				return false
			}
		}
		s.pos += 5
		return true
	}
	return false
}

// number scans -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	if s.peek() == '-' {
		s.pos++
	}
	switch c := s.peek(); {
	case c == '0':
		s.pos++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return false
	}
	if s.peek() == '.' {
		s.pos++
		if !s.digits() {
			return false
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.pos++
		if c := s.peek(); c == '+' || c == '-' {
			s.pos++
		}
		return s.digits()
	}
	return true
}

// digits skips a run of decimal digits and reports whether there was one.
func (s *scanner) digits() bool {
	start := s.pos
	for s.pos < len(s.data) && '0' <= s.data[s.pos] && s.data[s.pos] <= '9' {
		s.pos++
	}
	return s.pos > start
}

// lit scans the literal word.
func (s *scanner) lit(word string) bool {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(word)) {
		return false
	}
	s.pos += len(word)
	return true
}

// hexVal returns the value of a hex digit, or -1.
func hexVal(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return rune(c-'A') + 10
	}
	return -1
}

// hex4 decodes four hex digits already validated by the scanner.
func hex4(b []byte) rune {
	return hexVal(b[0])<<12 | hexVal(b[1])<<8 | hexVal(b[2])<<4 | hexVal(b[3])
}

// unquote decodes a string the scanner accepted (quotes included). A \u
// escape of a lone surrogate becomes U+FFFD, as encoding/json does, and is
// reported so that text can refuse it instead.
func unquote(raw []byte) (s string, loneSurrogate bool) {
	body := raw[1 : len(raw)-1]
	i := bytes.IndexByte(body, '\\')
	if i < 0 {
		return string(body), false
	}
	var b strings.Builder
	b.Grow(len(body))
	for i >= 0 {
		b.Write(body[:i])
		n, lone := unescape(&b, body[i:])
		loneSurrogate = loneSurrogate || lone
		body = body[i+n:]
		i = bytes.IndexByte(body, '\\')
	}
	b.Write(body)
	return b.String(), loneSurrogate
}

// unescape writes the escape at the start of esc and returns its length.
func unescape(b *strings.Builder, esc []byte) (n int, loneSurrogate bool) {
	if esc[1] != 'u' {
		b.WriteByte(shortEscape(esc[1]))
		return 2, false
	}
	r := hex4(esc[2:6])
	if !utf16.IsSurrogate(r) {
		b.WriteRune(r)
		return 6, false
	}
	if r < 0xdc00 && len(esc) >= 12 && esc[6] == '\\' && esc[7] == 'u' {
		if pair := utf16.DecodeRune(r, hex4(esc[8:12])); pair != utf8.RuneError {
			b.WriteRune(pair)
			return 12, false
		}
	}
	b.WriteRune(utf8.RuneError)
	return 6, true
}

// shortEscape returns the byte a one-letter escape stands for.
func shortEscape(c byte) byte {
	switch c {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return c // '"', '\\' and '/' stand for themselves
}
