"""The registry of explanation methods: a method is found by its name or its label, a researcher's
own method registered with rxviz.register_method is offered by the API, the command line and the
dashboard, one that needs only the forward pass runs without TensorFlow, and the trust checks
run on a registered method (and fail one that is blind to the model)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import rxviz
from rxviz import cli
from rxviz.dashboard import Dashboard
from rxviz.examples import BUNDLED_EXAMPLES
from rxviz.explain import METHODS

EXAMPLE = next(BUNDLED_EXAMPLES.glob("PNEUMONIA/*bacteria*.jpeg"))
OCCLUSION = '''
import numpy as np
import rxviz

@rxviz.register_method("coarse-occlusion", "Coarse occlusion", "the drop in the class's probability when"
                       " each of 4 x 4 parts is greyed out", tensorflow=False)
def coarse_occlusion(net, batch, class_index, layer):
    size, step = batch.shape[1], batch.shape[1] // 4
    base = net(batch)["probabilities"][0, class_index]
    heat = np.zeros((size, size), np.float32)
    for top in range(0, size, step):
        for left in range(0, size, step):
            covered = batch.copy()
            covered[0, top:top + step, left:left + step] = 0.5
            heat[top:top + step, left:left + step] = max(0.0, base - net(covered)["probabilities"][0, class_index])
    return heat / heat.max() if heat.max() > 0 else heat
'''


@pytest.mark.parametrize("asked, name", [("scorecam", "scorecam"), ("Score-CAM", "scorecam"),
                                         ("Faster Score-CAM", "scorecam"), ("GRAD-CAM++", "gradcam++"),
                                         ("Grad-CAM", "gradcam"), ("layercam", "layercam")])
def test_a_method_is_found_by_its_name_or_its_label(asked, name):
    assert rxviz.get_method(asked).name == name


def test_an_unknown_method_is_refused_with_the_choices(capsys):
    with pytest.raises(ValueError, match="unknown explanation method 'grad'; choose from gradcam, gradcam"):
        rxviz.get_method("grad")
    with pytest.raises(SystemExit) as refused:
        cli.main(["predict", "--json", "--method", "grad", str(EXAMPLE)])
    assert refused.value.code == 2 and "unknown explanation method 'grad'" in capsys.readouterr().err


def test_a_forward_pass_method_runs_without_tensorflow_and_is_offered_everywhere(tmp_path):
    script = tmp_path / "own_method.py"
    script.write_text("import json\nimport sys\nfor name in ('tensorflow', 'keras', 'tf_keras_vis'):\n    sys.modules[name] = None\n"
                      + OCCLUSION + f'''
result = rxviz.analyze({str(EXAMPLE)!r}, method="Coarse occlusion")
from rxviz.dashboard import Dashboard
from rxviz.cli import main
app = Dashboard()
labels = [label for label, _ in app.controls.method.options]
print(json.dumps({{"method": result.method, "shape": list(result.heatmap.shape), "image": list(result.image.shape),
                  "peak": float(result.heatmap.max()), "menu": labels}}))
main(["predict", "--json", "--method", "coarse-occlusion", {str(EXAMPLE)!r}])
''')
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    shown, predicted = (json.loads(line) for line in run.stdout.strip().splitlines())
    assert shown["method"] == "coarse-occlusion" and shown["shape"] == shown["image"] and shown["peak"] == 1.0
    assert "Coarse occlusion" in shown["menu"] and "Occlusion" in shown["menu"] and "Grad-CAM" in shown["menu"]
    assert predicted["file"] == str(EXAMPLE) and abs(sum(predicted["zones"].values()) - 1) < 1e-6


def test_the_trust_checks_run_on_a_registered_method_and_fail_one_blind_to_the_model(capsys, dataset):
    @rxviz.register_method("brightness", "Brightness", "the image itself, whatever the model")
    def brightness(model, batch, class_index, layer):
        return batch[0, ..., 0]

    try:
        assert cli.main(["explain-eval", str(dataset / "test"), "--method", "Brightness", "--n", "3", "--json",
                         "--quiet"]) == 0
        table = json.loads(capsys.readouterr().out)
        assert table["brightness"]["passes"]["sanity_check"] is False  # its map ignores the weights
        assert "Brightness" in [label for label, _ in Dashboard(rxviz.Classifier.load()).controls.method.options]
    finally:
        del METHODS["brightness"]


@pytest.mark.tensorflow
def test_smoothgrad_draws_no_lattice_and_the_same_map_each_time(classifier):
    """Pixel gradients through rxviz's strided layers (8 in all) print a lattice of period 8 on the
    map: at that period its spectrum held about 30 % of its peak before the blur at half the
    stride, and about 2 % after."""
    from rxviz.examples import BUNDLED_EXAMPLES
    from rxviz.io import load_image

    image = load_image(next(BUNDLED_EXAMPLES.glob("PNEUMONIA/*bacteria*")))
    batch = classifier.inputs([image])
    from rxviz.explain import explain

    first = explain(classifier.model, batch, 1, classifier.card.cam_layer, "smoothgrad")
    assert np.array_equal(first, explain(classifier.model, batch, 1, classifier.card.cam_layer, "smoothgrad"))
    size = first.shape[0]
    spectrum = np.abs(np.fft.fft2(first - first.mean()))
    step = size // 8  # the period-8 frequency: across, down and diagonally
    lattice = spectrum[step, 0] + spectrum[0, step] + spectrum[step, step]
    assert lattice < 0.05 * spectrum.max()
