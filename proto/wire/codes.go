package wire

import "github.com/actorchat/chat/proto/chatpb"

// Protocol error code strings (PROTOCOL.md "Server to client").
const (
	CodeBadRequest      = "bad_request"
	CodeUnknownCommand  = "unknown_command"
	CodeInvalidText     = "invalid_text"
	CodeUnknownUser     = "unknown_user"
	CodeQueueFull       = "queue_full"
	CodeRateLimited     = "rate_limited"
	CodeSessionReplaced = "session_replaced"
	CodeInternal        = "internal"
)

// ErrorCodeString returns the protocol's string for an error code, such as
// "bad_request". It returns "" for ERROR_CODE_UNSPECIFIED and for values the
// protocol does not know; the encoders render those as "internal".
func ErrorCodeString(c chatpb.ErrorCode) string {
	switch c {
	case chatpb.ErrorCode_ERROR_CODE_BAD_REQUEST:
		return CodeBadRequest
	case chatpb.ErrorCode_ERROR_CODE_UNKNOWN_COMMAND:
		return CodeUnknownCommand
	case chatpb.ErrorCode_ERROR_CODE_INVALID_TEXT:
		return CodeInvalidText
	case chatpb.ErrorCode_ERROR_CODE_UNKNOWN_USER:
		return CodeUnknownUser
	case chatpb.ErrorCode_ERROR_CODE_QUEUE_FULL:
		return CodeQueueFull
	case chatpb.ErrorCode_ERROR_CODE_RATE_LIMITED:
		return CodeRateLimited
	case chatpb.ErrorCode_ERROR_CODE_SESSION_REPLACED:
		return CodeSessionReplaced
	case chatpb.ErrorCode_ERROR_CODE_INTERNAL:
		return CodeInternal
	}
	return ""
}

// ParseErrorCode is the inverse of ErrorCodeString; ok is false for a string
// that is not a protocol error code.
func ParseErrorCode(s string) (chatpb.ErrorCode, bool) {
	for c := chatpb.ErrorCode_ERROR_CODE_BAD_REQUEST; c <= chatpb.ErrorCode_ERROR_CODE_INTERNAL; c++ {
		if ErrorCodeString(c) == s {
			return c, true
		}
	}
	return chatpb.ErrorCode_ERROR_CODE_UNSPECIFIED, false
}

// WebSocket close codes (PROTOCOL.md "Close codes"; 1011 is RFC 6455's
// "internal error", used when a user actor could not be kept alive).
const (
	CloseNormal       = 1000
	CloseShutdown     = 1001
	CloseBinaryFrame  = 1003
	CloseInvalidUTF8  = 1007
	ClosePolicy       = 1008
	CloseTooLarge     = 1009
	CloseInternal     = 1011
	CloseReplaced     = 4000
	CloseSlowConsumer = 4001
)

// CloseCode returns the WebSocket close code for a close reason.
// CLOSE_REASON_UNSPECIFIED and unknown values give CloseInternal, since a
// session ended without a stated reason is a server fault, and 0 is not a
// code that may be sent.
func CloseCode(r chatpb.CloseReason) int {
	switch r {
	case chatpb.CloseReason_CLOSE_REASON_NORMAL:
		return CloseNormal
	case chatpb.CloseReason_CLOSE_REASON_SHUTDOWN:
		return CloseShutdown
	case chatpb.CloseReason_CLOSE_REASON_BINARY_FRAME:
		return CloseBinaryFrame
	case chatpb.CloseReason_CLOSE_REASON_INVALID_UTF8:
		return CloseInvalidUTF8
	case chatpb.CloseReason_CLOSE_REASON_POLICY:
		return ClosePolicy
	case chatpb.CloseReason_CLOSE_REASON_TOO_LARGE:
		return CloseTooLarge
	case chatpb.CloseReason_CLOSE_REASON_REPLACED:
		return CloseReplaced
	case chatpb.CloseReason_CLOSE_REASON_SLOW_CONSUMER:
		return CloseSlowConsumer
	}
	return CloseInternal
}

// CloseReasonOf is the inverse of CloseCode: the reason for a close code, or
// CLOSE_REASON_UNSPECIFIED for a code the protocol does not use.
func CloseReasonOf(code int) chatpb.CloseReason {
	for r := chatpb.CloseReason_CLOSE_REASON_NORMAL; r <= chatpb.CloseReason_CLOSE_REASON_INTERNAL; r++ {
		if CloseCode(r) == code {
			return r
		}
	}
	return chatpb.CloseReason_CLOSE_REASON_UNSPECIFIED
}
