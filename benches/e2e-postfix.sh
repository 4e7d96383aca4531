#!/usr/bin/env bash
# End to end, as issue #5 asks: smtp-source -> {Postfix, tern} -> smtp-sink (both tools
# from the postfix package), ROUNDS interleaved rounds in one run, then tern's
# delivery-only rate: a queue pre-filled with DRAIN messages drained into smtp-sink.
#
#   benches/e2e-postfix.sh                      # N=20000 per round, 3 rounds, DRAIN=100000
#   N=5000 ROUNDS=1 DRAIN=10000 benches/e2e-postfix.sh   # quick check
#   TERN_CORES=1 benches/e2e-postfix.sh          # tern on one core (default: one per CPU)
#   SOURCE=tern-loadtest benches/e2e-postfix.sh  # the same 50 lock-step sessions from
#                                                # tern-loadtest (one thread) instead
#
# Accepted rate is timed on smtp-source; end to end until smtp-sink has counted N
# messages (-M N makes it exit then), as in /work/shared/PEER-BENCHMARK.md, with its
# smtp-source command (-N: a new recipient per message, so Postfix's address-rewrite
# caches do not hit every time). Each round also runs the same load straight from
# smtp-source into smtp-sink ("direct"): what the two tools reach on this machine with
# nothing between them, for scale (a relay in between shares the CPUs with both). tern runs its
# embedded defaults plus a smarthost route to the sink (delivery concurrency as shipped).
# Needs root (apt-get, the throw-away Postfix). Loopback only; every step is bounded by a
# message count and `timeout`; the processes started here are stopped by pid at exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-20000} ROUNDS=${ROUNDS:-3} DRAIN=${DRAIN:-100000} SOURCE=${SOURCE:-smtp-source}
TERN=$ROOT/target/release/tern
LT=$ROOT/target/release/tern-loadtest
PF_PORT=10035 SINK_PORT=10036 TERN_PORT=10037 HOLE_PORT=10038
WORK=$(mktemp -d /tmp/tern-e2e.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  echo "== work files kept in $WORK" >&2
}
trap cleanup EXIT

# shellcheck source=benches/postfix-instance.sh
source "$ROOT/benches/postfix-instance.sh"
postfix_install
(cd "$ROOT" && cargo build --release -q -p tern -p tern-loadtest)

cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / hz }' "/proc/$1/stat"; }
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }

# e2e PORT -> "accepted_rate e2e_rate delivered tools_cpu_us_per_msg"
e2e() {
  smtp-sink -u nobody -M "$N" "127.0.0.1:$SINK_PORT" 1024 >/dev/null 2>&1 &
  local sink=$!; PIDS+=("$sink"); sleep 0.3
  local t0 t1 t2 src done_file=$WORK/sink-done.$BASHPID
  rm -f "$done_file"
  t0=$(now)
  # The end to end time is when smtp-sink has counted N and exited, taken by a watcher:
  # in the direct leg smtp-sink exits before answering the last message, and smtp-source
  # then reports a lost connection and sleeps a second before it exits (as Postfix
  # programs do after a fatal error), which must not count.
  (timeout 120 tail --pid="$sink" -s 0.01 -f /dev/null && now >"$done_file") &
  local watcher=$!
  if [[ $SOURCE == smtp-source ]]; then
    timeout 120 smtp-source -4 -d -s 50 -m "$N" -l 1024 -N -f bench@example.org \
      -t rcpt@example.com -M client.example.org "127.0.0.1:$1" >/dev/null 2>&1 &
  else # the same load from tern-loadtest: 50 lock-step sessions on one thread
    timeout 120 "$LT" send --target "127.0.0.1:$1" --connections 50 --messages "$N" \
      --size 1KB --from bench@example.org --to 'rcpt{n}@example.com' --threads 1 \
      --allow-errors >/dev/null 2>&1 &
  fi
  src=$!
  wait "$src" || true
  t1=$(now)
  local done=$N
  wait "$watcher" || true
  if [[ -s $done_file ]]; then
    t2=$(<"$done_file")
  else
    done=incomplete t2=$(now)
    kill "$sink" 2>/dev/null || true
  fi
  wait "$sink" 2>/dev/null || true
  # The direct leg's source ends with that one-second sleep: its accepted rate is the
  # sink's count over the sink's time.
  [[ $1 == "$SINK_PORT" ]] && t1=$t2
  # The load tools' CPU: `times` reports this shell's reaped children (each e2e call runs
  # in a subshell of its own); it must run here, not in a command substitution, which
  # would be a new subshell without them, hence the file.
  local times_file=$WORK/times.$BASHPID tools
  times >"$times_file"
  tools=$(awk -v n="$N" 'NR == 2 { split($1, u, "m"); split($2, s, "m")
    printf "%.0f", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1e6 / n }' "$times_file")
  echo "$(rate "$N" "$t0" "$t1") $(rate "$N" "$t0" "$t2") $done $tools"
}

