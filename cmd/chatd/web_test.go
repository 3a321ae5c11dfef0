package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// startForWeb runs chatd with args (and the environment vars) on an
// ephemeral port until the test ends, and returns its address.
func startForWeb(t *testing.T, vars map[string]string, args ...string) string {
	t.Helper()
	return launch(t, vars, append([]string{"-addr", "127.0.0.1:0", "-store", "memory", "-auth", "none"}, args...)...).addr
}

func status(t *testing.T, url string) (int, http.Header) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// By default the chat address serves the web client at /, beside the ops
// endpoints; -web=false or CHAT_WEB=false leave / to them alone (404).
func TestWebClientFollowsTheFlag(t *testing.T) {
	t.Parallel()
	addr := startForWeb(t, nil)
	code, h := status(t, "http://"+addr+"/")
	if code != http.StatusOK || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("GET / with the web client: %d, CSP %q", code, h.Get("Content-Security-Policy"))
	}
	if code, _ := status(t, "http://"+addr+"/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz beside the web client: %d", code)
	}
	for _, off := range []string{startForWeb(t, nil, "-web=false"), startForWeb(t, map[string]string{"CHAT_WEB": "false"})} {
		if code, _ := status(t, "http://"+off+"/"); code != http.StatusNotFound {
			t.Errorf("GET / without the web client: %d, want 404", code)
		}
		if code, _ := status(t, "http://"+off+"/healthz"); code != http.StatusOK {
			t.Errorf("GET /healthz without the web client: %d", code)
		}
	}
}
