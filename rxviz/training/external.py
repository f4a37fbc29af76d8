"""External validation: what the model and its domain check say on other hospitals' radiographs.

``rxviz evaluate --external DIR`` runs [`external_report`][rxviz.training.external.external_report] on every radiograph of the
external folder (``index.csv``: source, label, age, view per image) and [`false_alarms`][rxviz.training.external.false_alarms] on
the Kermany test folder and benign variants of it. Per source and label it gives what the model
answers, how often it warns, how often it is right among the answers given without a warning, and
a risk-coverage curve (the error among the answers kept, as fewer and fewer are kept, most
unfamiliar first).

The domain network was fitted on these external radiographs, so its own verdict on them says
little. The figures that count use, for each image, the logit of the network trained without
any image of that image's source, against its own threshold (``domain_held_out.npz``, [`rxviz.training.domain.leave_one_source_out`][rxviz.training.domain.leave_one_source_out]):
what the check does for a hospital it has never seen. The other checks never saw these images.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any, Iterator, Sequence

import cv2
import numpy as np

from ..io import load_image
from ..domain.check import DomainWarning, PIXEL_SENTENCES, ORDER
from .sources import LabelledImage

CONFIDENT = 0.7
"""An answer this confident that is wrong is what the check must warn about."""
NORMAL = "NORMAL"


def _right(label: str, answer: str) -> bool | None:
    """Whether ``answer`` is right for an external ``label``: NORMAL and the pneumonias by class;
    any other abnormality (tuberculosis, ARDS, ...) is wrongly called NORMAL and not judged
    otherwise (None); a lateral view has no right answer (False)."""
    if label in ("NORMAL", "BACTERIAL", "VIRAL"):
        return answer == label
    if label == "OTHER":
        return False if answer == NORMAL else None
    return False


def _binary_right(label: str, answer: str) -> bool | None:
    """Pneumonia-or-other-disease versus normal; None for a lateral view."""
    return None if label == "LATERAL" else (label == NORMAL) == (answer == NORMAL)


def benign_variants(image: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """The changes that must not make one of the model's own radiographs "unfamiliar": re-saved as
    PNG, re-encoded as JPEG at quality 70, resized to 1024x800, rotated by 5 degrees either way,
    20 % brighter, 20 % darker."""
    from PIL import Image

    pixels = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)

    def reread(format_: str, **options: Any) -> np.ndarray:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format_, **options)
        return load_image(buffer.getvalue())

    height, width = image.shape
    yield "PNG", reread("PNG")
    yield "JPEG 70", reread("JPEG", quality=70)
    yield "1024x800", np.clip(cv2.resize(image, (1024, 800), interpolation=cv2.INTER_CUBIC), 0, 1)
    for angle in (5, -5):
        turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
        yield f"rotated {angle:+d}°", cv2.warpAffine(image, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
    yield "20 % brighter", np.clip(image * 1.2, 0, 1)
    yield "20 % darker", np.clip(image * 0.8, 0, 1)


def held_out_margins(model_dir: Path, entry: dict[str, Any] | None) -> dict[str, float]:
    """File name -> how far the logit of the network that never saw the file's source lies above
    that network's own threshold (> 0: it warns)."""
    if not entry or not (Path(model_dir) / entry.get("held_out", "")).is_file():
        return {}
    with np.load(Path(model_dir) / entry["held_out"]) as arrays:
        return dict(zip(arrays["files"].tolist(), arrays["margins"].astype(float).tolist()))


def _held_out_warnings(result, margin: float | None) -> tuple[DomainWarning, ...]:
    """The result's warnings with the network's verdict replaced by the held-out network's."""
    codes = {w.code: w for w in result.warnings if w.code != "unfamiliar"}
    if margin is not None and margin > 0 and "not_a_radiograph" not in codes:
        codes["unfamiliar"] = DomainWarning("unfamiliar", PIXEL_SENTENCES["unfamiliar"])
    return tuple(codes[c] for c in ORDER if c in codes)


def external_report(classifier, rows: Sequence[LabelledImage], held_out: dict[str, float],
                    show_progress: bool = True) -> dict[str, Any]:
    """Per image, then per source and label: the answers, the warnings (as shipped and with the
    held-out network) and accuracy among the answers given without a warning."""
    from ..progress import progress

    images = []
    for row in progress(rows, len(rows), "external radiographs", show_progress):
        result = classifier.analyze(row.path, method=None)
        margin = held_out.get(row.path.name)
        warned_held_out = _held_out_warnings(result, margin) if held_out else result.warnings
        shipped = result.domain_scores.get("unfamiliar")
        images.append({
            "file": row.path.name, "source": row.source, "label": row.label, "answer": result.label,
            "confidence": result.probabilities[result.label],
            "warnings": [w.code for w in result.warnings], "held_out_warnings": [w.code for w in warned_held_out],
            "shipped_margin": None if shipped is None else shipped[0] - shipped[1], "held_out_margin": margin,
            "right": _right(row.label, result.label), "binary_right": _binary_right(row.label, result.label),
        })
    groups: dict[str, list[dict]] = {}
    for image in images:
        groups.setdefault(f"{image['source']} {image['label']}", []).append(image)
    return {"n_images": len(images), "images": images,
            "groups": {name: _summary(members) for name, members in sorted(groups.items())},
            "all": _summary(images), "risk_coverage": risk_coverage(images)}


