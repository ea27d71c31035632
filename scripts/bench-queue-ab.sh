#!/usr/bin/env bash
# Compares two switchyard builds on the job queue: `bench queue --json` of A then B, ROUNDS times, alternated so
# that both see the same machine. Prints each round's processed jobs/s (one process, synchronous=FULL), bulk
# enqueue/s and enqueue→start p50, then the medians and B/A. With HUEY=1 each round also runs huey (the peer,
# ../shared/peers/run_queues.sh, set up once with its setup.sh) and prints A and B as multiples of it.
#
#   scripts/bench-queue-ab.sh BIN_A BIN_B [ROUNDS] [JOBS]
#   HUEY=1 scripts/bench-queue-ab.sh /tmp/sw-base .build-release/release/switchyard 4
#
# A later change to the queue is judged by this script against the build before it.
set -euo pipefail
A=$1; B=$2; ROUNDS=${3:-4}; JOBS=${4:-20000}
PEERS="$(cd "$(dirname "$0")/.." && pwd)/../shared/peers"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# queue BIN: "<processed/s> <bulk enqueue/s> <enqueue→start p50 ms>"
queue() {
  "$1" bench queue --jobs "$JOBS" --json 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("%.0f %.0f %.2f" % (r["processedPerSec1Process"], r["bulkEnqueuePerSec"], r["enqueueToStartP50Ms"]))'
}

# huey: processed jobs/s of huey with one worker process (the peer harness, same N; its span rate, first job done
# to last, which leaves out interpreter start-up and so favours huey).
huey() {
  PEERS_N=$JOBS "$PEERS/run_queues.sh" huey 2>/dev/null >"$WORK/huey.txt" || true
  python3 - "$PEERS" <<'EOF'
import glob, json, os, sys
latest = max(glob.glob(os.path.join(sys.argv[1], "data/results/queues-*.jsonl")), key=os.path.getmtime)
rates = [r for r in map(json.loads, open(latest)) if r.get("peer") == "huey" and r.get("kind") == "process" and r.get("workers") == 1]
print("%.0f" % ((rates[0].get("span_rate") or 0) if rates else 0))
EOF
}

echo "A: $A"
echo "B: $B"
echo "round  A jobs/s  B jobs/s  B/A  ${HUEY:+ huey/s  A/huey  B/huey}   (A bulk/s, B bulk/s; A, B enqueue→start p50 ms)"
for round in $(seq "$ROUNDS"); do
  read -r a abulk alat <<<"$(queue "$A")"
  read -r b bbulk blat <<<"$(queue "$B")"
  line="$round $a $b"
  if [ -n "${HUEY:-}" ]; then line="$line $(huey)"; fi
  echo "$line $abulk $bbulk $alat $blat" >>"$WORK/rows"
  python3 -c "
r = '$line $abulk $bbulk $alat $blat'.split()
a, b = float(r[1]), float(r[2])
extra = ''
if '${HUEY:-}': h = float(r[3]); extra = '  %7.0f  %5.1fx  %5.1fx' % (h, a / h if h else 0, b / h if h else 0)
print('%5s  %8.0f  %8.0f  %4.2f%s   (%s, %s; %s, %s)' % (r[0], a, b, b / a, extra, *r[-4:]))"
done
python3 - "$WORK/rows" "${HUEY:-}" <<'EOF'
import statistics as st, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
a = st.median(r[1] for r in rows); b = st.median(r[2] for r in rows)
line = "median A %.0f jobs/s, B %.0f jobs/s, B/A %.2f" % (a, b, st.median(r[2] / r[1] for r in rows))
if sys.argv[2]:
    line += "; A %.1fx huey, B %.1fx huey (per-round ratios, median)" % (st.median(r[1] / r[3] for r in rows if r[3]), st.median(r[2] / r[3] for r in rows if r[3]))
print(line)
EOF
