#!/usr/bin/env bash
# bench-scaling.sh: how deliveries per second and memory per connection grow
# with the number of clients, for chatd and gorilla's hub.
# For each N: fresh servers, an idle run (RSS per connection, connections per
# second), then a fanout sweep (highest rate with zero loss and p99 < 100 ms,
# and its deliveries per second). About ten minutes.
#
# Environment: BENCH_SIZES (default "10 100 1000 5000 15000"); BENCH_KEEP=1.
source "$(dirname "$0")/bench-lib.sh"

build_all
for n in ${BENCH_SIZES:-10 100 1000 5000 15000}; do
	start_servers
	both -scenario idle -n "$n" -duration 2s -prefix "idle$n"
	# Start near 100,000 deliveries a second: a few doublings or halvings away.
	rate=$(((100000 + n - 1) / n))
	both -scenario fanout -n "$n" -senders "$((n < 100 ? n : 100))" -sweep -rate "$rate" \
		-sweep-steps 6 -duration 3s -grace 2s -prefix "fan$n"
	stop_servers
done
report
exit "$FAILED"
