package main

import (
	"log/slog"
	"math"
)

// Descriptors. Each connection is a descriptor, and a server that runs out
// of them cannot accept (EMFILE), answer health checks or open its own
// files: two processes opening connections used all 20,000 and the server
// stopped serving anyone. So -max-conns defaults to the process's limit on
// open files (raised to the hard limit at start, openFileLimit) less
// fdReserve, and the connections past it are refused with 503 before they
// can take the rest.
//
// fdReserve covers what is not a chat connection: the ops address's
// connections (opsMaxConns), the refused connections being answered at
// once (server's maxRefusing, 32), the listeners, the poller's epoll
// instance, the store's file, log files, the admin socket and its clients,
// with room to spare.
const (
	fdReserve    = 128
	autoMaxConns = -1 // -max-conns: derive it from the open-file limit
	opsMaxConns  = 32 // connections to a separate -metrics-addr at once
)

// connLimit is -max-conns as the server takes it: autoMaxConns becomes
// the open-file limit (read by fileLimit: openFileLimit) less fdReserve,
// at least 1, or no limit where the platform has none to read.
func connLimit(o options, fileLimit func() (uint64, error), logger *slog.Logger) int {
	if o.maxConns != autoMaxConns {
		return o.maxConns
	}
	limit, err := fileLimit()
	if err != nil {
		logger.Warn("no open-file limit to derive -max-conns from; connections are not limited", "err", err)
		return 0
	}
	n := int(min(limit, math.MaxInt32)) - fdReserve
	if n < 1 {
		n = 1
	}
	logger.Info("connection limit", "max_conns", n, "open_files", limit, "reserved", fdReserve)
	return n
}
