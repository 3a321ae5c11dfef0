package wire

import (
	"math"
	"strconv"
)

// The server's frames, one type each. Their AppendTo methods append the
// frame's JSON text to dst; they allocate nothing when dst has room, but
// for Welcome.AppendTo, which renders the name list apart (AppendWithNames
// does not), and they render any value: strings that are not UTF-8 get U+FFFD, an unknown error code
// becomes "internal". Field order and the omission of false booleans are
// the protocol's (docs/protocol.md, "Server to client").

// Kind tells public messages from private ones.
type Kind uint8

// Message kinds. The zero Kind is public.
const (
	KindPublic Kind = iota
	KindDM
)

// String returns the protocol's name of the kind: "public" or "dm".
func (k Kind) String() string {
	if k == KindDM {
		return "dm"
	}
	return "public"
}

// Message is a "message" frame: one chat message, as delivered, and each
// element of a history page.
type Message struct {
	ID          string
	Kind        Kind
	From        string
	To          string // KindDM only; not rendered for a public message
	Text        string
	TS          int64 // server UTC time of acceptance, Unix milliseconds
	Offline     bool  // a private message queued while its recipient was offline
	Redelivered bool  // written to an earlier connection and not confirmed
}

// AppendTo appends m's frame: kind "public", or "dm" with "to"; "offline"
// and "redelivered" only when true.
func (m *Message) AppendTo(dst []byte) []byte {
	dst = append(dst, `{"type":"message","id":`...)
	dst = appendString(dst, m.ID)
	if m.Kind == KindDM {
		dst = append(dst, `,"kind":"dm","from":`...)
		dst = appendString(dst, m.From)
		dst = append(dst, `,"to":`...)
		dst = appendString(dst, m.To)
	} else {
		dst = append(dst, `,"kind":"public","from":`...)
		dst = appendString(dst, m.From)
	}
	dst = append(dst, `,"text":`...)
	dst = appendString(dst, m.Text)
	dst = appendTSField(dst, m.TS)
	dst = appendTrue(dst, `,"offline":true`, m.Offline)
	dst = appendTrue(dst, `,"redelivered":true`, m.Redelivered)
	return append(dst, '}')
}

// Welcome is the "welcome" frame, the first a client gets.
type Welcome struct {
	User   string
	Users  []string // who is online, sorted; nil is []
	Online int
	TS     int64
	// MsgRate and MsgBurst announce the rate limit on say and dm, in
	// messages a second and messages at once, so that a client can pace
	// itself. Each is left out of the frame when not above 0 (no limit).
	MsgRate  float64
	MsgBurst int
}

// AppendTo appends w's frame.
func (w *Welcome) AppendTo(dst []byte) []byte {
	return w.AppendWithNames(dst, AppendNames(nil, w.Users))
}

// AppendWithNames appends w's frame with names, w.Users already rendered
// by AppendNames: welcomes that share a list (the room shares one until it
// changes) can share its rendering, which is most of the frame.
func (w *Welcome) AppendWithNames(dst, names []byte) []byte {
	dst = append(dst, `{"type":"welcome","user":`...)
	dst = appendString(dst, w.User)
	dst = append(dst, `,"users":`...)
	dst = append(dst, names...)
	dst = append(dst, `,"online":`...)
	dst = strconv.AppendInt(dst, int64(w.Online), 10)
	dst = appendTSField(dst, w.TS)
	if w.MsgRate > 0 && !math.IsInf(w.MsgRate, 1) {
		dst = append(dst, `,"msg_rate":`...)
		dst = appendNumber(dst, w.MsgRate)
	}
	if w.MsgBurst > 0 {
		dst = append(dst, `,"msg_burst":`...)
		dst = strconv.AppendInt(dst, int64(w.MsgBurst), 10)
	}
	return append(dst, '}')
}

// Sent is the "sent" frame, the receipt for an accepted say or dm.
type Sent struct {
	Ref    *string
	ID     string
	TS     int64
	Queued bool // the recipient was offline
}

// AppendTo appends s's frame.
func (s *Sent) AppendTo(dst []byte) []byte {
	dst = append(dst, `{"type":"sent"`...)
	dst = appendRef(dst, s.Ref)
	dst = append(dst, `,"id":`...)
	dst = appendString(dst, s.ID)
	dst = appendTSField(dst, s.TS)
	dst = appendTrue(dst, `,"queued":true`, s.Queued)
	return append(dst, '}')
}

// Users is the "users" frame, the answer to who.
type Users struct {
	Ref    *string
	Users  []string // one page, sorted; nil is []
	Online int      // all online, not only this page
}

// AppendTo appends u's frame.
func (u *Users) AppendTo(dst []byte) []byte {
	dst = append(dst, `{"type":"users"`...)
	dst = appendRef(dst, u.Ref)
	dst = append(dst, `,"users":`...)
	dst = AppendNames(dst, u.Users)
	dst = append(dst, `,"online":`...)
	dst = strconv.AppendInt(dst, int64(u.Online), 10)
	return append(dst, '}')
}

// Presence is the "presence" frame: a user came online or went offline.
type Presence struct {
	User   string
	Online bool
	TS     int64
}

// AppendTo appends p's frame. "online" is written even when false: it is
// what the frame is about.
func (p *Presence) AppendTo(dst []byte) []byte {
	dst = append(dst, `{"type":"presence","user":`...)
	dst = appendString(dst, p.User)
	dst = append(dst, `,"online":`...)
	dst = strconv.AppendBool(dst, p.Online)
	dst = appendTSField(dst, p.TS)
	return append(dst, '}')
}

// HistoryPage is the "history" frame, the answer to history.
type HistoryPage struct {
	Ref      *string
	Messages []Message // oldest first
}

// AppendTo appends h's frame, each element of "messages" a full message
// frame.
func (h *HistoryPage) AppendTo(dst []byte) []byte {
	dst = append(dst, `{"type":"history"`...)
	dst = appendRef(dst, h.Ref)
	dst = append(dst, `,"messages":[`...)
	for i := range h.Messages {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = h.Messages[i].AppendTo(dst)
	}
	return append(dst, "]}"...)
}

// Error is the "error" frame: a request refused, the connection stays.
type Error struct {
	Ref     *string
	Code    ErrorCode // rendered as CodeInternal when not Known
	Message string
}

// AppendTo appends e's frame.
func (e *Error) AppendTo(dst []byte) []byte {
	code := e.Code
	if !code.Known() {
		code = CodeInternal
	}
	dst = append(dst, `{"type":"error"`...)
	dst = appendRef(dst, e.Ref)
	dst = append(dst, `,"code":`...)
	dst = appendString(dst, string(code))
	dst = append(dst, `,"message":`...)
	dst = appendString(dst, e.Message)
	return append(dst, '}')
}
