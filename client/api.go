package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/actorchat/chat/proto/wire"
)

// The accounts API's refusal codes (docs/protocol.md, version 2), as the
// "error" member of a failure's JSON body.
const (
	APIBadRequest         = "bad_request"
	APIInvalidName        = "invalid_name"
	APIWeakPassword       = "weak_password"
	APIRegistrationClosed = "registration_closed"
	APINameTaken          = "name_taken"
	APIRateLimited        = "rate_limited"
	APIBadCredentials     = "bad_credentials"
	APIAccountDisabled    = "account_disabled"
)

// maxAPIAnswer bounds what the client reads of an API answer: a grant is a
// name, a token of at most 512 characters and a timestamp.
const maxAPIAnswer = 64 << 10

// ErrNoAccounts is returned by the API's calls when the server answers 404:
// it keeps no accounts (it runs in jwt or none mode), so there is nothing
// to log in to.
var ErrNoAccounts = errors.New("this server keeps no accounts")

// APIError is a refusal from the accounts API: the HTTP status and the
// {"error":CODE,"message":REASON} body, or the status alone when the body
// is not that (a proxy's error page, say).
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is the protocol's refusal code, such as APIBadCredentials; empty
	// when the body had none.
	Code string
	// Message is the server's human-readable reason.
	Message string
	// RetryAfter is when a rate-limited or busy server allows the next
	// attempt (the Retry-After header); zero when it did not say.
	RetryAfter time.Duration
}

// Error returns the server's reason, or the status when it gave none.
func (e *APIError) Error() string {
	why := e.Message
	if why == "" {
		why = http.StatusText(e.Status)
	}
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, escapeControls(why))
	}
	return escapeControls(why) + " (" + e.Code + ")"
}

// IsAPIError reports whether err is an *APIError with the given code.
func IsAPIError(err error, code string) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == code
}

// Grant is what registering or logging in returns: the user's folded name
// and a token, valid until Expires unless revoked.
type Grant struct {
	User    string
	Token   string
	Expires time.Time
}

// API calls the accounts endpoints of one server. Its methods are safe for
// concurrent use and never log a password or token.
type API struct {
	// Base is the API's root URL, such as "https://chat.example/api": the
	// calls append "/login" and so on. APIBase derives it from a WebSocket
	// address.
	Base string
	// HTTP is the client the calls go through (its transport carries the
	// TLS settings); nil means http.DefaultClient.
	HTTP *http.Client
}

// APIBase is the accounts API's root for a chat server's WebSocket
// address: the same host, ws:// as http:// and wss:// as https://, and the
// path /api (the API lives at the root of the host, whatever path the chat
// endpoint has).
func APIBase(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", fmt.Errorf("server address %q: %w", server, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("server address %q: want a ws:// or wss:// URL", server)
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/api"}).String(), nil
}

// Login trades a name and password for a token.
func (a *API) Login(ctx context.Context, name, password string) (Grant, error) {
	return a.grant(ctx, "/login", name, password)
}

// Register creates an account and returns its first token.
func (a *API) Register(ctx context.Context, name, password string) (Grant, error) {
	return a.grant(ctx, "/register", name, password)
}

// Logout revokes token on the server.
func (a *API) Logout(ctx context.Context, token string) error {
	return a.call(ctx, "/logout", token, nil, nil)
}

// ChangePassword changes the password of token's user from old to next.
// The server revokes every other token of the user; token stays valid.
func (a *API) ChangePassword(ctx context.Context, token, old, next string) error {
	body := map[string]string{"password": old, "new_password": next}
	return a.call(ctx, "/password", token, body, nil)
}

// grant posts a name and password to path and reads the grant answered.
func (a *API) grant(ctx context.Context, path, name, password string) (Grant, error) {
	var answer struct {
		User    string `json:"user"`
		Token   string `json:"token"`
		Expires string `json:"expires"`
	}
	body := map[string]string{"name": name, "password": password}
	if err := a.call(ctx, path, "", body, &answer); err != nil {
		return Grant{}, err
	}
	if answer.Token == "" || answer.User == "" {
		return Grant{}, fmt.Errorf("the server's answer to %s lacks a user or token", path)
	}
	return Grant{User: answer.User, Token: answer.Token, Expires: parseExpiry(answer.Expires)}, nil
}

// parseExpiry reads a grant's expiry: the protocol's timestamp, or any RFC
// 3339 time from a lenient server; zero (unknown: the token is kept until
// the server refuses it) otherwise.
func parseExpiry(s string) time.Time {
	if t, err := wire.ParseTS(s); err == nil {
		return t
	}
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// call posts body (nil: none) to path with token as the bearer (when not
// empty) and decodes a successful answer into answer (when not nil).
func (a *API) call(ctx context.Context, path, token string, body, answer any) error {
	req, err := a.request(ctx, path, token, body)
	if err != nil {
		return err
	}
	client := a.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIAnswer))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return refusal(resp, data)
	}
	if answer == nil {
		return nil
	}
	if err := json.Unmarshal(data, answer); err != nil {
		return fmt.Errorf("the server's answer to %s is not the JSON expected: %w", path, err)
	}
	return nil
}

// request builds the POST to path.
func (a *API) request(ctx context.Context, path, token string, body any) (*http.Request, error) {
	var payload io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		payload = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(a.Base, "/")+path, payload)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}

// refusal turns a failed answer into ErrNoAccounts (404) or an *APIError.
func refusal(resp *http.Response, body []byte) error {
	if resp.StatusCode == http.StatusNotFound {
		return ErrNoAccounts
	}
	e := &APIError{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	var parsed struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &parsed) == nil {
		e.Code, e.Message = parsed.Error, parsed.Message
	}
	return e
}

// retryAfter reads a Retry-After header given in seconds; zero when absent
// or not a count of seconds.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}
