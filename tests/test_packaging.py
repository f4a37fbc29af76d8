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
    extras = project["optional-dependencies"]
    expected = project["dependencies"] + extras["tensorflow"] + extras["dashboard"]
    assert _pip_section(REPO / env_file) == expected


def test_binder_installs_rxviz_and_readme_links_the_dashboard():
    assert "pip install --no-deps -e ." in (REPO / "binder" / "postBuild").read_text()
    assert "urlpath=voila%2Frender%2Fnotebooks%2Fdashboard.ipynb" in (REPO / "README.md").read_text()


def test_binder_and_the_local_server_share_one_configuration():
    """Binder's server reads binder/jupyter_server_config.py (copied by postBuild), Voila on its own
    reads it through binder/voila.py; both get the upload limit and the culling (test_binder.py
    runs it with a shortened window)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("voila.py", path=str(REPO / "binder")).load_config()
    assert config.ServerApp.tornado_settings == config.Voila.tornado_settings
    assert config.Voila.tornado_settings["websocket_max_message_size"] >= 256 * 2**20
    assert config.MappingKernelManager.cull_idle_timeout == 120 and config.MappingKernelManager.cull_interval == 30
    assert config.MappingKernelManager.cull_connected is False  # an open page keeps its kernel
    assert config.ServerApp.jpserver_extensions == {"rxviz.serving": True}
    assert "binder/jupyter_server_config.py" in (REPO / "binder" / "postBuild").read_text()
    from rxviz.serving import voila_command

    assert f"--Voila.config_file_paths={REPO / 'binder'}" in voila_command().argv  # rxviz dashboard
    assert "exec .venv/bin/rxviz dashboard" in (REPO / "scripts" / "dashboard.sh").read_text()
