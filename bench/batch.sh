#!/usr/bin/env bash
# Adaptive batching (issue 16): the same model call — 5 ms + 0.1 ms per
# input — served one input per call (cost_one) and with
# @conveyor.batch(max_size=32, max_wait=0.01) (cost_batch), each on one
# worker process, in one run of `conveyor serve` so the figures compare.
#
#   bench/batch.sh                      # JOBS=4000 per mode, REPS=1
#   REPS=3 JOBS=8000 bench/batch.sh
#
# For each algorithm, bench/load submits JOBS jobs over HTTP from 32
# clients as fast as they go (e2e: throughput), then at a fixed rate of
# RATE jobs/s (latency: created → finished, p50 and p99, server clock).
# RATE defaults to 150 jobs/s, below what one unbatched process can serve
# (about 190/s), and HIGH (default 400/s) is above it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
REPS=${REPS:-1}
JOBS=${JOBS:-4000}
RATE=${RATE:-150}
HIGH=${HIGH:-400}
PY=${PYTHON:-python3}
WORK=$(mktemp -d /tmp/conveyor-batch.XXXXXX)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

go build -o "$WORK/conveyor" ./cmd/conveyor
go build -o "$WORK/load" ./bench/load
addr=127.0.0.1:18190
cat > "$WORK/bench.yaml" <<YAML
http: {addr: "$addr"}
data_dir: $WORK/data
algorithms:
  - {name: cost_one, kind: worker, command: [$PY, -m, conveyor.worker, costmod], dir: $PWD/bench/batch, workers: {min: 1, max: 1}}
  - {name: cost_batch, kind: worker, command: [$PY, -m, conveyor.worker, costmod], dir: $PWD/bench/batch, workers: {min: 1, max: 1}}
YAML

metric() { curl -sf "http://$addr/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

for r in $(seq 1 "$REPS"); do
  rm -rf "$WORK/data"
  "$WORK/conveyor" serve --config "$WORK/bench.yaml" 2> "$WORK/serve.log" &
  PID=$!
  for _ in $(seq 1 100); do curl -sf "http://$addr/readyz" >/dev/null && break; sleep 0.1; done
  echo "# run $r load1=$(cut -d' ' -f1 /proc/loadavg)"
  for alg in cost_one cost_batch; do
    jobs=$JOBS
    [ "$alg" = cost_one ] && jobs=$((JOBS / 4)) # one job per 5 ms: keep the run short
    "$WORK/load" -server "http://$addr" -algorithm "$alg" -jobs 200 -modes e2e >/dev/null 2>&1 # warm-up
    echo "algorithm=$alg mode=throughput $("$WORK/load" -server "http://$addr" -algorithm "$alg" -jobs "$jobs" -clients 32 -modes e2e 2>/dev/null | tr ' ' '\n' | grep -E 'jobs_per_s|latency|succeeded' | tr '\n' ' ')"
    for rate in "$RATE" "$HIGH"; do
      n=$((rate * 8)) # 8 s of load
      echo "algorithm=$alg mode=rate rate=$rate $("$WORK/load" -server "http://$addr" -algorithm "$alg" -jobs "$n" -clients 32 -rate "$rate" -modes e2e 2>/dev/null | tr ' ' '\n' | grep -E 'jobs_per_s|latency|succeeded' | tr '\n' ' ')"
    done
  done
  echo "# batch sizes of cost_batch: $(metric 'conveyor_batch_size_count{algorithm="cost_batch"}') batches, mean $(awk "BEGIN {printf \"%.1f\", $(metric 'conveyor_batch_size_sum{algorithm="cost_batch"}') / $(metric 'conveyor_batch_size_count{algorithm="cost_batch"}')}")"
  kill "$PID"; wait "$PID" 2>/dev/null || true
  PID=
done
