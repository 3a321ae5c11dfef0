package actors

import (
	"slices"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
)

// connectWithToken attaches a quiet session probe to name as opened with
// the token whose id is tokenID, and takes its Welcome.
func (h *harness) connectWithToken(name, tokenID string) *session {
	h.t.Helper()
	p := h.probe(name).ignoring(isPresence)
	user, err := h.chat.ConnectWithToken(name, tokenID, p.pid)
	if err != nil {
		h.t.Fatalf("ConnectWithToken(%s): %v", name, err)
	}
	w := expectMsg[*chatpb.Welcome](h.t, p, wait)
	return &session{h: h, name: name, p: p, user: user, welcome: w}
}

// expectRevoked expects the session's next message to be the end of a
// revoked session.
func (s *session) expectRevoked() {
	s.h.t.Helper()
	end := expectMsg[*chatpb.EndSession](s.h.t, s.p, wait)
	if end.Reason != chatpb.CloseReason_CLOSE_REASON_CREDENTIALS_REVOKED ||
		end.Code != chatpb.ErrorCode_ERROR_CODE_CREDENTIALS_REVOKED || end.Message == "" {
		s.h.t.Fatalf("%s: got %s, want the end of a revoked session", s.name, describe(end))
	}
}

// expectStays checks that nothing ended the session: everything the actor
// had to do is done by the barrier, and nothing came before its answer.
func (s *session) expectStays() {
	s.h.t.Helper()
	if got := s.sync(); len(got) != 0 {
		s.h.t.Fatalf("%s: got %v, want the session to stay", s.name, got)
	}
}

func revoke(user string, scope chatpb.RevokeScope, tokenID string) *chatpb.Revoke {
	return &chatpb.Revoke{User: user, Scope: scope, TokenId: tokenID}
}

// TestRevokeCovers pins which sessions a revocation ends; it mirrors
// auth.Revocation.Covers.
func TestRevokeCovers(t *testing.T) {
	t.Parallel()
	const (
		one    = chatpb.RevokeScope_REVOKE_SCOPE_ONE
		all    = chatpb.RevokeScope_REVOKE_SCOPE_ALL
		allBut = chatpb.RevokeScope_REVOKE_SCOPE_ALL_BUT
	)
	cases := []struct {
		r           *chatpb.Revoke
		user, token string
		want        bool
	}{
		{revoke("alice", one, "t1"), "alice", "t1", true},
		{revoke("alice", one, "t1"), "alice", "t2", false},
		{revoke("alice", one, "t1"), "bob", "t1", false},
		{revoke("alice", all, ""), "alice", "t1", true},
		{revoke("alice", all, ""), "bob", "t1", false},
		{revoke("alice", allBut, "t1"), "alice", "t1", false},
		{revoke("alice", allBut, "t1"), "alice", "t2", true},
		{revoke("alice", allBut, "t1"), "bob", "t2", false},
		{revoke("alice", chatpb.RevokeScope_REVOKE_SCOPE_UNSPECIFIED, "t1"), "alice", "t1", false},
		{revoke("alice", 99, "t1"), "alice", "t1", false},
	}
	for _, c := range cases {
		if got := covers(c.r, c.user, c.token); got != c.want {
			t.Errorf("%s covers %s's token %s: %v, want %v", describe(c.r), c.user, c.token, got, c.want)
		}
	}
}

// TestRevokeEndsTheSessionOpenedWithTheToken: only a revocation that
// covers the session's own token ends it.
func TestRevokeEndsTheSessionOpenedWithTheToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	alice := h.connectWithToken("alice", "t1")
	bob := h.connectWithToken("bob", "t1")
	for _, r := range []*chatpb.Revoke{
		revoke("alice", chatpb.RevokeScope_REVOKE_SCOPE_ONE, "t2"),
		revoke("alice", chatpb.RevokeScope_REVOKE_SCOPE_ALL_BUT, "t1"),
		revoke("bob", chatpb.RevokeScope_REVOKE_SCOPE_ALL, ""),
	} {
		h.chat.Revoke(r.User, r.Scope, r.TokenId)
	}
	alice.expectStays()
	bob.expectRevoked()

	h.chat.Revoke("alice", chatpb.RevokeScope_REVOKE_SCOPE_ONE, "t1")
	alice.expectRevoked()
}

// TestRevokeAfterTakeoverEndsOnlyTheNewSession: the actor knows the token
// of the session it has now, not of the one it replaced.
func TestRevokeAfterTakeoverEndsOnlyTheNewSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	first := h.connectWithToken("alice", "t1")
	second := h.connectWithToken("alice", "t2")
	end := expectMsg[*chatpb.EndSession](t, first.p, wait)
	if end.Reason != chatpb.CloseReason_CLOSE_REASON_REPLACED {
		t.Fatalf("the first session got %s, want a takeover", describe(end))
	}
	h.chat.Revoke("alice", chatpb.RevokeScope_REVOKE_SCOPE_ONE, "t1")
	second.expectStays()
	h.chat.Revoke("alice", chatpb.RevokeScope_REVOKE_SCOPE_ONE, "t2")
	second.expectRevoked()
	expectNoMsg(t, first.p, 0)
}

// TestRevokeSurvivesARestart: the session's token id is in the cell, which
// a restarted incarnation finds again.
func TestRevokeSurvivesARestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, debugFaults)
	events := h.supervisionEvents()
	alice := h.connectWithToken("alice", "t1")
	alice.send(&chatpb.DebugPanic{})
	expectSupervision(t, events, alice.user, actor.RestartDirective)
	h.chat.Revoke("alice", chatpb.RevokeScope_REVOKE_SCOPE_ALL, "")
	alice.expectRevoked()
}

// TestRevokeStartsNoActor: a user without a running actor has no session,
// so a revocation for them is dropped by the registry rather than starting
// an actor to learn nothing; one that is offline but still running gets it
// and does nothing.
func TestRevokeStartsNoActor(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	bob := h.connectWithToken("bob", "t1")
	bob.disconnect()
	h.chat.Revoke("carol", chatpb.RevokeScope_REVOKE_SCOPE_ALL, "")
	h.chat.Revoke("bob", chatpb.RevokeScope_REVOKE_SCOPE_ALL, "")
	h.connectWithToken("dave", "t2") // a barrier through the registry: both Revokes are past it
	h.alive(bob.user)                // and through bob's actor, which got its Revoke before
	if got := h.userActors(); slices.Contains(got, "registry/carol") {
		t.Fatalf("running user actors %v: the revocation started one for carol", got)
	}
	expectNoMsg(t, bob.p, 0)
}
