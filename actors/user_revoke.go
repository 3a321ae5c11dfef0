package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
)

// Revocation (protocol version 2): when tokens of this user are revoked (a
// logout, a password change, the operator's reset, disable or revoke), the
// session opened with one of them ends at once, with credentials_revoked
// and close 4003. The auth store is the truth about tokens; the actor only
// knows the id of the token its session was opened with (Connect.TokenId,
// kept in the cell so that it survives a restart) and compares it with
// each Revoke the registry forwards.
//
// A revocation that reaches the registry before the Connect of a session
// opened with the revoked token finds no session to end; the edge closes
// that gap by checking the token again once Connect has returned (see
// server/doc.go, "Revocation").

// revoke ends the session when m covers the token it was opened with. The
// session closes the connection and tells this actor with a Disconnect,
// as for any other end; until then the session stays the user's, so that
// a private message that arrives meanwhile is kept in the inbox,
// unconfirmed, for the next connection.
func (u *user) revoke(ctx actor.Context, m *chatpb.Revoke) {
	if u.cell.session == nil || !covers(m, u.name, u.cell.token) {
		return
	}
	ctx.Send(u.cell.session, &chatpb.EndSession{
		Reason:  chatpb.CloseReason_CLOSE_REASON_CREDENTIALS_REVOKED,
		Code:    chatpb.ErrorCode_ERROR_CODE_CREDENTIALS_REVOKED,
		Message: "the credentials this connection was opened with were revoked; sign in again",
	})
}

// covers reports whether m revokes the token tokenID of user. It mirrors
// auth.Revocation.Covers, which the actors do not import: the edge and
// cmd/chatd translate one into the other.
func covers(m *chatpb.Revoke, user, tokenID string) bool {
	if m.User != user {
		return false
	}
	switch m.Scope {
	case chatpb.RevokeScope_REVOKE_SCOPE_ONE:
		return tokenID == m.TokenId
	case chatpb.RevokeScope_REVOKE_SCOPE_ALL_BUT:
		return tokenID != m.TokenId
	case chatpb.RevokeScope_REVOKE_SCOPE_ALL:
		return true
	}
	return false
}
