package wire

import (
	"bytes"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Decode turns one client text frame into the request it stands for, by the
// rules of docs/protocol.md "Client to server". The result is exactly one
// of *Say, *Dm, *Who, *History, *DebugPanic or *Invalid; Decode never
// returns nil and never panics, whatever the bytes.
//
// The server has already checked that the frame is valid UTF-8 and within the
// message size limit; Decode stays correct without that (bytes that are not
// UTF-8 in a text make it invalid_text). The result never aliases frame, so
// the caller may reuse its read buffer.
//
// When the first character after any Unicode white space is '{', the frame
// must be one JSON object (only JSON white space may surround it); any other
// frame is a plain-text line. In "/dm NAME TEXT" the blanks around NAME are
// Unicode white space, the same definition a blank text uses. Of several
// broken rules the first in the protocol's order is reported: bad_request,
// then invalid_text, then unknown_user. Invalid.Ref is set whenever a string
// ref could be read, even a too long one, so that the client can match the
// error to its request. Invalid.Counts is set for a say or a dm, which the
// user actor charges to the rate limit before it reports the error.
func Decode(frame []byte, lim Limits) Request {
	if startsWithBrace(frame) {
		return decodeJSON(frame, lim.maxText())
	}
	return decodeLine(frame, lim.maxText())
}

// startsWithBrace reports whether the first rune that is not Unicode white
// space is '{'.
func startsWithBrace(frame []byte) bool {
	for i := 0; i < len(frame); {
		r, size := utf8.DecodeRune(frame[i:])
		if !unicode.IsSpace(r) {
			return r == '{'
		}
		i += size
	}
	return false
}

// invalid builds a refusal.
func invalid(code ErrorCode, msg string, ref *string, counts bool) *Invalid {
	return &Invalid{Code: code, Message: msg, Ref: ref, Counts: counts}
}

// badRequest builds a bad_request refusal.
func badRequest(msg string, ref *string, counts bool) *Invalid {
	return invalid(CodeBadRequest, msg, ref, counts)
}

// ---------------------------------------------------------------------------
// JSON requests
// ---------------------------------------------------------------------------

// Request types.
const (
	typeSay     = "say"
	typeDm      = "dm"
	typeWho     = "who"
	typeHistory = "history"
)

// decodeJSON decodes a frame that must be one JSON object.
func decodeJSON(frame []byte, maxText int) Request {
	m, reason := parseRequest(frame)
	if reason != "" {
		return badRequest(reason, nil, false)
	}
	ref, refMsg := m.ref.optRef()
	typ, typMsg := requestType(m.typ)
	counts := typ == typeSay || typ == typeDm
	if typMsg == "" {
		typMsg = refMsg
	}
	if typMsg != "" {
		return badRequest(typMsg, ref, counts)
	}
	switch typ {
	case typeSay:
		return decodeSay(&m, ref, maxText)
	case typeDm:
		return decodeDm(&m, ref, maxText)
	case typeWho:
		return decodeWho(&m, ref)
	default:
		return decodeHistory(&m, ref)
	}
}

// requestType reads "type"; msg is the bad_request reason when it is missing,
// not a string or not a type the protocol knows.
func requestType(v member) (typ, msg string) {
	switch {
	case v.isString():
	case v.isNull():
		return "", `"type" is required`
	default:
		return "", `"type" must be a string`
	}
	name := []byte(v[1 : len(v)-1])
	if bytes.IndexByte(name, '\\') >= 0 {
		name = []byte(v.str())
	}
	switch string(name) { // no allocation: the cases are constants
	case typeSay:
		return typeSay, ""
	case typeDm:
		return typeDm, ""
	case typeWho:
		return typeWho, ""
	case typeHistory:
		return typeHistory, ""
	}
	return "", "unknown type " + quoteShort(string(name))
}

// decodeSay finishes a "say" request.
func decodeSay(m *members, ref *string, maxText int) Request {
	key, _, keyMsg := m.key.limitedString("key", MaxKeyLen)
	if msg := firstOf(m.text.requiredError("text"), keyMsg); msg != "" {
		return badRequest(msg, ref, true)
	}
	text, lone := m.text.strictStr()
	if bad := textError(text, lone, maxText, ref); bad != nil {
		return bad
	}
	return &Say{Text: text, Ref: ref, Key: key}
}

// decodeDm finishes a "dm" request.
func decodeDm(m *members, ref *string, maxText int) Request {
	key, _, keyMsg := m.key.limitedString("key", MaxKeyLen)
	if msg := firstOf(m.to.requiredError("to"), m.text.requiredError("text"), keyMsg); msg != "" {
		return badRequest(msg, ref, true)
	}
	text, lone := m.text.strictStr()
	if bad := textError(text, lone, maxText, ref); bad != nil {
		return bad
	}
	to := m.to.str()
	folded, ok := FoldName(to)
	if !ok {
		return invalid(CodeUnknownUser,
			quoteShort(to)+" is not a valid user name", ref, true)
	}
	return &Dm{To: folded, Text: text, Ref: ref, Key: key}
}

// decodeWho finishes a "who" request. "after" is folded like a name, since
// names are case-insensitive, but not validated: it only sets where a page
// starts.
func decodeWho(m *members, ref *string) Request {
	after, _, msg := m.after.optString("after")
	if msg != "" {
		return badRequest(msg, ref, false)
	}
	return &Who{After: lowerASCII(after), Ref: ref}
}

// decodeHistory finishes a "history" request.
func decodeHistory(m *members, ref *string) Request {
	limit, msg := m.limit.historyLimit()
	before, _, beforeMsg := m.before.optString("before")
	if msg = firstOf(msg, beforeMsg); msg != "" {
		return badRequest(msg, ref, false)
	}
	return &History{Limit: limit, Before: before, Ref: ref}
}

// textError checks a decoded text; lone reports a lone surrogate escape.
func textError(text string, lone bool, maxText int, ref *string) *Invalid {
	reason, ok := CheckText(text, maxText)
	if ok && lone {
		reason, ok = `"text" holds a lone surrogate escape, which is not valid UTF-8`, false
	}
	if ok {
		return nil
	}
	return invalid(CodeInvalidText, reason, ref, true)
}

// optString reads an optional string member; null counts as absent. msg is
// the bad_request reason when the member has another JSON type.
func (v member) optString(name string) (s string, present bool, msg string) {
	switch {
	case v.isNull():
		return "", false, ""
	case v.isString():
		return v.str(), true, ""
	}
	return "", false, strconv.Quote(name) + " must be a string"
}

// requiredError returns the bad_request reason when a string member that
// must be present is missing (null is missing) or has another JSON type, and
// "" when it is a string.
func (v member) requiredError(name string) string {
	switch {
	case v.isString():
		return ""
	case v.isNull():
		return strconv.Quote(name) + " is required"
	}
	return strconv.Quote(name) + " must be a string"
}

// limitedString reads an optional string of at most max characters (ref,
// key). The string is returned even when it is too long, so that a ref can
// still be echoed with the error.
func (v member) limitedString(name string, max int) (s string, present bool, msg string) {
	s, present, msg = v.optString(name)
	if present && utf8.RuneCountInString(s) > max {
		msg = strconv.Quote(name) + " is longer than " + strconv.Itoa(max) + " characters"
	}
	return s, present, msg
}

// optRef reads "ref": nil when absent or unreadable.
func (v member) optRef() (ref *string, msg string) {
	s, present, msg := v.limitedString("ref", MaxRefLen)
	if !present {
		return nil, msg
	}
	return &s, msg
}

// historyLimit reads "limit": absent or null is the default; otherwise an
// integer (no fraction, no exponent) from 1 to MaxHistoryLimit.
func (v member) historyLimit() (int, string) {
	if v.isNull() {
		return DefaultHistoryLimit, ""
	}
	// strconv refuses the JSON values a limit cannot be: a fraction, an
	// exponent, too many digits, a quoted string, true or false.
	if n, err := strconv.ParseInt(string(v), 10, 32); err == nil && n >= 1 && n <= MaxHistoryLimit {
		return int(n), ""
	}
	return 0, `"limit" must be an integer from 1 to ` + strconv.Itoa(MaxHistoryLimit)
}

// ---------------------------------------------------------------------------
// Plain-text lines
// ---------------------------------------------------------------------------

// decodeLine decodes a plain-text chat line: a command when it starts with
// '/', a public message otherwise.
func decodeLine(frame []byte, maxText int) Request {
	line := trimNewline(frame)
	if len(line) == 0 || line[0] != '/' {
		return sayLine(string(line), maxText)
	}
	name, rest := cutWord(line[1:])
	switch {
	case equalFoldASCII(name, "dm"):
		return dmLine(rest, maxText)
	case equalFoldASCII(name, "who"):
		return &Who{}
	case equalFoldASCII(name, "debug") && equalFoldASCII(trimBlankRight(rest), "panic"):
		return &DebugPanic{}
	}
	return invalid(CodeUnknownCommand,
		"unknown command "+quoteShort("/"+string(name))+"; commands are /dm NAME TEXT and /who", nil, false)
}

// sayLine turns a line that is not a command into a public message.
func sayLine(text string, maxText int) Request {
	if bad := textError(text, false, maxText, nil); bad != nil {
		return bad
	}
	return &Say{Text: text}
}

// dmLine decodes the arguments of "/dm NAME TEXT".
func dmLine(args []byte, maxText int) Request {
	name, text := cutWord(args)
	if len(name) == 0 {
		return badRequest("/dm needs a user name: /dm NAME TEXT", nil, true)
	}
	if bad := textError(string(text), false, maxText, nil); bad != nil {
		return bad
	}
	folded, ok := FoldName(string(name))
	if !ok {
		return invalid(CodeUnknownUser,
			quoteShort(string(name))+" is not a valid user name", nil, true)
	}
	return &Dm{To: folded, Text: string(text)}
}

// trimNewline removes one trailing "\n" or "\r\n".
func trimNewline(b []byte) []byte {
	n := len(b)
	if n > 0 && b[n-1] == '\n' {
		n--
		if n > 0 && b[n-1] == '\r' {
			n--
		}
	}
	return b[:n]
}

// cutWord splits b at its first Unicode white space: word is what comes
// before it and rest what follows the run of white space.
func cutWord(b []byte) (word, rest []byte) {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if unicode.IsSpace(r) {
			return b[:i], trimBlankLeft(b[i:])
		}
		i += size
	}
	return b, nil
}

// trimBlankLeft drops leading Unicode white space.
func trimBlankLeft(b []byte) []byte {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if !unicode.IsSpace(r) {
			break
		}
		b = b[size:]
	}
	return b
}

// trimBlankRight drops trailing Unicode white space.
func trimBlankRight(b []byte) []byte {
	for len(b) > 0 {
		r, size := utf8.DecodeLastRune(b)
		if !unicode.IsSpace(r) {
			break
		}
		b = b[:len(b)-size]
	}
	return b
}

// equalFoldASCII compares b with a lower-case ASCII word, ignoring ASCII case.
func equalFoldASCII(b []byte, word string) bool {
	if len(b) != len(word) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != word[i] {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

// quoteShort quotes s for an error message, cut to a few dozen bytes so that
// a hostile request cannot make its error large.
func quoteShort(s string) string {
	const max = 32
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

// firstOf returns the first non-empty message.
func firstOf(msgs ...string) string {
	for _, m := range msgs {
		if m != "" {
			return m
		}
	}
	return ""
}
