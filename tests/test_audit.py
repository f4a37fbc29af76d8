"""scripts/audit.py: which pip-audit reports fail CI, and which exceptions let them pass; the
offline advisory snapshot (../shared/advisories) that stands in where no service answers.

pip-audit's vulnerability service is out of reach on this machine, so the first tests feed the
script reports in pip-audit's own JSON format (``pip-audit -f json``) and check what it decides;
the later ones plant old versions in a throwaway site-packages folder and audit it against the
real snapshot.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import _require

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import audit  # noqa: E402
VULN = {"id": "GHSA-aaaa-bbbb-cccc", "fix_versions": ["3.1.5"], "aliases": ["CVE-2026-0001"],
        "description": "a sandbox escape"}


def _report(*dependencies: dict) -> dict:
    clean = [{"name": f"clean{i}", "version": "1.0", "vulns": []} for i in range(5)]
    return {"dependencies": [*clean, *dependencies], "fixes": []}


def _audit(tmp_path: Path, report: dict, exceptions: str = "") -> tuple[int, str]:
    (tmp_path / "report.json").write_text(json.dumps(report))
    (tmp_path / "exceptions.toml").write_text(exceptions)
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "audit.py"), "--report", str(tmp_path / "report.json"),
                             "--exceptions", str(tmp_path / "exceptions.toml")], capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def _exception(until: datetime.date, id: str = "GHSA-aaaa-bbbb-cccc") -> str:
    return f'[[accepted]]\nid = "{id}"\npackage = "Jinja2"\nreason = "rxviz renders no user template"\nuntil = {until}\n'


def test_a_clean_report_passes(tmp_path):
    status, printed = _audit(tmp_path, _report())
    assert status == 0 and "audited 5 packages" in printed and "no known vulnerabilities" in printed


def test_a_vulnerability_with_a_fixed_release_fails_and_names_the_fix(tmp_path):
    status, printed = _audit(tmp_path, _report({"name": "jinja2", "version": "3.1.4", "vulns": [VULN]}))
    assert status == 1
    assert "VULNERABLE: jinja2 3.1.4: GHSA-aaaa-bbbb-cccc, fixed in 3.1.5" in printed


def test_an_accepted_exception_passes_until_its_date_then_fails_again(tmp_path):
    vulnerable = _report({"name": "jinja2", "version": "3.1.4", "vulns": [VULN]})
    later = datetime.date.today() + datetime.timedelta(days=30)
    status, printed = _audit(tmp_path, vulnerable, _exception(later))
    assert status == 0 and "rxviz renders no user template" in printed
    status, printed = _audit(tmp_path, vulnerable, _exception(later, id="CVE-2026-0001"))  # by its alias
    assert status == 0
    earlier = datetime.date.today() - datetime.timedelta(days=1)
    status, printed = _audit(tmp_path, vulnerable, _exception(earlier))
    assert status == 1 and f"ran out on {earlier}" in printed
    status, _ = _audit(tmp_path, vulnerable, _exception(later, id="GHSA-zzzz-zzzz-zzzz"))  # another one
    assert status == 1


def test_an_exception_without_its_reason_is_refused(tmp_path):
    status, printed = _audit(tmp_path, _report(), '[[accepted]]\nid = "X"\npackage = "y"\nuntil = 2030-01-01\n')
    assert status != 0 and "lacks reason" in printed


def test_a_vulnerability_without_a_fix_is_listed_but_does_not_fail(tmp_path):
    unfixed = {**VULN, "fix_versions": []}
    status, printed = _audit(tmp_path, _report({"name": "jinja2", "version": "3.1.4", "vulns": [unfixed]}))
    assert status == 0 and "no fixed release yet, not failing: jinja2 3.1.4" in printed


@pytest.mark.parametrize("skipped", [6, 100])
def test_an_audit_that_could_not_look_packages_up_is_not_an_all_clear(tmp_path, skipped):
    """pip-audit prints "No known vulnerabilities found" when the service is out of reach."""
    unreachable = [{"name": f"p{i}", "skip_reason": "Dependency not found on PyPI and could not be audited"}
                   for i in range(skipped)]
    status, printed = _audit(tmp_path, _report(*unreachable))
    assert status == 3 and "audit NOT done" in printed and "no known vulnerabilities" not in printed


def test_the_repositorys_exceptions_file_reads(tmp_path):
    status, _ = _audit(tmp_path, _report(), (REPO / ".ci" / "audit-exceptions.toml").read_text())
    assert status == 0


# ---- the offline snapshot -------------------------------------------------------------------


@pytest.fixture(scope="module")
def advisories() -> Path:
    _require((audit.ADVISORIES / "pypa" / "vulns").is_dir(), f"advisory snapshot not found at {audit.ADVISORIES}")
    return audit.ADVISORIES


def _plant(folder: Path, **versions: str) -> Path:
    """A site-packages folder holding only the dist-info of each name at its version, as pip
    leaves them: what the audit reads of an installed package."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, version in versions.items():
        info = folder / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return folder


def _audit_folder(site: Path, *options: str, exceptions: str = "") -> tuple[int, str]:
    (site.parent / "exceptions.toml").write_text(exceptions)
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "audit.py"), "--path", str(site),
                             "--exceptions", str(site.parent / "exceptions.toml"), *options],
                            capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize(("version", "affected"), [
    ("0.9", False), ("1.0", True), ("1.4.9", True), ("1.5", False), ("1.5.0", False), ("1.7", False),
    ("2.0rc1", False), ("2.0", True), ("2.3", True), ("2.3.post1", False), ("3.0", False)])
def test_a_range_opens_at_introduced_and_closes_after_fixed_or_last_affected(version, affected):
    from packaging.version import Version

    events = [{"introduced": "2.0"}, {"last_affected": "2.3"}, {"introduced": "1.0"}, {"fixed": "1.5"}]
    assert audit.in_range(Version(version), events) is affected


