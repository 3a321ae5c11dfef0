#!/usr/bin/env bash
# bench-cluster-sweep.sh: the highest rates that pass (zero loss, p99 under
# 100 ms) on three cluster nodes (make cluster's layout) and on one node on
# the same PostgreSQL: public messages to 100 clients and private messages
# between 300, each a chatbench sweep. Nothing is pinned: on a small machine
# the nodes, PostgreSQL, etcd and the tool share the cores, so the figures
# say what the cluster costs, not what more machines would carry. A few
# minutes; needs etcd and PostgreSQL (make cluster installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
$GO build -o bin/chatd ./cmd/chatd
(cd bench && $GO build -o ../bin/chatbench ./cmd/chatbench)
# Every client comes from 127.0.0.1: the limits per user and per address are off.
LIMITS="-auth none -msg-rate 0 -ip-msg-rate 0 -max-conns-per-ip 0"
SCENARIOS=("fanout -n 100 -sweep -rate 500 -sweep-steps 7 -duration 3s -grace 2s"
  "dm -n 300 -sweep -rate 1000 -sweep-steps 7 -duration 3s -grace 2s")

CL= S=
cleanup() {
  [ -n "$S" ] && kill -TERM "$S" 2>/dev/null && wait "$S" 2>/dev/null
  [ -n "$CL" ] && kill -TERM "$CL" 2>/dev/null && wait "$CL" 2>/dev/null
  true
}
trap cleanup EXIT

# sweep LABEL URLS: each scenario against URLS, printing its best rate.
sweep() {
  local sc
  for sc in "${SCENARIOS[@]}"; do
    # shellcheck disable=SC2086 # the scenario is a list of flags
    printf '%-8s %-58s %s\n' "$1" "$sc" \
      "$(bin/chatbench -q -url "$2" -prefix "$1$RANDOM" -scenario $sc 2>&1 | grep -E '^best rate' || echo 'no passing rate')"
  done
}

CHATD_ARGS="$LIMITS" ./scripts/cluster.sh >/tmp/bench-cluster-sweep.log 2>&1 &
CL=$!
for p in 8001 8002 8003; do
  for _ in $(seq 300); do curl -fs "127.0.0.1:$p/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
done
sleep 3 # let the member lists settle
sweep cluster ws://127.0.0.1:8001/chat,ws://127.0.0.1:8002/chat,ws://127.0.0.1:8003/chat

# shellcheck disable=SC2086 # LIMITS is a list of flags
bin/chatd -addr 127.0.0.1:8010 -data "$(mktemp -d)" -store postgres -postgres "postgres://postgres@127.0.0.1:5433/chat" \
  $LIMITS >/tmp/bench-cluster-sweep-single.log 2>&1 &
S=$!
for _ in $(seq 300); do curl -fs 127.0.0.1:8010/readyz >/dev/null 2>&1 && break; sleep 0.1; done
sweep single ws://127.0.0.1:8010/chat
