#!/usr/bin/env bash
# The main job on real images: train PatchCore and PaDiM on magnetic_tile
# with the shared MobileNetV2, test both, write predictions and pictures for
# the test set, and print the metrics; then serve the test images through
# the PaDiM model into a local ReductStore (scripts/demo_serve.sh).
#   scripts/demo.sh [BUILD_DIR]       (make demo)
# Environment: VIGIL_SHARED (default ../shared), DEMO_OUT (default out/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shared=${VIGIL_SHARED:-$(cd .. && pwd)/shared}
out=${DEMO_OUT:-out/demo}
dataset="$shared/datasets/magnetic_tile"
backbone="$shared/backbones/mobilenetv2-fp32-dequantized.onnx"
vigil="$build/vigil"
mkdir -p "$out"

[[ -d "$dataset" ]] || { echo "demo: $dataset not found (set VIGIL_SHARED)"; exit 1; }

train() {  # name model layers options...
  local name=$1 model=$2 layers=$3
  shift 3
  echo "== training $name"
  "$vigil" train --dataset "$dataset" --model "$model" \
    --backbone "$backbone" --layers "$layers" \
    --output "$out/$name.vigil" "$@"
}

predict() {  # name
  local name=$1
  echo "== predicting the test set with $name"
  for dir in "$dataset"/test/*/; do
    "$vigil" -q predict --model "$out/$name.vigil" --input "$dir" \
      --output "$out/$name-pictures" --visualization full
  done > "$out/$name-predictions.jsonl"
  echo "   $(wc -l < "$out/$name-predictions.jsonl") predictions in" \
       "$out/$name-predictions.jsonl, pictures in $out/$name-pictures/"
}

start=$(date +%s)
train patchcore patchcore 365,426 --option coreset_ratio=0.01 \
  --option projection_dim=32 \
  --option search=exact
train padim padim 365,426 --option n_features=100

for name in patchcore padim; do
  "$vigil" -q test --model "$out/$name.vigil" --dataset "$dataset" \
    --json "$out/$name-metrics.json"
  predict "$name"
done
echo
echo "== serving the test images through padim into a local ReductStore"
DEMO_OUT="$out" bash scripts/demo_serve.sh "$build" "$out/padim.vigil"
echo
echo "demo finished in $(( $(date +%s) - start )) s; results in $out/"
