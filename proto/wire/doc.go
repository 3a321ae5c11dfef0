// Package wire is the JSON wire protocol codec of PROTOCOL.md: it turns client
// frames into the typed actor requests of proto/chatpb and renders the
// actors' events as server frames, and it gives the client, the tests and the
// load tool the opposite direction (ClientFrame, ServerFrame).
//
// Everything here is a pure function of its arguments: no I/O, no logging, no
// clock, no package state. All functions and methods are safe for concurrent
// use; the caller owns the slices it passes in and gets back (an Append*
// function only appends to dst, growing it as append does). Nothing blocks.
//
// The two vocabularies of refusals, protocol error codes and WebSocket close
// codes, are defined once here (ErrorCodeString, CloseCode) so that the server,
// the client and the tests cannot drift apart.
//
// The encoders are hand-written appenders rather than encoding/json so that a
// public message is rendered once per fan-out with no reflection and, given a
// buffer with room, no allocation. The request decoder leaves judging JSON
// to encoding/json (json.Valid, and string members with escapes), then walks
// the valid object's members to pick out those the protocol names (struct
// fields would match names without regard to case; the protocol's names are
// exact). On top it does only what encoding/json cannot: it sees a lone
// surrogate escape in a text, which encoding/json silently replaces with
// U+FFFD, and it bounds nesting depth. FuzzDecode holds it to
// encoding/json's verdict.
package wire
