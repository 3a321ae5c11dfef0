package wire

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Protocol defaults and bounds (docs/protocol.md "Connecting", "Client to
// server", "Limits").
const (
	// DefaultMaxText is the default limit on a message's text, in bytes.
	DefaultMaxText = 4096
	// MaxNameLen is the longest user name, in bytes (names are ASCII).
	MaxNameLen = 32
	// MaxRefLen is the longest request ref, in characters (runes).
	MaxRefLen = 64
	// MaxKeyLen is the longest idempotency key, in characters (runes).
	MaxKeyLen = 64
	// DefaultHistoryLimit is the page size of a history request without "limit".
	DefaultHistoryLimit = 50
	// MaxHistoryLimit is the largest "limit" a history request may ask for.
	MaxHistoryLimit = 200
)

// Limits holds the server-configurable limits the decoder enforces. The zero
// value means the protocol defaults.
type Limits struct {
	// MaxText is the longest accepted text in bytes; 0 (or less) means
	// DefaultMaxText.
	MaxText int
}

// maxText returns the effective text limit.
func (l Limits) maxText() int {
	if l.MaxText <= 0 {
		return DefaultMaxText
	}
	return l.MaxText
}

// FoldName validates a user name by the rules of docs/protocol.md
// "Connecting" (1 to 32 ASCII characters of a-z 0-9 _ . -, starting with a
// letter, digit or _, with A-Z accepted and folded to lower case) and
// returns its folded form. An already folded name is returned as is,
// without allocating.
func FoldName(s string) (folded string, ok bool) {
	if len(s) == 0 || len(s) > MaxNameLen {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_':
		case (c == '.' || c == '-') && i > 0:
		default:
			return "", false
		}
	}
	return lowerASCII(s), true
}

// lowerASCII folds A-Z to a-z, returning s itself when there is nothing to
// fold.
func lowerASCII(s string) string {
	i := 0
	for i < len(s) && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// CheckText applies the protocol's rules for a message's text: valid UTF-8,
// not blank (blank is empty or only Unicode white space) and at most maxText
// bytes (maxText <= 0 means DefaultMaxText). When the text breaks a rule,
// reason is a short human-readable explanation for the invalid_text error.
func CheckText(text string, maxText int) (reason string, ok bool) {
	if maxText <= 0 {
		maxText = DefaultMaxText
	}
	switch {
	case !utf8.ValidString(text):
		return `"text" is not valid UTF-8`, false
	case isBlank(text):
		return `"text" is blank`, false
	case len(text) > maxText:
		return `"text" is longer than ` + strconv.Itoa(maxText) + " bytes", false
	}
	return "", true
}

// isBlank reports whether s holds only Unicode white space (or nothing).
func isBlank(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}
