package client

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/actorchat/chat/proto/wire"
)

// DefaultTokenDir is where cmd/chat caches tokens: actorchat/tokens in the
// user's configuration directory (os.UserConfigDir: $XDG_CONFIG_HOME or
// ~/.config on Linux).
func DefaultTokenDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "actorchat", "tokens"), nil
}

// TokenCache keeps the tokens a client got by signing in, one file per
// server and user, so that it signs in once and then reconnects, and runs
// again, with the saved token. A file holds the server, the user, the
// token and its expiry: nothing else. Files are 0600 in a directory the
// cache keeps at 0700, written whole and renamed into place, so that two
// runs never see half a file. Safe for concurrent use: it keeps no state
// but the files.
type TokenCache struct {
	// Dir holds the files; created (0700) on the first save.
	Dir string
	// Now tells whether a saved token has expired. Nil means time.Now.
	Now func() time.Time
}

// cachedToken is the content of one cache file.
type cachedToken struct {
	Server  string `json:"server"`
	User    string `json:"user"`
	Token   string `json:"token"`
	Expires string `json:"expires,omitempty"`
}

// maxFileName bounds a cache file's name; a longer one (a very long host
// name) is replaced by a hash.
const maxFileName = 200

// path is the file for server (a normalized address, Config.serverKey) and
// user: readable, and one file per pair.
func (tc TokenCache) path(server, user string) string {
	name := user + "@" + url.QueryEscape(server)
	if len(name) > maxFileName {
		sum := sha256.Sum256([]byte(server))
		name = user + "@" + hex.EncodeToString(sum[:16])
	}
	return filepath.Join(tc.Dir, name)
}

// Load returns the token saved for server and user, if there is one that
// has not expired.
func (tc TokenCache) Load(server, user string) (Grant, bool) {
	data, err := os.ReadFile(tc.path(server, user))
	if err != nil {
		return Grant{}, false
	}
	var ct cachedToken
	if json.Unmarshal(data, &ct) != nil || ct.Server != server || ct.User != user || ct.Token == "" {
		return Grant{}, false
	}
	g := Grant{User: ct.User, Token: ct.Token, Expires: parseExpiry(ct.Expires)}
	if !g.Expires.IsZero() && !tc.now().Before(g.Expires) {
		return Grant{}, false
	}
	return g, true
}

// Save writes g as the token for server and g.User.
func (tc TokenCache) Save(server string, g Grant) error {
	ct := cachedToken{Server: server, User: g.User, Token: g.Token}
	if !g.Expires.IsZero() {
		ct.Expires = wire.FormatTS(g.Expires.UnixMilli())
	}
	data, err := json.Marshal(ct)
	if err != nil {
		return err
	}
	if err := tc.makeDir(); err != nil {
		return err
	}
	return writeFileAtomic(tc.path(server, g.User), data)
}

// Forget removes the token saved for server and user, if it is token (so
// that a token another run has saved since is kept); any token when token
// is empty.
func (tc TokenCache) Forget(server, user, token string) error {
	if token != "" {
		if g, ok := tc.Load(server, user); ok && g.Token != token {
			return nil
		}
	}
	err := os.Remove(tc.path(server, user))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// makeDir creates the directory, and closes it to others if it exists
// already with a looser mode.
func (tc TokenCache) makeDir() error {
	if err := os.MkdirAll(tc.Dir, 0o700); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	if err := os.Chmod(tc.Dir, 0o700); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	return nil
}

// now is the cache's clock.
func (tc TokenCache) now() time.Time {
	if tc.Now == nil {
		return time.Now()
	}
	return tc.Now()
}

// writeFileAtomic writes data to a new 0600 file beside path and renames it
// over path.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr, os.Chmod(f.Name(), 0o600)); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("token cache: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("token cache: %w", err)
	}
	return nil
}
