# bench-lib.sh: shared by bench.sh, bench-scaling.sh and bench-dos.sh (source
# it; not run). bench-dos.sh uses its helpers, not build_all or bench.
#
# Builds chatbench (from its own module, bench/), cmd/chatd and
# gorilla/websocket's examples/chat hub (the baseline, copied from the module
# cache into a module of its own), starts and stops the servers on loopback
# with core pinning, and runs the tool, appending one JSON result per run to
# $RESULTS. Servers are killed by PID on exit.
#
# Environment: GO (default go); BENCH_KEEP=1 keeps the work directory.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
GO=${GO:-go}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chatbench.XXXXXX")
RESULTS=$WORK/results.jsonl
FAILED=0
HUB_PID= CHATD_PID= HUB_URL= CHATD_URL=

say() { printf 'bench: %s\n' "$*" >&2; }

bench_cleanup() {
	stop_servers
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then
		say "logs and results kept in $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# Servers get core 0 and the tool core 1, so that neither steals from the other.
PIN_SERVER=() PIN_TOOL=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then
	PIN_SERVER=(taskset -c 0)
	PIN_TOOL=(taskset -c 1)
fi

# Clients connect from several loopback addresses: one address runs short of
# fast ephemeral ports past ~10,000 connections to one server.
SOURCE_IPS=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4

# build_all builds the tool, chatd and the hub into $WORK.
build_all() {
	say "building chatbench"
	(cd bench && "$GO" build -o "$WORK/chatbench" ./cmd/chatbench)
	say "building chatd"
	"$GO" build -o "$WORK/chatd" ./cmd/chatd
	build_hub
}

# build_hub builds examples/chat of the gorilla/websocket version chatd is
# built with (the main module's). The example is a main package inside the
# library's module, so it gets a go.mod of its own.
build_hub() {
	local version dir
	version=$("$GO" list -m -f '{{.Version}}' github.com/gorilla/websocket)
	dir=$("$GO" mod download -json "github.com/gorilla/websocket@$version" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
	say "building gorilla/websocket $version examples/chat hub"
	mkdir -p "$WORK/hub"
	cp "$dir"/examples/chat/*.go "$WORK/hub/"
	chmod u+w "$WORK"/hub/*.go
	printf 'module chathub\n\ngo 1.21\n\nrequire github.com/gorilla/websocket %s\n' "$version" >"$WORK/hub/go.mod"
	(cd "$WORK/hub" && GOFLAGS=-mod=mod "$GO" build -o "$WORK/hub/hub" .)
}

# free_port prints a loopback port nothing listens on.
free_port() {
	local p
	for p in $(shuf -i 20000-29999 -n 50); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# await_listen waits until 127.0.0.1:$1 accepts connections.
await_listen() {
	local i
	for i in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# start_servers starts a fresh hub and a fresh chatd.
start_servers() {
	start_hub
	start_chatd
}

# start_hub starts the hub on a free port and waits until it listens.
start_hub() {
	local port
	port=$(free_port)
	(cd "$WORK/hub" && exec "${PIN_SERVER[@]}" ./hub -addr "127.0.0.1:$port") >>"$WORK/hub.log" 2>&1 &
	HUB_PID=$!
	await_listen "$port" || { say "hub did not start"; tail "$WORK/hub.log" >&2; exit 1; }
	HUB_URL="ws://127.0.0.1:$port/ws"
	say "hub pid $HUB_PID on $HUB_URL"
}

# start_chatd starts chatd on an ephemeral port and reads the address it logs.
# -auth none: chatbench names its users with ?user=, version 1's way. Every
# client the tool opens comes from 127.0.0.1, so the limits per client IP
# (-max-conns-per-ip, -ip-msg-rate) are off, as the per-user rate is.
# CHATD_STORE (default memory) picks the store; bolt keeps its file in a
# fresh directory under $WORK, on the same disk as the repository's /tmp.
start_chatd() {
	local log=$WORK/chatd.$RANDOM.log addr= data
	data=$(mktemp -d "$WORK/data.XXXX")
	(cd "$WORK" && exec "${PIN_SERVER[@]}" ./chatd -addr 127.0.0.1:0 -store "${CHATD_STORE:-memory}" \
		-data "$data" -msg-rate 0 -max-conns-per-ip 0 -ip-msg-rate 0 -log-format json -auth none) \
		>"$log" 2>&1 &
	CHATD_PID=$!
	for _ in $(seq 100); do
		addr=$(grep -oE '127\.0\.0\.1:[1-9][0-9]*' "$log" | head -n 1 || true)
		[[ -n $addr ]] && break
		kill -0 "$CHATD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [[ -z $addr ]]; then
		say "chatd did not log its address"
		tail "$log" >&2
		exit 1
	fi
	CHATD_URL="ws://$addr/chat"
	say "chatd pid $CHATD_PID on $CHATD_URL"
}

# stop_servers kills the servers this script started.
stop_servers() {
	local pid
	for pid in $HUB_PID $CHATD_PID; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	HUB_PID= CHATD_PID=
}

# proc_ticks prints the CPU ticks (utime + stime) process $1 has used.
proc_ticks() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	stat=${stat##*) } # fields from the state on; the command name may hold blanks
	set -- $stat
	echo $((${12} + ${13}))
}

# await_quiet waits (at most 15 s) until the servers, which share a core, use
# under 5% of it: a server still tearing down the last run's connections would
# steal from the next run's measurement.
await_quiet() {
	local i pid before after
	for i in $(seq 75); do
		before=0 after=0
		for pid in $HUB_PID $CHATD_PID; do before=$((before + $(proc_ticks "$pid"))); done
		sleep 0.2
		for pid in $HUB_PID $CHATD_PID; do after=$((after + $(proc_ticks "$pid"))); done
		((after - before <= 1)) && return 0
	done
	say "servers still busy; measuring anyway"
}

# bench LABEL ARGS...: one tool run against the server labelled LABEL
# (chatd or gorilla-hub); a failure is reported and remembered, not fatal.
bench() {
	local label=$1 url pid proto
	shift
	case $label in
	chatd) url=$CHATD_URL pid=$CHATD_PID proto=chat ;;
	gorilla-hub) url=$HUB_URL pid=$HUB_PID proto=gorilla-hub ;;
	*) say "unknown server $label"; exit 2 ;;
	esac
	await_quiet
	say "$label: $*"
	if ! "${PIN_TOOL[@]}" "$WORK/chatbench" -json -q -label "$label" -protocol "$proto" \
		-url "$url" -server-pid "$pid" -source-ips "$SOURCE_IPS" "$@" >>"$RESULTS" 2>>"$WORK/tool.log"; then
		say "  failed:"
		tail -n 3 "$WORK/tool.log" >&2
		FAILED=1
	fi
}

# both ARGS...: the same run against chatd and the hub.
both() {
	bench chatd "$@"
	bench gorilla-hub "$@"
}

# report prints the machine and one table of every result so far.
report() {
	local cpu
	cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
	echo
	echo "chatbench $(date -u +%Y-%m-%dT%H:%MZ); $(nproc) cores ($cpu), $(free -g | awk '/^Mem:/{print $2}') GiB;" \
		"$("$GO" env GOVERSION); pinning: server ${PIN_SERVER[*]:-none}, tool ${PIN_TOOL[*]:-none}"
	echo
	"$WORK/chatbench" -report -baseline gorilla-hub "$RESULTS"
}
