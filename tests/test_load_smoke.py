"""The load benchmark in miniature: three sessions at once against the real server, one a
Chromium page and two spoken on the wire (benchmarks/wire_client.py), all get a result
(benchmarks/load_test.py measures 10, 20 and 30 on both runtimes)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dashboard_server import CHROMIUM
from load_test import run_load

pytestmark = pytest.mark.browser


def test_simultaneous_sessions_in_a_browser_and_on_the_wire_all_get_a_diagnosis(dataset, tmp_path):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing (CI must run the load smoke test)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    result = run_load(3, timeout_s=300, log_dir=tmp_path, browsers=1)
    assert result.errors == [] and result.succeeded == 3, result.errors
    assert len(result.browser_seconds) == 1  # the page's own time, apart from the wire sessions'
    assert result.kernel_mib > 50  # three kernels were alive and measured
