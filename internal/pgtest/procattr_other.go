//go:build !linux

package pgtest

import (
	"errors"
	"os"
	"syscall"
)

// serverAttr: outside Linux the server runs as ourselves, which must not
// be root (PostgreSQL refuses it).
func serverAttr(string) (*syscall.SysProcAttr, error) {
	if os.Geteuid() == 0 {
		return nil, errors.New("pgtest: PostgreSQL refuses root; run the tests as another user")
	}
	return nil, nil
}
