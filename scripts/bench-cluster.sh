#!/usr/bin/env bash
# bench-cluster.sh: the load tool against three cluster nodes (make cluster's
# layout) and against one node on the same PostgreSQL, same traffic; one
# table. For each run: deliveries a second, p99 latency, the servers' CPU per
# delivery (all nodes' CPU, from /proc), and the actor messages the nodes
# sent each other (chat_cluster_remote_sends_total) per chat message.
#
#   N (300 clients), FANOUT_RATE (20/s), DM_RATE (300/s), DURATION (10, seconds).
#
# SWEEP=1 measures the highest passing rates instead (zero loss, p99 under
# 100 ms; chatbench -sweep): public messages to 100 clients, private
# messages between 300. Nothing is pinned: on a small machine the nodes,
# PostgreSQL, etcd and the tool share the cores, so the figures say what
# the cluster costs, not what more machines would carry.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-300} FANOUT_RATE=${FANOUT_RATE:-20} DM_RATE=${DM_RATE:-300} DURATION=${DURATION:-10}
GO=${GO:-go}
# Every client comes from 127.0.0.1: the limits per user and per client
# address are off, or they, not the servers, would set the figures.
LIMITS_OFF="-auth none -msg-rate 0 -ip-msg-rate 0 -max-conns-per-ip 0"
$GO build -o bin/chatd ./cmd/chatd
(cd bench && $GO build -o ../bin/chatbench ./cmd/chatbench)

CLUSTER_PID= SINGLE_PID=
cleanup() {
  [ -n "$SINGLE_PID" ] && kill -TERM "$SINGLE_PID" 2>/dev/null && wait "$SINGLE_PID" 2>/dev/null
  [ -n "$CLUSTER_PID" ] && kill -TERM "$CLUSTER_PID" 2>/dev/null && wait "$CLUSTER_PID" 2>/dev/null
  true
}
trap cleanup EXIT

CHATD_ARGS="$LIMITS_OFF" ./scripts/cluster.sh >/tmp/bench-cluster.log 2>&1 &
CLUSTER_PID=$!
for p in 8001 8002 8003; do
  for _ in $(seq 300); do curl -fs "127.0.0.1:$p/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
done
sleep 3 # let the member lists settle (they are logged; a benchmark may wait)
NODES="ws://127.0.0.1:8001/chat,ws://127.0.0.1:8002/chat,ws://127.0.0.1:8003/chat"

cpu() { # summed utime+stime of the PIDs, in clock ticks
  local t=0; for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$t"
}
sends() { # summed remote sends of one message type over the cluster nodes
  local t=0
  for p in 8001 8002 8003; do
    v=$(curl -fs "127.0.0.1:$p/metrics" | grep -F "chat_cluster_remote_sends_total{message=\"$1\"}" | awk '{print int($2)}')
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
run() { # label url scenario rate pids...
  local label=$1 url=$2 scen=$3 rate=$4; shift 4
  local c0 d0 r0 p0; c0=$(cpu "$@"); d0=$(sends Deliver); r0=$(sends Route); p0=$(sends Publish)
  out=$(bin/chatbench -q -json -scenario "$scen" -n "$N" -rate "$rate" -duration "${DURATION}s" -prefix "$label$scen" -url "$url")
  local c1 d1 r1 p1; c1=$(cpu "$@"); d1=$(sends Deliver); r1=$(sends Route); p1=$(sends Publish)
  python3 - "$label" "$scen" "$((c1 - c0))" "$(getconf CLK_TCK)" "$((d1 - d0))" "$((r1 - r0))" "$((p1 - p0))" "$out" <<'PY'
import json, sys
label, scen, ticks, hz, deliv, route, pub, out = sys.argv[1:]
r = json.loads(out)["traffic"]
cpu = int(ticks) / int(hz)
per = cpu / r["deliveries"] * 1e6 if r["deliveries"] else 0
sent = r["sent"] or 1
print(f"{label:8} {scen:6} sent {r['sent']:6} deliveries/s {r['deliveries_per_s']:9.0f} loss {r['loss']:4} "
      f"p99 {r['latency'].get('p99_ms', 0):7.1f} ms  server CPU {cpu:5.1f} s = {per:5.1f} µs/delivery  "
      f"remote Deliver/msg {int(deliv)/sent:4.2f} Route/msg {int(route)/sent:4.2f} Publish/msg {int(pub)/sent:4.2f}")
PY
}
# sweep LABEL URL: the highest passing rate of each scenario.
sweep() {
  local sc
  for sc in "fanout -n 100 -sweep -rate 500 -sweep-steps 7 -duration 3s -grace 2s" \
    "dm -n 300 -sweep -rate 1000 -sweep-steps 7 -duration 3s -grace 2s"; do
    # shellcheck disable=SC2086 # the scenario is a list of flags
    printf '%-8s %-58s %s\n' "$1" "$sc" \
      "$(bin/chatbench -q -url "$2" -prefix "$1$RANDOM" -scenario $sc 2>&1 | grep -E '^best rate' || echo 'no passing rate')"
  done
}
measure() { # label url pids...: fixed rates, or a sweep with SWEEP=1
  local label=$1 url=$2; shift 2
  if [ -n "${SWEEP:-}" ]; then sweep "$label" "$url"; return; fi
  run "$label" "$url" fanout "$FANOUT_RATE" "$@"
  run "$label" "$url" dm "$DM_RATE" "$@"
}
pids=$(pgrep -f -- "-cluster chat -cluster-addr 127.0.0.1:900" | tr '\n' ' ')
# shellcheck disable=SC2086 # one PID each
measure cluster "$NODES" $pids

bin/chatd -addr 127.0.0.1:8010 -data "$(mktemp -d)" -store postgres -postgres "postgres://postgres@127.0.0.1:5433/chat" \
  $LIMITS_OFF >/tmp/bench-single.log 2>&1 &
SINGLE_PID=$!
for _ in $(seq 300); do curl -fs 127.0.0.1:8010/readyz >/dev/null 2>&1 && break; sleep 0.1; done
measure single ws://127.0.0.1:8010/chat "$SINGLE_PID"
