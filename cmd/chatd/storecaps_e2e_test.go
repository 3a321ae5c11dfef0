package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// startChatd runs chatd with args on 127.0.0.1:0 until the test ends and
// returns its address.
func startChatd(t *testing.T, args ...string) string {
	t.Helper()
	return launch(t, nil, append([]string{"-addr", "127.0.0.1:0"}, args...)...).addr
}

// dialUser connects as user (-auth none) and reads the welcome.
func dialUser(t *testing.T, addr, user string) *websocket.Conn {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/chat?user="+user, nil)
	if resp != nil {
		_ = resp.Body.Close() // the upgrade's answer: nothing to read
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	if f := readFrame(t, ws); f.Type != "welcome" {
		t.Fatalf("%s: first frame %+v", user, f)
	}
	return ws
}

// capFrame is what these tests read of a server frame.
type capFrame struct {
	Type, Ref, Code, ID string
}

// readFrame reads the next frame that is not a presence notice (who
// comes and goes is not what these tests are about).
func readFrame(t *testing.T, ws *websocket.Conn) capFrame {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var f capFrame
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("frame %s: %v", data, err)
		}
		if f.Type != "presence" {
			return f
		}
	}
}

// Past -store-max-bytes a private message to someone away is refused with
// storage_full, and gets no receipt; /metrics shows what the cap counts,
// beside the cap.
func TestStoreMaxBytesRefusesWithStorageFull(t *testing.T) {
	t.Parallel()
	addr := startChatd(t, "-data", t.TempDir(), "-auth", "none", "-msg-rate", "0", "-store-max-bytes", "20000")
	_ = dialUser(t, addr, "bob").Close() // bob is known, and away
	alice := dialUser(t, addr, "alice")
	text := strings.Repeat("x", 4000) // four fit under the cap, five do not
	for i := range 5 {
		dm := fmt.Sprintf(`{"type":"dm","to":"bob","text":%q,"ref":"%d"}`, text, i)
		if err := alice.WriteMessage(websocket.TextMessage, []byte(dm)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		f := readFrame(t, alice)
		switch {
		case i < 4 && (f.Type != "sent" || f.Ref != fmt.Sprint(i)):
			t.Fatalf("dm %d: %+v, want its receipt", i, f)
		case i == 4 && (f.Type != "error" || f.Code != "storage_full" || f.Ref != "4"):
			t.Fatalf("dm 4: %+v, want storage_full", f)
		}
	}

	metrics := scrape(t, "http://"+addr+"/metrics")
	for _, want := range []string{"chat_store_queued_max_bytes 20000", "chat_store_queued_messages 4", `chat_errors_total{code="storage_full"} 1`} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// scrape fetches url's body.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err = errors.Join(err, resp.Body.Close()); err != nil {
		t.Fatal(err)
	}
	return string(body)
}
