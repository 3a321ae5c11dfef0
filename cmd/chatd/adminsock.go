package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"
)

// listenAdmin opens the operator's Unix socket at path, its owner's alone:
// the socket is 0600 in a directory that is 0700. Linux checks the
// socket's own mode on connect; the directory's mode also covers the
// moment between creating the socket and changing its mode, and systems
// that ignore a socket's mode.
//
// The directory is created if missing; an existing one that others may
// enter is refused rather than changed, since it may be shared on
// purpose. A socket left by a server that died is replaced; one that a
// running server answers on is refused. The listener removes the socket
// when closed.
func listenAdmin(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := privateDir(dir); err != nil {
		return nil, err
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return ln, nil
}

// privateDir makes sure dir exists and only its owner may enter it.
func privateDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("admin socket: %w", err)
	}
	fi, err := os.Lstat(dir)
	switch {
	case err != nil:
		return fmt.Errorf("admin socket: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("admin socket: %s is not a directory", dir)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("admin socket: others may enter %s (mode %04o); make it 0700, or choose another -admin-socket", dir, fi.Mode().Perm())
	}
	return nil
}

// removeStale removes a socket at path that no server answers on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("admin socket: %w", err)
	case fi.Mode()&fs.ModeSocket == 0:
		return fmt.Errorf("admin socket: %s exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		_ = c.Close()
		return fmt.Errorf("admin socket: another server answers on %s", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("admin socket: removing a stale socket: %w", err)
	}
	return nil
}
