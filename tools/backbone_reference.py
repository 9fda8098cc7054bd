"""Reference features for vigil's backbone test, from PyPI's onnxruntime.

Adds the tap tensors to the ONNX graph's outputs with the onnx package (the
classifier still runs), feeds a deterministic input and prints, per tap, its
shape, sum and first values as JSON.

usage: backbone_reference.py MODEL.onnx HEIGHT WIDTH TAP [TAP ...]
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def deterministic_input(height, width):
    # The same formula as the C++ test: x = sin(0.001 * i) over the flat
    # index of a 1 x 3 x H x W tensor.
    i = np.arange(3 * height * width, dtype=np.float64)
    return np.sin(0.001 * i).astype(np.float32).reshape(1, 3, height, width)


def main():
    path, height, width, taps = sys.argv[1], int(sys.argv[2]), \
        int(sys.argv[3]), sys.argv[4:]
    model = onnx.load(path)
    for tap in taps:
        model.graph.output.append(onnx.ValueInfoProto(name=tap))
    graph_input = model.graph.input[0]
    for dim, name in zip(graph_input.type.tensor_type.shape.dim,
                         ["n", None, "h", "w"]):
        if name:
            dim.dim_param = name
    del model.graph.value_info[:]
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    outputs = session.run(taps, {graph_input.name:
                                 deterministic_input(height, width)})
    result = {tap: {"shape": list(out.shape),
                    "sum": float(out.astype(np.float64).sum()),
                    "first": [float(v) for v in out.reshape(-1)[:16]]}
              for tap, out in zip(taps, outputs)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
