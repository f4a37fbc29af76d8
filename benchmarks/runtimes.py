"""Why ONNX Runtime: the shipped classifier on ONNX Runtime and on LiteRT, side by side.

    .venv/bin/pip install ai-edge-litert      # LiteRT is not an rxviz dependency
    .venv/bin/python benchmarks/runtimes.py [--runs 50]

Converts the analysis model (rxviz.model.analysis_model) to a LiteRT file with TensorFlow's
converter in a temporary folder, then, each runtime in a fresh process: import + load time, the
median time of one 128 px image (after a warm-up), the process's own memory (USS) afterwards,
the largest difference from the Keras model's outputs, and the batch and output names the copy
keeps. Prints one row per runtime.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, statistics, sys, time
start = time.perf_counter()
import numpy as np
kind, path, data, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if kind == "onnx":
    from rxviz.runtime import OnnxNet
    net = OnnxNet(path)
    names, batch_dim = list(net.output_names), net.session.get_inputs()[0].shape[0]
    run = lambda x: net(x)
else:
    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(path, num_threads=2)
    interpreter.allocate_tensors()
    details = interpreter.get_output_details()
    names, batch_dim = [d["name"] for d in details], int(interpreter.get_input_details()[0]["shape"][0])
    def run(x):
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        return {d["name"]: interpreter.get_tensor(d["index"]) for d in details}
arrays = np.load(data)
x = arrays["x"][:1]
out = run(x)
loaded = time.perf_counter() - start
times = []
for _ in range(runs):
    t = time.perf_counter(); run(x); times.append(time.perf_counter() - t)
expected = {k[4:]: arrays[k][:1] for k in arrays.files if k.startswith("ref_")}
# LiteRT renames its outputs: match them by shape
diff = max(float(np.abs(v - next(e for e in expected.values() if e.shape == v.shape)).max()) for v in out.values())
import psutil
uss = psutil.Process().memory_full_info().uss
print(json.dumps({"load_s": loaded, "ms": 1000 * statistics.median(times), "uss_mib": uss / 2**20,
                  "max_diff": diff, "names": names, "batch": str(batch_dim)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    from rxviz import _tf  # noqa: F401
    import tensorflow as tf

    from rxviz.card import load_card
    from rxviz.training.export import example_batch
    from rxviz.model import analysis_model, load_model

    card = load_card()
    model = analysis_model(load_model(card.model_path), card.cam_layer, card.extra["ood"]["feature_layer"])
    batch = example_batch(card.input_size)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data.npz"
        np.savez(data, x=batch, **{f"ref_{k}": np.asarray(v) for k, v in model(batch, training=False).items()})
        litert = Path(folder) / "model.tflite"
        litert.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
        rows = [("ONNX Runtime", "onnx", card.directory / card.extra["runtime"]["file"]), ("LiteRT", "litert", litert)]
        print(f"{'runtime':<14} {'import+load s':>13} {'ms/image':>9} {'USS MiB':>8} {'max |diff|':>11}  batch  outputs")
        for name, kind, path in rows:
            done = subprocess.run([sys.executable, "-c", PROBE, kind, str(path), str(data), str(args.runs)],
                                  capture_output=True, text=True, cwd=REPO)
            if done.returncode != 0:
                print(f"{name:<14} failed: {done.stderr.strip().splitlines()[-1]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{name:<14} {r['load_s']:>13.2f} {r['ms']:>9.1f} {r['uss_mib']:>8.0f} {r['max_diff']:>11.1e}"
                  f"  {r['batch']:<6} {', '.join(r['names'])}")


if __name__ == "__main__":
    main()
