package server_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/actorchat/chat/server"
)

// /readyz follows Config.ReadyCheck: not ready while it fails (a store
// whose database is down), ready again when it passes.
func TestReadyzFollowsTheReadyCheck(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	e := startServer(t, withServer(func(c *server.Config) {
		c.ReadyCheck = func(context.Context) error {
			if down.Load() {
				return errors.New("database unreachable")
			}
			return nil
		}
	}))
	for _, step := range []struct {
		down bool
		want int
	}{{false, http.StatusOK}, {true, http.StatusServiceUnavailable}, {false, http.StatusOK}} {
		down.Store(step.down)
		resp, err := http.Get(e.hs.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != step.want {
			t.Fatalf("/readyz with the check failing=%v: %s, want %d", step.down, resp.Status, step.want)
		}
	}
}
