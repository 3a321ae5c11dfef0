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
// buffer with room, no allocation. The request decoder is a strict scanner of
// its own: it matches field names exactly (encoding/json matches them
// case-insensitively), sees lone surrogate escapes that encoding/json would
// silently replace, and bounds nesting depth.
package wire
