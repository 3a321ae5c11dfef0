package wire

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/actorchat/chat/proto/chatpb"
)

// AppendEvent appends the server frame for ev to dst. ev is one of
// *chatpb.Welcome, *chatpb.Deliver, *chatpb.Sent, *chatpb.Users,
// *chatpb.Presence, *chatpb.HistoryPage, *chatpb.Refused or
// *chatpb.EndSession. A Deliver whose Frame is set appends Frame as is (it was
// rendered once for a fan-out); an EndSession renders the error frame of its
// Code, and ok is false when it has none (the session just closes). ok is
// false, and dst is returned unchanged, for nil and for any other type.
func AppendEvent(dst []byte, ev any) (out []byte, ok bool) {
	switch e := ev.(type) {
	case *chatpb.Deliver:
		return appendDeliver(dst, e)
	case *chatpb.Welcome:
		return appendWelcome(dst, e), e != nil
	case *chatpb.Sent:
		return appendSent(dst, e), e != nil
	case *chatpb.Users:
		return appendUsers(dst, e), e != nil
	case *chatpb.Presence:
		return appendPresence(dst, e), e != nil
	case *chatpb.HistoryPage:
		return appendHistory(dst, e), e != nil
	case *chatpb.Refused:
		if e == nil {
			return dst, false
		}
		return AppendError(dst, e.Ref, e.Code, e.Message), true
	case *chatpb.EndSession:
		if e.GetCode() == chatpb.ErrorCode_ERROR_CODE_UNSPECIFIED {
			return dst, false
		}
		return AppendError(dst, nil, e.Code, e.Message), true
	}
	return dst, false
}

// AppendMessage appends the "message" frame of a stored message: kind
// "public", or "dm" with "to"; "offline" and "redelivered" only when true.
// KIND_UNSPECIFIED renders as public. It allocates nothing when dst has room.
func AppendMessage(dst []byte, m *chatpb.Message, redelivered bool) []byte {
	dst = append(dst, `{"type":"message","id":`...)
	dst = appendString(dst, m.GetId())
	if m.GetKind() == chatpb.Kind_KIND_DM {
		dst = append(dst, `,"kind":"dm","from":`...)
		dst = appendString(dst, m.GetFrom())
		dst = append(dst, `,"to":`...)
		dst = appendString(dst, m.GetTo())
	} else {
		dst = append(dst, `,"kind":"public","from":`...)
		dst = appendString(dst, m.GetFrom())
	}
	dst = append(dst, `,"text":`...)
	dst = appendString(dst, m.GetText())
	dst = appendTSField(dst, m.GetTsUnixMs())
	dst = appendTrue(dst, `,"offline":true`, m.GetOffline())
	dst = appendTrue(dst, `,"redelivered":true`, redelivered)
	return append(dst, '}')
}

// AppendError appends an "error" frame. An unspecified or unknown code is
// rendered as "internal", since a refusal without a reason is a server fault.
func AppendError(dst []byte, ref *string, code chatpb.ErrorCode, message string) []byte {
	name := ErrorCodeString(code)
	if name == "" {
		name = CodeInternal
	}
	dst = append(dst, `{"type":"error"`...)
	dst = appendRef(dst, ref)
	dst = append(dst, `,"code":`...)
	dst = appendString(dst, name)
	dst = append(dst, `,"message":`...)
	dst = appendString(dst, message)
	return append(dst, '}')
}

// appendDeliver renders a Deliver: its pre-rendered frame, or its message.
func appendDeliver(dst []byte, d *chatpb.Deliver) ([]byte, bool) {
	if len(d.GetFrame()) > 0 {
		return append(dst, d.Frame...), true
	}
	if d.GetMessage() == nil {
		return dst, false
	}
	return AppendMessage(dst, d.Message, d.Redelivered), true
}

// appendWelcome renders {"type":"welcome","user","users","online","ts"}.
func appendWelcome(dst []byte, w *chatpb.Welcome) []byte {
	if w == nil {
		return dst
	}
	return AppendWelcome(dst, w, AppendNames(nil, w.Users))
}

// AppendWelcome appends w's welcome frame with users, its names already
// rendered by AppendNames: welcomes that share a list (the room shares one
// until it changes) can share its rendering, which is most of the frame.
func AppendWelcome(dst []byte, w *chatpb.Welcome, users []byte) []byte {
	dst = append(dst, `{"type":"welcome","user":`...)
	dst = appendString(dst, w.GetUser())
	dst = append(dst, `,"users":`...)
	dst = append(dst, users...)
	dst = append(dst, `,"online":`...)
	dst = strconv.AppendInt(dst, int64(w.GetOnline()), 10)
	dst = appendTSField(dst, w.GetTsUnixMs())
	return append(dst, '}')
}

// appendSent renders {"type":"sent","ref","id","ts","queued"}.
func appendSent(dst []byte, s *chatpb.Sent) []byte {
	if s == nil {
		return dst
	}
	dst = append(dst, `{"type":"sent"`...)
	dst = appendRef(dst, s.Ref)
	dst = append(dst, `,"id":`...)
	dst = appendString(dst, s.Id)
	dst = appendTSField(dst, s.TsUnixMs)
	dst = appendTrue(dst, `,"queued":true`, s.Queued)
	return append(dst, '}')
}

// appendUsers renders {"type":"users","ref","users","online"}.
func appendUsers(dst []byte, u *chatpb.Users) []byte {
	if u == nil {
		return dst
	}
	dst = append(dst, `{"type":"users"`...)
	dst = appendRef(dst, u.Ref)
	dst = append(dst, `,"users":`...)
	dst = AppendNames(dst, u.Users)
	dst = append(dst, `,"online":`...)
	dst = strconv.AppendInt(dst, int64(u.Online), 10)
	return append(dst, '}')
}

