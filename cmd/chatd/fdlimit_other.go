//go:build !linux && !darwin

package main

import "errors"

// openFileLimit has no limit to read here (fdlimit_rlimit.go reads
// Linux's and macOS's).
func openFileLimit() (uint64, error) {
	return 0, errors.New("no RLIMIT_NOFILE on this platform")
}