def _summary(images: list[dict]) -> dict[str, Any]:
    n = len(images)
    answers = Counter(i["answer"] for i in images)
    out: dict[str, Any] = {"n": n, "answers": {k: answers[k] / n for k in ("NORMAL", "BACTERIAL", "VIRAL")}}
    for key, warnings in (("shipped", "warnings"), ("held_out", "held_out_warnings")):
        warned = [bool(i[warnings]) for i in images]
        silent = [i for i, w in zip(images, warned) if not w]
        judged = [i["binary_right"] for i in silent if i["binary_right"] is not None]
        wrong = [i for i in images if i["right"] is False and i["confidence"] >= CONFIDENT]
        out[key] = {
            "warned": float(np.mean(warned)) if n else 0.0,
            "unwarned": len(silent),
            "unwarned_binary_accuracy": float(np.mean(judged)) if judged else None,
            "confident_wrong": len(wrong),
            "confident_wrong_warned": float(np.mean([bool(i[warnings]) for i in wrong])) if wrong else None,
            "codes": dict(Counter(c for i in images for c in i[warnings])),
        }
    return out


def risk_coverage(images: list[dict], points: int = 21) -> list[dict[str, float]]:
    """The binary error among the answers kept as the most unfamiliar are set aside first
    (held-out network's margin; a warned image counts as more unfamiliar than any unwarned one)."""
    judged = [i for i in images if i["binary_right"] is not None]
    if not judged:
        return []
    margin = lambda i: i["held_out_margin"] if i["held_out_margin"] is not None else (i["shipped_margin"] or 0.0)  # noqa: E731
    order = sorted(judged, key=lambda i: (bool(i["held_out_warnings"]), margin(i)))
    wrong = np.array([not i["binary_right"] for i in order], dtype=float)
    curve = []
    for coverage in np.linspace(0.05, 1.0, points - 1):
        kept = max(1, int(round(coverage * len(order))))
        curve.append({"coverage": float(kept / len(order)), "risk": float(wrong[:kept].mean())})
    return curve


def false_alarms(classifier, paths: Sequence[Path], show_progress: bool = True) -> dict[str, Any]:
    """Share of ``paths`` (the model's own kind: Kermany test radiographs) warned about, as they
    are and as each benign variant ([`benign_variants`][rxviz.training.external.benign_variants])."""
    from ..progress import progress

    warned: dict[str, list[bool]] = {}
    codes: Counter = Counter()
    for path in progress(paths, len(paths), "Kermany test radiographs and variants", show_progress):
        image = load_image(path)
        for name, variant in [("as it is", image), *benign_variants(image)]:
            result = classifier.analyze(variant, method=None)
            warned.setdefault(name, []).append(result.unusual)
            codes.update(f"{name}: {w.code}" for w in result.warnings)
    return {"n": len(paths), "flagged": {name: float(np.mean(v)) for name, v in warned.items()},
            "codes": dict(codes)}


def format_external(report: dict[str, Any], alarms: dict[str, Any] | None) -> str:
    """The terminal table of [`external_report`][rxviz.training.external.external_report] and [`false_alarms`][rxviz.training.external.false_alarms]."""
    pct = lambda x: "   -" if x is None else f"{100 * x:4.0f}"  # noqa: E731
    lines = [f"{'source and label':<22} {'n':>4}  {'NORMAL/BACT/VIRAL %':>19}  {'warned %':>8}"
             f"  {'acc. unwarned':>13}  {'conf. wrong':>11}  {'of them warned %':>16}",
             "(warned and the rest: with the domain network that never saw the source; shipped network in brackets)"]
    for name, row in [*report["groups"].items(), ("all", report["all"])]:
        a, h, s = row["answers"], row["held_out"], row["shipped"]
        lines.append(f"{name:<22} {row['n']:>4}  {pct(a['NORMAL'])}/{pct(a['BACTERIAL'])}/{pct(a['VIRAL'])}"
                     f"      {pct(h['warned'])} ({pct(s['warned']).strip()})"
                     f"  {pct(h['unwarned_binary_accuracy'])} of {h['unwarned']:<4}"
                     f"  {h['confident_wrong']:>11}  {pct(h['confident_wrong_warned']):>12}"
                     f" ({pct(s['confident_wrong_warned']).strip()})")
    curve = report["risk_coverage"]
    if curve:
        lines.append("risk-coverage (pneumonia vs normal error among the answers kept, most unfamiliar dropped first): "
                     + ", ".join(f"{100 * p['coverage']:.0f} %: {100 * p['risk']:.0f} %" for p in curve[::4]))
    if alarms:
        lines.append(f"Kermany test radiographs warned about ({alarms['n']} images of {alarms.get('folder', 'test')}): "
                     + ", ".join(f"{name} {100 * v:.1f} %" for name, v in alarms["flagged"].items()))
    return "\n".join(lines)


