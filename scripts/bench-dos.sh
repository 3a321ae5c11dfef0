#!/usr/bin/env bash
# bench-dos.sh: hostile inputs (bench/cmd/chatdos) against fresh servers, run by
# `make bench-dos`; about 10 minutes with three runs per row.
#
# Builds bin/chatd and bin/chatdos (bench/cmd/chatdos). For each row and run,
# starts a fresh chatd on a free loopback port (-store memory -auth none
# -log-level error, plus the row's flags; server on core 0 and tool on core 1
# where taskset exists), runs chatdos against it, waits DOS_SETTLE seconds and
# prints what chatdos saw and the server's resident memory at the start, at
# its peak (VmHWM) and after settling, and the CPU it used during the attack.
# At the end, one line per row: the run with the median peak, with the
# medians of the server's figures.
#
# Environment: DOS_RUNS (default 3) runs per row; DOS_SETTLE (default 5)
# seconds to wait after each attack; DOS_ROWS (default all) a space-separated
# subset of: pings pings3 headers names history keepalive fds pprof;
# BENCH_KEEP=1 keeps the servers' logs.
source "$(dirname "$0")/bench-lib.sh"

RUNS=${DOS_RUNS:-3}
SETTLE=${DOS_SETTLE:-5}
ROWS=${DOS_ROWS:-pings pings3 headers names history keepalive fds pprof}
BASE=(-store memory -auth none -log-level error)
SUMMARY=()
PORT= LOG=

say "building bin/chatd and bin/chatdos"
mkdir -p bin
"$GO" build -o bin/chatd ./cmd/chatd
(cd bench && "$GO" build -o ../bin/chatdos ./cmd/chatdos)

# start_server FLAGS...: a fresh chatd on a free loopback port (PORT, LOG,
# CHATD_PID, which bench-lib's exit trap kills).
start_server() {
	PORT=$(free_port)
	LOG=$WORK/chatd.$PORT.log
	"${PIN_SERVER[@]}" bin/chatd -addr "127.0.0.1:$PORT" "${BASE[@]}" "$@" >"$LOG" 2>&1 &
	CHATD_PID=$!
	await_listen "$PORT" || { say "chatd did not start"; tail "$LOG" >&2; exit 1; }
}

# mb KEY: the server's /proc status field KEY (VmRSS, VmHWM), in MB.
mb() {
	awk -v k="$1:" '$1 == k { printf "%.0f", $2 / 1024 }' "/proc/$CHATD_PID/status" 2>/dev/null || echo 0
}

# median N...: the median of the numbers (the lower middle of an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

# chatdos ARGS...: one attack on the current server; its report, or why it failed.
chatdos() {
	local out
	if out=$("${PIN_TOOL[@]}" bin/chatdos -addr "127.0.0.1:$PORT" "$@" 2>&1); then
		echo "$out"
	else
		echo "chatdos failed: $out"
	fi
}

# measure NAME INPUT ATTACK: RUNS fresh servers (flags in SERVER_FLAGS), each
# attacked by the function ATTACK, which prints what it saw; prints each run
# and adds the row's summary line.
measure() {
	local name=$1 input=$2 attack=$3 run rss0 t0 t1 peak settled out
	local -a peaks=() rss0s=() settleds=() cpus=() outs=()
	for run in $(seq "$RUNS"); do
		# shellcheck disable=SC2086 # the flags are words
		start_server $SERVER_FLAGS
		sleep 0.5
		rss0=$(mb VmRSS) t0=$(proc_ticks "$CHATD_PID")
		out=$($attack | awk '{ printf "%s%s", (NR > 1 ? "; " : ""), $0 }')
		t1=$(proc_ticks "$CHATD_PID")
		sleep "$SETTLE"
		peak=$(mb VmHWM) settled=$(mb VmRSS)
		kill -0 "$CHATD_PID" 2>/dev/null || out+="; chatd EXITED"
		stop_servers
		cpu=$(awk -v t=$((t1 - t0)) 'BEGIN { printf "%.1f", t / 100 }')
		printf '%s run %d: %s\n    server: RSS start %s MB, peak %s MB, after %ss %s MB; CPU %s s\n' \
			"$name" "$run" "$out" "$rss0" "$peak" "$SETTLE" "$settled" "$cpu"
		peaks+=("$peak") rss0s+=("$rss0") settleds+=("$settled") cpus+=("$cpu") outs+=("$out")
	done
	local mid i
	mid=$(median "${peaks[@]}")
	for i in "${!peaks[@]}"; do [[ ${peaks[$i]} == "$mid" ]] && break; done
	SUMMARY+=("$(printf '%s | %s | %s | RSS start %s MB, peak %s MB, after %ss %s MB; CPU %s s' \
		"$name" "$input" "${outs[$i]}" "$(median "${rss0s[@]}")" "$mid" "$SETTLE" \
		"$(median "${settleds[@]}")" "$(median "${cpus[@]}")")")
}

