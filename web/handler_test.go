package web_test

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/actorchat/chat/web"
)

// get serves one request through h and returns the recorded response.
func get(h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestPageIsServedWithSecurityHeaders(t *testing.T) {
	t.Parallel()
	h := web.Handler(nil)
	for _, p := range []string{"/", "/index.html", "/style.css", "/js/main.js"} {
		w := get(h, http.MethodGet, p, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", p, w.Code)
		}
		want := map[string]string{
			"Content-Security-Policy": web.ContentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"X-Frame-Options":         "DENY",
			"Cache-Control":           "no-cache",
		}
		for k, v := range want {
			if got := w.Header().Get(k); got != v {
				t.Errorf("GET %s: %s is %q, want %q", p, k, got, v)
			}
		}
	}
	for _, directive := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(web.ContentSecurityPolicy, directive) {
			t.Errorf("the policy lacks %q", directive)
		}
	}
	if strings.Contains(web.ContentSecurityPolicy, "unsafe") {
		t.Errorf("the policy allows something unsafe: %s", web.ContentSecurityPolicy)
	}
}

func TestFilesHaveTheirTypes(t *testing.T) {
	t.Parallel()
	h := web.Handler(nil)
	want := map[string]string{
		"/":             "text/html; charset=utf-8",
		"/style.css":    "text/css; charset=utf-8",
		"/js/chat.js":   "text/javascript; charset=utf-8",
		"/icon.svg":     "image/svg+xml",
		"/index.html":   "text/html; charset=utf-8",
		"/js/dom.js":    "text/javascript; charset=utf-8",
		"/js/pace.js":   "text/javascript; charset=utf-8",
		"/js/main.js":   "text/javascript; charset=utf-8",
		"/js/roster.js": "text/javascript; charset=utf-8",
	}
	for p, ct := range want {
		if got := get(h, http.MethodGet, p, nil).Header().Get("Content-Type"); got != ct {
			t.Errorf("GET %s: Content-Type %q, want %q", p, got, ct)
		}
	}
}

func TestOtherPathsGoToNext(t *testing.T) {
	t.Parallel()
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	if code := get(web.Handler(next), http.MethodGet, "/healthz", nil).Code; code != http.StatusTeapot {
		t.Errorf("GET /healthz went %d, want to next", code)
	}
	if code := get(web.Handler(nil), http.MethodGet, "/nothing.js", nil).Code; code != http.StatusNotFound {
		t.Errorf("GET /nothing.js without next: %d, want 404", code)
	}
}

func TestOnlyGetAndHead(t *testing.T) {
	t.Parallel()
	h := web.Handler(nil)
	w := get(h, http.MethodPost, "/", nil)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: %d, Allow %q; want 405 with Allow: GET, HEAD", w.Code, w.Header().Get("Allow"))
	}
	head := get(h, http.MethodHead, "/", nil)
	if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("ETag") == "" {
		t.Errorf("HEAD /: %d with %d bytes, ETag %q; want 200, no body, an ETag", head.Code, head.Body.Len(), head.Header().Get("ETag"))
	}
}

// A browser revalidates (no-cache) and gets 304 while the file is the same.
func TestUnchangedFilesAreNotSentAgain(t *testing.T) {
	t.Parallel()
	h := web.Handler(nil)
	etag := get(h, http.MethodGet, "/js/chat.js", nil).Header().Get("ETag")
	w := get(h, http.MethodGet, "/js/chat.js", http.Header{"If-None-Match": {`"other", ` + etag}})
	if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("revalidating with the ETag: %d and %d bytes, want 304 and none", w.Code, w.Body.Len())
	}
	if code := get(h, http.MethodGet, "/js/chat.js", http.Header{"If-None-Match": {`"other"`}}).Code; code != http.StatusOK {
		t.Errorf("another ETag: %d, want 200", code)
	}
}

// staticFiles returns the page's files from the source tree.
func staticFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := make(map[string][]byte)
	err := fs.WalkDir(os.DirFS("static"), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files[name], err = os.ReadFile(path.Join("static", name))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// The page stays small: its JavaScript and CSS under 100 KB before
// compression. The figures are logged (go test -v -run PageWeight).
func TestPageWeight(t *testing.T) {
	t.Parallel()
	var raw, zipped int
	for name, body := range staticFiles(t) {
		if ext := path.Ext(name); ext != ".js" && ext != ".css" {
			continue
		}
		raw += len(body)
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		zipped += buf.Len()
	}
	t.Logf("JavaScript and CSS: %d bytes, %d gzip'd (each file at -9)", raw, zipped)
	if raw >= 100_000 {
		t.Errorf("JavaScript and CSS are %d bytes; keep them under 100 KB", raw)
	}
}

// Text reaches the page only as text: no script writes HTML, nothing
// evaluates strings, and the page has no inline script, style or handler
// (which the Content-Security-Policy would refuse anyway).
func TestPageNeverInsertsHTML(t *testing.T) {
	t.Parallel()
	sinks := regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setTimeout\(['"\x60]`)
	inline := regexp.MustCompile(`(?i)<script>|<script(\s+[a-z-]+(="[^"]*")?)*\s*>\s*[^<\s]|\sstyle=|\son[a-z]+=|<style`)
	for name, body := range staticFiles(t) {
		switch path.Ext(name) {
		case ".js":
			if m := sinks.Find(body); m != nil {
				t.Errorf("%s uses %s", name, m)
			}
		case ".html":
			if m := inline.Find(body); m != nil {
				t.Errorf("%s has inline code or style: %s", name, m)
			}
		}
	}
}

// Every module the page imports is there, so no import fails at run time.
func TestEveryImportIsShipped(t *testing.T) {
	t.Parallel()
	files := staticFiles(t)
	imports := regexp.MustCompile(`(?m)^import .* from '(\./[a-z]+\.js)';$`)
	for name, body := range files {
		if path.Ext(name) != ".js" {
			continue
		}
		for _, m := range imports.FindAllSubmatch(body, -1) {
			target := path.Join(path.Dir(name), string(m[1]))
			if _, ok := files[target]; !ok {
				t.Errorf("%s imports %s, which is not shipped", name, m[1])
			}
		}
	}
	h := web.Handler(nil)
	for _, ref := range regexp.MustCompile(`(?:src|href)="([a-z/.]+)"`).FindAllSubmatch(files["index.html"], -1) {
		if code := get(h, http.MethodGet, "/"+string(ref[1]), nil).Code; code != http.StatusOK {
			t.Errorf("index.html refers to %s, served %d", ref[1], code)
		}
	}
}
