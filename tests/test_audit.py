"""scripts/audit.py: which pip-audit reports fail CI, and which exceptions let them pass.

pip-audit's vulnerability service is out of reach on this machine, so these tests feed the
script reports in pip-audit's own JSON format (``pip-audit -f json``) and check what it decides.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
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