def test_a_range_from_zero_and_a_version_that_is_not_pep_440():
    from packaging.version import Version

    assert audit.in_range(Version("0.0.1"), [{"introduced": "0"}, {"fixed": "0.2"}])
    assert not audit.in_range(Version("0.2"), [{"introduced": "0"}, {"fixed": "0.2"}])
    # an event the snapshot gives as a tag is passed over, not a crash
    assert audit.in_range(Version("1.0"), [{"introduced": "0"}, {"fixed": "release-2019"}])


def _advisory(**extra) -> dict:
    return {"id": "PYSEC-0000-1", "aliases": ["GHSA-aaaa-bbbb-cccc"], "summary": "a sandbox escape",
            "affected": [{"package": {"name": "Jinja_2", "ecosystem": "PyPI"}, "versions": ["2.10"],
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.10.1"}]},
                                     {"type": "GIT", "events": [{"introduced": "0"}, {"fixed": "abc123"}]}]}],
            **extra}


def test_an_advisory_matches_its_package_by_normalised_name_and_gives_the_fixes_above():
    from packaging.version import Version

    found = audit.match(_advisory(), "jinja-2", Version("2.9.6"))
    assert found == {"id": "PYSEC-0000-1", "aliases": ["GHSA-aaaa-bbbb-cccc"], "fix_versions": ["2.10.1"],
                     "description": "a sandbox escape"}
    assert audit.match(_advisory(), "jinja-2", Version("2.10.0"))  # listed as "2.10": the same PEP 440 version
    assert audit.match(_advisory(), "jinja-2", Version("2.10.1")) is None
    assert audit.match(_advisory(), "jinja3", Version("2.9")) is None  # another package
    assert audit.match(_advisory(withdrawn="2026-06-09T10:43:00Z"), "jinja-2", Version("2.9")) is None
    listed_only = _advisory()
    listed_only["affected"][0]["ranges"] = []
    assert audit.match(listed_only, "jinja-2", Version("2.10")) == {**found, "fix_versions": []}


def test_the_snapshot_finds_a_planted_old_version_and_passes_the_fixed_one(tmp_path, advisories):
    status, printed = _audit_folder(_plant(tmp_path / "old", Jinja2="2.10", six="1.16.0"), "--offline")
    assert status == 1, printed
    assert "offline advisory snapshot of 23 July 2026 (commit 57da901a)" in printed
    assert "VULNERABLE: jinja2 2.10: PYSEC-2019-217, fixed in 2.10.1" in printed
    assert "audited 2 packages" in printed
    assert printed.count("CVE-2019-10906") == 0 and printed.count("GHSA-462w-v97r-4m45") == 0  # once, by its id
    status, printed = _audit_folder(_plant(tmp_path / "new", Jinja2="3.1.6", six="1.16.0"), "--offline")
    assert status == 0 and "no known vulnerabilities" in printed, printed


def test_the_snapshot_honours_an_exception_until_its_date(tmp_path, advisories):
    site = _plant(tmp_path / "site", Jinja2="2.10")
    status, printed = _audit_folder(site, "--offline", exceptions=_exception(
        datetime.date.today() + datetime.timedelta(days=30), id="CVE-2019-10906"))
    others = [line for line in printed.splitlines() if "VULNERABLE" in line]
    assert "accepted until" in printed and "PYSEC-2019-217" not in " ".join(others)
    earlier = datetime.date.today() - datetime.timedelta(days=1)
    status, printed = _audit_folder(site, "--offline", exceptions=_exception(earlier, id="CVE-2019-10906"))
    assert status == 1 and f"PYSEC-2019-217, fixed in 2.10.1 (its exception ran out on {earlier})" in printed


def test_without_a_service_the_audit_falls_back_to_the_snapshot(tmp_path, advisories):
    """As scripts/test.sh runs it: a live service is asked first; here none answers (and where one
    does, it finds the same old version), so the verdict is the same either way."""
    status, printed = _audit_folder(_plant(tmp_path / "site", Jinja2="2.10"))
    assert status == 1 and "VULNERABLE: jinja2 2.10" in printed, printed


def test_with_neither_a_service_nor_a_snapshot_the_audit_is_not_done(tmp_path):
    status, printed = _audit_folder(_plant(tmp_path / "site", Jinja2="2.10"), "--offline",
                                    "--advisories", str(tmp_path / "nowhere"))
    assert status == 3 and "audit NOT done" in printed and "VULNERABLE" not in printed


def test_todays_pins_pass_the_snapshot_or_carry_a_reason(advisories):
    """What .venv holds now, audited offline: nothing with a fix that .ci/audit-exceptions.toml
    does not accept."""
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "audit.py"), "--offline"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_advisory_filed_twice_under_its_aliases_is_reported_once(tmp_path):
    folder = tmp_path / "advisories" / "pypa" / "vulns" / "Jinja_2"
    folder.mkdir(parents=True)
    first, second = _advisory(), {**_advisory(), "id": "GHSA-aaaa-bbbb-cccc", "aliases": ["PYSEC-0000-1"]}
    other = {**_advisory(), "id": "PYSEC-0000-2", "aliases": []}
    for advisory in (first, second, other):
        (folder / f"{advisory['id']}.yaml").write_text(json.dumps(advisory))  # JSON is YAML too
    report = audit.snapshot_report({"jinja-2": "2.9", "six": "1.16.0"}, tmp_path / "advisories")
    jinja, six = report["dependencies"]
    assert [v["id"] for v in jinja["vulns"]] == ["GHSA-aaaa-bbbb-cccc", "PYSEC-0000-2"] and six["vulns"] == []
