//go:build linux || darwin

package main

import "syscall"

// openFileLimit raises the soft limit on open files to the hard limit, as
// servers do, and returns the limit then in force. Go's runtime raises it
// too when the process starts (since Go 1.19); doing it here makes the
// number -max-conns is derived from this program's own decision. Where the
// hard limit cannot be set (macOS refuses "unlimited"), the soft one
// stays.
func openFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			lim = raised
		}
	}
	return lim.Cur, nil
}
