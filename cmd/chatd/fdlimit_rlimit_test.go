//go:build linux || darwin

package main

import (
	"syscall"
	"testing"
)

func TestOpenFileLimitIsRaisedToTheHardLimit(t *testing.T) {
	got, err := openFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if got != lim.Cur || (lim.Cur != lim.Max && lim.Max < 1<<62) {
		t.Errorf("open-file limit %d, soft %d, hard %d: want the soft limit raised to the hard one", got, lim.Cur, lim.Max)
	}
}
