"""Read a finished mutmut run (mutants/ beside the checkout) and print the mutation score of each
mutated module, the surviving mutants as diffs, and whether the run meets issue 22's target.

A mutant is *killed* when a test fails on it (a timeout or a crash counts: a user would notice).
A survivor is either listed in ``tests/mutation-accepted.toml`` with the reason it cannot change
what anyone sees, or it counts against the score. Accepted survivors are matched by their function
and the mutated line's text (any of ``lines``), not mutmut's running number, so the list outlives
edits elsewhere::

    [[accepted]]
    function = "rxviz.metrics.roc_auc"
    lines = ['return float("NAN")']
    why = "float() reads NAN as NaN: the same value"

Exit status: 0 when every module reaches the score target and no survivor is unexplained, 1
otherwise, 2 when there is no finished run to read.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGET = 0.90
ROOT = Path(__file__).resolve().parent.parent
ACCEPTED_FILE = ROOT / "tests" / "mutation-accepted.toml"
KILLED = {"killed", "timeout", "segfault", "caught by type check"}


@dataclass(frozen=True)
class Mutant:
    name: str      # rxviz.report.x_footer_paragraphs__mutmut_12
    module: str    # rxviz/report.py
    status: str    # mutmut's word: killed, survived, no tests, ...
    diff: str

    @property
    def function(self) -> str:
        """rxviz.report.footer_paragraphs (a method: rxviz.card.ModelCard.trust_verdict)."""
        prefix, _, mangled = self.name.rpartition(".")
        mangled = mangled.split("__mutmut_")[0]
        if "ǁ" in mangled:  # mutmut's spelling of Class.method: xǁClassǁmethod
            _, cls, method = mangled.split("ǁ")
            return f"{prefix}.{cls}.{method}"
        return f"{prefix}.{mangled.removeprefix('x_')}"

    @property
    def mutated_lines(self) -> list[str]:
        return [line[1:].strip() for line in self.diff.splitlines() if line.startswith("+") and not line.startswith("+++")]


def read_run() -> list[Mutant]:
    """Every mutant of the last run with its status and diff (run from the checkout's root)."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files

    mutants = []
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for name, code in data.exit_code_by_key.items():
            status = status_by_exit_code[code]
            diff = "" if status in KILLED else get_diff_for_mutant(name, path=path)
            mutants.append(Mutant(name, str(path), status, diff))
    return mutants


def read_accepted(file: Path = ACCEPTED_FILE) -> list[dict[str, Any]]:
    entries = tomllib.loads(file.read_text())["accepted"] if file.exists() else []
    for entry in entries:
        missing = {"function", "lines", "why"} - entry.keys()
        if missing or not entry["why"].strip() or not entry["lines"]:
            raise SystemExit(f"{file.name}: an entry needs function, lines and a reason (why): {entry}")
    return entries


def is_accepted(mutant: Mutant, entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    for entry in entries:
        if entry["function"] == mutant.function and any(line.strip() in mutant.mutated_lines for line in entry["lines"]):
            return entry
    return None


def score_table(mutants: list[Mutant], entries: list[dict[str, Any]]) -> tuple[list[list[str]], list[Mutant], bool]:
    """Rows of (module, mutants, killed, accepted, left, score), the unexplained survivors, and
    whether every module meets the target."""
    by_module: dict[str, list[Mutant]] = defaultdict(list)
    for mutant in mutants:
        by_module[mutant.module].append(mutant)
    rows, unexplained, all_met = [], [], True
    for module in sorted(by_module):
        group = by_module[module]
        killed = sum(m.status in KILLED for m in group)
        survivors = [m for m in group if m.status not in KILLED]
        accepted = [m for m in survivors if is_accepted(m, entries)]
        left = [m for m in survivors if m not in accepted]
        counted = len(group) - len(accepted)
        score = killed / counted if counted else 1.0
        all_met &= score >= TARGET
        unexplained += left
        rows.append([module, str(len(group)), str(killed), str(len(accepted)), str(len(left)), f"{score:.1%}"])
    return rows, unexplained, all_met


def stale_lines(mutants: list[Mutant], entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(function, line) of accepted lines no survivor matches any more (the code changed or a
    test now kills it): the list should say only what is still true."""
    survivors = [m for m in mutants if m.status not in KILLED]
    return [(e["function"], line) for e in entries for line in e["lines"]
            if not any(m.function == e["function"] and line.strip() in m.mutated_lines for m in survivors)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--diffs", action="store_true", help="print each unexplained survivor's diff")
    args = parser.parse_args(argv)
    from rxviz.table import text_table

    if not (ROOT / "mutants").is_dir():
        print("no mutation run found (mutants/ is missing): run scripts/mutation.sh", file=sys.stderr)
        return 2
    mutants = read_run()
    unchecked = [m for m in mutants if m.status == "not checked"]
    if unchecked:
        print(f"the run is unfinished: {len(unchecked)} of {len(mutants)} mutants not checked", file=sys.stderr)
        return 2
    entries = read_accepted()
    rows, unexplained, all_met = score_table(mutants, entries)
    total_killed = sum(int(r[2]) for r in rows)
    total_counted = sum(int(r[1]) - int(r[3]) for r in rows)
    rows.append(["all", str(len(mutants)), str(total_killed), str(sum(int(r[3]) for r in rows)),
                 str(len(unexplained)), f"{total_killed / max(total_counted, 1):.1%}"])
    print(text_table(["module", "mutants", "killed", "accepted", "survived", "score"], rows))
    print()
    for mutant in unexplained:
        print(f"survived ({mutant.status}): {mutant.name}")
        if args.diffs:
            print("\n".join("    " + line for line in mutant.diff.splitlines()[2:]))
    for function, line in stale_lines(mutants, entries):
        print(f"accepted but no longer surviving (remove it): {function}: {line}")
    met = all_met and not unexplained
    print(f"target (every module >= {TARGET:.0%}, no unexplained survivor): {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
