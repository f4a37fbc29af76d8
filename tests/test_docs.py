"""The API reference builds from the docstrings with warnings as errors (mkdocs.yml, as Read the
Docs builds it), and covers the public entry points."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_api_reference_builds_strictly_and_documents_the_entry_points(tmp_path):
    mkdocs = Path(sys.executable).parent / "mkdocs"
    assert mkdocs.exists() or shutil.which("mkdocs"), "mkdocs is not installed (the docs extra)"
    run = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    pages = {path.parent.name: path.read_text() for path in (tmp_path / "site" / "api").glob("*/index.html")}
    assert "Classifier.analyze" in pages["classifier"] and "Result" in pages["classifier"]
    assert "register_method" in pages["methods"] and "wrap_model" in pages["wrap"]
    # cross-references are links to the page that documents their target, training's pages included
    assert 'href="../domain/#rxviz.domain.DomainWarning"' in pages["classifier"]
    assert 'id="rxviz.training.sources.split_by_patient"' in pages["training"]
    assert "not a medical device" in (tmp_path / "site" / "index.html").read_text().lower()


def test_the_readme_is_a_short_tour_with_every_guide_page_one_click_away():
    """The README keeps the two commands, a tour and the limits (at most 300 lines); the reference
    lives in docs/, each page linked from it and listed in the site's navigation."""
    import re

    import yaml

    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    assert "./scripts/dashboard.sh" in readme and "./scripts/test.sh" in readme and "not a medical device" in readme
    nav = yaml.safe_load((REPO / "mkdocs.yml").read_text().split("plugins:")[0])["nav"]
    guide = [page for section in nav if isinstance(section, dict) and "Guide" in section
             for entry in section["Guide"] for page in entry.values()]
    assert len(guide) >= 10
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)\)", readme))
    assert set(guide) <= linked, set(guide) - linked
    for page in guide:
        assert (REPO / "docs" / page).is_file(), page
    for figure in re.findall(r"\]\((docs/figures/[^)]+)\)", readme):
        assert (REPO / figure).is_file(), figure


def test_docstrings_use_mkdocs_cross_references_not_sphinx_roles():
    """MkDocs shows a Sphinx role (:func:`x`) as raw text and never shows a '#:' comment: a
    cross-reference is [`name`][rxviz.module.name], an attribute's docstring is the string under it."""
    import re

    role = re.compile(r":(func|class|meth|data|attr|mod|obj|exc):`")
    found = [f"{path.relative_to(REPO)}:{number}" for path in sorted((REPO / "rxviz").rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if role.search(line) or line.lstrip().startswith("#:")]
    assert not found, found
