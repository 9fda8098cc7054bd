"""Checks an exported vigil ONNX file on PyPI's onnxruntime and openvino.

Runs onnx.checker (full check, with strict shape inference), then scores
the images in DIR with both runtimes and compares every output with the
native model's, as tests/parity writes them:
  images.npy       n x 3 x H x W float32, RGB 0..255, resized and cropped
  anomaly_map.npy  n x 1 x H x W float32, the native normalised maps
  pred_score.npy   n float32, the native normalised image scores
  raw_score.npy    n float32, the native raw image scores
Maps and pred_score must agree within TOLERANCE (absolute; they lie in
[0, 1]), raw_score within TOLERANCE relative to magnitudes above 1, and the
labels (>= 0.5) of every image must be equal; a pixel's label may differ
only where the native value is within TOLERANCE of 0.5. Prints one JSON line
per runtime and exits 1 with the reason on the first failure.

usage: parity_check.py MODEL.onnx DIR [--tolerance 1e-4]
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime
import openvino

OUTPUTS = ["anomaly_map", "pred_score", "raw_score"]


def run_onnxruntime(path, images):
    session = onnxruntime.InferenceSession(
        path, providers=["CPUExecutionProvider"])
    values = session.run(OUTPUTS, {"image": images})
    return dict(zip(OUTPUTS, values))


def run_openvino(path, images):
    # float32 explicitly: on CPUs with bfloat16 the default precision is
    # bfloat16, far outside the tolerance.
    core = openvino.Core()
    compiled = core.compile_model(path, "CPU",
                                  {"INFERENCE_PRECISION_HINT": "f32"})
    result = compiled({"image": images})
    return {name: np.asarray(result[compiled.output(name)])
            for name in OUTPUTS}


def relative(actual, expected):
    return np.abs(actual - expected) / np.maximum(1.0, np.abs(expected))


def compare(runtime, got, native, tolerance):
    """Returns the comparison's summary and a list of failures."""
    failures = []
    summary = {"runtime": runtime}
    for name, diff in [
            ("anomaly_map",
             np.abs(got["anomaly_map"] - native["anomaly_map"])),
            ("pred_score", np.abs(got["pred_score"] - native["pred_score"])),
            ("raw_score", relative(got["raw_score"], native["raw_score"]))]:
        if got[name].shape != native[name].shape:
            failures.append(f"{name}: shape {got[name].shape}, native "
                            f"{native[name].shape}")
            continue
        worst = float(diff.max())
        summary[f"max_diff_{name}"] = worst
        if not worst <= tolerance:
            failures.append(f"{name} differs by {worst:.3g} > {tolerance}")
    labels = got["pred_score"] >= 0.5
    native_labels = native["pred_score"] >= 0.5
    summary["labels"] = labels.astype(int).tolist()
    if not np.array_equal(labels, native_labels):
        failures.append(f"labels {labels.astype(int).tolist()}, native "
                        f"{native_labels.astype(int).tolist()}")
    flips = (got["anomaly_map"] >= 0.5) != (native["anomaly_map"] >= 0.5)
    summary["pixel_label_flips"] = int(flips.sum())
    far = np.abs(native["anomaly_map"] - 0.5) > tolerance
    if (flips & far).any():
        failures.append(f"{int((flips & far).sum())} pixel labels differ "
                        "away from the threshold")
    return summary, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("dir")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()

    model = onnx.load(args.model)
    onnx.checker.check_model(model, full_check=True)
    metadata = {p.key: p.value for p in model.metadata_props}
    if "vigil" not in metadata:
        sys.exit(f"{args.model}: no vigil metadata")
    model_type = json.loads(metadata["vigil"])["type"]

    def load(name):
        return np.load(os.path.join(args.dir, name + ".npy"))

    images = load("images")
    native = {name: load(name) for name in OUTPUTS}
    failed = False
    for runtime, run in [("onnxruntime", run_onnxruntime),
                         ("openvino", run_openvino)]:
        summary, failures = compare(runtime, run(args.model, images),
                                    native, args.tolerance)
        summary["type"] = model_type
        print(json.dumps(summary))
        for failure in failures:
            print(f"{args.model}: {runtime}: {failure}", file=sys.stderr)
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
