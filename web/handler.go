package web

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is the policy of every response: scripts, styles,
// images and connections from the page's own origin only ('self' covers
// the same-origin ws: and wss: URLs of the chat endpoint), nothing inline,
// no plugins, no framing by other pages, forms posted nowhere else. A
// message that smuggled markup past the page could run nothing.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// contentTypes are the types of the files the site ships, fixed here
// rather than read from the machine's MIME tables, which differ: a module
// script must come as JavaScript, and nosniff holds the browser to it.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
}

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string // a strong validator: the body's SHA-256
}

// site serves the embedded files and hands every other path to next.
type site struct {
	assets map[string]asset // by URL path; "/" is index.html
	next   http.Handler
}

// Handler returns the handler of the web client: the page at / and its
// files (GET and HEAD; another method is 405), with the security headers
// on every response. Every other path goes to next, so that the page can
// share the root with other handlers (health and metrics); a nil next
// answers them 404.
func Handler(next http.Handler) http.Handler {
	if next == nil {
		next = http.NotFoundHandler()
	}
	return &site{assets: loadAssets(), next: next}
}

// loadAssets reads every embedded file once, so that serving one is a map
// lookup and a write.
func loadAssets() map[string]asset {
	root, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the directory is embedded: it is there
	}
	assets := make(map[string]asset)
	err = fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		assets["/"+name] = newAsset(name, body)
		return nil
	})
	if err != nil {
		panic(err) // reading embedded files does not fail
	}
	assets["/"] = assets["/index.html"]
	return assets
}

func newAsset(name string, body []byte) asset {
	sum := sha256.Sum256(body)
	ctype, ok := contentTypes[path.Ext(name)]
	if !ok {
		ctype = "application/octet-stream"
	}
	return asset{body: body, ctype: ctype, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
}

// ServeHTTP serves one embedded file, or passes the request on.
func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, ok := s.assets[r.URL.Path]
	if !ok {
		s.next.ServeHTTP(w, r)
		return
	}
	h := w.Header()
	securityHeaders(h)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// no-cache: the browser asks again each time and gets a 304 while the
	// file is unchanged, so a new chatd's page is used at once.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	if matches(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", a.ctype)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(a.body)
}

// securityHeaders sets the headers every response of the site carries.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY") // frame-ancestors, for browsers that predate it
}

// matches reports whether an If-None-Match header names etag (or is *).
func matches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
