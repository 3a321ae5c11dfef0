package wire

import (
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

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

// appendNumber appends v as a JSON number: plain decimals, and an exponent
// only for the very small and the very large, where encoding/json uses one
// too. v must be finite (JSON has no NaN or infinity).
func appendNumber(dst []byte, v float64) []byte {
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.AppendFloat(dst, v, 'e', -1, 64)
	}
	return strconv.AppendFloat(dst, v, 'f', -1, 64)
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
