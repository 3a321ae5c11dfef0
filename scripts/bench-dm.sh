#!/usr/bin/env bash
# bench-dm.sh: private messages against their targets, run by `make
# bench-dm`; about two minutes. 1,000 clients in pairs, server on core 0 and
# tool on core 1 as in bench.sh, a fresh chatd for each store:
#
#   - memory store: the highest rate with no loss and p99 < 100 ms (a sweep
#     from 16,000/s), then a fixed 32,000/s for the server's CPU per message;
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

build_all

CHATD_STORE=memory start_chatd
bench chatd -scenario dm -n 1000 -sweep -rate 16000 -sweep-steps 6 -duration 3s -grace 2s -prefix dm
stop_servers
CHATD_STORE=memory start_chatd
bench chatd -scenario dm -n 1000 -rate 32000 -duration 5s -grace 2s -prefix dm32k
stop_servers

for rate in 32000 16000; do
	CHATD_STORE=bolt start_chatd
	start=$(date +%s.%N)
	bench chatd -scenario dm -n 1000 -rate "$rate" -duration 5s -grace 5s -prefix "bolt$rate"
	commits "bolt $rate/s" "$start"
	stop_servers
done

report
exit "$FAILED"
