// Package web is the chat's browser client: a page of plain HTML, CSS and
// JavaScript modules, embedded in the chatd binary and served from it, so
// that opening the server's address in a browser is all it takes to chat.
// No framework, no build step and no request leaves the server's origin at
// run time.
//
// # What the page does
//
// The page (static/) speaks only the documented protocol (docs/protocol.md):
// the accounts API under /api/ to sign up, sign in, sign out and change a
// password, then one WebSocket on /chat. It keeps the same guarantees as
// the command-line client (package client): every say and dm carries an
// idempotency key; whatever has no receipt when a connection drops is sent
// again, with the same key, after the reconnect; messages are de-duplicated
// by id; say and dm are paced to the rate limit the welcome announces. Its
// modules, in static/js:
//
//   - main.js wires the rest to the page;
//   - account.js is the accounts API and the token kept in sessionStorage;
//   - connection.js keeps the WebSocket up (backoff, close codes, the
//     requests waiting for an answer, resends) and paces say and dm
//     (pace.js);
//   - chat.js turns server frames into conversations, the roster and the
//     states of one's own messages; conversations.js is the list of
//     conversations and their unread counts; conversation.js is one
//     conversation's view (its DOM stays bounded however long the
//     session); roster.js is who is online;
//   - dom.js and format.js build elements (text only ever as textContent)
//     and render names, times and statuses.
//
// # Security
//
// User text is only ever inserted as text. Every response carries a strict
// Content-Security-Policy (scripts and styles from the origin only, nothing
// inline, connections to the origin only, no framing), nosniff and
// Referrer-Policy: no-referrer. The WebSocket's origin check stays the
// server's (same host allowed).
//
// # Concurrency contract
//
// The handler's state is the embedded files and their rendered headers,
// built once by Handler and read-only after, so a handler is safe for
// concurrent use by any number of requests. It keeps nothing per request.
package web
