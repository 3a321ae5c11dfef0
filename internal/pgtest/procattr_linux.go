package pgtest

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// serverAttr returns how the server's processes are started: as the
// postgres user when we are root (PostgreSQL refuses root), which then
// gets dir; and killed (immediate shutdown) if the test binary dies
// without stopping them, so that a crashed test leaves no server behind.
func serverAttr(dir string) (*syscall.SysProcAttr, error) {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT}
	if os.Geteuid() != 0 {
		return attr, nil
	}
	uid, gid, err := postgresUser()
	if err != nil {
		return nil, err
	}
	err = filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(uid), int(gid))
	})
	if err != nil {
		return nil, fmt.Errorf("pgtest: handing %s to postgres: %w", dir, err)
	}
	attr.Credential = &syscall.Credential{Uid: uid, Gid: gid, NoSetGroups: true}
	return attr, nil
}

// postgresUser returns the ids of the postgres user.
func postgresUser() (uid, gid uint32, err error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return 0, 0, fmt.Errorf("pgtest: running as root, which PostgreSQL refuses, and no postgres user: %w", err)
	}
	id, err1 := strconv.ParseUint(u.Uid, 10, 32)
	group, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("pgtest: the postgres user's ids %q:%q are not numbers", u.Uid, u.Gid)
	}
	return uint32(id), uint32(group), nil
}