def plot_risk_coverage(report: dict[str, Any], title: str):
    """The risk-coverage curve as a matplotlib figure."""
    from matplotlib.figure import Figure

    curve = report["risk_coverage"]
    figure = Figure(figsize=(5.5, 4), dpi=110)
    axis = figure.add_subplot()
    axis.plot([p["coverage"] for p in curve], [p["risk"] for p in curve], marker="o")
    unwarned = report["all"]["held_out"]["unwarned"] / max(1, sum(1 for i in report["images"] if i["binary_right"] is not None))
    axis.axvline(unwarned, color="#b58900", linestyle="--", label="answers given without a warning")
    axis.set_xlabel("coverage (share of answers kept)")
    axis.set_ylabel("pneumonia vs normal error")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def card_lines(card: dict[str, Any]) -> list[str]:
    """The model card's Markdown on whom the model is for, its domain check and its external
    validation (empty parts are left out)."""
    from ..domain.check import POPULATION

    domain, external = card.get("domain"), card.get("external_validation")
    out = ["## Who it is for", "",
           f"Radiographs like its training ones: {POPULATION}. Every answer carries the domain check's",
           "warnings (`Result.warnings`): not a chest radiograph, not the chest (DICOM header), not a frontal view,",
           "an adult or another age (DICOM header), or unlike the training hospital's radiographs. Outside that",
           "population the model has not been validated and its answers, right or wrong, are often confident.", ""]
    if domain:
        fitted = domain["fitted_on"]
        out += [f"- Domain check fitted by `{domain['command']}` ({domain['duration_s'] / 60:.0f} min, {domain['date']}):",
                f"  a network at {domain['input_size']} px trained on {fitted['inside']} against {fitted['outside']};"
                f" thresholds at {fitted['thresholds']}.", ""]
    if external:
        overall = external["all"]
        out += [f"## External validation ({external['n_images']} radiographs of other hospitals, `{external['external']}`)",
                "",
                "Warned and accuracy use, for each image, the domain network trained without its source (a hospital it",
                "never saw); in brackets the shipped network, which was fitted on these images. Accuracy: pneumonia",
                "or other disease versus normal, among the answers given without a warning.",
                "",
                "| source and label | n | answers NORMAL / BACTERIAL / VIRAL | warned | accuracy without a warning |"
                " confident (≥ 70 %) wrong answers warned |",
                "| --- | --- | --- | --- | --- | --- |"]
        for name, row in [*external["groups"].items(), ("all", overall)]:
            a, h, s = row["answers"], row["held_out"], row["shipped"]
            acc = "-" if h["unwarned_binary_accuracy"] is None else f"{_pct(h['unwarned_binary_accuracy'])} of {h['unwarned']}"
            wrong = ("-" if h["confident_wrong_warned"] is None else
                     f"{_pct(h['confident_wrong_warned'])} ({_pct(s['confident_wrong_warned'])}) of {h['confident_wrong']}")
            out.append(f"| {name} | {row['n']} | {_pct(a['NORMAL'])} / {_pct(a['BACTERIAL'])} / {_pct(a['VIRAL'])}"
                       f" | {_pct(h['warned'])} ({_pct(s['warned'])}) | {acc} | {wrong} |")
        alarms = external.get("kermany_false_alarms")
        if alarms:
            out += ["", f"The model's own kind, {alarms['n']} Kermany test radiographs ({alarms.get('folder', 'test')}),"
                    " warned about: "
                    + ", ".join(f"{name} {_pct(v)}" for name, v in alarms["flagged"].items()) + "."]
        if external.get("risk_plot"):
            out += ["", f"![Risk-coverage curve on the external radiographs](../{external['risk_plot']})"]
        out += ["", "Regenerate with `rxviz evaluate --external ../shared/data/external --write-card"
                f" --risk-plot {external.get('risk_plot') or 'docs/figures/risk-coverage.png'}`.", ""]
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"
