package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
)

// fillDataDir writes a bolt store in dir whose queued messages, a flood
// of them, have all been delivered but one, and returns the one's id.
func fillDataDir(t *testing.T, dir string) string {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(dir, "chat.db"), store.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("x", 4000)
	var ids []string
	for i := range 1000 {
		id := fmt.Sprint("m", i)
		ids = append(ids, id)
		st.Enqueue(&chatpb.Message{Id: id, Kind: chatpb.Kind_KIND_DM, From: "alice", To: "bob", Text: text}, nil)
	}
	done := make(chan error, 1)
	st.Ack("bob", ids[1:], func(err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

// chatd compact shrinks the file of a stopped server and says by how
// much; what was still queued is there afterwards.
func TestCompactShrinksTheStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	left := fillDataDir(t, dir)
	path := filepath.Join(dir, "chat.db")
	before, _ := os.Stat(path)
	var out, errs bytes.Buffer
	if code := runCompact(nil, env(map[string]string{"CHAT_DATA": dir}), &out, &errs); code != exitOK {
		t.Fatalf("exit %d; stderr: %s", code, errs.String())
	}
	after, _ := os.Stat(path)
	if after.Size() >= before.Size()/4 || !strings.HasPrefix(out.String(), "compacted "+path+": ") {
		t.Fatalf("from %d to %d bytes; said %q", before.Size(), after.Size(), out.String())
	}
	st, err := store.OpenBolt(path, store.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if msgs, err := st.Inbox("bob"); err != nil || len(msgs) != 1 || msgs[0].Id != left {
		t.Fatalf("bob's inbox after compaction: %v, %v; want %s", msgs, err, left)
	}
}

// On a running server's store, chatd compact fails at once, says to stop
// the server, and leaves the file alone.
func TestCompactRefusesARunningServersStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fillDataDir(t, dir)
	path := filepath.Join(dir, "chat.db")
	st, err := store.OpenBolt(path, store.Config{}, nil) // the server
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	before, _ := os.ReadFile(path)
	var out, errs bytes.Buffer
	if code := runCompact([]string{"-data", dir}, env(nil), &out, &errs); code != exitFailed || !strings.Contains(errs.String(), "stop the server") {
		t.Fatalf("exit %d, stderr %q; want 1 and a word about the server", code, errs.String())
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatal("the refused compaction changed the file")
	}
}

func TestCompactUsage(t *testing.T) {
	t.Parallel()
	var out, errs bytes.Buffer
	if code := runCompact([]string{"-nope"}, env(nil), &out, &errs); code != exitUsage {
		t.Errorf("an unknown flag: exit %d, want %d", code, exitUsage)
	}
	if code := runCompact([]string{"extra"}, env(nil), &out, &errs); code != exitUsage {
		t.Errorf("an argument: exit %d, want %d", code, exitUsage)
	}
}
