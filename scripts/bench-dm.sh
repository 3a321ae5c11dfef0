#!/usr/bin/env bash
# bench-dm.sh: private messages against their targets, run by `make
# bench-dm`; about two minutes. 1,000 clients in pairs, server on core 0 and
# tool on core 1 as in bench.sh, a fresh chatd for each store:
#
#   - memory store: the highest rate with no loss and p99 < 100 ms (a sweep
#     from 16,000/s), then fixed rates of 8,000, 16,000 and 32,000/s for the
#     server's CPU per message, with the syscalls it made per message
#     (all, and the reads, writes and epoll calls; perf counts them);
#   - bolt store (durable, fsync per group commit): a fixed 32,000/s, and
#     16,000/s, with the group commits the store made (count, writes per
#     commit, fsyncs a second) from chatd's /metrics.
#
# Environment: BENCH_KEEP=1 keeps the logs and results.jsonl.
source "$(dirname "$0")/bench-lib.sh"

# commits LABEL START prints the group commits chatd has made since it
# started: their number, the writes each carried on average, and commits
# (one fsync each) a second since START.
commits() {
	local m n w now
	m=$(curl -fs "http://$(echo "${CHATD_URL#ws://}" | cut -d/ -f1)/metrics")
	n=$(awk '/^chat_store_commit_writes_count /{print $2}' <<<"$m")
	w=$(awk '/^chat_store_commit_writes_sum /{print $2}' <<<"$m")
	now=$(date +%s.%N)
	awk -v l="$1" -v n="${n:-0}" -v w="${w:-0}" -v t="$(echo "$now - $2" | bc)" 'BEGIN {
		printf "bench: %s: %d group commits, %.0f writes each, %.0f commits (fsyncs) a second\n", l, n, (n ? w / n : 0), n / t
	}' >&2
}

# Syscalls: with perf (Debian's linux-perf), every syscall chatd makes
# during a run is counted by its tracepoints; without it, /proc/PID/io
# gives its reads and writes only.
SYSCALLS=(raw_syscalls:sys_enter syscalls:sys_enter_read syscalls:sys_enter_write
	syscalls:sys_enter_epoll_ctl syscalls:sys_enter_epoll_pwait)
PERF_PID=

# count_start starts counting chatd's syscalls.
count_start() {
	if command -v perf >/dev/null && perf stat -e raw_syscalls:sys_enter true 2>/dev/null; then
		perf stat -x, -o "$WORK/perf.txt" -e "$(IFS=,; echo "${SYSCALLS[*]}")" -p "$CHATD_PID" &
		PERF_PID=$!
	else
		awk '/^syscr/{r=$2} /^syscw/{w=$2} END{print r, w}' "/proc/$CHATD_PID/io" >"$WORK/io.txt"
	fi
}

# count_report LABEL MESSAGES prints the syscalls chatd made per message
# since count_start.
count_report() {
	if [[ -n $PERF_PID ]]; then
		kill -INT "$PERF_PID"
		wait "$PERF_PID" || true
		PERF_PID=
		awk -F, -v l="$1" -v m="$2" '/sys_enter/ {
			name = $3; sub(/^.*sys_enter_?/, "", name); if (name == "") name = "all"
			out = out sprintf(" %s %.2f", name, $1 / m)
		} END { printf "bench: %s: syscalls per message:%s\n", l, out }' "$WORK/perf.txt" >&2
		return
	fi
	local r0 w0 r1 w1
	read -r r0 w0 <"$WORK/io.txt"
	read -r r1 w1 < <(awk '/^syscr/{r=$2} /^syscw/{w=$2} END{print r, w}' "/proc/$CHATD_PID/io")
	awk -v l="$1" -v m="$2" -v r=$((r1 - r0)) -v w=$((w1 - w0)) 'BEGIN {
		printf "bench: %s: syscalls per message: read %.2f write %.2f (no perf: those two only)\n", l, r / m, w / m
	}' >&2
}

build_all

CHATD_STORE=memory start_chatd
bench chatd -scenario dm -n 1000 -sweep -rate 16000 -sweep-steps 6 -duration 3s -grace 2s -prefix dm
stop_servers
for rate in 8000 16000 32000; do
	CHATD_STORE=memory start_chatd
	await_quiet
	count_start
	bench chatd -scenario dm -n 1000 -rate "$rate" -duration 5s -grace 2s -prefix "dm$rate"
	count_report "memory $rate/s" $((rate * 5))
	stop_servers
done

for rate in 32000 16000; do
	CHATD_STORE=bolt start_chatd
	start=$(date +%s.%N)
	bench chatd -scenario dm -n 1000 -rate "$rate" -duration 5s -grace 5s -prefix "bolt$rate"
	commits "bolt $rate/s" "$start"
	stop_servers
done

report
exit "$FAILED"
