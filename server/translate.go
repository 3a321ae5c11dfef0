package server

import (
	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/proto/wire"
)

// The edge's translation between the two vocabularies: the wire's requests
// and frames (proto/wire), which know nothing of actors, and the actors'
// messages (proto/chatpb), which know nothing of the wire format. Each
// mapping is defined once, here; everything in this file is a pure
// function, safe for concurrent use.

// request turns a decoded client frame into the message for the user actor.
func request(r wire.Request) any {
	switch r := r.(type) {
	case *wire.Say:
		return &chatpb.Say{Text: r.Text, Ref: r.Ref, Key: r.Key}
	case *wire.Dm:
		return &chatpb.Dm{To: r.To, Text: r.Text, Ref: r.Ref, Key: r.Key}
	case *wire.Who:
		return &chatpb.Who{After: r.After, Ref: r.Ref}
	case *wire.History:
		return &chatpb.History{Limit: int32(r.Limit), Before: r.Before, Ref: r.Ref}
	case *wire.DebugPanic:
		return &chatpb.DebugPanic{}
	case *wire.Invalid:
		return &chatpb.Invalid{Code: actorCode(r.Code), Message: r.Message, Ref: r.Ref, Counts: r.Counts}
	}
	// wire.Request is a closed set, all handled above.
	return &chatpb.Invalid{Code: chatpb.ErrorCode_ERROR_CODE_INTERNAL, Message: "request not understood"}
}

// errorCodes pairs each actor error code with the protocol's.
var errorCodes = [...]struct {
	actor chatpb.ErrorCode
	wire  wire.ErrorCode
}{
	{chatpb.ErrorCode_ERROR_CODE_BAD_REQUEST, wire.CodeBadRequest},
	{chatpb.ErrorCode_ERROR_CODE_UNKNOWN_COMMAND, wire.CodeUnknownCommand},
	{chatpb.ErrorCode_ERROR_CODE_INVALID_TEXT, wire.CodeInvalidText},
	{chatpb.ErrorCode_ERROR_CODE_UNKNOWN_USER, wire.CodeUnknownUser},
	{chatpb.ErrorCode_ERROR_CODE_QUEUE_FULL, wire.CodeQueueFull},
	{chatpb.ErrorCode_ERROR_CODE_RATE_LIMITED, wire.CodeRateLimited},
	{chatpb.ErrorCode_ERROR_CODE_SESSION_REPLACED, wire.CodeSessionReplaced},
	{chatpb.ErrorCode_ERROR_CODE_INTERNAL, wire.CodeInternal},
	{chatpb.ErrorCode_ERROR_CODE_CREDENTIALS_REVOKED, wire.CodeCredentialsRevoked},
	{chatpb.ErrorCode_ERROR_CODE_STORAGE_FULL, wire.CodeStorageFull},
}

// wireCode is the protocol's error code for an actor's. An unspecified or
// unknown code is internal: a refusal without a reason is a server fault.
func wireCode(c chatpb.ErrorCode) wire.ErrorCode {
	for _, e := range errorCodes {
		if e.actor == c {
			return e.wire
		}
	}
	return wire.CodeInternal
}

// actorCode is the inverse of wireCode.
func actorCode(c wire.ErrorCode) chatpb.ErrorCode {
	for _, e := range errorCodes {
		if e.wire == c {
			return e.actor
		}
	}
	return chatpb.ErrorCode_ERROR_CODE_INTERNAL
}

// closeReasons gives each reason a connection ends for its WebSocket close
// code and the short text sent with it.
var closeReasons = [...]struct {
	reason chatpb.CloseReason
	code   int
	text   string
}{
	{chatpb.CloseReason_CLOSE_REASON_NORMAL, wire.CloseNormal, ""},
	{chatpb.CloseReason_CLOSE_REASON_SHUTDOWN, wire.CloseShutdown, "server shutting down"},
	{chatpb.CloseReason_CLOSE_REASON_BINARY_FRAME, wire.CloseBinaryFrame, "binary frames are not accepted"},
	{chatpb.CloseReason_CLOSE_REASON_INVALID_UTF8, wire.CloseInvalidUTF8, "text frame is not valid UTF-8"},
	{chatpb.CloseReason_CLOSE_REASON_POLICY, wire.ClosePolicy, "policy violation"},
	{chatpb.CloseReason_CLOSE_REASON_TOO_LARGE, wire.CloseTooLarge, "message too large"},
	{chatpb.CloseReason_CLOSE_REASON_REPLACED, wire.CloseReplaced, "session replaced"},
	{chatpb.CloseReason_CLOSE_REASON_SLOW_CONSUMER, wire.CloseSlowConsumer, "client too slow"},
	{chatpb.CloseReason_CLOSE_REASON_INTERNAL, wire.CloseInternal, "internal error"},
	{chatpb.CloseReason_CLOSE_REASON_CREDENTIALS_REVOKED, wire.CloseCredentialsRevoked, "credentials revoked"},
}