// appendPresence renders {"type":"presence","user","online","ts"}. "online"
// is written even when false: it is what the frame is about.
func appendPresence(dst []byte, p *chatpb.Presence) []byte {
	if p == nil {
		return dst
	}
	dst = append(dst, `{"type":"presence","user":`...)
	dst = appendString(dst, p.User)
	dst = append(dst, `,"online":`...)
	dst = strconv.AppendBool(dst, p.Online)
	dst = appendTSField(dst, p.TsUnixMs)
	return append(dst, '}')
}

// appendHistory renders {"type":"history","ref","messages":[...]}, each
// element a full message frame; nil entries are skipped.
func appendHistory(dst []byte, h *chatpb.HistoryPage) []byte {
	if h == nil {
		return dst
	}
	dst = append(dst, `{"type":"history"`...)
	dst = appendRef(dst, h.Ref)
	dst = append(dst, `,"messages":[`...)
	first := true
	for _, m := range h.Messages {
		if m == nil {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = AppendMessage(dst, m, false)
	}
	return append(dst, "]}"...)
}

// appendRef appends `,"ref":R` when the request carried a ref, even "".
func appendRef(dst []byte, ref *string) []byte {
	if ref == nil {
		return dst
	}
	dst = append(dst, `,"ref":`...)
	return appendString(dst, *ref)
}

// appendTSField appends `,"ts":"T"`.
func appendTSField(dst []byte, unixMs int64) []byte {
	dst = append(dst, `,"ts":"`...)
	dst = AppendTS(dst, unixMs)
	return append(dst, '"')
}

// appendTrue appends field when v is true: false booleans are left out.
func appendTrue(dst []byte, field string, v bool) []byte {
	if v {
		dst = append(dst, field...)
	}
	return dst
}

// AppendNames appends names as a JSON array of strings, the "users" of a
// welcome or users frame; nil is [] (never null).
func AppendNames(dst []byte, ss []string) []byte {
	// One allocation up front: a welcome lists up to 1000 names, and
	// growing the frame name by name was a sixth of the server's CPU while
	// accepting a wave of connections.
	n := 2
	for _, s := range ss {
		n += len(s) + 3
	}
	dst = slices.Grow(dst, n)
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

// appendString appends s as a JSON string. Quote, backslash and control
// characters are escaped; other characters, including '<', '>', '&' and
// U+2028/U+2029, are written as they are (these frames never meet HTML).
// Bytes that are not UTF-8 become \ufffd so that the frame stays valid
// UTF-8, which a WebSocket text frame must be.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0 // s[start:i] is plain and not yet copied
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plain8(s[i:i+8]) {
			i += 8
			continue
		}
		// Something in the next 8 bytes needs a look: go byte by byte
		// over them before trying the fast path again.
		for end := min(i+8, len(s)); i < end; {
			c := s[i]
			if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
				i++
				continue
			}
			if c < utf8.RuneSelf {
				dst = appendEscape(append(dst, s[start:i]...), c)
				i++
				start = i
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(append(dst, s[start:i]...), `\ufffd`...)
				start = i + 1
			}
			i += size
		}
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plain8 reports whether 8 bytes need no escaping and are all ASCII, testing
// them at once: the common case of chat text is long plain runs.
func plain8(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	q := x ^ (ones * '"')
	b := x ^ (ones * '\\')
	special := (x - ones*0x20) | (q - ones) | (b - ones) // a byte < 0x20, '"' or '\\' borrows
	return (special&^x|x)&highs == 0
}

// appendEscape appends the JSON escape of an ASCII byte.
func appendEscape(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	}
	const hex = "0123456789abcdef"
	return append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
}

// tsLayout is the protocol's timestamp format: RFC 3339, UTC, exactly three
// fractional digits, "Z".
const tsLayout = "2006-01-02T15:04:05.000Z"

// AppendTS appends the protocol timestamp for a Unix time in milliseconds,
// e.g. 2026-11-28T12:00:00.123Z, always with three fractional digits. It
// allocates nothing when dst has room.
func AppendTS(dst []byte, unixMs int64) []byte {
	t := time.UnixMilli(unixMs).UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		// Outside RFC 3339's four-digit years; never a real stamp.
		return t.AppendFormat(dst, tsLayout)
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / int(time.Millisecond)
	dst = append2(append2(dst, year/100), year%100)
	dst = append2(append(dst, '-'), int(month))
	dst = append2(append(dst, '-'), day)
	dst = append2(append(dst, 'T'), hour)
	dst = append2(append(dst, ':'), minute)
	dst = append2(append(dst, ':'), sec)
	dst = append(dst, '.', byte('0'+ms/100))
	return append(append2(dst, ms%100), 'Z')
}

// FormatTS returns the protocol timestamp for a Unix time in milliseconds.
func FormatTS(unixMs int64) string {
	var buf [len(tsLayout)]byte
	return string(AppendTS(buf[:0], unixMs))
}

// ParseTS parses a protocol timestamp strictly (three fractional digits,
// "Z") into a UTC time.
func ParseTS(s string) (time.Time, error) {
	return time.Parse(tsLayout, s)
}

// digitPairs holds "00" to "99", for two-digit fields without division loops.
const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// append2 appends v (0 to 99) as two decimal digits.
func append2(dst []byte, v int) []byte {
	return append(dst, digitPairs[2*v], digitPairs[2*v+1])
}
