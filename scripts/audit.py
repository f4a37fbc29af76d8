"""Audit the installed Python packages for known vulnerabilities, with accepted exceptions.

    .venv/bin/python scripts/audit.py                 # audit .venv; scripts/test.sh runs this
    .venv/bin/python scripts/audit.py --offline       # the advisory snapshot only, no service
    .venv/bin/python scripts/audit.py --report a.json # judge a report pip-audit wrote (-f json)

A live service (pip-audit) is asked first. Where none answers, as on machines with no internet,
the installed versions are matched against the offline snapshot of the PyPA advisory database in
``../shared/advisories`` (or ``$RXVIZ_ADVISORIES``), whose date the audit prints. A version is
affected when an advisory lists it or one of its ``ECOSYSTEM`` ranges holds it, compared as
PEP 440 versions (``packaging``); withdrawn advisories are left out.

Exit status: 0 nothing to fix; 1 a known vulnerability with a fixed release, not accepted in
.ci/audit-exceptions.toml (or accepted past its date); 3 the audit could not run: no service
answered (pip-audit itself then says "No known vulnerabilities found", a false all-clear) and
there is no snapshot.

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
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from dataclasses import dataclass
from pathlib import Path

import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

REPO = Path(__file__).resolve().parent.parent
EXCEPTIONS = REPO / ".ci" / "audit-exceptions.toml"
ADVISORIES = Path(os.environ.get("RXVIZ_ADVISORIES", REPO.parent / "shared" / "advisories"))
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
                           "(no vulnerability service answered, and no advisory snapshot was found)",))
    lines, failing = [f"audited {looked_up} packages ({skipped} could not be looked up)"], False
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


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:  # a few advisories give a tag or a date, not a PEP 440 version
        return None


def in_range(version: Version, events: list[dict]) -> bool:
    """Whether ``version`` falls in an OSV ``ECOSYSTEM`` range: its events walked in version
    order, each ``introduced`` (inclusive) opening, each ``fixed`` (exclusive) or ``last_affected``
    (inclusive) closing, as the OSV schema defines."""
    points = []
    for event in events:
        for kind, text in event.items():
            at = Version("0") if text == "0" else _version(str(text))
            if at is not None and kind in ("introduced", "fixed", "last_affected"):
                points.append((at, kind))
    affected = False
    for at, kind in sorted(points):
        if kind == "introduced" and version >= at:
            affected = True
        elif (kind == "fixed" and version >= at) or (kind == "last_affected" and version > at):
            affected = False
    return affected


def match(advisory: dict, name: str, version: Version) -> dict | None:
    """``advisory`` as pip-audit reports a vulnerability, if it holds ``name`` at ``version``."""
    if advisory.get("withdrawn"):
        return None
    for affected in advisory.get("affected", []):
        package = affected.get("package", {})
        if package.get("ecosystem") != "PyPI" or canonicalize_name(package.get("name", "")) != name:
            continue
        ranges = [r["events"] for r in affected.get("ranges", []) if r.get("type") == "ECOSYSTEM"]
        listed = version in {_version(str(v)) for v in affected.get("versions", [])}
        if listed or any(in_range(version, events) for events in ranges):
            fixes = sorted({at for events in ranges for e in events if "fixed" in e
                            and (at := _version(str(e["fixed"]))) is not None and at > version})
            return {"id": advisory["id"], "aliases": advisory.get("aliases", []),
                    "fix_versions": [str(v) for v in fixes], "description": advisory.get("summary", "")}
    return None


def snapshot_date(advisories: Path) -> str:
    """The snapshot's date and commit, as its README gives them."""
    readme = advisories / "README.md"
    found = re.search(r"commit (\w+), (\d{1,2} \w+ \d{4})", readme.read_text()) if readme.is_file() else None
    return f"{found.group(2)} (commit {found.group(1)})" if found else "of unknown date (no README says)"


def installed(site_packages: str) -> dict[str, str]:
    """Normalised name -> version of each distribution installed in ``site_packages``."""
    return {canonicalize_name(d.metadata["Name"]): d.version
            for d in importlib.metadata.distributions(path=[site_packages]) if d.metadata["Name"]}


def snapshot_report(packages: dict[str, str], advisories: Path = ADVISORIES) -> dict:
    """A report in pip-audit's JSON format from the offline advisory ``advisories`` for the
    ``packages`` (name -> version); an advisory repeated under its aliases is reported once."""
    folders = {canonicalize_name(f.name): f for f in (advisories / "pypa" / "vulns").iterdir() if f.is_dir()}
    dependencies = []
    for name, text in sorted(packages.items()):
        version = _version(text)
        if version is None:
            dependencies.append({"name": name, "skip_reason": f"version {text!r} is not a PEP 440 version"})
            continue
        vulns: list[dict] = []
        for path in sorted(folders[name].glob("*.yaml")) if name in folders else []:
            found = match(yaml.load(path.read_text(), Loader=yaml.CSafeLoader), name, version)
            if found and not any(found["id"] in v["aliases"] or v["id"] in found["aliases"] for v in vulns):
                vulns.append(found)
        dependencies.append({"name": name, "version": text, "vulns": vulns})
    return {"dependencies": dependencies, "fixes": []}


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
    parser.add_argument("--advisories", type=Path, default=ADVISORIES, help="the offline advisory snapshot")
    parser.add_argument("--offline", action="store_true", help="ask no service: the snapshot only")
    args = parser.parse_args(argv)
    exceptions, today = accepted(args.exceptions), datetime.date.today()
    if args.report:
        verdict = judge(json.loads(args.report.read_text()), exceptions, today)
    else:
        verdict = judge(run_pip_audit(args.path), exceptions, today) if not args.offline else \
            Verdict(3, (f"audit NOT done: no advisory snapshot at {args.advisories}",))
        if verdict.status == 3 and (args.advisories / "pypa" / "vulns").is_dir():
            print(f"rxviz audit: {'no vulnerability service answered; ' if not args.offline else ''}"
                  f"matching against the offline advisory snapshot of {snapshot_date(args.advisories)}, {args.advisories}")
            verdict = judge(snapshot_report(installed(args.path), args.advisories), exceptions, today)
    for line in verdict.lines:
        print(f"rxviz audit: {line}")
    return verdict.status


if __name__ == "__main__":
    sys.exit(main())
