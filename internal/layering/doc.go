// Package layering holds the test that keeps the project's dependencies
// pointing inward (see README, "Architecture"): proto/ imports nothing of
// ours but itself; actors/ never imports the edge (server/, net/http, the
// WebSocket library); server/ and client/ translate and never import each
// other; server/transport imports only the standard library, the WebSocket
// library, x/sys/unix and internal/workers; nothing imports cmd/. It has
// no code of its own.
package layering
