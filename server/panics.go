package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
)

// quietPanics serves h and logs a panic in it without the panic's value,
// unless that value is a runtime error. net/http would log the value
// whole, and a value can quote what the failing code was handed: the
// request's token, from its header or query string, or a password from a
// body. A runtime error (a nil dereference, an index out of range) quotes
// nothing but numbers, and is the kind worth reading. The stack is logged
// too: it shows arguments only as machine words, never the bytes of a
// string. Then the request is aborted as net/http aborts a panicking one,
// with http.ErrAbortHandler, which it does not log.
func quietPanics(h http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v != http.ErrAbortHandler { // net/http compares it so, not with errors.Is
				logger.Error("panic serving a request", "path", r.URL.Path, "panic", panicValue(v), "stack", string(debug.Stack()))
			}
			panic(http.ErrAbortHandler)
		}()
		h.ServeHTTP(w, r)
	})
}

// panicValue is what may be logged of a panic's value: a runtime error
// whole, anything else only its type.
func panicValue(v any) string {
	if err, ok := v.(runtime.Error); ok {
		return err.Error()
	}
	return fmt.Sprintf("a %T (its value is not logged: it may quote a credential)", v)
}