tern_config() { # DATA_DIR SMARTHOST_PORT
  cat <<TOML
[server]
data_dir = "$1"
${TERN_CORES:+cores = $TERN_CORES}

[[listener]]
address = "127.0.0.1:$TERN_PORT"

[limits]
max_connections_per_ip = 1000

[[route]]
domains = ["*"]
smarthost = ["127.0.0.1:$2"]
TOML
}

postfix_start "$WORK" "$PF_PORT" "$SINK_PORT"; PIDS+=("$PF_PID")
mkdir -p "$WORK/tern"
tern_config "$WORK/tern" "$SINK_PORT" >"$WORK/tern.toml"
"$TERN" serve --config "$WORK/tern.toml" >"$WORK/tern.log" 2>&1 &
TERN_PID=$!; PIDS+=("$TERN_PID"); sleep 1

printf '%-6s %-8s %12s %12s %10s %14s %15s\n' round server 'accept/s' 'e2e msg/s' delivered \
  'tern cpu us/msg' 'tools cpu us/msg'
PF_SUM=0 TERN_SUM=0 DIRECT_SUM=0
for r in $(seq 1 "$ROUNDS"); do
  read -r a e d u < <(e2e "$PF_PORT")
  printf '%-6s %-8s %12s %12s %10s %14s %15s\n' "$r" postfix "$a" "$e" "$d" - "$u"
  PF_SUM=$((PF_SUM + e))
  c0=$(cpu_of "$TERN_PID")
  read -r a e d u < <(e2e "$TERN_PORT")
  c1=$(cpu_of "$TERN_PID")
  printf '%-6s %-8s %12s %12s %10s %14s %15s\n' "$r" tern "$a" "$e" "$d" \
    "$(awk -v a="$c0" -v b="$c1" -v n="$N" 'BEGIN { printf "%.0f", (b - a) * 1e6 / n }')" "$u"
  TERN_SUM=$((TERN_SUM + e))
  # For scale: the same load straight from the source into smtp-sink, no relay between.
  read -r a e d u < <(e2e "$SINK_PORT")
  printf '%-6s %-8s %12s %12s %10s %14s %15s\n' "$r" direct "$a" "$e" "$d" - "$u"
  DIRECT_SUM=$((DIRECT_SUM + e))
done
kill "$PF_PID" "$TERN_PID" 2>/dev/null || true
wait "$TERN_PID" 2>/dev/null || true
awk -v t="$TERN_SUM" -v p="$PF_SUM" -v d="$DIRECT_SUM" -v src="$SOURCE" 'BEGIN {
  printf "end to end, mean of rounds: tern/postfix = %.1fx; tern reaches %.0f %% of direct\n", t / p, 100 * t / d
  printf "(direct = %s straight into smtp-sink: 20x postfix would be %.0f %% of it)\n", src, 2000 * p / d
}'

# Delivery only: fill while the hop accepts connections and never answers (nothing is
# attempted to completion, so nothing is deferred), kill -9, restart routed to the sink.
echo "delivery only: pre-filling $DRAIN messages"
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1024); s.settimeout(1)
held, end = [], time.time() + 600
while time.time() < end:
    try: held.append(s.accept()[0])
    except socket.timeout: pass
' "$HOLE_PORT" &
HOLE=$!; PIDS+=("$HOLE")
mkdir -p "$WORK/drain"
tern_config "$WORK/drain" "$HOLE_PORT" >"$WORK/fill.toml"
tern_config "$WORK/drain" "$SINK_PORT" >"$WORK/drain.toml"
"$TERN" serve --config "$WORK/fill.toml" >"$WORK/fill.log" 2>&1 &
FILL=$!; PIDS+=("$FILL"); sleep 1
timeout 300 "$LT" send --target "127.0.0.1:$TERN_PORT" --connections 50 --messages "$DRAIN" \
  --size 1KB --pipelining >/dev/null
kill -9 "$FILL"; wait "$FILL" 2>/dev/null || true; kill "$HOLE" 2>/dev/null || true
smtp-sink -u nobody -M "$DRAIN" "127.0.0.1:$SINK_PORT" 1024 >/dev/null 2>&1 &
SINK=$!; PIDS+=("$SINK"); sleep 0.3
t0=$(now)
"$TERN" serve --config "$WORK/drain.toml" >"$WORK/drain.log" 2>&1 &
DRAINER=$!; PIDS+=("$DRAINER")
done=$DRAIN
timeout 300 tail --pid="$SINK" -s 0.01 -f /dev/null || done=incomplete
t1=$(now)
cpu=$(cpu_of "$DRAINER")
kill "$DRAINER" 2>/dev/null || true
echo "drained $done of $DRAIN queued messages: $(rate "$DRAIN" "$t0" "$t1") msgs/s (restart and recovery included), tern CPU $(awk -v c="$cpu" -v n="$DRAIN" 'BEGIN { printf "%.0f", c * 1e6 / n }') us/msg"