// closeCode returns the close code and text for a reason. An unspecified or
// unknown reason is internal: a session ended without a stated reason is a
// server fault, and 0 is not a code that may be sent.
func closeCode(r chatpb.CloseReason) (code int, text string) {
	for _, e := range closeReasons {
		if e.reason == r {
			return e.code, e.text
		}
	}
	return wire.CloseInternal, "internal error"
}

// closeReasonOf is the inverse of closeCode: the reason for a close code,
// or CLOSE_REASON_UNSPECIFIED for a code the protocol does not use.
func closeReasonOf(code int) chatpb.CloseReason {
	for _, e := range closeReasons {
		if e.code == code {
			return e.reason
		}
	}
	return chatpb.CloseReason_CLOSE_REASON_UNSPECIFIED
}

// appendEvent appends the frame of an actor's message for a session to dst.
// ok is false, and dst unchanged, for a message that has no frame: nil, a
// Deliver without a message, an EndSession without an error code, or any
// other type.
func appendEvent(dst []byte, ev any) (out []byte, ok bool) {
	switch e := ev.(type) {
	case *chatpb.Deliver:
		if m := e.GetMessage(); m != nil {
			w := wireMessage(m, e.Redelivered)
			return w.AppendTo(dst), true
		}
	case *chatpb.Welcome:
		if e != nil {
			w := wireWelcome(e)
			return w.AppendTo(dst), true
		}
	case *chatpb.Sent:
		if e != nil {
			w := wire.Sent{Ref: e.Ref, ID: e.Id, TS: e.TsUnixMs, Queued: e.Queued}
			return w.AppendTo(dst), true
		}
	default:
		return appendReply(dst, ev)
	}
	return dst, false
}

// appendReply is appendEvent for the rarer messages: answers to who and
// history, presence notices and errors.
func appendReply(dst []byte, ev any) ([]byte, bool) {
	switch e := ev.(type) {
	case *chatpb.Users:
		if e != nil {
			w := wire.Users{Ref: e.Ref, Users: e.Users, Online: int(e.Online)}
			return w.AppendTo(dst), true
		}
	case *chatpb.Presence:
		if e != nil {
			w := wire.Presence{User: e.User, Online: e.Online, TS: e.TsUnixMs}
			return w.AppendTo(dst), true
		}
	case *chatpb.HistoryPage:
		if e != nil {
			w := wireHistory(e)
			return w.AppendTo(dst), true
		}
	case *chatpb.Refused:
		if e != nil {
			w := wire.Error{Ref: e.Ref, Code: wireCode(e.Code), Message: e.Message}
			return w.AppendTo(dst), true
		}
	case *chatpb.EndSession:
		if e.GetCode() != chatpb.ErrorCode_ERROR_CODE_UNSPECIFIED {
			w := wire.Error{Code: wireCode(e.Code), Message: e.Message}
			return w.AppendTo(dst), true
		}
	}
	return dst, false
}

// wireMessage is the frame of a stored message.
func wireMessage(m *chatpb.Message, redelivered bool) wire.Message {
	kind := wire.KindPublic
	if m.Kind == chatpb.Kind_KIND_DM {
		kind = wire.KindDM
	}
	return wire.Message{ID: m.Id, Kind: kind, From: m.From, To: m.To, Text: m.Text,
		TS: m.TsUnixMs, Offline: m.Offline, Redelivered: redelivered}
}

// wireWelcome is the frame of a welcome.
func wireWelcome(w *chatpb.Welcome) wire.Welcome {
	return wire.Welcome{User: w.User, Users: w.Users, Online: int(w.Online), TS: w.TsUnixMs,
		MsgRate: w.MsgRate, MsgBurst: int(w.MsgBurst)}
}

// wireHistory is the frame of a history page; nil messages are left out.
func wireHistory(h *chatpb.HistoryPage) wire.HistoryPage {
	msgs := make([]wire.Message, 0, len(h.Messages))
	for _, m := range h.Messages {
		if m != nil {
			msgs = append(msgs, wireMessage(m, false))
		}
	}
	return wire.HistoryPage{Ref: h.Ref, Messages: msgs}
}
