#!/usr/bin/env bash
# Measure Conveyor and its peers on the durable-jobs workload (W2), one after
# the other in one run, so the figures compare (these machines are shared).
#
#   bench/compare.sh                 # conveyor, asynq (Redis AOF everysec), celery
#   REPS=3 bench/compare.sh conveyor # just conveyor, three times
#
# Conveyor: `conveyor serve` (embedded broker, fsync every 1s) with workers.max
# 8 for is_prime — the concurrency the Asynq peer runs with — loaded by
# bench/load: 10,000 is_prime (n = 7) jobs over HTTP from 32 clients.
# Peers: the scripts in ../shared/peers (copied to a temp dir: that one is
# read-only). Needs redis-server, python3-celery and python3-redis from
# Debian's packages for the peers. Everything listens on 127.0.0.1 and is
# stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
REPS=${REPS:-1}
JOBS=${JOBS:-10000}
PEERS=${PEERS:-../shared/peers}
WORK=$(mktemp -d /tmp/conveyor-compare.XXXXXX)
SETS=("$@")
[ ${#SETS[@]} -gt 0 ] || SETS=(conveyor asynq celery)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -x "$WORK/peers/asynq-river/stop-redis.sh" ] && (cd "$WORK/peers/asynq-river" && ./stop-redis.sh >/dev/null 2>&1 || true)
  rm -rf "$WORK"
}
trap cleanup EXIT

conveyor() {
  go build -o "$WORK/conveyor" ./cmd/conveyor
  go build -o "$WORK/load" ./bench/load
  local addr=127.0.0.1:18180
  printf 'http: {addr: "%s"}\ndata_dir: %s/data\nalgorithms:\n  - {kind: go, workers: {max: 8}}\n' "$addr" "$WORK" > "$WORK/bench.yaml"
  for r in $(seq 1 "$REPS"); do
    rm -rf "$WORK/data"
    "$WORK/conveyor" serve --config "$WORK/bench.yaml" 2> "$WORK/serve.log" &
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 1 100); do curl -sf "http://$addr/readyz" >/dev/null && break; sleep 0.1; done
    "$WORK/load" -server "http://$addr" -jobs 1000 -modes e2e >/dev/null 2>&1   # warm-up
    echo "# conveyor run $r load1=$(cut -d' ' -f1 /proc/loadavg)"
    "$WORK/load" -server "http://$addr" -jobs "$JOBS" -clients 32 -latn 200 -modes e2e,e2e-lean,e2e-batch,e2e-wait,latency
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
}

peers_copy() {
  [ -d "$WORK/peers" ] || { cp -r "$PEERS" "$WORK/peers"; chmod -R u+w "$WORK/peers"; }
}

asynq() {
  command -v redis-server >/dev/null || { echo "# asynq: redis-server missing (apt-get install -y redis-server)"; return; }
  peers_copy
  (cd "$WORK/peers/asynq-river" && go build -o bin/asynqbench ./cmd/asynqbench && ./start-redis.sh aof >/dev/null &&
    for r in $(seq 1 "$REPS"); do
      echo "# asynq run $r load1=$(cut -d' ' -f1 /proc/loadavg)"
      ./bin/asynqbench -persist aof-everysec -latn 10 2>&1 | grep '^system=' | tail -1
    done; ./stop-redis.sh >/dev/null)
}

celery() {
  /usr/bin/python3 -c 'import celery, redis' 2>/dev/null || { echo "# celery: python3-celery/python3-redis missing"; return; }
  peers_copy
  (cd "$WORK/peers/python-and-http" && RUNS=$REPS N=$JOBS WORK="$WORK/celery" ./w2_celery.sh 2>/dev/null)
}

for set in "${SETS[@]}"; do "$set"; done
