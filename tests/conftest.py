"""Shared fixtures: the real dataset folder, real test images and the bundled model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from rxviz.data import Sample, data_dir, list_samples  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def _require(condition: bool, reason: str) -> None:
    """Skip on a developer's machine, fail in CI: CI must run every test."""
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run this test)")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def dataset() -> Path:
    root = data_dir()
    _require((root / "test").is_dir(), f"dataset not found at {root}; set RXVIZ_DATA")
    return root


@pytest.fixture(scope="session")
def test_samples(dataset: Path) -> list[Sample]:
    return list_samples(dataset / "test")


@pytest.fixture(scope="session")
def xray_paths(test_samples: list[Sample]) -> dict[str, Path]:
    """One real test image of each class."""
    return {name: next(s.path for s in test_samples if s.class_name == name)
            for name in ("NORMAL", "BACTERIAL", "VIRAL")}


@pytest.fixture(scope="session")
def classifier():
    from rxviz.api import Classifier

    return Classifier.load()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright; one per test module, since Playwright's
    event loop runs for as long as it is open and later tests call asyncio.run()."""
    from dashboard_server import CHROMIUM, CHROMIUM_FLAGS

    _require(Path(CHROMIUM).exists(), "Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def pytest_collection_modifyitems(config, items):
    """Under mutmut (scripts/mutation.sh), run a mutant's tests fastest first, so that a mutant
    some quick test catches costs that test alone rather than every slow one before it."""
    if "__mutmut_" not in os.environ.get("MUTANT_UNDER_TEST", ""):
        return
    stats = Path("mutmut-stats.json")  # mutmut runs the tests from mutants/, where it keeps them
    if stats.is_file():
        import json

        durations = json.loads(stats.read_text())["duration_by_test"]
        items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
