"""The explainability notebook as on Binder: no dataset beside the repository, so it must run on
the bundled examples, and quietly (nbval, run by the README's test command, covers it with the
dataset present)."""

from __future__ import annotations

import nbformat
from conftest import REPO
from nbclient import NotebookClient


def test_explainability_notebook_runs_quietly_without_the_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("RXVIZ_DATA", str(tmp_path / "no-dataset"))
    monkeypatch.delenv("RXVIZ_EXAMPLES", raising=False)
    notebook = nbformat.read(REPO / "notebooks" / "explainability.ipynb", as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()  # the kernel inherits the environment
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    noise = [o.text for o in outputs if o.output_type == "stream" and (o.name == "stderr" or "WARNING" in o.text)]
    assert noise == []
    # its radiograph is a bundled example
    assert outputs[0].text.startswith(tuple(p.name for p in (REPO / "examples" / "PNEUMONIA").iterdir()))
