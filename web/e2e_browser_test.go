package web_test

// The browser of the end-to-end tests: one headless Chromium for the whole
// test binary, started on first use, and a tab (in a window of its own) per
// simulated user. Tabs need no browser context of their own: the page keeps
// its state in sessionStorage, which is per tab, and every test's server
// is an origin (a port) of its own. A browser context per tab took the
// suite from 43 s to 79 s here, most of it in starting renderers.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// requireBrowserEnv, when set, makes a missing Chromium a failure instead
// of a skip; CI sets it.
const requireBrowserEnv = "CHAT_REQUIRE_BROWSER"

// screenshotsEnv names the directory the final screenshots go to; by
// default testdata/screenshots (ignored by git).
const screenshotsEnv = "CHAT_SCREENSHOTS"

// Bounds of the browser tests. A passing test never waits this long.
const (
	testBudget = 90 * time.Second // one test, all its pages
	waitFor    = 20 * time.Second // one wait for something on a page
	pollEvery  = 20 * time.Millisecond
)

// shared is the one browser of the test binary.
var shared struct {
	once   sync.Once
	ctx    context.Context // the browser's first tab; pages are its children
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
	}
	os.Exit(code)
}

// chromium returns the path of a Chromium or Chrome binary on PATH, or "".
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser returns the shared browser's context, starting it on first use;
// without a Chromium it skips the test, or fails it under CHAT_REQUIRE_BROWSER.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium()
	if path == "" {
		if os.Getenv(requireBrowserEnv) != "" {
			t.Fatalf("no Chromium on PATH (chromium, chromium-browser, google-chrome) and %s is set; apt-get install chromium", requireBrowserEnv)
		}
		t.Skipf("browser test skipped: no Chromium on PATH (apt-get install chromium; %s=1 makes this a failure)", requireBrowserEnv)
	}
	shared.once.Do(func() { shared.ctx, shared.cancel, shared.err = startBrowser(path) })
	if shared.err != nil {
		t.Fatalf("starting Chromium: %v", shared.err)
	}
	return shared.ctx
}

// startBrowser starts headless Chromium with a fresh profile. The machine
// has no network: without the background-networking flags Chromium keeps
// trying to reach its services.
func startBrowser(path string) (context.Context, func(), error) {
	dir, err := os.MkdirTemp("", "chat-web-chromium-")
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.UserDataDir(dir), chromedp.WindowSize(1100, 760),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	cancel := func() {
		cancelCtx()
		cancelAlloc()
		_ = os.RemoveAll(dir)
	}
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err = <-started:
	case <-time.After(30 * time.Second):
		err = fmt.Errorf("no browser within 30s")
	}
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return ctx, cancel, nil
}

// browserPage is one user's tab.
type browserPage struct {
	t       *testing.T
	name    string
	ctx     context.Context
	dialogs atomic.Int32 // alert, confirm and prompt dialogs that opened

	mu       sync.Mutex
	errors   []string // uncaught exceptions
	wsFrames []string // text frames the page sent on WebSockets
}

// openPage opens url in a new tab. When the
// test ends it saves a screenshot and fails the test if the page threw an
// exception.
func openPage(t *testing.T, url, name string) *browserPage {
	t.Helper()
	tctx, cancelTest := context.WithTimeout(browser(t), testBudget)
	p := &browserPage{t: t, name: name}
	ctx, cancelTab := chromedp.NewContext(tctx, chromedp.WithListener(p.listen))
	p.ctx = ctx
	t.Cleanup(func() {
		p.screenshot()
		cancelTab()
		cancelTest()
		p.checkErrors()
	})
	// The first Run of a tab must have the tab's own context: the tab lives
	// as long as that context.
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("%s: opening a tab: %v", name, err)
	}
	p.run(chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
	return p
}

// listen records what the page does that the test checks afterwards. It
// must not run commands itself; answering a dialog goes on a goroutine.
func (p *browserPage) listen(ev any) {
	switch ev := ev.(type) {
	case *page.EventJavascriptDialogOpening:
		p.dialogs.Add(1)
		go func() {
			_, _ = chromedp.Call(p.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{})
		}()
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		what := d.Text
		if d.Exception != nil {
			what += " " + d.Exception.Description
		}
		p.mu.Lock()
		p.errors = append(p.errors, fmt.Sprintf("%s (%s:%d)", what, d.URL, d.LineNumber+1))
		p.mu.Unlock()
	case *network.EventWebSocketFrameSent:
		p.mu.Lock()
		p.wsFrames = append(p.wsFrames, string(ev.Response.PayloadData))
		p.mu.Unlock()
	}
}

// sentFrames returns the WebSocket frames the page sent that contain s.
func (p *browserPage) sentFrames(s string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, f := range p.wsFrames {
		if strings.Contains(f, s) {
			out = append(out, f)
		}
	}
	return out
}

func (p *browserPage) checkErrors() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.errors {
		p.t.Errorf("%s: the page threw: %s", p.name, e)
	}
}

// screenshot saves what the page shows as TEST-PAGE.png.
func (p *browserPage) screenshot() {
	dir := os.Getenv(screenshotsEnv)
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("%s: no screenshot: %v", p.name, err)
		return
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(p.t.Name()) + "-" + p.name + ".png"
	if err := os.MkdirAll(dir, 0o755); err == nil {
		err = os.WriteFile(filepath.Join(dir, name), png, 0o644)
		if err != nil {
			p.t.Logf("saving the screenshot: %v", err)
		}
	}
}

// run runs actions in the tab, in order, bounded by waitFor in all.
func (p *browserPage) run(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// eval evaluates a JavaScript expression into a value of type T.
func eval[T any](p *browserPage, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// waitUntil polls a JavaScript expression until it is true.
func (p *browserPage) waitUntil(what, expr string) {
	p.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		ok, err := eval[bool](p, expr)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: waited %v for %s (last error: %v)", p.name, waitFor, what, err)
		}
		time.Sleep(pollEvery)
	}
}

// value evaluates expr into a value of type T, failing the test on error.
func value[T any](p *browserPage, expr string) T {
	p.t.Helper()
	v, err := eval[T](p, expr)
	if err != nil {
		p.t.Fatalf("%s: evaluating %s: %v", p.name, expr, err)
	}
	return v
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
