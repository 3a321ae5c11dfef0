package main

import (
	"net/http"

	"github.com/actorchat/chat/web"
)

// withWeb puts the web client in front of what the chat address serves at
// its root (the ops endpoints, or nothing when they have an address of
// their own): the page and its files at /, every other path to ops. With
// -web=false the root is ops alone.
func withWeb(o options, ops http.Handler) http.Handler {
	if !o.web {
		return ops
	}
	return web.Handler(ops)
}
