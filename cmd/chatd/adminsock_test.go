package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shortTempDir is a fresh directory with a short path: a Unix socket's
// path may not exceed about 100 bytes, which t.TempDir's can.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "chatd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func TestListenAdminIsPrivate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(shortTempDir(t), "admin", "chatd.sock")
	ln, err := listenAdmin(path)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %04o", p, fi.Mode().Perm(), err, want)
		}
	}
	// A second server on the same socket is refused while the first runs.
	if _, err := listenAdmin(path); err == nil || !strings.Contains(err.Error(), "another server") {
		t.Errorf("a second listen: %v", err)
	}
	_ = ln.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("the socket outlived its listener: %v", err)
	}
}

func TestListenAdminReplacesAStaleSocket(t *testing.T) {
	t.Parallel()
	path := filepath.Join(shortTempDir(t), "admin", "chatd.sock")
	if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	// A socket nobody listens on, as a killed server leaves it.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	_ = stale.Close()
	ln, err := listenAdmin(path)
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	_ = ln.Close()
}

func TestListenAdminRefuses(t *testing.T) {
	t.Parallel()
	dir := shortTempDir(t)
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	file := filepath.Join(dir, "private")
	if err := os.Mkdir(file, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(file, "chatd.sock"), []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		filepath.Join(open, "chatd.sock"): "others may enter",
		filepath.Join(file, "chatd.sock"): "not a socket",
	} {
		ln, err := listenAdmin(path)
		if err == nil {
			_ = ln.Close()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("listen on %s: %v, want an error saying %q", path, err, want)
		}
	}
}
