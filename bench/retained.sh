#!/usr/bin/env bash
# What a long history costs throughput (issue 12's target: jobs/s with 1M
# retained jobs ≥ 0.9× an empty server). Builds conveyor and bench/load,
# fills a `conveyor serve` with RETAINED is_prime jobs (100 per
# POST /v1/jobs/batch), then, REPS times in turn, restarts it on that data
# dir and on an empty one and measures e2e-lean jobs/s (JOBS jobs, 32
# clients) and the server's VmRSS before the load.
#
#   RETAINED=1000000 REPS=2 bench/retained.sh
#
# Everything listens on 127.0.0.1:18195 and is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
RETAINED=${RETAINED:-1000000}
JOBS=${JOBS:-50000}
REPS=${REPS:-2}
PORT=${PORT:-18195}
WORK=$(mktemp -d /tmp/conveyor-retained.XXXXXX)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
go build -o "$WORK/conveyor" ./cmd/conveyor
go build -o "$WORK/load" ./bench/load
LOAD=("$WORK/load" -server "http://127.0.0.1:$PORT")

start() { # start DATA_DIR
  printf 'http: {addr: "127.0.0.1:%s"}\ndata_dir: %s\nalgorithms:\n  - {kind: go, workers: {max: 8}}\n' "$PORT" "$1" >"$1.yaml"
  "$WORK/conveyor" serve --config "$1.yaml" 2>"$1.log" &
  PID=$!
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return; sleep 0.1; done
  echo "serve did not get ready: $(tail -5 "$1.log")" >&2
  exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
measure() { # measure LABEL
  "${LOAD[@]}" -jobs 1000 -modes e2e-lean >/dev/null 2>&1 # warm up
  local rss
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
  echo "$1 rss_kib=$rss $("${LOAD[@]}" -jobs "$JOBS" -clients 32 -modes e2e-lean 2>/dev/null | tr ' ' '\n' | grep e2e_lean_jobs_per_s)"
}

start "$WORK/full"
"${LOAD[@]}" -jobs "$RETAINED" -clients 16 -batch 100 -modes e2e-batch 2>/dev/null | tr ' ' '\n' | grep e2e_batch_jobs_per_s
sleep 10 # archived
stop
for r in $(seq 1 "$REPS"); do
  start "$WORK/full"
  measure "run=$r retained=$RETAINED"
  stop
  mkdir -p "$WORK/empty$r"
  start "$WORK/empty$r/data"
  measure "run=$r retained=0"
  stop
done
