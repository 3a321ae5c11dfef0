package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// clockTick is the unit of utime/stime in /proc/PID/stat. Linux fixes the
// user-visible tick (USER_HZ) at 100 per second on every architecture Go
// supports, and reading sysconf(_SC_CLK_TCK) would need cgo.
const clockTick = 10 * time.Millisecond

// procPath names a file under /proc for pid, or for this process when pid is 0.
func procPath(pid int, file string) string {
	if pid == 0 {
		return "/proc/self/" + file
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + file
}

// readCPU returns the CPU time (user + system) process pid has used so far.
func readCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime and stime (fields 14 and 15) from a /proc/PID/stat
// line. The second field, the command name in parentheses, may itself hold
// blanks and parentheses, so fields are counted from the last ')'.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat: no command name in %q", b)
	}
	// After ')' come field 3 (state) onward; utime is field 14.
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("proc stat: %d fields after the command name", len(fields))
	}
	utime, err1 := strconv.ParseUint(string(fields[11]), 10, 64)
	stime, err2 := strconv.ParseUint(string(fields[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("proc stat: bad utime/stime %q %q", fields[11], fields[12])
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// readRSS returns the resident set size of process pid in KiB.
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(procPath(pid, "status"))
	if err != nil {
		return 0, err
	}
	return parseStatusRSS(b)
}

// parseStatusRSS finds the "VmRSS:  1234 kB" line of /proc/PID/status.
func parseStatusRSS(b []byte) (int64, error) {
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("proc status: odd VmRSS line %q", line)
		}
		return strconv.ParseInt(string(f[0]), 10, 64)
	}
	return 0, fmt.Errorf("proc status: no VmRSS line")
}

// cpuMeter samples the CPU time of this process and, if pid is not 0, of the
// server, so a window's CPU use can be reported. Owned by one goroutine.
type cpuMeter struct {
	// Set at construction.
	serverPID int
	now       func() time.Time

	// Set by start.
	t0          time.Time
	self0, srv0 time.Duration
}

// cpuUse is the CPU spent in a window.
type cpuUse struct {
	wall        time.Duration
	self        time.Duration
	server      time.Duration
	serverKnown bool
}

// start begins a window.
func (m *cpuMeter) start() error {
	m.t0 = m.now()
	var err error
	if m.self0, err = readCPU(0); err != nil {
		return err
	}
	if m.serverPID != 0 {
		m.srv0, err = readCPU(m.serverPID)
	}
	return err
}

// stop ends the window begun by start and returns what was used in it.
func (m *cpuMeter) stop() (cpuUse, error) {
	u := cpuUse{wall: m.now().Sub(m.t0)}
	self, err := readCPU(0)
	if err != nil {
		return u, err
	}
	u.self = self - m.self0
	if m.serverPID != 0 {
		srv, err := readCPU(m.serverPID)
		if err != nil {
			return u, err
		}
		u.server, u.serverKnown = srv-m.srv0, true
	}
	return u, nil
}

// raiseNoFileLimit lifts the soft open-file limit to the hard limit: each
// connection is a file, and idle runs hold up to ~19,000 of them.
func raiseNoFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return lim.Cur, nil
}
