package web_test

import (
	"encoding/json"
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

// The password form changes the password: the server signs the account's
// other sessions out, the tab stays signed in, and the next sign-in takes
// the new password only.
func TestBrowserChangesThePassword(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	p := openPage(t, s.url(), "alice")
	p.signUp("alice")
	status, body := s.post("/api/login", map[string]string{"name": "alice", "password": password}, "")
	if status != http.StatusOK {
		t.Fatalf("login: %d %s", status, body)
	}
	other := grantOf(t, body)

	p.run(chromedp.Click(chromedp.CSS("#open-password")))
	p.fill("#password-old", password)
	p.fill("#password-new", "a brand new secret")
	p.run(chromedp.Click(chromedp.CSS(`#password-form button[type="submit"]`)))
	p.waitText("#password-done", "Password changed")
	if status, _ := s.post("/api/logout", nil, other.Token); status != http.StatusUnauthorized {
		t.Errorf("the other session's token still works after the change: HTTP %d", status)
	}
	p.run(chromedp.Click(chromedp.CSS("#password-cancel")), chromedp.Click(chromedp.CSS("#signout")))
	p.waitText("#auth-notice", "Signed out")
	p.signIn("alice", password)
	p.waitText("#auth-error", "Wrong name or password.")
	p.signIn("alice", "a brand new secret")
	p.waitConnected()
}

func grantOf(t *testing.T, body []byte) grant {
	t.Helper()
	var g grant
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatal(err)
	}
	return g
}
