"""The load benchmark in miniature: two sessions at once against the real server both get a
result (benchmarks/load_test.py measures 10, 20 and 30 on both runtimes)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dashboard_server import CHROMIUM
from load_test import run_load

pytestmark = pytest.mark.browser


def test_two_simultaneous_sessions_both_get_a_diagnosis(dataset, tmp_path):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing (CI must run the load smoke test)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    result = run_load(2, timeout_s=300, log_dir=tmp_path)
    assert result.succeeded == 2, result.errors
    assert result.errors == [] and len(result.seconds) == 2
    assert result.kernel_mib > 50  # two kernels were alive and measured
