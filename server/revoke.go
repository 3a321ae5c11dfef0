package server

import (
	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/auth"
	"github.com/actorchat/chat/proto/chatpb"
)

// RevokeSessions returns the callback for auth.Config.OnRevoke that ends
// the sessions opened with revoked tokens: it hands each revocation to
// chat's user actors (actors.Chat.Revoke), which close those connections
// with credentials_revoked and 4003. It does not block, as OnRevoke must
// not. The edge owns this translation because it is the one package that
// knows both vocabularies: auth's, and the actors'.
func RevokeSessions(chat *actors.Chat) func(auth.Revocation) {
	return func(r auth.Revocation) {
		chat.Revoke(r.User, revokeScope(r.Scope), r.TokenID)
	}
}

// revokeScopes pairs each of auth's revocation scopes with the actors'.
var revokeScopes = [...]struct {
	auth  auth.Scope
	actor chatpb.RevokeScope
}{
	{auth.RevokeOne, chatpb.RevokeScope_REVOKE_SCOPE_ONE},
	{auth.RevokeAll, chatpb.RevokeScope_REVOKE_SCOPE_ALL},
	{auth.RevokeAllBut, chatpb.RevokeScope_REVOKE_SCOPE_ALL_BUT},
}

// revokeScope is the actors' scope for auth's. A scope this table does not
// know covers every token of the user (ALL): ending a session that could
// have stayed costs its client a sign-in, keeping one whose token was
// revoked lets the token speak on.
func revokeScope(s auth.Scope) chatpb.RevokeScope {
	for _, e := range revokeScopes {
		if e.auth == s {
			return e.actor
		}
	}
	return chatpb.RevokeScope_REVOKE_SCOPE_ALL
}
