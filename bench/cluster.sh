#!/usr/bin/env bash
# Jobs/s through a cluster against one `conveyor serve`, on the same
# machine, in one run (these machines are shared: compare ratios).
#
#   bench/cluster.sh                 # serve, split, cluster; REPS=2 JOBS=5000 by default
#   bench/cluster.sh cluster         # just the cluster
#
# serve: one process, embedded broker, workers.max 8 for is_prime.
# cluster: 3 `conveyor broker` nodes (nats.replicas 3), 2 gateways and 2
# runners (workers.max 8 each), loaded through both gateways in turn.
# split: one `conveyor broker`, one gateway, one runner (workers.max 8):
# the cost of separate processes over TCP, without replication.
# bench/load's e2e mode: JOBS is_prime (n = 7) jobs from 32 clients, each
# awaited. Everything listens on 127.0.0.1 and is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-2}
JOBS=${JOBS:-5000}
WORK=$(mktemp -d /tmp/conveyor-cluster.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
go build -o "$WORK/conveyor" ./cmd/conveyor
go build -o "$WORK/load" ./bench/load
C="$WORK/conveyor"

ready() { for _ in $(seq 1 300); do curl -sf "$1/readyz" >/dev/null && return; sleep 0.1; done; echo "not ready: $1" >&2; exit 1; }
stop() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; PIDS=(); }
load() {
  "$WORK/load" -server "$1" -jobs 1000 -modes e2e >/dev/null 2>&1   # warm-up
  echo "# $2 run $r load1=$(cut -d' ' -f1 /proc/loadavg)"
  "$WORK/load" -server "$1" -jobs "$JOBS" -clients 32 -modes e2e
}

serve() {
  rm -rf "$WORK/data"
  CONVEYOR_HTTP_ADDR=127.0.0.1:18180 CONVEYOR_DATA_DIR="$WORK/data" CONVEYOR_ALGORITHMS='[{kind: go, workers: {max: 8}}]' \
    "$C" serve 2> "$WORK/serve.log" & PIDS+=($!)
  ready http://127.0.0.1:18180
  load http://127.0.0.1:18180 serve
  stop
}

cluster() {
  rm -rf "$WORK"/n?
  local routes=nats://127.0.0.1:16222,nats://127.0.0.1:16223,nats://127.0.0.1:16224
  for i in 1 2 3; do
    "$C" broker --name n$i --listen 127.0.0.1:1422$((i+1)) --cluster 127.0.0.1:1622$((i+1)) --routes $routes \
      --data-dir "$WORK/n$i" 2> "$WORK/n$i.log" & PIDS+=($!)
  done
  export CONVEYOR_NATS_URL=nats://127.0.0.1:14222,nats://127.0.0.1:14223,nats://127.0.0.1:14224 CONVEYOR_NATS_REPLICAS=3
  CONVEYOR_HTTP_ADDR=127.0.0.1:18181 "$C" gateway 2> "$WORK/g1.log" & PIDS+=($!)
  CONVEYOR_HTTP_ADDR=127.0.0.1:18182 "$C" gateway 2> "$WORK/g2.log" & PIDS+=($!)
  for i in 1 2; do CONVEYOR_ALGORITHMS='[{kind: go, workers: {max: 8}}]' "$C" runner 2> "$WORK/r$i.log" & PIDS+=($!); done
  ready http://127.0.0.1:18181; ready http://127.0.0.1:18182
  until curl -s http://127.0.0.1:18181/v1/runners | grep -o '"id"' | wc -l | grep -q 2; do sleep 0.1; done
  load http://127.0.0.1:18181,http://127.0.0.1:18182 cluster
  stop
  unset CONVEYOR_NATS_URL CONVEYOR_NATS_REPLICAS
}

split() {
  rm -rf "$WORK/n1"
  "$C" broker --listen 127.0.0.1:14222 --data-dir "$WORK/n1" 2> "$WORK/n1.log" & PIDS+=($!)
  export CONVEYOR_NATS_URL=nats://127.0.0.1:14222
  CONVEYOR_HTTP_ADDR=127.0.0.1:18181 "$C" gateway 2> "$WORK/g1.log" & PIDS+=($!)
  CONVEYOR_ALGORITHMS='[{kind: go, workers: {max: 8}}]' "$C" runner 2> "$WORK/r1.log" & PIDS+=($!)
  ready http://127.0.0.1:18181
  until curl -s http://127.0.0.1:18181/v1/runners | grep -q '"id"'; do sleep 0.1; done
  load http://127.0.0.1:18181 split
  stop
  unset CONVEYOR_NATS_URL
}

SETS=("$@")
[ ${#SETS[@]} -gt 0 ] || SETS=(serve split cluster)
for r in $(seq 1 "$REPS"); do for set in "${SETS[@]}"; do "$set"; done; done
