"""The domain check: every answer says whether the radiograph is of the kind the model learned from.

Real radiographs throughout: the Kermany test folder (the model's own kind), the external folder
(other hospitals, adults, lateral views) and DICOM files built here around real pixels.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from built_files import make_dicom, upload
from conftest import _require
from PIL import Image

from rxviz.api import NOT_FRONTAL_SUMMARY
from rxviz.dashboard import Dashboard
from rxviz.domain import DomainCheck
from rxviz.domain.check import header_warnings
from rxviz.training.external import benign_variants
from rxviz.training.sources import external_dir, external_images
from rxviz.io import ImageFacts, load_image, load_radiograph


@pytest.fixture(scope="module")
def external():
    folder = external_dir()
    _require((folder / "index.csv").is_file(), f"external radiographs not found at {folder}; set RXVIZ_EXTERNAL_DATA")
    return external_images(folder)


@pytest.fixture(scope="module")
def normal_pixels(xray_paths) -> np.ndarray:
    """A real normal test radiograph as 12-bit DICOM pixels."""
    return (load_image(xray_paths["NORMAL"]) * 4095).round().astype(np.uint16)


# ---- what a DICOM header says ------------------------------------------------------------------

def test_header_facts_are_read_and_nothing_that_names_the_patient(normal_pixels):
    data = make_dicom(normal_pixels, PatientAge="045Y", ViewPosition="pa", BodyPartExamined="CHEST",
                      PatientName="Doe^Jane", PatientID="MRN-4711")
    _, facts = load_radiograph(data)
    assert facts == ImageFacts(age_years=45.0, view="PA", modality="DX", body_part="CHEST")
    assert "Doe" not in repr(facts) and "4711" not in repr(facts)


@pytest.mark.parametrize("age, years", [("003Y", 3.0), ("018M", 1.5), ("006W", 6 * 7 / 365.25), ("51", 51.0),
                                        ("045", 45.0), ("4 Y", 4.0), ("", None), ("old", None), ("1234Y", None)])
def test_dicom_ages_are_read_in_their_units(normal_pixels, age, years):
    facts = load_radiograph(make_dicom(normal_pixels, PatientAge=age))[1]
    assert facts.age_years == (pytest.approx(years) if years is not None else None)


@pytest.mark.parametrize("written", ["045Y", "45"])  # with its unit, or the bare years many devices write
def test_an_adult_dicom_is_flagged_by_its_age_whatever_its_pixels(classifier, normal_pixels, written):
    child = classifier.analyze(make_dicom(normal_pixels, PatientAge="003Y"))
    adult = classifier.analyze(make_dicom(normal_pixels, PatientAge=written))
    assert "adult" not in [w.code for w in child.warnings]
    assert [w.code for w in adult.warnings][:1] == ["adult"] and adult.unusual
    assert "45 years" in adult.warnings[0].sentence and "children aged 1-5" in adult.warnings[0].sentence
    assert adult.probabilities == child.probabilities  # the same pixels: only the warning differs


def test_header_codes_for_view_modality_body_part_and_age():
    codes = lambda **facts: [w.code for w in header_warnings(ImageFacts(**facts))]  # noqa: E731
    assert codes(view="LL") == ["lateral"] and codes(view="AP") == [] and codes(view="PA") == []
    assert codes(modality="CT") == ["not_a_radiograph"] and codes(modality="CR") == codes(modality="SC") == []
    assert codes(body_part="ABDOMEN") == ["not_chest"] and codes(body_part="CHEST") == codes(body_part="THORAX") == []
    assert codes(age_years=10.0) == ["age"] and codes(age_years=0.5) == ["age"] and codes(age_years=18.0) == ["adult"]
    assert codes(age_years=1.0) == codes(age_years=5.9) == []



@pytest.mark.parametrize("years, words", [(0.04, "0 months"), (1 / 12, "1 month"), (0.5, "6 months"),
                                          (0.99, "12 months"), (2.0, ""), (6.5, "6 years"), (45.9, "45 years")])
def test_header_ages_are_said_in_months_under_two(years, words):
    sentence = " ".join(w.sentence for w in header_warnings(ImageFacts(age_years=years)))
    if 1.0 <= years < 6.0:
        assert sentence == ""
    else:
        assert f"age as {words}." in sentence or f"age as {words})." in sentence


def test_header_sentences_in_full():
    sentences = {w.code: w.sentence for w in header_warnings(
        ImageFacts(modality="MR", body_part="KNEE", view="LATERAL", age_years=30.0))}
    assert sentences == {
        "not_a_radiograph": "The DICOM header says this is a MR image, not a plain radiograph. The model only knows"
                            " chest X-rays: its answer and heatmap mean nothing here.",
        "not_chest": "The DICOM header says this examination is of the knee, not the chest: its answer and heatmap"
                     " mean nothing here.",
        "lateral": "The DICOM header gives the view as LATERAL: not a frontal (PA or AP) view. The model learned from"
                   " frontal views only: its answer and heatmap mean nothing here.",
        "adult": "This is an adult's radiograph (the DICOM header gives the age as 30 years). The model learned from"
                 " children aged 1-5 at one hospital and has not been tested on adults: its answer and heatmap may"
                 " mean nothing here.",
    }
    assert header_warnings(ImageFacts(age_years=8.0))[0].sentence == (
        "The DICOM header gives the patient's age as 8 years. The model learned from children aged 1-5 and has not"
        " been tested at other ages: its answer and heatmap may mean nothing here.")
    assert [w.code for w in header_warnings(ImageFacts(body_part="CHEST LUNG", modality="DX"))] == []
    assert [w.code for w in header_warnings(ImageFacts(age_years=6.0))] == ["age"]  # 1-5: six is past it


def test_a_freshly_loaded_model_has_every_check_with_its_cards_settings():
    """Built from the card, not the cached classifier: each check, on the light (ONNX) path."""
    from rxviz.api import Classifier
    from rxviz.card import load_card
    from rxviz.runtime import OnnxNet

    card = load_card()
    check = Classifier(card).domain
    ood, domain = card.extra["ood"], card.extra["domain"]
    assert (check.ood.threshold, check.ood.feature_layer) == (ood["threshold"], ood["feature_layer"])
    assert check.frontal.threshold == domain["frontal"]["threshold"]
    assert isinstance(check.net, OnnxNet)
    assert (check.net_input, check.threshold) == (domain["input_size"], domain["threshold"])
    only_ood = DomainCheck.load(card.directory, ood, None)
    assert only_ood.ood is not None and only_ood.frontal is None and only_ood.net is None
    assert only_ood.threshold == np.inf and only_ood.net_input == 64
    none = DomainCheck.load(card.directory, None, None)
    assert none.ood is None and none.read(np.zeros((64, 64), np.float32), ImageFacts(), np.zeros((128, 128)),
                                          np.zeros(4)).warnings == ()


def test_a_lateral_dicom_gets_no_lung_outline_and_no_zones(classifier, normal_pixels):
    result = classifier.analyze(make_dicom(normal_pixels, ViewPosition="LL"))
    assert "lateral" in [w.code for w in result.warnings] and not result.frontal
    assert result.heat_summary == NOT_FRONTAL_SUMMARY and result.lung_zones == {}
    assert np.array_equal(result.overlay(outline=True), result.overlay(outline=False))
    frontal = classifier.analyze(make_dicom(normal_pixels, ViewPosition="PA"))
    assert frontal.frontal and not np.array_equal(frontal.overlay(outline=True), frontal.overlay(outline=False))


# ---- the pixel checks --------------------------------------------------------------------------

class _Fixed:
    """A detector whose every score is ``score`` (for the combination rules)."""

    def __init__(self, score: float, threshold: float = 1.0):
        self.score, self.threshold = score, threshold

    def scores(self, features):
        return np.full(len(features), self.score)


def test_not_a_radiograph_makes_the_view_and_hospital_checks_moot():
    image, probability = np.random.default_rng(0).random((64, 64)).astype(np.float32), np.zeros((128, 128))
    check = DomainCheck(_Fixed(5.0), _Fixed(5.0))
    assert [w.code for w in check.read(image, ImageFacts(), probability, np.zeros(4)).warnings] == ["not_a_radiograph"]
    check = DomainCheck(_Fixed(0.0), _Fixed(5.0))
    reading = check.read(image, ImageFacts(age_years=40.0), probability, np.zeros(4))
    assert [w.code for w in reading.warnings] == ["lateral", "adult"]  # most fundamental first
    assert reading.scores["lateral"] == (5.0, 1.0)


def test_the_bundled_model_has_every_check(classifier):
    assert classifier.domain.ood is not None and classifier.domain.frontal is not None
    assert classifier.domain.net is not None and np.isfinite(classifier.domain.threshold)


def test_lateral_views_are_flagged_as_not_frontal(classifier, external):
    laterals = [e for e in external if e.label == "LATERAL"]
    assert len(laterals) >= 10
    results = [classifier.analyze(e.path, method=None) for e in laterals]
    codes = [[w.code for w in r.warnings] for r in results]
    assert all(codes), codes
    # no lung outline, no zones: on 18 of the 19. One (ieee8023 cavitating-pneumonia-4-day0-L) is left to the
    # hospital check since the not-a-radiograph check knows adults' frontal films (docs/domain.md: the trade)
    assert sum(r.frontal for r in results) <= 1, [e.path.name for e, r in zip(laterals, results) if r.frontal]
    # the one-class geometry check alone (it never saw a lateral view while fitted); where the
    # features already say "not a radiograph", that warning stands for it
    geometry = [r.domain_scores["lateral"][0] > r.domain_scores["lateral"][1] for r in results]
    assert np.mean(geometry) >= 0.9, [round(r.domain_scores["lateral"][0], 1) for r in results]


def test_adults_from_other_hospitals_are_flagged(classifier, external):
    rng = np.random.default_rng(1)
    adults = [e for e in external if e.label != "LATERAL"]
    chosen = [adults[i] for i in rng.choice(len(adults), 40, replace=False)]
    flagged = [classifier.analyze(e.path, method=None).unusual for e in chosen]
    assert np.mean(flagged) >= 0.9


def test_an_adults_frontal_film_is_a_radiograph_with_its_lung_outline(classifier, external):
    """Adults' frontal films from other hospitals are warned as unlike the training hospital, not
    as "does not look like a frontal chest radiograph", and keep their lung outline: the
    not-a-radiograph check is fitted on every training source, adults' films among them (fitted
    on Kermany's children alone it called 10 % of ieee8023's frontal films no radiograph)."""
    frontal = [e for e in external if e.source == "ieee8023" and e.view in ("PA", "AP", "AP Supine")]
    rng = np.random.default_rng(5)
    chosen = [frontal[i] for i in rng.choice(len(frontal), 120, replace=False)]
    results = [classifier.analyze(e.path, method=None) for e in chosen]
    called = [e.path.name for e, r in zip(chosen, results) if "not_a_radiograph" in [w.code for w in r.warnings]]
    assert len(called) <= 6, called  # 5 %
    assert np.mean([r.frontal for r in results]) >= 0.9  # the outline and the zones are drawn
    assert np.mean([r.unusual for r in results]) >= 0.9  # still warned: another hospital, adults
    films = sorted((e for e in external if e.source == "shenzhen" and e.label == "NORMAL"), key=lambda e: e.path.name)
    for film in films[:5]:  # normal adult PA films
        result = classifier.analyze(film.path, method="gradcam")
        assert result.frontal and "unfamiliar" in [w.code for w in result.warnings]
        assert not np.array_equal(result.overlay(outline=True), result.overlay(outline=False))


@pytest.fixture(scope="module")
def own_kind(classifier, test_samples):
    """30 random Kermany test radiographs the check does not flag as they are."""
    rng = np.random.default_rng(7)
    chosen = [test_samples[i].path for i in rng.permutation(len(test_samples))[:40]]
    images = [load_image(p) for p in chosen]
    kept = [image for image in images if not classifier.analyze(image, method=None).unusual]
    assert len(kept) >= 38, "more than 2 of 40 Kermany test radiographs were flagged"
    return kept[:30]


@pytest.mark.slow
def test_a_kermany_radiograph_resaved_at_1024x800_as_png_is_not_flagged(classifier, own_kind):
    flagged = 0
    for image in own_kind:
        big = Image.fromarray((image * 255).round().astype(np.uint8)).resize((1024, 800), Image.BICUBIC)
        buffer = io.BytesIO()
        big.save(buffer, "PNG")
        result = classifier.analyze(buffer.getvalue(), method=None)
        flagged += result.unusual
    assert flagged <= 1


@pytest.mark.slow
def test_benign_variants_are_rarely_flagged(classifier, own_kind):
    counts: dict[str, int] = {}
    for image in own_kind[:15]:
        for name, variant in benign_variants(image):
            counts[name] = counts.get(name, 0) + classifier.analyze(variant, method=None).unusual
    assert len(counts) == 7 and max(counts.values()) <= 1, counts


# ---- where users read it -----------------------------------------------------------------------

def test_predict_json_carries_the_warnings(tmp_path, normal_pixels):
    import subprocess
    import sys

    path = tmp_path / "adult.dcm"
    path.write_bytes(make_dicom(normal_pixels, PatientAge="052Y", PatientName="Doe^Jane"))
    run = subprocess.run([sys.executable, "-m", "rxviz.cli", "predict", str(path), "--json"],
                         capture_output=True, text=True, check=True, env={**os.environ})
    record = json.loads(run.stdout)
    assert record["warnings"][0]["code"] == "adult" and "52 years" in record["warnings"][0]["sentence"]
    assert record["unusual"] is True and "Doe" not in run.stdout


def test_dashboard_says_why_first_and_greys_the_answer(classifier, external):
    lateral = next(e for e in external if e.label == "LATERAL"
                   and "lateral" in [w.code for w in classifier.analyze(e.path, method=None).warnings])
    app = Dashboard(classifier, examples=[])
    upload(app, Path(lateral.path).read_bytes(), "side.jpg")
    assert app.result is not None and app.result.unusual
    assert 'data-code="lateral"' in app.status.value and "lateral (side)" in app.status.value
    assert "rx-greyed" in app.probabilities._dom_classes
    assert NOT_FRONTAL_SUMMARY in app.heat_caption.value
    # no lung outline is sent to the viewer, whatever the switch says
    assert app.controls.outline.value and app.viewer.outline == [] and not app.viewer.show_outline


def test_teaching_mode_says_it_after_the_reveal(classifier, normal_pixels):
    app = Dashboard(classifier, examples=[])
    app.teaching.switch.value = True
    upload(app, make_dicom(normal_pixels, PatientAge="040Y"), "case.dcm")
    assert "adult" not in app.teaching.comparison.value
    app.teaching.buttons[0].click()
    assert "But beware" in app.teaching.comparison.value and "adult" in app.teaching.comparison.value


def test_report_carries_every_warning(classifier, normal_pixels):
    from datetime import datetime, timezone

    from rxviz.report import footer_paragraphs, report_png, warning_paragraphs

    result = classifier.analyze(make_dicom(normal_pixels, PatientAge="040Y", ViewPosition="LL"))
    assert [w.code for w in result.warnings][:2] == ["lateral", "adult"]
    warnings = [" ".join(text.split()) for text in warning_paragraphs(result, classifier.card)]
    assert [f"Warning: {w.sentence}" for w in result.warnings] == warnings[-len(result.warnings):]
    paragraphs = footer_paragraphs(result, classifier.card, True, datetime.now(timezone.utc))
    heat = next(text for text, kind in paragraphs if kind == "heat")
    assert "white line" not in heat and "no lung fields" in " ".join(heat.split())
    assert report_png(result, classifier.card, source="case.dcm")[:8] == b"\x89PNG\r\n\x1a\n"


def test_each_pixel_check_flags_only_above_its_threshold_and_the_header_says_it_first():
    from rxviz.domain.check import PIXEL_SENTENCES

    class Net:
        def __init__(self, logit):
            self.logit, self.seen = logit, []

        def __call__(self, batch):
            self.seen.append(batch.shape)
            return {"other_hospital": np.full((len(batch), 1), self.logit, np.float32)}

    image, probability = np.random.default_rng(1).random((100, 80)).astype(np.float32), np.zeros((128, 128))
    net = Net(2.0)
    check = DomainCheck(_Fixed(1.0), _Fixed(1.0), net, net_input=48, threshold=2.0)  # every score at its threshold
    reading = check.read(image, ImageFacts(), probability, np.zeros(4))
    assert reading.warnings == () and net.seen == [(1, 48, 48, 1)]
    assert reading.scores == {"not_a_radiograph": (1.0, 1.0), "lateral": (1.0, 1.0), "unfamiliar": (2.0, 2.0)}
    net.logit = 2.5
    reading = DomainCheck(_Fixed(0.5), _Fixed(1.5), net, 48, 2.0).read(image, ImageFacts(view="LL", age_years=30.0),
                                                                      probability, np.zeros(4))
    assert [w.code for w in reading.warnings] == ["lateral", "adult", "unfamiliar"]
    lateral = reading.warnings[0].sentence
    assert lateral.startswith("The DICOM header gives the view as LL")  # the header's reason, not the pixels'
    assert reading.warnings[2].sentence == PIXEL_SENTENCES["unfamiliar"]
    assert list(check.domain_scores([image, image])) == [2.5, 2.5]
    no_pooled = DomainCheck(_Fixed(9.0)).read(image, ImageFacts(), probability, None)
    assert no_pooled.warnings == () and no_pooled.scores == {}  # a model without pooled features: no such check
