"""A class opening the page at once is served in turn (rxviz.serving.render_in_turn): with one
render at a time, the second page's first byte leaves the real Voila server only after the first
page has been sent whole, while without the limit both stream at once."""

from __future__ import annotations

import threading
import time
import urllib.request

import pytest
from dashboard_server import free_port, start_dashboard, stop_dashboard


def _fetch_pages(renders: str, n: int, log) -> list[tuple[float, float, str]]:
    """Open ``n`` pages at the same moment; per page: first byte and end (s after the start), body."""
    port = free_port()
    server = start_dashboard(port, log, env={"RXVIZ_RENDERS": renders})
    results: list = [None] * n
    start = time.perf_counter()

    def fetch(i: int) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=300) as response:
            first = response.read(1)
            first_at = time.perf_counter() - start
            body = first + response.read()
        results[i] = (first_at, time.perf_counter() - start, body.decode())

    try:
        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        stop_dashboard(server)
    return results


@pytest.mark.parametrize("renders, in_turn", [("1", True), ("0", False)])
def test_pages_run_their_notebook_in_turn(renders, in_turn, tmp_path):
    pages = sorted(_fetch_pages(renders, 2, tmp_path / "voila.log"))
    # both notebooks ran: the app's widget is on each page, sent whole
    assert all("application/vnd.jupyter.widget-view+json" in body and body.rstrip().endswith("</html>")
               for _, _, body in pages)
    (_, first_end, _), (second_start, _, _) = pages
    # served in turn: the second page starts streaming only once the first has been sent whole
    assert (second_start >= first_end - 0.05) is in_turn, pages
