package actors

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// Proto.Actor's info records are noise at the server's default level and
// pass at debug level; its warnings always pass.
func TestQuieterFiltersProtoActorInfoUnlessDebug(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		level    slog.Level
		wantInfo bool
	}{{slog.LevelInfo, false}, {slog.LevelDebug, true}} {
		var buf bytes.Buffer
		l := slog.New(quieter{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: c.level})}).With("lib", "protoactor")
		l.Info("[DeadLetter]")
		l.Warn("trouble")
		out := buf.String()
		if got := strings.Contains(out, "DeadLetter"); got != c.wantInfo {
			t.Errorf("level %v: info record shown = %v, want %v:\n%s", c.level, got, c.wantInfo, out)
		}
		if !strings.Contains(out, "trouble") || !strings.Contains(out, "lib=protoactor") {
			t.Errorf("level %v: warning missing or untagged:\n%s", c.level, out)
		}
		if (quieter{slog.NewTextHandler(&buf, nil)}).Enabled(context.Background(), slog.LevelDebug) {
			t.Errorf("debug enabled through an info-level handler")
		}
	}
}
