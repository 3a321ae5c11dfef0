package server

import (
	"log/slog"
	"strings"

	"github.com/actorchat/chat/proto/chatpb"
)

// closeReason is why a connection ended, from the close code of its
// handshake (proto/wire): the code the server or the transport sent, or
// NORMAL when the client closed first, whatever its code. A code outside
// the protocol's (1002, a malformed stream) counts as NORMAL too.
func closeReason(code int, byPeer bool) chatpb.CloseReason {
	if r := closeReasonOf(code); !byPeer && r != chatpb.CloseReason_CLOSE_REASON_UNSPECIFIED {
		return r
	}
	return chatpb.CloseReason_CLOSE_REASON_NORMAL
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
