package server

import (
	"log/slog"
	"strings"

	"github.com/actorchat/chat/proto/chatpb"
)

// closeText is the short reason sent in a close frame.
func closeText(r chatpb.CloseReason) string {
	switch r {
	case chatpb.CloseReason_CLOSE_REASON_SHUTDOWN:
		return "server shutting down"
	case chatpb.CloseReason_CLOSE_REASON_BINARY_FRAME:
		return "binary frames are not accepted"
	case chatpb.CloseReason_CLOSE_REASON_INVALID_UTF8:
		return "text frame is not valid UTF-8"
	case chatpb.CloseReason_CLOSE_REASON_POLICY:
		return "policy violation"
	case chatpb.CloseReason_CLOSE_REASON_TOO_LARGE:
		return "message too large"
	case chatpb.CloseReason_CLOSE_REASON_REPLACED:
		return "session replaced"
	case chatpb.CloseReason_CLOSE_REASON_SLOW_CONSUMER:
		return "client too slow"
	case chatpb.CloseReason_CLOSE_REASON_INTERNAL:
		return "internal error"
	}
	return ""
}

// closeLabel is a close reason as a metric label: "slow_consumer".
func closeLabel(r chatpb.CloseReason) string {
	if r == chatpb.CloseReason_CLOSE_REASON_UNSPECIFIED {
		r = chatpb.CloseReason_CLOSE_REASON_NORMAL
	}
	return strings.ToLower(strings.TrimPrefix(r.String(), "CLOSE_REASON_"))
}

// closeLogLevel is the level a connection's end is logged at: the everyday
// ends (the peer left, the server shut down, a newer session took over) at
// debug, so that a busy server's log is not a line per connection; the ends
// an operator may need to act on at info.
func closeLogLevel(r chatpb.CloseReason) slog.Level {
	switch r {
	case chatpb.CloseReason_CLOSE_REASON_UNSPECIFIED, chatpb.CloseReason_CLOSE_REASON_NORMAL,
		chatpb.CloseReason_CLOSE_REASON_SHUTDOWN, chatpb.CloseReason_CLOSE_REASON_REPLACED:
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
