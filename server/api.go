package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/actorchat/chat/auth"
	"github.com/actorchat/chat/proto/wire"
)

// The accounts HTTP API of protocol version 2 (docs/protocol.md), served
// in the `accounts` auth mode:
//
//	POST /api/register  {"name","password"}          201 {"user","token","expires"}
//	POST /api/login     {"name","password"}          200 {"user","token","expires"}
//	POST /api/logout    Authorization: Bearer TOKEN  204
//	POST /api/password  Bearer, {"password","new_password"}  204
//
// A refusal is {"error":CODE,"message":REASON} with the protocol's status
// (apiErrorOf). Beyond the protocol's table this server chooses:
//
//   - Another method is 405 bad_request, with Allow: POST.
//   - A body must be sent as Content-Type: application/json (parameters
//     such as charset are ignored); anything else is 415 bad_request. A
//     browser cannot send that type to another site without asking first
//     (a CORS preflight, which this server never allows), so no page can
//     make its visitors' browsers register or log in here.
//   - A body over maxAPIBody is 413 bad_request, and is not read further.
//   - Field names are case-sensitive; fields besides those named are
//     ignored; a required field set to null is missing.
//   - A login or registration refused because every password-hashing slot
//     is taken is 503 server_busy with Retry-After: 1.
//   - Every 401 carries WWW-Authenticate: Bearer, as HTTP asks.
//
// The client's address for the rate limits is the client IP (clientip.go):
// the connection's peer, or whom a trusted proxy names.

// maxAPIBody bounds a request body: two passwords of 1024 bytes in which a
// cautious JSON encoder escapes every byte as \u00XX are 12,288 bytes,
// plus the names and punctuation.
const maxAPIBody = 16 << 10

// api serves the accounts endpoints over one service.
type api struct {
	svc     *auth.Service
	log     *slog.Logger
	proxies TrustedProxies
}

// newAPI returns the handler of /api/: the accounts API over svc, or, when
// svc is nil (the `jwt` and `none` modes), 404 for every path.
func newAPI(svc *auth.Service, logger *slog.Logger, proxies TrustedProxies) http.Handler {
	if svc == nil {
		return http.NotFoundHandler()
	}
	a := &api{svc: svc, log: logger, proxies: proxies}
	mux := http.NewServeMux()
	mux.Handle("/api/register", a.post(a.register))
	mux.Handle("/api/login", a.post(a.login))
	mux.Handle("/api/logout", a.post(a.logout))
	mux.Handle("/api/password", a.post(a.password))
	return mux
}

// clientIP is the client's address for the rate limits (clientip.go).
func (a *api) clientIP(r *http.Request) string {
	ip, _ := a.proxies.clientIP(r.RemoteAddr, r.Header)
	return ip
}

// apiHandler serves one endpoint: the success status and answer (nil: no
// body), or an error for apiErrorOf.
type apiHandler func(w http.ResponseWriter, r *http.Request) (status int, answer any, err error)

// grantAnswer is the answer of register and login.
type grantAnswer struct {
	User    string `json:"user"`
	Token   string `json:"token"`
	Expires string `json:"expires"`
}

func (a *api) register(w http.ResponseWriter, r *http.Request) (int, any, error) {
	name, password, err := credentials(w, r)
	if err != nil {
		return 0, nil, err
	}
	g, err := a.svc.Register(r.Context(), a.clientIP(r), name, password)
	return http.StatusCreated, answerOf(g), err
}

func (a *api) login(w http.ResponseWriter, r *http.Request) (int, any, error) {
	name, password, err := credentials(w, r)
	if err != nil {
		return 0, nil, err
	}
	g, err := a.svc.Login(r.Context(), a.clientIP(r), name, password)
	return http.StatusOK, answerOf(g), err
}

func (a *api) logout(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	token, err := bearer(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, a.svc.Logout(token)
}

func (a *api) password(w http.ResponseWriter, r *http.Request) (int, any, error) {
	token, err := bearer(r)
	if err != nil {
		return 0, nil, err
	}
	body, err := readObject(w, r)
	if err != nil {
		return 0, nil, err
	}
	old, err := body.str("password")
	if err != nil {
		return 0, nil, err
	}
	next, err := body.str("new_password")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, a.svc.ChangePassword(r.Context(), token, old, next)
}

// post refuses every method but POST, then serves h.
func (a *api) post(h apiHandler) http.Handler {
	serve := a.serve(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			a.fail(w, r, &apiError{status: http.StatusMethodNotAllowed, code: "bad_request", message: "use POST"})
			return
		}
		serve(w, r)
	})
}

// serve runs h and writes its outcome.
func (a *api) serve(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, answer, err := h(w, r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, status, answer)
	}
}

