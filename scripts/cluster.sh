#!/usr/bin/env bash
# make cluster: a three-node chat cluster on this machine, with nothing but
# Debian's packages. It starts an etcd member (the cluster's member list)
# and a PostgreSQL server (the store all nodes share) on loopback ports,
# with their data under ./data/cluster/, then three chatd nodes on HTTP
# ports 8001-8003 (cluster ports 9001-9003). Ctrl-C stops them all, nodes
# first. Installs etcd-server and postgresql when they are missing. The
# store survives a restart; the member list in etcd starts empty each time.
#
#   ETCD_PORT (2379), PG_PORT (5433), NODES (3), CHATD (bin/chatd) override;
#   CHATD_ARGS adds flags to every node (e.g. "-auth none -msg-rate 0").
set -euo pipefail
cd "$(dirname "$0")/.."

ETCD_PORT=${ETCD_PORT:-2379}
PG_PORT=${PG_PORT:-5433}
NODES=${NODES:-3}
CHATD=${CHATD:-bin/chatd}
DATA=$PWD/data/cluster
PGDATA=$DATA/pg # PostgreSQL's data directory (see below)

need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if ((${#need[@]})); then
  echo "cluster: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

# as_pg runs a PostgreSQL command as the postgres user when we are root:
# PostgreSQL refuses to run as root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo
  echo "cluster: stopping"
  # nodes first, while etcd and PostgreSQL still answer; then etcd
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  [ -f "$PGDATA/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true
  echo "cluster: stopped"
  exit 0
}
trap stop_all INT TERM EXIT

# etcd keeps only the member list, which a fresh start rebuilds: starting
# from an empty one spares the nodes the members of the last run, whose
# leases etcd would keep alive for a while after it starts.
rm -rf "$DATA/etcd"
mkdir -p "$DATA/etcd" "$DATA/logs"
chmod 700 "$DATA/etcd"

# PostgreSQL: one database, "chat", trusted on loopback only. As root it
# runs as the postgres user, who must be able to reach its data directory:
# when ./data is chatd's own (0750, made by make run), PostgreSQL's data
# goes to the postgres user's home instead, one directory per checkout.
PGLOG=$DATA/logs/postgres.log
if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$DATA"; then
  PGDATA=$(getent passwd postgres | cut -d: -f6)/actorchat-$(printf %s "$DATA" | md5sum | cut -c1-8)
  PGLOG=$PGDATA.log
fi
if [ ! -f "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  [ "$(id -u)" = 0 ] && chown postgres: "$PGDATA"
  as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
fi
[ "$(id -u)" = 0 ] && chown postgres: "$(dirname "$PGLOG")"
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PGDATA" start >/dev/null
as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='chat'" | grep -q 1 ||
  as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres chat
PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/chat"
echo "cluster: postgresql on 127.0.0.1:$PG_PORT (data in $PGDATA)"

etcd --name chat --data-dir "$DATA/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-cluster "chat=http://127.0.0.1:$((ETCD_PORT + 1))" >"$DATA/logs/etcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$ETCD_PORT/health" >/dev/null 2>&1 && break
  sleep 0.1
done
echo "cluster: etcd on 127.0.0.1:$ETCD_PORT (data in $DATA/etcd)"

for n in $(seq 1 "$NODES"); do
  "$CHATD" -addr "127.0.0.1:$((8000 + n))" -data "$DATA/node$n" -store postgres -postgres "$PG_URL" \
    -cluster chat -cluster-addr "127.0.0.1:$((9000 + n))" -etcd "127.0.0.1:$ETCD_PORT" ${CHATD_ARGS:-} \
    >"$DATA/logs/node$n.log" 2>&1 &
  pids+=($!)
  echo "cluster: node $n on http://127.0.0.1:$((8000 + n)) (log in $DATA/logs/node$n.log)"
done
servers=$(seq -s, -f 'ws://127.0.0.1:%g/chat' 8001 "$((8000 + NODES))")
echo "cluster: up; chat with: bin/chat -user NAME -server $servers"
echo "cluster: Ctrl-C stops it"
wait -n "${pids[@]}" || true
echo "cluster: a process exited; see $DATA/logs"
