#!/usr/bin/env bash
# tern vs Postfix, same machine, same run, both load generators (smtp-source and
# tern-loadtest), relaying into a tern-loadtest sink. See /work/shared/PEER-BENCHMARK.md
# (docs/benchmarks.md) for how the peer is tuned; Postfix swings about +-25 % between
# identical runs, so only ratios measured in one run mean anything.
#
#   benches/compare-postfix.sh            # build (release), run everything, print a table
#   SKIP_TERN=1 benches/compare-postfix.sh  # the Postfix side only
#   SCALE=0.2 benches/compare-postfix.sh    # fewer messages per run (quick check)
#
# Needs root for apt-get (Postfix is installed if missing) and for the throw-away Postfix
# instance, which runs from its own config/queue/data directories under a temp dir and is
# stopped at exit; the system Postfix is never started. Loopback only. Every run is bounded
# by a message count and `timeout`; the whole script stays under ~10 minutes.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCALE=${SCALE:-1}
LT=$ROOT/target/release/tern-loadtest
TERN=$ROOT/target/release/tern
PF_PORT=10025 SINK_PORT=10026 TERN_PORT=10027
WORK=$(mktemp -d /tmp/tern-vs-postfix.XXXXXX)
RESULTS=$WORK/results.tsv
PIDS=()

log() { echo "== $*" >&2; }
n_of() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print (v < 50 ? 50 : v) }'; }

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  log "work files kept in $WORK"
}
trap cleanup EXIT

# --- prerequisites ------------------------------------------------------------------
# shellcheck source=benches/postfix-instance.sh
source "$ROOT/benches/postfix-instance.sh"
postfix_install
log "building tern-loadtest (release)"
(cd "$ROOT" && cargo build --release -q -p tern-loadtest)
HAVE_TERN=0
if [[ -z ${SKIP_TERN:-} ]]; then
  if (cd "$ROOT" && cargo build --release -q -p tern 2>"$WORK/tern-build.log"); then
    HAVE_TERN=1
  else
    log "tern did not build (see $WORK/tern-build.log): Postfix side only"
  fi
fi

