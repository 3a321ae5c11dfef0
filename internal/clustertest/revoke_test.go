package clustertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/actorchat/chat/internal/pgtest"
	"github.com/actorchat/chat/proto/wire"
)

// A logout on one node closes, with credentials_revoked and 4003, the
// connection opened with that token on another node: the revocation goes
// to the user's actor, wherever it lives, which ends its session, wherever
// that is.
func TestClusterRevocation(t *testing.T) {
	c := newCluster(t, pgtest.Shared(t), 3)
	token := register(t, c.addr(0), "rv-alice", "a long enough password")
	alice := dial(t, c.wsURL(1), "rv-alice", token)
	post(t, c.addr(2), "/api/logout", token, nil, http.StatusNoContent)
	alice.expect("credentials_revoked", func(f wire.ServerFrame) bool {
		return f.Type == "error" && f.Code == wire.CodeCredentialsRevoked
	})
	if code := alice.awaitClose(waitFor); code != wire.CloseCredentialsRevoked {
		t.Fatalf("closed with %d, want %d", code, wire.CloseCredentialsRevoked)
	}
}

// register creates an account through node addr's API and returns its
// token.
func register(t *testing.T, addr, name, password string) string {
	t.Helper()
	var out struct{ Token string }
	post(t, addr, "/api/register", "", map[string]string{"name": name, "password": password}, http.StatusCreated, &out)
	return out.Token
}

// post sends body as JSON to node addr's path, with token as a bearer when
// set, and fails t unless the status is want; the answer goes to out.
func post(t *testing.T, addr, path, token string, body any, want int, out ...any) {
	t.Helper()
	data, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+path, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := (&http.Client{Timeout: waitFor}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != want {
		t.Fatalf("POST %s: %d, want %d", path, res.StatusCode, want)
	}
	for _, o := range out {
		if err := json.NewDecoder(res.Body).Decode(o); err != nil {
			t.Fatal(fmt.Errorf("POST %s: %w", path, err))
		}
	}
}
