#!/usr/bin/env bash
# bench.sh: the default benchmark set, run by `make bench`; a few minutes.
# Fresh servers on loopback (chatd with the memory store and no rate limit;
# gorilla's examples/chat hub as the baseline), server on core 0 and tool on
# core 1 where taskset exists, one table at the end with our figures as ratios
# to the hub's.
#
# Environment: BENCH_DURATION (default 5s) for the fixed-rate fanout window;
# BENCH_KEEP=1 keeps the logs and results.jsonl.
source "$(dirname "$0")/bench-lib.sh"

DURATION=${BENCH_DURATION:-5s}

build_all
start_servers

# Idle first: the servers are fresh, so RSS growth is the connections' own.
both -scenario idle -n 5000 -duration 2s -prefix idle
# Light fixed load: server CPU per delivery, side by side.
both -scenario fanout -n 1000 -rate 40 -duration "$DURATION" -prefix f1k
# Highest rate with zero loss and p99 < 100 ms to 100 clients.
both -scenario fanout -n 100 -sweep -rate 1000 -sweep-steps 7 -duration 3s -grace 2s -prefix f100
# Private messages and queued delivery: the hub has neither.
bench chatd -scenario dm -n 1000 -sweep -rate 16000 -sweep-steps 6 -duration 3s -grace 2s -prefix dm
bench chatd -scenario drain -n 10000 -prefix drain

report
exit "$FAILED"