// fail answers a refused or failed request, and logs it: the server's own
// failures at error level, refusals at debug (a flood of them must not
// flood the log). Neither the error nor the log holds a password or token.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := apiErrorOf(err)
	if e.status == http.StatusInternalServerError {
		a.log.Error("accounts API", "path", r.URL.Path, "err", err)
	} else {
		a.log.Debug("accounts API refused", "path", r.URL.Path, "ip", a.clientIP(r), "code", e.code)
	}
	h := w.Header()
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(e.retryAfter.Seconds()))))
	}
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="chat"`)
	}
	writeJSON(w, e.status, struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{e.code, e.message})
}

// writeJSON writes status and v as JSON (nothing for a nil v). Answers
// carry tokens, so no cache may keep them.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Cache-Control", "no-store")
	if v == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do then
}

// answerOf is a grant as the protocol writes it.
func answerOf(g auth.Grant) grantAnswer {
	return grantAnswer{User: g.User, Token: g.Token, Expires: wire.FormatTS(g.Expires.UnixMilli())}
}

// credentials reads the {"name","password"} body of register and login.
func credentials(w http.ResponseWriter, r *http.Request) (name, password string, err error) {
	body, err := readObject(w, r)
	if err != nil {
		return "", "", err
	}
	if name, err = body.str("name"); err != nil {
		return "", "", err
	}
	password, err = body.str("password")
	return name, password, err
}

// bearer returns the token of an "Authorization: Bearer TOKEN" header; the
// scheme is case-insensitive, as HTTP's are.
func bearer(r *http.Request) (string, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", auth.ErrUnauthorized
	}
	return strings.TrimLeft(token, " "), nil
}

// fields is a request body: a JSON object's members, undecoded.
type fields map[string]json.RawMessage

// readObject reads a JSON object body of at most maxAPIBody bytes.
func readObject(w http.ResponseWriter, r *http.Request) (fields, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, &apiError{status: http.StatusUnsupportedMediaType, code: "bad_request", message: "send the body as Content-Type: application/json"}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, &apiError{status: http.StatusRequestEntityTooLarge, code: "bad_request", message: "the body is over " + strconv.Itoa(maxAPIBody) + " bytes"}
	case err != nil:
		return nil, badRequest("the body could not be read")
	case !utf8.Valid(data): // decoding would replace the bad bytes silently
		return nil, badRequest("the body is not valid UTF-8")
	}
	var f fields
	if err := json.Unmarshal(data, &f); err != nil || f == nil {
		return nil, badRequest("the body must be a JSON object")
	}
	return f, nil
}

// str returns the string member name, which must be present.
func (f fields) str(name string) (string, error) {
	raw, ok := f[name]
	if !ok || string(raw) == "null" {
		return "", badRequest(strconv.Quote(name) + " is missing")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", badRequest(strconv.Quote(name) + " must be a string")
	}
	return s, nil
}

// apiError is a refusal as the API answers it.
type apiError struct {
	status     int
	code       string
	message    string
	retryAfter time.Duration // > 0: sent as Retry-After
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func badRequest(message string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "bad_request", message: message}
}

// apiErrors maps the service's refusals to the protocol's answers.
var apiErrors = []struct {
	err error
	e   apiError
}{
	{auth.ErrUnauthorized, apiError{status: http.StatusUnauthorized, code: "bad_credentials", message: "the token is missing, unknown, expired or revoked"}},
	{auth.ErrBadCredentials, apiError{status: http.StatusUnauthorized, code: "bad_credentials", message: "the name or the password is wrong"}},
	{auth.ErrInvalidName, apiError{status: http.StatusBadRequest, code: "invalid_name", message: "a name is 1 to 32 of a-z 0-9 _ . - and starts with a letter, digit or _"}},
	{auth.ErrWeakPassword, apiError{status: http.StatusBadRequest, code: "weak_password", message: "a password is 8 to 1024 bytes of UTF-8"}},
	{auth.ErrNameTaken, apiError{status: http.StatusConflict, code: "name_taken", message: "that name is taken"}},
	{auth.ErrRegistrationClosed, apiError{status: http.StatusForbidden, code: "registration_closed", message: "registration is closed; ask the operator for an account"}},
	{auth.ErrDisabled, apiError{status: http.StatusForbidden, code: "account_disabled", message: "the account is disabled"}},
	{auth.ErrBusy, apiError{status: http.StatusServiceUnavailable, code: "server_busy", message: "too many logins at once; retry shortly", retryAfter: time.Second}},
	{auth.ErrNoAccount, apiError{status: http.StatusNotFound, code: "not_found", message: "no such account"}}, // the admin socket's
	{context.Canceled, apiError{status: http.StatusServiceUnavailable, code: "server_busy", message: "the request was abandoned", retryAfter: time.Second}},
}

// apiErrorOf is err as the API answers it: the protocol's status and code
// for a refusal, 500 internal for anything else.
func apiErrorOf(err error) *apiError {
	var e *apiError
	if errors.As(err, &e) {
		return e
	}
	var rl *auth.RateLimitedError
	if errors.As(err, &rl) {
		return &apiError{status: http.StatusTooManyRequests, code: "rate_limited", message: "too many attempts; retry later", retryAfter: max(rl.RetryAfter, time.Second)}
	}
	for _, m := range apiErrors {
		if errors.Is(err, m.err) {
			e := m.e
			return &e
		}
	}
	return &apiError{status: http.StatusInternalServerError, code: "internal", message: "the server failed; retry later"}
}
