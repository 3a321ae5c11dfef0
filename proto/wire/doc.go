// Package wire is the JSON wire protocol of docs/protocol.md, in its own
// vocabulary: it decodes client frames into its request types (Say, Dm,
// Who, History, DebugPanic, Invalid) and renders its event types (Message,
// Welcome, Sent, Users, Presence, HistoryPage, Error) as server frames, and
// it gives the client, the tests and the load tool the opposite direction
// (ClientFrame, ServerFrame).
//
// It imports nothing of this module and no actor runtime, so that the CLI
// client links the protocol without Proto.Actor (and the OpenTelemetry and
// Prometheus it brings): the server's edge translates between these types
// and the actors' messages (server/translate.go). internal/layering holds
// it to that.
//
// Everything here is a pure function of its arguments: no I/O, no logging, no
// clock, no package state. All functions and methods are safe for concurrent
// use; the caller owns the slices it passes in and gets back (an Append*
// function only appends to dst, growing it as append does). Nothing blocks.
//
// The two vocabularies of refusals are defined once here: protocol error
// codes (ErrorCode, "request refused, the connection stays") and WebSocket
// close codes (the Close* constants, "the connection must end"), so that
// the server, the client and the tests cannot drift apart.
//
// The encoders are hand-written appenders rather than encoding/json so that
// a frame is rendered with no reflection and, given a buffer with room, no
// allocation (BenchmarkAppendMessage: 120-190 ns for a typical public
// message on a shared two-core machine). The server renders a public
// message once per fan-out and hands the same bytes to every recipient;
// since the actors do not know this format, that happens at the edge,
// memoized per fan-out (server/memo.go; server/doc.go has the measurements
// that chose it).
//
// The request decoder leaves judging JSON to encoding/json (json.Valid, and
// string members with escapes), then walks the valid object's members to
// pick out those the protocol names (struct fields would match names
// without regard to case; the protocol's names are exact). On top it does
// only what encoding/json cannot: it sees a lone surrogate escape in a
// text, which encoding/json silently replaces with U+FFFD, and it bounds
// nesting depth. FuzzDecode holds it to encoding/json's verdict.
package wire
