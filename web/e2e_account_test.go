package web_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

// Markup in a message is text: it shows as the characters that were typed,
// no element is made of it and nothing runs.
func TestBrowserShowsMarkupAsText(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	mallory := openPage(t, s.url(), "mallory")
	alice := openPage(t, s.url(), "alice")
	mallory.signUp("mallory")
	alice.signUp("alice")

	attacks := []string{
		`<img src=x onerror=alert(1)>`,
		`<script>alert(2)</script>`,
		`"><svg onload=alert(3)>`,
	}
	for _, a := range attacks {
		mallory.send(a)
		mallory.waitMessage("public", a, "sent")
	}
	for _, a := range attacks {
		alice.waitMessage("public", a, "")
	}
	if n := value[int](alice, `document.querySelectorAll('#views img, #views script, #views svg').length`); n != 0 {
		t.Errorf("%d img, script or svg elements were made of message text", n)
	}
	for _, p := range []*browserPage{alice, mallory} {
		if n := p.dialogs.Load(); n != 0 {
			t.Errorf("%s: %d dialogs opened", p.name, n)
		}
	}
}

// A wrong password, and a name that is taken, are said on the form; the
// right password then signs in.
func TestBrowserSignInErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	s.register("alice")
	p := openPage(t, s.url(), "visitor")

	p.signIn("alice", "not the password")
	p.waitText("#auth-error", "Wrong name or password.")
	if !value[bool](p, `document.getElementById('app').hidden`) {
		t.Error("the chat opened after a wrong password")
	}

	p.fill("#auth-name", "alice")
	p.fill("#auth-password", password)
	p.run(chromedp.Click(chromedp.CSS("#auth-register")))
	p.waitText("#auth-error", "That name is taken")

	p.signIn("ALICE", password)
	p.waitConnected()
	p.waitText("#me", "alice")
}

// Signing out revokes the token on the server, and the tab forgets it: a
// reload shows the sign-in form. A reload while signed in keeps the tab
// signed in (sessionStorage).
func TestBrowserSignOutRevokes(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	p := openPage(t, s.url(), "alice")
	p.signUp("alice")
	token := value[string](p, `JSON.parse(sessionStorage.getItem('actorchat.session')).token`)

	p.run(chromedp.Reload())
	p.waitConnected()

	p.run(chromedp.Click(chromedp.CSS("#signout")))
	p.waitText("#auth-notice", "Signed out")
	if status, body := s.post("/api/logout", nil, token); status != http.StatusUnauthorized {
		t.Errorf("the signed-out token still logs out: HTTP %d %s; want 401", status, body)
	}
	p.run(chromedp.Reload())
	p.waitUntil("the sign-in form after a reload", `!document.getElementById('signin').hidden`)
}