attack_pings() { chatdos -mode pings -conns 1 -dur 10s; }
attack_pings3() { chatdos -mode pings -conns 3 -dur 10s; }
attack_headers() { chatdos -mode headers -conns 1000 -size 1048576; }
attack_names() { chatdos -mode names -conns 200 -rate 10 -dur 10s; }
attack_history() {
	chatdos -mode fill -conns 10 -n 20 -size 4096
	chatdos -mode history -n 200 -dur 10s
}
attack_keepalive() { chatdos -mode keepalive -conns 2000 -dur 70s; }

# attack_fds: two processes open keep-alive connections until the server
# refuses them; while they hold them, count the server's descriptors and
# time a health check and an upgrade from a third client.
attack_fds() {
	local limit per a b i
	limit=$(awk '/^Max open files/ { print $4 }' "/proc/$CHATD_PID/limits")
	per=$((limit * 11 / 20)) # together more than the server may hold
	# Not through chatdos(), which prints only once the tool exits: each
	# process prints its line when it holds all it could open.
	"${PIN_TOOL[@]}" bin/chatdos -addr "127.0.0.1:$PORT" -mode fds -conns "$per" -dur 20s -prefix A >"$WORK/fdsA" 2>&1 &
	a=$!
	"${PIN_TOOL[@]}" bin/chatdos -addr "127.0.0.1:$PORT" -mode fds -conns "$per" -dur 20s -prefix B >"$WORK/fdsB" 2>&1 &
	b=$!
	for i in $(seq 600); do
		[[ -s $WORK/fdsA && -s $WORK/fdsB ]] && break
		sleep 0.2
	done
	echo "server descriptors $(find "/proc/$CHATD_PID/fd" -mindepth 1 | wc -l) of its limit $limit"
	echo "meanwhile /healthz $(curl -s -o /dev/null -m 10 -w '%{http_code} in %{time_total} s' "http://127.0.0.1:$PORT/healthz")"
	echo "an upgrade $(curl -s -o /dev/null -m 10 -w '%{http_code} in %{time_total} s' -H 'Connection: Upgrade' \
		-H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
		"http://127.0.0.1:$PORT/chat?user=late")"
	wait "$a" "$b" || true
	cat "$WORK/fdsA" "$WORK/fdsB"
	echo "'too many open files' in the server's log: $(grep -c 'too many open files' "$LOG" || true)"
}

# pprof_row: -pprof alone must stop chatd; with -metrics-addr, the profiles
# are served there and not on the public port.
pprof_row() {
	local status ops line
	PORT=$(free_port)
	status=0
	timeout 10 bin/chatd -addr "127.0.0.1:$PORT" "${BASE[@]}" -pprof >"$WORK/pprof.log" 2>&1 || status=$?
	line="-pprof alone: chatd exited with status $status ($(head -c 200 "$WORK/pprof.log" | head -n 1))"
	ops=$(free_port)
	SERVER_FLAGS="-pprof -metrics-addr 127.0.0.1:$ops"
	# shellcheck disable=SC2086
	start_server $SERVER_FLAGS
	await_listen "$ops" || true
	line+="; with -metrics-addr: /debug/pprof/ on the public port $(curl -s -o /dev/null -m 5 -w '%{http_code}' \
		"http://127.0.0.1:$PORT/debug/pprof/"), on the metrics address $(curl -s -o /dev/null -m 5 -w '%{http_code}' \
		"http://127.0.0.1:$ops/debug/pprof/")"
	stop_servers
	echo "pprof: $line"
	SUMMARY+=("pprof | -pprof without -metrics-addr | $line")
}

say "load average: $(cut -d' ' -f1-3 /proc/loadavg); open-file limit $(ulimit -n); $RUNS runs a row"
for row in $ROWS; do
	SERVER_FLAGS=
	case $row in
	pings) measure pings "1 connection pinging without reading, 10 s" attack_pings ;;
	pings3) measure pings3 "3 connections pinging without reading, 10 s" attack_pings3 ;;
	headers)
		# The per-address limit (256) would answer most with 429 first.
		SERVER_FLAGS="-max-conns-per-ip 0"
		measure headers "1,000 upgrades, each with an unfinished 1 MB header line (-max-conns-per-ip 0)" attack_headers
		;;
	names) measure names "200 names from one address, 10 public messages/s each, 10 s" attack_names ;;
	history) measure history "10 users store 200 messages of 4 KB, then one asks history limit 200 in a loop, 10 s" attack_history ;;
	keepalive)
		SERVER_FLAGS="-max-conns-per-ip 0"
		measure keepalive "2,000 keep-alive connections idle after one GET /healthz (-max-conns-per-ip 0)" attack_keepalive
		;;
	fds)
		# -max-conns at its default, the open-file limit less 128.
		SERVER_FLAGS="-max-conns-per-ip 0 -log-level warn"
		measure fds "two processes open keep-alive connections until refused (-max-conns-per-ip 0)" attack_fds
		;;
	pprof) pprof_row ;;
	*) say "unknown row $row"; exit 2 ;;
	esac
done

echo
echo "chatdos $(date -u +%Y-%m-%dT%H:%MZ); $(nproc) cores; $("$GO" env GOVERSION); load average $(cut -d' ' -f1-3 /proc/loadavg);" \
	"pinning: server ${PIN_SERVER[*]:-none}, tool ${PIN_TOOL[*]:-none}; medians of $RUNS runs"
printf '%s\n' "${SUMMARY[@]}"
