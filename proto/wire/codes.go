package wire

// ErrorCode is a protocol error code, "request refused, the connection
// stays": the string an "error" frame carries in "code". The constants
// below are the whole vocabulary. They are untyped, so that they compare
// with ServerFrame.Code, a plain string, as well as with an ErrorCode.
type ErrorCode string

// Protocol error codes (docs/protocol.md, "Server to client").
const (
	CodeBadRequest      = "bad_request"
	CodeUnknownCommand  = "unknown_command"
	CodeInvalidText     = "invalid_text"
	CodeUnknownUser     = "unknown_user"
	CodeQueueFull       = "queue_full"
	CodeRateLimited     = "rate_limited"
	CodeSessionReplaced = "session_replaced"
	CodeInternal        = "internal"
	// CodeCredentialsRevoked (version 2), like CodeSessionReplaced, is no
	// refusal: the token the connection was opened with was revoked, and
	// close 4003 follows.
	CodeCredentialsRevoked = "credentials_revoked"
	// CodeStorageFull: the server's room for queued private messages is
	// spoken for; a dm is refused until deliveries free some.
	CodeStorageFull = "storage_full"
)

// Known reports whether c is one of the protocol's error codes. The
// encoders render any other code, "" included, as CodeInternal, since a
// refusal without a known reason is a server fault.
func (c ErrorCode) Known() bool {
	switch c {
	case CodeBadRequest, CodeUnknownCommand, CodeInvalidText, CodeUnknownUser,
		CodeQueueFull, CodeRateLimited, CodeSessionReplaced, CodeInternal, CodeCredentialsRevoked,
		CodeStorageFull:
		return true
	}
	return false
}

// WebSocket close codes, "the connection must end" (docs/protocol.md,
// "Close codes"; 1011 is RFC 6455's "internal error", used when a user
// actor could not be kept alive).
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
	// CloseCredentialsRevoked (version 2): the token the connection was
	// opened with was revoked (a logout, a password change, the account
	// disabled).
	CloseCredentialsRevoked = 4003
)
