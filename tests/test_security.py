"""What a visitor of the dashboard can and cannot do, checked against the real server started by
the README's command (scripts/dashboard.sh): it listens on localhost only, and the page's kernel
connection cannot run code, only drive the widgets."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest
from dashboard_server import REPO, free_port, start_dashboard, stop_dashboard
from tornado.websocket import websocket_connect

@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """The dashboard as the README starts it; yields (port, process)."""
    port = free_port()
    server = start_dashboard(port, tmp_path_factory.mktemp("voila") / "voila.log")
    try:
        yield port, server
    finally:
        stop_dashboard(server)


def test_server_listens_on_localhost_only(dashboard):
    port, server = dashboard
    listening = [c.laddr for c in psutil.Process(server.pid).net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening and all(address.ip in ("127.0.0.1", "::1") for address in listening), listening
    assert any(address.port == port for address in listening)


def _message(kind: str, content: dict) -> str:
    header = {"msg_id": uuid.uuid4().hex, "msg_type": kind, "username": "visitor", "session": uuid.uuid4().hex,
              "version": "5.3", "date": ""}
    return json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                       "channel": "shell", "buffers": []})


async def _try_to_execute(port: int, kernel: str, marker: Path) -> list[str]:
    socket_url = f"ws://127.0.0.1:{port}/api/kernels/{kernel}/channels?session_id={uuid.uuid4().hex}"
    connection = await websocket_connect(socket_url)
    code = f"open({str(marker)!r}, 'w').write('the page ran code in the kernel')"
    await connection.write_message(_message("execute_request", {
        "code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False}))
    await connection.write_message(_message("kernel_info_request", {}))
    replies = []
    try:
        while "kernel_info_reply" not in replies or len(replies) < 20:
            message = await asyncio.wait_for(connection.read_message(), timeout=8)
            if message is None:
                break
            if isinstance(message, str):
                replies.append(json.loads(message)["header"]["msg_type"])
    except asyncio.TimeoutError:
        pass
    connection.close()
    return replies


def test_the_page_cannot_run_code_in_its_kernel(dashboard, tmp_path):
    port, _ = dashboard
    page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=120).read().decode()
    kernel = re.search(r'"kernelId": "([0-9a-f-]+)"', page).group(1)
    marker = tmp_path / "executed.txt"
    replies = asyncio.run(_try_to_execute(port, kernel, marker))
    assert "kernel_info_reply" in replies  # the channel works: widget messages get through
    assert "execute_reply" not in replies and "execute_input" not in replies
    time.sleep(1)
    assert not marker.exists()


def _page(port: int) -> tuple[dict[str, str], str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=120) as response:
        return dict(response.headers), response.read().decode()


def test_the_page_allows_only_the_servers_own_scripts(dashboard):
    port, _ = dashboard
    (headers, html), (again, _) = _page(port), _page(port)
    policy = headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    nonce = re.fullmatch(r"'self' 'nonce-([\w-]{20,})' blob:", directives["script-src"]).group(1)
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'self'" and directives["img-src"] == "'self' data: blob:"
    assert "unsafe" not in directives["script-src"] and "*" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert len(scripts) >= 5 and all(f'nonce="{nonce}"' in tag for tag in scripts)
    assert nonce not in again["Content-Security-Policy"]  # a fresh nonce for every page


@pytest.mark.browser
def test_in_the_browser_an_injected_script_does_not_run_and_the_dashboard_still_works(dashboard, browser):
    from dashboard_server import upload_in_browser

    from rxviz.examples import BUNDLED_EXAMPLES

    port, _ = dashboard
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    # every refusal, recorded in the page as it happens (Playwright's init script is not the page's)
    page.add_init_script("window.rxRefused = []; document.addEventListener('securitypolicyviolation',"
                         " e => window.rxRefused.push([e.violatedDirective, e.blockedURI]));")
    page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
    page.locator(".rx-upload").wait_for(timeout=120_000)
    upload_in_browser(page, str(next(BUNDLED_EXAMPLES.glob("NORMAL/*.jpeg"))))
    page.locator(".rx-label").wait_for(timeout=120_000)
    before = page.evaluate("() => window.rxRefused.length")
    page.evaluate("""() => { const s = document.createElement('script');
                            s.textContent = 'window.rxInjected = true'; document.body.appendChild(s);
                            const i = document.createElement('img'); i.src = 'data:,';
                            i.setAttribute('onerror', 'window.rxHandler = true'); document.body.appendChild(i); }""")
    page.wait_for_function(f"() => window.rxRefused.length >= {before + 2}", timeout=10_000)  # both refused
    assert page.evaluate("() => [window.rxInjected, window.rxHandler]") == [None, None]
    # what the policy refused: the two injections, and stylesheets the page template asks of a CDN
    # (offline anyway); nothing of the server's own
    refused = page.evaluate("() => window.rxRefused")
    inline = [r for r in refused if r[1] == "inline"]
    foreign = [r for r in refused if re.match(r"https://(?!127\.0\.0\.1)", r[1])]
    assert len(foreign) + len(inline) == len(refused), refused
    assert sorted(d for d, _ in inline) == ["script-src-attr", "script-src-elem"], inline
    page.close()


def test_listening_for_other_machines_asks_every_visitor_for_the_token(tmp_path):
    port, token = free_port(), "a-shared-token-for-the-class-42"
    server = start_dashboard(port, tmp_path / "voila.log", env={"RXVIZ_HOST": "0.0.0.0", "RXVIZ_TOKEN": token})
    try:
        printed = (tmp_path / "voila.log").read_text()
        assert f":{port}/?token={token}" in printed and "not encrypted" in printed
        listening = {c.laddr.ip for c in psutil.Process(server.pid).net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN and c.laddr.port == port}
        assert listening == {"0.0.0.0"}
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        for visit in ("/", "/?token=a-guessed-token-for-the-class", "/api/kernels", "/voila/api/shutdown/x"):
            try:
                with opener.open(f"http://127.0.0.1:{port}{visit}", timeout=120) as response:
                    assert "/login" in response.url, visit  # sent to the token's login form
                    assert "kernelId" not in response.read().decode()
            except urllib.error.HTTPError as refused:
                assert refused.code in (401, 403), visit
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?token={token}", timeout=120) as response:
            assert "kernelId" in response.read().decode()
    finally:
        stop_dashboard(server)


def test_a_listening_address_given_to_voila_directly_is_refused():
    result = subprocess.run(["scripts/dashboard.sh", "--Voila.ip=0.0.0.0"], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "set --host (RXVIZ_HOST)" in result.stderr
