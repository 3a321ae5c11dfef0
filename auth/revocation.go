package auth

// Scope says which of a user's tokens a Revocation covers.
type Scope int

// The scopes of a revocation.
const (
	// RevokeOne covers one token, Revocation.TokenID: a logout.
	RevokeOne Scope = iota + 1
	// RevokeAll covers every token of the user: the operator's reset,
	// disable and revoke.
	RevokeAll
	// RevokeAllBut covers every token of the user except
	// Revocation.TokenID: a password change keeps the token it was made
	// with, so that the client that made it stays signed in.
	RevokeAllBut
)

// Revocation reports tokens that no longer speak for their user. The
// service reports each one through Config.OnRevoke once it is durable, so
// that the connections opened with those tokens can be closed at once
// rather than at their next check.
type Revocation struct {
	User    string
	Scope   Scope
	TokenID string // the revoked token (RevokeOne) or the kept one (RevokeAllBut)
}

// Covers reports whether a connection opened as id must end: it is the
// user's, and its token is among those revoked.
func (r Revocation) Covers(id Identity) bool {
	if id.User != r.User {
		return false
	}
	switch r.Scope {
	case RevokeOne:
		return id.TokenID == r.TokenID
	case RevokeAllBut:
		return id.TokenID != r.TokenID
	}
	return r.Scope == RevokeAll
}