# --- helpers --------------------------------------------------------------------------
# CPU seconds (user+sys, children included) of a process tree: root pid's descendants.
tree_cpu() {
  local pids; pids=$(ps -e -o pid=,ppid= | awk -v r="$1" '
    { p[$1] = $2 } END { for (x in p) { y = x; while (y in p && y != r && y > 1) y = p[y]; if (y == r) print x } }')
  local hz; hz=$(getconf CLK_TCK)
  for p in $pids; do cat "/proc/$p/stat" 2>/dev/null || true; done |
    awk -v hz="$hz" '{ sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15 } END { printf "%.3f\n", t / hz }'
}

start_sink() { # $1 = messages to wait for
  "$LT" sink --listen "127.0.0.1:$SINK_PORT" --exit-after "$1" --duration 30s \
    --json "$WORK/sink.json" >/dev/null 2>&1 &
  SINK_PID=$!; PIDS+=("$SINK_PID"); sleep 0.3
}

json_num() { grep -o "\"$2\": [0-9.]*" "$1" | head -1 | awk '{print $2}'; }
json_lat() { # file histogram quantile -> value in ms
  python3 -c "import json,sys; d=json.load(open('$1')); print('%.2f' % (d['latency_us']['$2']['$3']/1000))"
}

# run SERVER GENERATOR LABEL PORT SERVER_PID SESSIONS SIZE MESSAGES
run_one() {
  local server=$1 gen=$2 label=$3 port=$4 spid=$5 s=$6 size=$7 m=$8
  start_sink "$m"
  local c0 c1 t0 t1 rate p50=- p99=- e2e
  c0=$(tree_cpu "$spid"); t0=$(date +%s.%N)
  if [[ $gen == smtp-source ]]; then
    timeout 120 smtp-source -4 -d -s "$s" -m "$m" -l "$size" -N -f bench@example.org \
      -t rcpt@example.com -M client.example.org "127.0.0.1:$port" >/dev/null 2>&1 || true
    t1=$(date +%s.%N); rate=$(awk -v m="$m" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", m / (b - a) }')
  else
    timeout 120 "$LT" send --target "127.0.0.1:$port" --connections "$s" --messages "$m" \
      --size "${size}B" --pipelining --allow-errors --json "$WORK/send.json" >/dev/null 2>&1 || true
    t1=$(date +%s.%N)
    rate=$(printf '%.0f' "$(json_num "$WORK/send.json" msgs_per_s)")
    p50=$(json_lat "$WORK/send.json" data_end p50); p99=$(json_lat "$WORK/send.json" data_end p99)
  fi
  # End to end: until the sink has counted every message (or its 30 s cap).
  timeout 40 tail --pid="$SINK_PID" -s 0.01 -f /dev/null || true
  local t2; t2=$(date +%s.%N); c1=$(tree_cpu "$spid")
  local got; got=$(json_num "$WORK/sink.json" messages || echo 0)
  e2e=$(awk -v m="${got:-0}" -v a="$t0" -v b="$t2" 'BEGIN { printf "%.0f", m / (b - a) }')
  local cpu; cpu=$(awk -v a="$c0" -v b="$c1" -v m="$m" 'BEGIN { printf "%.2f", (b - a) / m * 1000 }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$gen" "$server" "$rate" "$p50" "$p99" "$cpu" "$e2e" | tee -a "$RESULTS" >&2
}

workloads() { # SERVER PORT PID
  local gen
  for gen in smtp-source tern-loadtest; do
    for s in 1 10 50 200; do run_one "$1" "$gen" "1KiB x$s" "$2" "$3" "$s" 1024 "$(n_of 2000)"; done
    run_one "$1" "$gen" "100KiB x10" "$2" "$3" 10 102400 "$(n_of 400)"
  done
}

# --- Postfix --------------------------------------------------------------------------
log "starting a throw-away Postfix in $WORK/pf"
postfix_start "$WORK" "$PF_PORT" "$SINK_PORT"
PIDS+=("$PF_PID")
workloads postfix "$PF_PORT" "$PF_PID"
kill "$PF_PID" 2>/dev/null || true; sleep 1

# --- tern -----------------------------------------------------------------------------
if [[ $HAVE_TERN == 1 ]]; then
  mkdir -p "$WORK/tern/data"
  cat >"$WORK/tern/tern.toml" <<EOF
[server]
data_dir = "$WORK/tern/data"

[[listener]]
address = "127.0.0.1:$TERN_PORT"

[relay]
trusted_networks = ["127.0.0.0/8"]

[limits]
max_connections_per_ip = 1000

# Everything to the sink, like Postfix's relayhost.
[[route]]
domains = ["*"]
smarthost = ["127.0.0.1:$SINK_PORT"]
EOF
  "$TERN" serve --config "$WORK/tern/tern.toml" >"$WORK/tern/out.log" 2>&1 &
  TERN_PID=$!; PIDS+=("$TERN_PID"); sleep 1
  if kill -0 "$TERN_PID" 2>/dev/null; then
    workloads tern "$TERN_PORT" "$TERN_PID"
    kill "$TERN_PID" 2>/dev/null || true
  else
    log "tern serve did not start (the config keys may have changed; see $WORK/tern/out.log):"
    sed 's/^/   /' "$WORK/tern/out.log" >&2 || true
  fi
fi

# --- the table ------------------------------------------------------------------------
echo
printf '%-12s %-14s %-8s %9s %9s %9s %11s %9s\n' workload generator server 'msg/s' 'p50 ms' 'p99 ms' 'cpu s/1k' 'e2e msg/s'
sort -t$'\t' -k1,1 -k2,2 -k3,3 "$RESULTS" | while IFS=$'\t' read -r w g s r p50 p99 c e; do
  printf '%-12s %-14s %-8s %9s %9s %9s %11s %9s\n' "$w" "$g" "$s" "$r" "$p50" "$p99" "$c" "$e"
done
echo
echo "ratios tern/postfix (msg/s, cpu per 1k):"
awk -F'\t' '{ k = $1 "\t" $2; if ($3 == "tern") { tr[k] = $4; tc[k] = $7 } else { pr[k] = $4; pc[k] = $7 } }
  END { for (k in pr) if (k in tr) printf "  %-28s %6.2fx  %6.2fx\n", k, tr[k] / pr[k], tc[k] / pc[k] }' "$RESULTS" | sort
echo "(p50/p99: end of data to the 250, the durable accept latency, from tern-loadtest only)"
