"""pyproject.toml is the one source of truth for dependencies; the conda files must agree."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent


def _pip_section(path) -> list[str]:
    env = yaml.safe_load(path.read_text())
    sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, f"{path} should have one pip section"
    return sections[0]


@pytest.mark.parametrize("env_file", ["environment.yml", "binder/environment.yml"])
def test_conda_environments_match_pyproject(env_file):
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    expected = project["dependencies"] + project["optional-dependencies"]["dashboard"]
    assert _pip_section(REPO / env_file) == expected


def test_binder_installs_rxviz_and_readme_links_the_dashboard():
    assert "pip install --no-deps -e ." in (REPO / "binder" / "postBuild").read_text()
    assert "urlpath=voila%2Frender%2Fnotebooks%2Fdashboard.ipynb" in (REPO / "README.md").read_text()
