#!/usr/bin/env bash
# Compares two switchyard builds on the relay's hot path: both daemons run at once, each with its own mock
# upstream, and the same wrk load (non-stream chat, keep-alive) is sent to one then the other, ROUNDS times.
# Prints each daemon's CPU time per relayed request (from /proc, user + system) and requests per round, then
# the medians and B/A. Alternating in one run makes the ratio hold on a shared, noisy machine.
#
#   scripts/bench-ab.sh BIN_A BIN_B [CONNECTIONS] [SECONDS] [ROUNDS]
#   SERVER_A=hummingbird scripts/bench-ab.sh BIN BIN   # serve --http-server per daemon (SERVER_A, SERVER_B)
#   EXECUTOR_A=pool scripts/bench-ab.sh BIN BIN        # serve --executor per daemon (EXECUTOR_A, EXECUTOR_B)
#   (unset, the flag is not passed: a build from before these flags runs with its defaults)
#   STREAM=1 scripts/bench-ab.sh A B    # streamed chat (SSE through the usage meter) instead of JSON answers
#   STYLE=spaced STREAM=1 scripts/bench-ab.sh A B    # the mock upstreams write their JSON in that style (both builds
#                                                    # must know --style)
#
# Needs wrk (Debian package) and curl; uses loopback ports 18700-18703.
set -euo pipefail
A=$1; B=$2; C=${3:-16}; DUR=${4:-5}; ROUNDS=${5:-5}
for tool in wrk curl python3; do command -v $tool >/dev/null || { echo "missing $tool" >&2; exit 1; }; done
WORK=$(mktemp -d)
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# start NAME BIN PORT SERVER EXECUTOR: a mock upstream on PORT+1 and a daemon on PORT; prints the client key.
start() {
  local name=$1 bin=$2 port=$3 server=$4 executor=$5 dir="$WORK/$1"
  mkdir -p "$dir"
  "$bin" mock-upstream --port $((port + 1)) ${STYLE:+--style "$STYLE"} >"$dir/mock.log" 2>&1 & PIDS+=($!)
  SWITCHYARD_ADMIN_TOKEN=ab-admin "$bin" serve --port "$port" --data-dir "$dir/data" \
    ${server:+--http-server "$server"} ${executor:+--executor "$executor"} \
    --artifacts-dir "$dir/artifacts" --allow-private-upstreams --log-level warning >"$dir/daemon.log" 2>&1 & PIDS+=($!)
  echo $! >"$dir/pid"
  for _ in $(seq 100); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.1; done
  api() { curl -sf -H "Authorization: Bearer ab-admin" -H 'Content-Type: application/json' -d "$2" "localhost:$port$1"; }
  local user key
  user=$(api /api/users '{"name":"ab","quota":1000000000000000,"rate_multiplier":1}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["id"])')
  key=$(api /api/keys "{\"user_id\":$user,\"name\":\"ab\"}" | python3 -c 'import sys,json;print(json.load(sys.stdin)["key"])')
  api /api/channels "{\"name\":\"mock\",\"type\":\"openai\",\"base_url\":\"http://127.0.0.1:$((port + 1))\",\"api_key\":\"sk-ab\",\"models\":[\"gpt-4o-mini\"]}" >/dev/null
  echo "$key" >"$dir/key"
}

start a "$A" 18700 "${SERVER_A:-}" "${EXECUTOR_A:-}"
start b "$B" 18702 "${SERVER_B:-}" "${EXECUTOR_B:-}"
cat >"$WORK/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello there"}],"max_tokens":16STREAM_FIELD}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
EOF
sed -i "s/STREAM_FIELD/${STREAM:+,\"stream\":true}/" "$WORK/post.lua"
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# round NAME PORT SECONDS: "<cpu µs per request> <requests>"
round() {
  local pid c0 c1 n
  pid=$(cat "$WORK/$1/pid")
  c0=$(cpu "$pid")
  n=$(KEY=$(cat "$WORK/$1/key") wrk -t2 -c"$C" -d"$3" -s "$WORK/post.lua" "http://127.0.0.1:$2/v1/chat/completions" | awk '/requests in/ {print $1}')
  c1=$(cpu "$pid")
  python3 -c "print('%.1f %d' % (($c1 - $c0) * 1e6 / $ticks / max($n, 1), $n))"
}
round a 18700 2 >/dev/null; round b 18702 2 >/dev/null  # warm-up
echo "A: $A (${SERVER_A:-direct}, ${EXECUTOR_A:-eventloops})"
echo "B: $B (${SERVER_B:-direct}, ${EXECUTOR_B:-eventloops})"
for _ in $(seq "$ROUNDS"); do echo "$(round a 18700 "$DUR") $(round b 18702 "$DUR")"; done | python3 -c "
import sys, statistics as st
rows = [list(map(float, line.split())) for line in sys.stdin if line.strip()]
for a, na, b, nb in rows: print('A %6.1f us/request (%d requests)   B %6.1f us/request (%d requests)' % (a, na, b, nb))
print('median CPU per request: A %.1f us, B %.1f us, B/A %.3f; median requests B/A %.3f' % (
    st.median(r[0] for r in rows), st.median(r[2] for r in rows), st.median(r[2] / r[0] for r in rows),
    st.median(r[3] / r[1] for r in rows)))
"
