package server

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/actorchat/chat/auth"
	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/proto/wire"
)

// Who is speaking: the checks of a WebSocket upgrade that name its user,
// before anything is created for it. Without a verifier (the `none` mode)
// that is version 1: the user parameter is trusted as is. With one
// (protocol version 2) the request presents a token, which the verifier
// turns into an identity; the user parameter is then optional and, if
// given, must name the token's user.
//
// The token is in the request's header or query string, so nothing here
// logs the request, its URL or a verifier's error text beyond what
// package auth promises is free of tokens (refusals carry fixed reasons).

// credential is what an upgrade was admitted with: its identity and the
// token that proved it ("" without a verifier). The token is kept only
// until the session is attached, for one more check (recheck).
type credential struct {
	auth.Identity
	token string
}

// refusal is a request refused before the upgrade: its HTTP status, the
// label it is counted under (Metrics.refused) and a one-line reason.
type refusal struct {
	status int
	label  string
	reason string
}

// The refusals of the credential checks.
var (
	errMalformedQuery = &refusal{http.StatusBadRequest, "bad_name", "malformed query string"}
	errNoUser         = &refusal{http.StatusBadRequest, "bad_name", "missing user name: connect to /chat?user=NAME"}
	errBadUser        = &refusal{http.StatusBadRequest, "bad_name", "invalid user name: 1 to 32 of a-z 0-9 _ . -, starting with a letter, digit or _"}
	errRepeatedUser   = &refusal{http.StatusBadRequest, "bad_name", "repeated user parameter: give one user name"}
	errRepeatedToken  = &refusal{http.StatusBadRequest, "bad_token", "repeated token parameter: give one token"}
	errTwoTokens      = &refusal{http.StatusBadRequest, "bad_token", "two different tokens: give one, in the Authorization header or in the token parameter"}
	errNoToken        = &refusal{http.StatusUnauthorized, "bad_credentials", "missing token: send Authorization: Bearer TOKEN, or the token parameter"}
	errBadToken       = &refusal{http.StatusUnauthorized, "bad_credentials", "unknown, expired or revoked token: sign in again"}
	errWrongUser      = &refusal{http.StatusForbidden, "wrong_user", "the token is not the named user's: leave out the user parameter, or name the token's user"}
	errVerifying      = &refusal{http.StatusInternalServerError, "internal", "the server could not check the token; retry later"}
)

// identify returns who r speaks for, or why it is refused. The request's
// shape is checked first (400), then its token (401), then the user it
// names against the token's (403).
func (s *Server) identify(r *http.Request) (credential, *refusal) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return credential{}, errMalformedQuery // err quotes the query: not logged
	}
	name, named, no := userParam(q)
	if no != nil {
		return credential{}, no
	}
	if s.cfg.Verifier == nil {
		if !named {
			return credential{}, errNoUser
		}
		return credential{Identity: auth.Identity{User: name}}, nil
	}
	token, no := presentedToken(r, q)
	if no != nil {
		return credential{}, no
	}
	id, no := s.verify(token)
	switch {
	case no != nil:
		return credential{}, no
	case named && name != id.User:
		return credential{}, errWrongUser
	}
	return credential{Identity: id, token: token}, nil
}

// userParam reads the user parameter: at most one, and a valid name,
// which it returns folded.
func userParam(q url.Values) (name string, named bool, no *refusal) {
	switch v := q["user"]; len(v) {
	case 0:
		return "", false, nil
	case 1:
		if name, ok := wire.FoldName(v[0]); ok {
			return name, true, nil
		}
		return "", false, errBadUser
	}
	return "", false, errRepeatedUser
}

// presentedToken returns the token r presents: as "Authorization: Bearer
// TOKEN", or as the token parameter, which browsers need since they cannot
// set headers on a WebSocket upgrade. Both may be given if they agree; two
// different tokens are refused rather than one picked, since a client that
// sends both has lost track of which one it means. A header of another
// scheme is not a token, and "" is returned when there is none.
func presentedToken(r *http.Request, q url.Values) (string, *refusal) {
	var param string
	switch v := q["token"]; len(v) {
	case 0:
	case 1:
		param = v[0]
	default:
		return "", errRepeatedToken
	}
	header, err := bearer(r)
	switch {
	case err != nil || header == "":
		return param, nil
	case param != "" && param != header:
		return "", errTwoTokens
	}
	return header, nil
}

// verify turns a token into an identity.
func (s *Server) verify(token string) (auth.Identity, *refusal) {
	if token == "" {
		return auth.Identity{}, errNoToken
	}
	id, err := s.cfg.Verifier.Verify(token)
	switch {
	case errors.Is(err, auth.ErrUnauthorized):
		return auth.Identity{}, errBadToken
	case err != nil:
		s.cfg.Logger.Error("verifying a token", "err", err) // auth's errors never hold the token
		return auth.Identity{}, errVerifying
	}
	return id, nil
}

// recheck verifies a revocable token once more, now that its session is
// attached and before the connection is read: a revocation made durable
// after the upgrade's check and before the attach found no session to end
// (server/doc.go, "Revocation"), and this finds the revocation instead.
// Then, or if the check fails, the session ends.
func (s *Server) recheck(ss *session, cred credential) {
	if cred.TokenID == "" {
		return // a credential nothing can revoke
	}
	_, err := s.cfg.Verifier.Verify(cred.token)
	switch {
	case err == nil:
		return
	case errors.Is(err, auth.ErrUnauthorized):
		ss.endSession(&chatpb.EndSession{
			Reason:  chatpb.CloseReason_CLOSE_REASON_CREDENTIALS_REVOKED,
			Code:    chatpb.ErrorCode_ERROR_CODE_CREDENTIALS_REVOKED,
			Message: "the credentials this connection was opened with were revoked; sign in again",
		})
	default:
		ss.log(slog.LevelError, "verifying a token again", "err", err)
		ss.end(chatpb.CloseReason_CLOSE_REASON_INTERNAL, nil)
	}
}
