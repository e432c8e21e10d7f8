#!/usr/bin/env bash
# Faster dispatch (issue 16): no-op Python jobs on 2 worker processes of one
# `conveyor serve`, loaded over HTTP by 32 clients, against Celery prefork
# with 2 processes on Redis (../shared/peers, w2_celery.sh), in one run.
#
#   bench/prefetch.sh                    # JOBS=10000, REPS=3, then Celery
#   PREFETCH="0 default 4" bench/prefetch.sh   # entries with these prefetch
#   SETS=conveyor bench/prefetch.sh      # Conveyor alone
#   BIN=/tmp/conveyor-old bench/prefetch.sh   # that binary, not this tree's
#
# PREFETCH lists the entry's `prefetch:` settings to measure, in turn
# (default "default 4": one job in hand per slot, and Celery's own
# default prefetch multiplier of 4, which the peer runs with).
#
# Conveyor: bench/load's e2e (Go's HTTP client) and e2e-lean (a minimal
# keep-alive client) modes, 32 clients, JOBS jobs each, after a warm-up;
# jobs/s = jobs / (first submit … last finished_at). Celery: its peer
# script, N = JOBS no-op tasks enqueued with .delay() while the worker
# runs, until all results exist. Both use /usr/bin/python3 (Debian's; the
# peer's packages live there). Prints the medians and their ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
REPS=${REPS:-3}
JOBS=${JOBS:-10000}
PY=${PYTHON:-/usr/bin/python3}
PEERS=${PEERS:-../shared/peers}
SETS=${SETS:-conveyor celery}
PREFETCH=${PREFETCH:-default 4}
WORK=$(mktemp -d /tmp/conveyor-prefetch.XXXXXX)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
median() { sort -g | awk '{a[NR]=$1} END{ if (NR==0) print "nan"; else print a[int((NR+1)/2)] }'; }
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }

declare -A e2e lean
conveyor() {
  if [ -n "${BIN:-}" ]; then cp "$BIN" "$WORK/conveyor"; else go build -o "$WORK/conveyor" ./cmd/conveyor; fi
  go build -o "$WORK/load" ./bench/load
  for pf in $PREFETCH; do conveyor_with "$pf"; done
}

conveyor_with() {
  local pf=$1 addr=127.0.0.1:18195 extra=""
  [ "$pf" != default ] && extra=", prefetch: $pf"
  cat > "$WORK/bench.yaml" <<YAML
http: {addr: "$addr"}
data_dir: $WORK/data
algorithms:
  - {name: noop, kind: worker, command: [$PY, -m, conveyor.worker, noopmod], dir: $PWD/bench/prefetch, workers: {min: 2, max: 2}$extra}
YAML
  for r in $(seq 1 "$REPS"); do
    rm -rf "$WORK/data"
    "$WORK/conveyor" serve --config "$WORK/bench.yaml" 2> "$WORK/serve.log" &
    PID=$!
    for _ in $(seq 1 100); do curl -sf "http://$addr/readyz" >/dev/null && break; sleep 0.1; done
    "$WORK/load" -server "http://$addr" -algorithm noop -jobs 1000 -modes e2e >/dev/null 2>&1 # warm-up
    local out
    out=$("$WORK/load" -server "http://$addr" -algorithm noop -jobs "$JOBS" -clients 32 -modes e2e,e2e-lean 2>/dev/null)
    local a b
    a=$(echo "$out" | field e2e_jobs_per_s) b=$(echo "$out" | field e2e_lean_jobs_per_s)
    e2e[$pf]+="$a " lean[$pf]+="$b "
    echo "# conveyor prefetch=$pf run $r load1=$(cut -d' ' -f1 /proc/loadavg): e2e=$a e2e-lean=$b jobs/s ($(echo "$out" | tr ' ' '\n' | grep -E 'succeeded' | tr '\n' ' '))"
    kill "$PID"; wait "$PID" 2>/dev/null || true
    PID=
  done
}

celery_rate=
celery() {
  "$PY" -c 'import celery, redis' 2>/dev/null || { echo "# celery: apt-get install -y redis-server python3-celery python3-redis"; return; }
  cp -r "$PEERS" "$WORK/peers"; chmod -R u+w "$WORK/peers"
  local out
  out=$(cd "$WORK/peers/python-and-http" && RUNS=$REPS N=$JOBS PY=$PY WORK="$WORK/celery" ./w2_celery.sh 2>/dev/null)
  echo "# $out"
  celery_rate=$(echo "$out" | field e2e_jobs_per_s)
}

for set in $SETS; do "$set"; done
for pf in $PREFETCH; do
  [ -n "${e2e[$pf]:-}" ] || continue
  m_e2e=$(printf '%s\n' ${e2e[$pf]} | median) m_lean=$(printf '%s\n' ${lean[$pf]} | median)
  line="prefetch=$pf conveyor_e2e_jobs_per_s=$m_e2e conveyor_e2e_lean_jobs_per_s=$m_lean celery_prefork2_jobs_per_s=${celery_rate:-nan}"
  if [ -n "$celery_rate" ]; then
    line+=" ratio_e2e=$(awk "BEGIN {printf \"%.2f\", $m_e2e / $celery_rate}") ratio_e2e_lean=$(awk "BEGIN {printf \"%.2f\", $m_lean / $celery_rate}")"
  fi
  echo "$line jobs=$JOBS reps=$REPS"
done
