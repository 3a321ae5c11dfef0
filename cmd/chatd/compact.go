package main

// `chatd compact`: give back to the system the room a bolt store's file
// has kept since its messages were delivered (store.CompactBolt), on a
// stopped server.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/actorchat/chat/actors/store"
)

const compactUsage = `usage: chatd compact [-data DIR] [-keep-backup]

Compacts DIR/chat.db, the bolt store, into a file that holds the same and
only that: bbolt never gives back the room that delivered messages leave,
and /metrics shows it as chat_store_free_bytes. The server must be
stopped (its lock on the file makes this fail at once). The copy is
compared with the original before it takes the original's place, and
the original is kept as DIR/chat.db.bak until then, or after with
-keep-backup. The disk needs room for the copy.

Exit codes: 0 done, 1 failed (the file is untouched unless the message
says otherwise), 2 usage.

Flags:
`

// runCompact runs `chatd compact ARGS` and returns its exit code. The
// outcome is one line, on stdout when done and on stderr otherwise.
func runCompact(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chatd compact", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		say(stderr, "%s", compactUsage)
		fs.PrintDefaults()
	}
	e := envFlags{fs: fs, getenv: getenv}
	var dataDir string
	var keep bool
	e.str(&dataDir, "data", "data", "directory of the bolt store (chat.db)")
	e.bool(&keep, "keep-backup", false, "keep the original file as chat.db.bak")
	if e.err != nil {
		say(stderr, "chatd compact: %v\n", e.err)
		return exitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() != 0 {
		say(stderr, "chatd compact: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	path := filepath.Join(dataDir, "chat.db")
	res, err := store.CompactBolt(path, store.Config{}, keep)
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			err = fmt.Errorf("%w; stop the server first", err)
		}
		say(stderr, "chatd compact: %v\n", err)
		return exitFailed
	}
	say(stdout, "compacted %s: %s -> %s%s\n", path, mib(res.Before), mib(res.After), kept(res.Backup))
	return exitOK
}

// mib renders a size in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// kept describes a kept backup, if there is one.
func kept(backup string) string {
	if backup == "" {
		return ""
	}
	return " (the original is " + backup + ")"
}

// say writes one line for the operator; a terminal that cannot take it
// leaves nothing else to do.
func say(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, format, args...)
}
