package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAPIBase(t *testing.T) {
	t.Parallel()
	tests := []struct{ server, want string }{
		{"ws://localhost:8000/chat", "http://localhost:8000/api"},
		{"wss://chat.example/chat?x=1", "https://chat.example/api"},
		{"WSS://Chat.example:8443/some/path", "https://Chat.example:8443/api"},
		{"http://127.0.0.1:8000", "http://127.0.0.1:8000/api"},
		{"https://chat.example", "https://chat.example/api"},
	}
	for _, tt := range tests {
		if got, err := APIBase(tt.server); err != nil || got != tt.want {
			t.Errorf("APIBase(%q) = %q, %v; want %q", tt.server, got, err, tt.want)
		}
	}
	if _, err := APIBase("ftp://x"); err == nil {
		t.Error("APIBase accepted ftp://")
	}
}

// Refusals come back as *APIError with the code, the reason and
// Retry-After; 404 as ErrNoAccounts; a body that is not the protocol's
// keeps the status.
func TestAPIRefusals(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/login":
			w.Header().Set("Retry-After", "30")
			apiFail(w, http.StatusTooManyRequests, APIRateLimited, "too many attempts")
		case "/api/register":
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	api := &API{Base: srv.URL + "/api"}
	ctx := context.Background()

	_, err := api.Login(ctx, "alice", "pw")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 429 || ae.Code != APIRateLimited || ae.RetryAfter != 30*time.Second {
		t.Errorf("Login = %#v, want 429 rate_limited retry after 30s", err)
	}
	if err.Error() != "too many attempts (rate_limited)" {
		t.Errorf("Error() = %q", err.Error())
	}
	_, err = api.Register(ctx, "alice", "pw")
	if !errors.As(err, &ae) || ae.Status != 502 || ae.Code != "" || !strings.HasPrefix(err.Error(), "HTTP 502") {
		t.Errorf("Register = %v, want the bare status", err)
	}
	if err := api.Logout(ctx, "t"); !errors.Is(err, ErrNoAccounts) {
		t.Errorf("Logout = %v, want ErrNoAccounts for a 404", err)
	}
}

// The calls send what the protocol names: JSON bodies, the bearer on
// logout and password, and read the grant.
func TestAPICalls(t *testing.T) {
	t.Parallel()
	fa := newFakeAuth()
	fa.addAccount("alice", "correct horse")
	fs := newFakeServer(t, fa)
	base, err := APIBase(fs.url)
	must(t, err)
	api := &API{Base: base}
	ctx := context.Background()

	g, err := api.Login(ctx, "Alice", "correct horse")
	if err != nil || g.User != "alice" || g.Token == "" || g.Expires.Year() != 2099 {
		t.Fatalf("Login = %+v, %v", g, err)
	}
	must(t, api.ChangePassword(ctx, g.Token, "correct horse", "battery staple"))
	if fa.passwordOf("alice") != "battery staple" {
		t.Error("the password did not change")
	}
	must(t, api.Logout(ctx, g.Token))
	if err := api.Logout(ctx, g.Token); !IsAPIError(err, APIBadCredentials) {
		t.Errorf("second Logout = %v, want bad_credentials", err)
	}
	if _, err := api.Register(ctx, "bob", "battery staple"); err != nil {
		t.Errorf("Register = %v", err)
	}
}
