"""Audit the installed Python packages for known vulnerabilities (pip-audit), with accepted exceptions.

    .venv/bin/python scripts/audit.py                 # audit .venv; scripts/test.sh runs this
    .venv/bin/python scripts/audit.py --report a.json # judge a report pip-audit wrote (-f json)

Exit status: 0 nothing to fix; 1 a known vulnerability with a fixed release, not accepted in
.ci/audit-exceptions.toml (or accepted past its date); 3 the audit could not run, because the
vulnerability service was out of reach and most packages could not be looked up. pip-audit
itself says "No known vulnerabilities found" in that case, which would be a false all-clear.

An exception names the vulnerability, the package, why it cannot reach rxviz's users and a date
by which to look again::

    [[accepted]]
    id = "GHSA-xxxx-xxxx-xxxx"
    package = "somepackage"
    reason = "only reachable through X, which rxviz never calls"
    until = 2027-03-01
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import sysconfig
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXCEPTIONS = REPO / ".ci" / "audit-exceptions.toml"
#: More packages than this share unlooked-up means the service was not reached.
MOST_SKIPPED = 0.5


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fixed_in: tuple[str, ...]

    def names(self) -> set[str]:
        return {self.id, *self.aliases}


@dataclass(frozen=True)
class Verdict:
    status: int
    lines: tuple[str, ...]


def findings(report: dict) -> tuple[list[Finding], int, int]:
    """(the vulnerabilities in a pip-audit JSON report, packages looked up, packages skipped)."""
    found, looked_up, skipped = [], 0, 0
    for dependency in report.get("dependencies", []):
        if "skip_reason" in dependency:
            skipped += 1
            continue
        looked_up += 1
        for vuln in dependency.get("vulns", []):
            found.append(Finding(dependency["name"], dependency.get("version", "?"), vuln["id"],
                                 tuple(vuln.get("aliases", [])), tuple(vuln.get("fix_versions", []))))
    return found, looked_up, skipped


def accepted(path: Path = EXCEPTIONS) -> list[dict]:
    """The accepted exceptions; each must give an id, a package, a reason and an until date."""
    if not path.exists():
        return []
    entries = tomllib.loads(path.read_text()).get("accepted", [])
    for entry in entries:
        missing = {"id", "package", "reason", "until"} - entry.keys()
        if missing:
            raise ValueError(f"{path}: the exception {entry.get('id', '?')} lacks {', '.join(sorted(missing))}")
    return entries


def judge(report: dict, exceptions: list[dict], today: datetime.date) -> Verdict:
    """What the audit says of ``report`` given the accepted ``exceptions``."""
    found, looked_up, skipped = findings(report)
    total = looked_up + skipped
    if total == 0 or skipped / total > MOST_SKIPPED:
        return Verdict(3, (f"audit NOT done: {skipped} of {total} packages could not be looked up "
                           "(is the vulnerability service reachable?)",))
    lines, failing = [f"audited {looked_up} packages ({skipped} not on the index)"], False
    for finding in found:
        label = f"{finding.package} {finding.version}: {finding.id}"
        exception = next((e for e in exceptions if e["package"].lower() == finding.package.lower()
                          and e["id"] in finding.names()), None)
        if exception and exception["until"] >= today:
            lines.append(f"accepted until {exception['until']}: {label} ({exception['reason']})")
        elif not finding.fixed_in:
            lines.append(f"no fixed release yet, not failing: {label}")
        else:
            failing = True
            expired = f" (its exception ran out on {exception['until']})" if exception else ""
            lines.append(f"VULNERABLE: {label}, fixed in {', '.join(finding.fixed_in)}{expired}")
    if not found:
        lines.append("no known vulnerabilities")
    return Verdict(1 if failing else 0, tuple(lines))


def run_pip_audit(site_packages: str) -> dict:
    """pip-audit's JSON report on the packages installed in ``site_packages``."""
    result = subprocess.run([sys.executable, "-m", "pip_audit", "--path", site_packages, "--format", "json",
                             "--progress-spinner", "off", "--skip-editable"], capture_output=True, text=True)
    if result.returncode not in (0, 1):  # 1: vulnerabilities found
        raise SystemExit(f"rxviz audit: pip-audit failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", type=Path, help="a pip-audit JSON report to judge instead of running it")
    parser.add_argument("--exceptions", type=Path, default=EXCEPTIONS)
    parser.add_argument("--path", default=sysconfig.get_paths()["purelib"], help="the site-packages to audit")
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text()) if args.report else run_pip_audit(args.path)
    verdict = judge(report, accepted(args.exceptions), datetime.date.today())
    for line in verdict.lines:
        print(f"rxviz audit: {line}")
    return verdict.status


if __name__ == "__main__":
    sys.exit(main())
