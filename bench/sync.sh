#!/usr/bin/env bash
# The synchronous path against the bare Go net/http server of ../shared/peers
# (is_prime computed in its handler), on the W1 workload, in one run: wrk
# -t2 -c8, a 2 s warm-up, then RUNS (3) × DURATION (10s), medians. Both for
# n = 32416190071 (≈ 0.45 ms of trial division) and n = 7 (trivial).
#
#   bench/sync.sh            # needs wrk (apt-get install -y wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
PEERS=${PEERS:-../shared/peers}
TMP=$(mktemp -d /tmp/conveyor-sync.XXXXXX)
cp -r "$PEERS" "$TMP/peers" && chmod -R u+w "$TMP/peers"
export WORK=$TMP/work
source "$TMP/peers/python-and-http/lib.sh"   # w1_measure, start_bg; stops what it started on exit
go build -o "$TMP/conveyor" ./cmd/conveyor
build_go

PORT=18030 CPORT=18181
need_free_port $PORT; need_free_port $CPORT
start_bg "$WORK/go_prime.log" "$GOBIN" prime -addr "127.0.0.1:$PORT"
wait_port $PORT
w1_measure go-nethttp-prime "http://127.0.0.1:$PORT/is_prime?possible_prime=32416190071"
w1_measure go-nethttp-7 "http://127.0.0.1:$PORT/is_prime?possible_prime=7"
stop_all

printf 'http: {addr: "127.0.0.1:%s"}\ndata_dir: %s/data\nalgorithms: [{kind: go}]\n' $CPORT "$TMP" > "$TMP/conveyor.yaml"
start_bg "$WORK/conveyor.log" "$TMP/conveyor" serve --config "$TMP/conveyor.yaml"
wait_port $CPORT
w1_measure conveyor-sync-prime "http://127.0.0.1:$CPORT/v1/algorithms/is_prime/run?n=32416190071"
w1_measure conveyor-sync-7 "http://127.0.0.1:$CPORT/v1/algorithms/is_prime/run?n=7"
stop_all
rm -rf "$TMP"
