"""Model input -> named outputs, without TensorFlow: the ONNX copies of the models.

``rxviz export`` writes an ONNX copy of each Keras model beside it and lists it, with its hash and
the hash of the Keras file it came from, in the model card's ``runtime`` entry. rxviz runs those
copies with ONNX Runtime, so a plain analysis (probabilities, out-of-distribution score, lung
mask, Grad-CAM) never imports TensorFlow: about 0.3 s and 70 MiB instead of 5 s and 500 MiB per
process. TensorFlow is imported only for what needs gradients or training. Set
``RXVIZ_RUNTIME=keras`` to run the Keras models instead (to compare the two paths).

Why ONNX Runtime rather than LiteRT (both were measured, see the README): ONNX keeps a dynamic
batch and the outputs' names (LiteRT's copy had batch 1 and outputs in another order), it was
faster here (2.1 vs 2.8 ms for the classifier on 2 cores, benchmarks/runtimes.py), and it is the format other frameworks
export to.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

RUNTIME_ENV = "RXVIZ_RUNTIME"
"""Environment variable choosing the runtime: "onnx" (the default) or "keras"."""
RUNTIMES = ("onnx", "keras")
THREADS_ENV = "RXVIZ_THREADS"
"""Environment variable capping ONNX Runtime's threads per model (default: one per core)."""
TENSORFLOW_EXTRA = "rxviz[tensorflow]"
"""What to install for the gradient methods, the trust checks, training and export."""


class NeedsTensorFlow(RuntimeError):
    """What was asked runs on TensorFlow, which this installation lacks (a light install)."""


def require_tensorflow(what: str) -> None:
    """Raise [`NeedsTensorFlow`][rxviz.runtime.NeedsTensorFlow], one sentence naming ``what`` and the extra to install,
    unless TensorFlow, Keras and tf-keras-vis are all importable. Imports none of them."""
    from importlib.util import find_spec

    if any(find_spec(name) is None for name in ("tensorflow", "keras", "tf_keras_vis")):
        raise NeedsTensorFlow(f"{what} runs on TensorFlow, which this installation of rxviz lacks:"
                              f" pip install '{TENSORFLOW_EXTRA}' adds it")


class Net(Protocol):
    """A model as rxviz calls it: a float32 batch (N, S, S, 1) -> {output name: array}."""

    output_names: tuple[str, ...]

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]: ...


class OnnxNet:
    """An ONNX model run by ONNX Runtime on the CPU."""

    def __init__(self, path: Path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only
        options.intra_op_num_threads = int(os.environ.get(THREADS_ENV, "0") or 0)
        # idle threads sleep rather than spin: many kernels share the cores of a classroom server
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = tuple(output.name for output in self.session.get_outputs())

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        values = self.session.run(None, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)})
        return dict(zip(self.output_names, values))


class ForeignNet:
    """Another framework's ONNX classifier as rxviz calls a model: the
    batch (N, S, S, C) is laid out as the file wants it ((N, C, S, S) for ``layout="NCHW"``), and
    its ``output`` becomes ``probabilities``, through a softmax when it gives ``logits``."""

    output_names = ("probabilities",)

    def __init__(self, net: OnnxNet, layout: str, output: str, logits: bool):
        self.net, self.layout, self.output, self.logits = net, layout, output, logits

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        fed = np.transpose(batch, (0, 3, 1, 2)) if self.layout == "NCHW" else batch
        values = np.asarray(self.net(fed)[self.output], dtype=np.float64)
        if self.logits:
            values = np.exp(values - values.max(axis=1, keepdims=True))
            values /= values.sum(axis=1, keepdims=True)
        return {"probabilities": values.astype(np.float32)}


def runtime() -> str:
    """The runtime asked for by ``$RXVIZ_RUNTIME`` (default "onnx")."""
    chosen = os.environ.get(RUNTIME_ENV, "onnx").strip().lower() or "onnx"
    if chosen not in RUNTIMES:
        raise ValueError(f"{RUNTIME_ENV}={chosen!r}: choose one of {', '.join(RUNTIMES)}")
    return chosen


def load_net(directory: Path, entry: dict[str, Any] | None, keras_net: Callable[[], Net]) -> Net:
    """The ONNX copy a card's ``runtime`` entry lists, or ``keras_net()`` (which imports
    TensorFlow) when the card lists none or [`runtime`][rxviz.runtime.runtime] is "keras"."""
    if entry is not None and "layout" in entry:  # another framework's file: there is no Keras model
        return ForeignNet(OnnxNet(Path(directory) / entry["file"]), entry["layout"], entry["output"], entry["logits"])
    if entry is not None and runtime() == "onnx":
        return OnnxNet(Path(directory) / entry["file"])
    return keras_net()


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file: the cards record it for each model file and its ONNX copy."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def card_lines(entry: dict[str, Any] | None) -> list[str]:
    """The model card's Markdown section on the ONNX copy a ``runtime`` entry describes."""
    if not entry:
        return ["## Runtime copy", "", "None: run `rxviz export` to write the ONNX copy the light path uses.", ""]
    worst = max(entry["max_abs_difference"].values())
    return [
        "## Runtime copy (ONNX)",
        "",
        f"- `{entry['file']}` (SHA-256 `{entry['sha256']}`), written by `{entry['command']}` on {entry['date']}",
        f"  from `{entry['source']}` (SHA-256 `{entry['source_sha256']}`).",
        f"- Outputs: {', '.join(f'`{name}`' for name in entry['outputs'])}. Run by ONNX Runtime {entry['onnxruntime']},"
        " without TensorFlow.",
        f"- Agreement with the Keras model on {entry['checked_on']}: largest difference {worst:.1e}.",
        "",
    ]
