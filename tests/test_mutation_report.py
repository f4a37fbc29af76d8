"""scripts/mutation_report.py's arithmetic: which survivors an accepted entry covers, each
module's score, and the accepted lines no survivor needs any more."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "mutation_report", Path(__file__).resolve().parent.parent / "scripts" / "mutation_report.py")
report = importlib.util.module_from_spec(_SPEC)
sys.modules["mutation_report"] = report  # its dataclass looks its module up while being made
_SPEC.loader.exec_module(report)


def _mutant(name: str, status: str, added: str = "") -> "report.Mutant":
    diff = f"--- a\n+++ b\n@@ -1 +1 @@\n-    old\n+    {added}" if added else ""
    return report.Mutant(name, "rxviz/" + name.split(".")[1] + ".py", status, diff)


def test_function_names_of_functions_and_methods():
    assert _mutant("rxviz.metrics.x_roc_auc__mutmut_3", "killed").function == "rxviz.metrics.roc_auc"
    assert _mutant("rxviz.card.xǁModelCardǁtrust_verdict__mutmut_1", "killed").function == \
        "rxviz.card.ModelCard.trust_verdict"


def test_scores_count_accepted_survivors_out_and_the_rest_against():
    mutants = [_mutant(f"rxviz.metrics.x_roc_auc__mutmut_{i}", "killed") for i in range(8)]
    mutants += [_mutant("rxviz.metrics.x_roc_auc__mutmut_8", "survived", 'return float("NAN")'),
                _mutant("rxviz.metrics.x_roc_auc__mutmut_9", "survived", "n_pos = 1"),
                _mutant("rxviz.metrics.x_roc_auc__mutmut_10", "no tests", "x = None"),
                _mutant("rxviz.io.x_load__mutmut_1", "timeout")]
    accepted = [{"function": "rxviz.metrics.roc_auc", "lines": ['return float("NAN")'], "why": "the same NaN"},
                {"function": "rxviz.metrics.roc_auc", "lines": ["gone = 1"], "why": "was equivalent once"}]
    rows, unexplained, met = report.score_table(mutants, accepted)
    assert rows == [["rxviz/io.py", "1", "1", "0", "0", "100.0%"],
                    ["rxviz/metrics.py", "11", "8", "1", "2", "80.0%"]]
    assert [m.name.split("_")[-1] for m in unexplained] == ["9", "10"] and not met
    assert report.stale_lines(mutants, accepted) == [("rxviz.metrics.roc_auc", "gone = 1")]
    rows, unexplained, met = report.score_table(mutants[:8] + mutants[-1:], accepted)
    assert met and not unexplained


def test_an_entry_without_a_reason_is_refused(tmp_path):
    file = tmp_path / "accepted.toml"
    file.write_text('[[accepted]]\nfunction = "rxviz.io.load"\nlines = ["x = 1"]\nwhy = " "\n')
    with pytest.raises(SystemExit, match="a reason"):
        report.read_accepted(file)
    file.write_text('[[accepted]]\nfunction = "rxviz.io.load"\nlines = ["x = 1"]\nwhy = "the same"\n')
    assert report.read_accepted(file)[0]["lines"] == ["x = 1"]
