#!/usr/bin/env bash
# `vigil serve` on a replayed folder: starts a private ReductStore (free
# loopback port, temporary data path, random token), serves magnetic_tile's
# test images through a trained model into it, summarises what was stored,
# pushes the model to the store and lists it, then stops the server.
#   scripts/demo_serve.sh [BUILD_DIR] [MODEL]    (the end of make demo)
# MODEL defaults to $DEMO_OUT/padim.vigil (DEMO_OUT: out/demo).
# Environment: VIGIL_SHARED (default ../shared); VIGIL_REDUCTSTORE, else the
# newest $VIGIL_DEPS/reductstore-*/bin/reductstore (scripts/setup.sh
# --storage); DEMO_SERVE_IMAGES, how many test images to replay (default:
# all 629).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
model=${2:-${DEMO_OUT:-out/demo}/padim.vigil}
shared=${VIGIL_SHARED:-$(cd .. && pwd)/shared}
deps=${VIGIL_DEPS:-/opt/vigil-deps}
vigil="$build/vigil"
test_dir="$shared/datasets/magnetic_tile/test"

fail() { echo "demo_serve: $*" >&2; exit 1; }
[[ -f "$model" ]] || fail "$model not found (train one first: make demo)"
[[ -d "$test_dir" ]] || fail "$test_dir not found (set VIGIL_SHARED)"
reductstore=${VIGIL_REDUCTSTORE:-$(ls -d "$deps"/reductstore-*/bin/reductstore \
  2>/dev/null | sort -V | tail -n 1)}
[[ -x "$reductstore" ]] ||
  fail "no ReductStore under $deps (run: scripts/setup.sh --storage)"

work=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
export VIGIL_REDUCT_TOKEN="demo-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

start_reductstore() {
  RS_HOST=127.0.0.1 RS_PORT=$port RS_DATA_PATH="$work/data" \
    RS_API_TOKEN=$VIGIL_REDUCT_TOKEN "$reductstore" \
    > "$work/reductstore.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    curl -sf "$url/api/v1/alive" > /dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null ||
      fail "ReductStore exited: $(tail -n 5 "$work/reductstore.log")"
    sleep 0.1
  done
  fail "ReductStore did not answer at $url within 10 s"
}

# The test images of every defect type, named <type>_<file> (names repeat
# across types), as a camera's folder would fill.
stage_images() {
  mkdir -p "$work/in"
  local limit=${DEMO_SERVE_IMAGES:-0} n=0 file type
  for file in "$test_dir"/*/*; do
    type=$(basename "$(dirname "$file")")
    cp "$file" "$work/in/${type}_$(basename "$file")"
    n=$((n + 1))
    ((limit > 0 && n >= limit)) && break
  done
  echo "$n"
}

# "<records> records, <bytes> bytes" of one bucket, from ReductStore's API.
bucket_summary() {
  curl -sf -H "Authorization: Bearer $VIGIL_REDUCT_TOKEN" \
    "$url/api/v1/b/$1" | python3 -c 'import json, sys
b = json.load(sys.stdin)
n = sum(e["record_count"] for e in b.get("entries", []))
print("%d records, %.1f MB" % (n, b["info"]["size"] / 1e6))'
}

start=$(date +%s)
start_reductstore
echo "== ReductStore $url (data in $work/data)"
n=$(stage_images)
echo "== vigil serve: $n images from a watched folder through $model"
# One ONNX Runtime thread on small machines: the other stages need a core.
model_threads=$(( $(nproc) > 2 ? 0 : 1 ))
"$vigil" serve --model "$model" --watch "$work/in" --source magnetic-tile \
  --after delete --no-http --reduct-url "$url" --spool "$work/spool" \
  --model-threads "$model_threads" --exit-when-done

echo "== what was stored"
echo "   vigil-frames: $(bucket_summary vigil-frames)"
echo "   vigil-maps:   $(bucket_summary vigil-maps) (anomalous frames)"
# The verdicts, as a training folder: normal/ and abnormal/ by pred_label.
"$vigil" -q dataset pull --reduct-url "$url" --source magnetic-tile \
  --label normal --label anomalous --output "$work/pulled"
count() { find "$1" -type f 2>/dev/null | wc -l; }
echo "   frames judged normal:    $(count "$work/pulled/normal")"
echo "   frames judged anomalous: $(count "$work/pulled/abnormal")"

echo "== the model in the store"
"$vigil" model push "$model" --reduct-url "$url"
"$vigil" model list --reduct-url "$url"
echo
echo "demo_serve finished in $(( $(date +%s) - start )) s"
