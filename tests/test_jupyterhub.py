"""A class on JupyterHub, deployed as deploy/jupyterhub says, probed as an outsider would.

The hub is started with deploy/jupyterhub/jupyterhub_config.py (which reads the same values.yaml
the Kubernetes deployment uses) and SimpleLocalProcessSpawner, over HTTPS with a self-signed
certificate made here, its plain-HTTP port redirecting. Logins are the real ones: the teacher's
account from RXVIZ_TEACHER_PASSWORD, students who sign up and wait for the teacher's approval.
Chromium logs a student in; the student must land on the dashboard, get a result, and fit the
memory set. Another student, a stranger and plain HTTP must reach nothing of that student's.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests
import yaml
from conftest import _require
from dashboard_server import REPO, free_port, stop_dashboard, tree_rss, upload_in_browser
from playwright.sync_api import expect

from rxviz.examples import BUNDLED_EXAMPLES

DEPLOY = REPO / "deploy" / "jupyterhub"
NODE_BIN = REPO / ".venv" / "node_modules" / ".bin"  # where scripts/test.sh installs the proxy
TEACHER_PASSWORD = "the teacher's long passphrase"
STUDENT_PASSWORD = "a student's passphrase 42"
DASHBOARD = yaml.safe_load((DEPLOY / "values.yaml").read_text())["singleuser"]["defaultUrl"]
pytestmark = pytest.mark.browser


def _bytes(size: str) -> int:
    """Kubernetes-style memory ("384M", "1.5G") in bytes, as JupyterHub reads it."""
    number, unit = re.fullmatch(r"([\d.]+)([KMGT]?)", size).groups()
    return int(float(number) * 1024 ** " KMGT".index(unit or " "))


@dataclass
class Hub:
    url: str        # https://127.0.0.1:PORT
    http_port: int  # the plain-HTTP port that may only redirect
    process: subprocess.Popen
    cert: Path

    def session(self) -> requests.Session:
        """A visitor's own cookie jar that trusts this hub's self-signed certificate."""
        session = requests.Session()
        session.trust_env = False  # a CA bundle in the environment would override verify
        session.verify = str(self.cert)
        return session


def _hub_command(work: Path, *options: str) -> list[str]:
    root = ['--Spawner.args=["--allow-root"]'] if os.geteuid() == 0 else []
    return [str(REPO / ".venv" / "bin" / "jupyterhub"), "-f", str(DEPLOY / "jupyterhub_config.py"),
            f"--JupyterHub.hub_port={free_port()}", f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}",
            "--JupyterHub.spawner_class=simple",
            f"--SimpleLocalProcessSpawner.home_dir_template={work}/home/{{username}}", *root, *options]


def _hub_env(work: Path, **extra: str) -> dict[str, str]:
    path = f"{NODE_BIN}{os.pathsep}{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "RXVIZ_"))}
    env.update(PATH=path, RXVIZ_DATA=str(work / "no-dataset"), **extra)  # as on a hub: the bundled examples
    return env


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1, as a school's own would be."""
    _require(shutil.which("openssl") is not None, "openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    return folder / "cert.pem", folder / "key.pem"


def _start_hub(work: Path, cert: Path, key: Path) -> Hub:
    """The hub as the README deploys it, on free ports, working in ``work`` (its databases)."""
    _require(shutil.which("configurable-http-proxy", path=f"{NODE_BIN}") is not None,
             "configurable-http-proxy is not installed (scripts/test.sh installs it with npm)")
    port, http_port = free_port(), free_port()
    log = open(work / "hub.log", "a")
    process = subprocess.Popen(
        _hub_command(work, "--ssl-cert", str(cert), "--ssl-key", str(key),
                     f"--JupyterHub.bind_url=https://127.0.0.1:{port}"),
        cwd=work, env=_hub_env(work, RXVIZ_TEACHER_PASSWORD=TEACHER_PASSWORD, RXVIZ_HUB_HTTP_PORT=str(http_port)),
        stdout=log, stderr=subprocess.STDOUT)
    hub = Hub(f"https://127.0.0.1:{port}", http_port, process, cert)
    deadline = time.time() + 120
    while True:
        try:  # the proxy answers 404 until the hub has added its route: wait for the hub itself
            if hub.session().get(f"{hub.url}/hub/api", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        if process.poll() is not None or time.time() > deadline:
            stop_dashboard(process)
            pytest.fail(f"JupyterHub did not start:\n{(work / 'hub.log').read_text()[-3000:]}")
        time.sleep(0.5)
    return hub


@pytest.fixture(scope="module")
def hub(tmp_path_factory, certificate):
    """The hub as the README deploys it, on free ports."""
    hub = _start_hub(tmp_path_factory.mktemp("hub"), *certificate)
    process = hub.process
    try:
        yield hub
    finally:
        stop_dashboard(process)
        for child in psutil.Process().children(recursive=True):  # students' servers, if left
            if "jupyterhub-singleuser" in " ".join(child.cmdline()):
                child.kill()


class _From(requests.adapters.HTTPAdapter):
    """Requests sent from another loopback address, as from another machine of the class."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **{**kwargs, "source_address": (self.address, 0)})


def _visitor(hub: Hub, address: str) -> requests.Session:
    session = hub.session()
    session.mount("https://", _From(address))
    return session


def _form(session: requests.Session, url: str) -> str:
    """The _xsrf value of the form at ``url`` (JupyterHub refuses a form posted without it)."""
    return re.search(r'name="_xsrf" value="([^"]+)"', session.get(url, timeout=30).text).group(1)


def _log_in(hub: Hub, session: requests.Session, name: str, password: str) -> bool:
    """Whether the hub let ``name`` in: a redirect with the hub's login cookie."""
    response = session.post(f"{hub.url}/hub/login", allow_redirects=False, timeout=30, data={
        "username": name, "password": password, "_xsrf": _form(session, f"{hub.url}/hub/login")})
    return response.status_code == 302 and "jupyterhub-hub-login" in response.cookies


def _sign_up(hub: Hub, name: str, password: str) -> None:
    session = hub.session()
    session.post(f"{hub.url}/hub/signup", timeout=30, data={
        "username": name, "signup_password": password, "signup_password_confirmation": password,
        "_xsrf": _form(session, f"{hub.url}/hub/signup")}).raise_for_status()


def _api(session: requests.Session, method: str, url: str) -> requests.Response:
    """A hub API call authenticated by the session's cookie, with its XSRF token as the hub asks."""
    xsrf = next((c.value for c in session.cookies if c.name == "_xsrf" and c.path.startswith("/hub")), "")
    return session.request(method, url, timeout=30, allow_redirects=False, headers={"X-XSRFToken": xsrf})


@pytest.fixture(scope="module")
def teacher(hub) -> requests.Session:
    session = hub.session()
    assert _log_in(hub, session, "teacher", TEACHER_PASSWORD), "the teacher's own password was refused"
    return session


def _student(hub: Hub, teacher: requests.Session, name: str) -> requests.Session:
    """A student who signed up, was approved by the teacher and logged in."""
    _sign_up(hub, name, STUDENT_PASSWORD)
    teacher.get(f"{hub.url}/hub/authorize/{name}", timeout=30).raise_for_status()  # the teacher's toggle
    session = hub.session()
    assert _log_in(hub, session, name, STUDENT_PASSWORD)
    return session


def _open_dashboard(hub: Hub, session: requests.Session, name: str) -> requests.Response:
    """Start the student's own server and open their dashboard, as their browser would (the
    login handshake with the single-user server included); the page's kernel stays running."""
    session.get(f"{hub.url}/hub/spawn", timeout=60)
    deadline = time.time() + 300
    while time.time() < deadline:
        response = session.get(f"{hub.url}/user/{name}{DASHBOARD}", timeout=120)
        if response.ok and response.url.startswith(f"{hub.url}/user/{name}{DASHBOARD}"):
            return response
        time.sleep(1)
    pytest.fail(f"{name}'s server did not start")


def _run_hub_briefly(work: Path, options: list[str], env: dict[str, str]) -> str:
    """What the hub printed when started with ``options``; it must exit by itself."""
    result = subprocess.run(_hub_command(work, *options), cwd=work, env=_hub_env(work, **env),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0, "the hub started"
    return result.stdout + result.stderr


def test_the_hub_refuses_to_start_open_to_the_world(tmp_path, certificate):
    cert, key = certificate
    tls = ["--ssl-cert", str(cert), "--ssl-key", str(key), f"--JupyterHub.bind_url=https://127.0.0.1:{free_port()}"]
    strong = {"RXVIZ_TEACHER_PASSWORD": TEACHER_PASSWORD}
    dummy = _run_hub_briefly(tmp_path, [*tls, "--JupyterHub.authenticator_class=dummy"], strong)
    assert "dummy authenticator lets anyone in" in dummy
    clear = _run_hub_briefly(tmp_path, [], strong)
    assert "must not travel in clear text" in clear
    weak = _run_hub_briefly(tmp_path, tls, {"RXVIZ_TEACHER_PASSWORD": "teacher"})
    assert "set RXVIZ_TEACHER_PASSWORD" in weak
    for output in (dummy, clear, weak):
        assert "Traceback" not in output


def test_plain_http_gets_nothing_but_a_redirect(hub):
    port = int(hub.url.rsplit(":", 1)[1])
    for path in ("/", "/hub/login", "/hub/signup", "/hub/api/users", f"/user/student{DASHBOARD}"):
        connection = http.client.HTTPConnection("127.0.0.1", hub.http_port, timeout=10)
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 301, (path, response.status)
        assert response.getheader("Location") == f"{hub.url}{path}"
        assert response.read() == b""
        connection.close()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # plain HTTP to the HTTPS port
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        connection.request("GET", "/hub/login")
        connection.getresponse().read()


def test_an_outsider_gets_no_login(hub, teacher):
    stranger = _visitor(hub, "127.0.0.9")
    # what the dummy authenticator let through: any name, any password
    assert sum(_log_in(hub, stranger, f"visitor{i}", secrets.token_hex(4)) for i in range(10)) == 0
    # an approved student's account, hammered: 0 of 10; the stranger is then refused even the
    # right password, while the student, from their own machine, gets in
    _student(hub, teacher, "carol")
    assert sum(_log_in(hub, stranger, "carol", f"guess {i}") for i in range(10)) == 0
    assert not _log_in(hub, stranger, "carol", STUDENT_PASSWORD)
    assert _log_in(hub, hub.session(), "carol", STUDENT_PASSWORD)
    # a sign-up the teacher has not approved, and a sign-up that tries to take the teacher's name
    _sign_up(hub, "dave", STUDENT_PASSWORD)
    assert not _log_in(hub, hub.session(), "dave", STUDENT_PASSWORD)
    _sign_up(hub, "teacher", "an outsider's passphrase")
    assert not _log_in(hub, hub.session(), "teacher", "an outsider's passphrase")
    assert _log_in(hub, hub.session(), "teacher", TEACHER_PASSWORD)


def test_a_strangers_wrong_passwords_lock_the_stranger_not_the_student_across_a_restart(tmp_path_factory, certificate):
    """A stranger who knows a student's name tries 50 passwords from one machine: the stranger's
    address is locked for that name, the student logs in from theirs at once; one who sprays names
    is locked by address; a forged X-Forwarded-For changes nothing; and a restart forgets none of it."""
    work = tmp_path_factory.mktemp("guard")
    hub = _start_hub(work, *certificate)
    try:
        teacher = hub.session()
        assert _log_in(hub, teacher, "teacher", TEACHER_PASSWORD)
        _sign_up(hub, "erin", STUDENT_PASSWORD)
        teacher.get(f"{hub.url}/hub/authorize/erin", timeout=30).raise_for_status()
        stranger = _visitor(hub, "127.0.0.2")
        started = time.perf_counter()
        assert sum(_log_in(hub, stranger, "erin", f"guess {i}") for i in range(50)) == 0
        assert not _log_in(hub, stranger, "erin", STUDENT_PASSWORD)  # locked there, even with the right one
        assert _log_in(hub, _visitor(hub, "127.0.0.3"), "erin", STUDENT_PASSWORD)
        assert time.perf_counter() - started < 60  # within a minute of the first wrong password
        forged = _visitor(hub, "127.0.0.2")
        forged.headers["X-Forwarded-For"] = "203.0.113.7"  # a header the stranger wrote: not an address
        assert not _log_in(hub, forged, "erin", STUDENT_PASSWORD)
        sprayer = _visitor(hub, "127.0.0.4")
        assert sum(_log_in(hub, sprayer, f"name{i}", "a guess") for i in range(20)) == 0
        assert not _log_in(hub, sprayer, "teacher", TEACHER_PASSWORD)  # the address itself is locked
    finally:
        stop_dashboard(hub.process)
    hub = _start_hub(work, *certificate)  # the same hub, restarted
    try:
        assert not _log_in(hub, _visitor(hub, "127.0.0.2"), "erin", STUDENT_PASSWORD)
        assert not _log_in(hub, _visitor(hub, "127.0.0.4"), "teacher", TEACHER_PASSWORD)
        assert _log_in(hub, _visitor(hub, "127.0.0.3"), "erin", STUDENT_PASSWORD)
    finally:
        stop_dashboard(hub.process)


def test_students_are_kept_apart(hub, teacher):
    alice, bob = _student(hub, teacher, "alice"), _student(hub, teacher, "bob")
    page = _open_dashboard(hub, bob, "bob")
    # the student's page, served by rxviz.serving as a server extension, runs only its own scripts
    assert "script-src 'self' 'nonce-" in page.headers["Content-Security-Policy"]
    kernels = bob.get(f"{hub.url}/user/bob/api/kernels", timeout=30)
    assert kernels.ok and kernels.json(), "bob cannot see his own dashboard's kernel"  # the probe can see
    kernel = kernels.json()[0]["id"]

    answers = {}
    for path in (DASHBOARD, "/api/kernels", f"/api/kernels/{kernel}", f"/api/kernels/{kernel}/channels",
                 "/api/sessions", "/api/contents", "/api/status", "/lab", "/tree"):
        response = alice.get(f"{hub.url}/user/bob{path}", timeout=60)  # redirects followed
        answers[path] = response.status_code
        assert not (response.ok and "/user/bob" in response.url), f"alice reached bob's {path}"
        assert kernel not in response.text and "rx-upload" not in response.text
    print(f"\nalice asking for bob's pages got {answers}")
    assert answers[DASHBOARD] == 403
    for method, url in (("DELETE", "/hub/api/users/bob/server"), ("GET", "/hub/api/users/bob"),
                        ("GET", "/hub/api/users"), ("POST", "/hub/api/users/bob/server")):
        response = _api(alice, method, f"{hub.url}{url}")
        assert response.status_code in (403, 404), (method, url, response.status_code)
        assert "xsrf" not in response.text.lower()
    assert alice.get(f"{hub.url}/hub/admin", timeout=30).status_code == 403
    assert bob.get(f"{hub.url}/user/bob/api/status", timeout=30).ok  # bob's server still runs

    users = _api(teacher, "GET", f"{hub.url}/hub/api/users")
    assert users.status_code == 200 and {"alice", "bob"} <= {u["name"] for u in users.json()}


def _student_server(hub_process: subprocess.Popen, name: str) -> psutil.Process:
    return next(p for p in psutil.Process(hub_process.pid).children(recursive=True)
                if "jupyterhub-singleuser" in " ".join(p.cmdline()) and f"/home/{name}" in p.cwd())


def test_a_student_logs_in_lands_on_the_dashboard_and_fits_the_memory_set(hub, teacher, browser):
    values = yaml.safe_load((DEPLOY / "values.yaml").read_text())["singleuser"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, ignore_https_errors=True)
    page = context.new_page()
    page.goto(f"{hub.url}/hub/signup", timeout=60_000)
    page.fill("input[name=username]", "student")
    page.fill("input[name=signup_password]", STUDENT_PASSWORD)
    page.fill("input[name=signup_password_confirmation]", STUDENT_PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.locator("text=sent to the admin").wait_for(timeout=30_000)
    teacher.get(f"{hub.url}/hub/authorize/student", timeout=30).raise_for_status()

    response = page.goto(f"{hub.url}/hub/login", timeout=60_000)
    assert response.ok, f"the login page answered {response.status}"
    page.fill("input[name=username]", "student")
    page.fill("input[name=password]", STUDENT_PASSWORD)
    start = time.perf_counter()
    page.click("input[type=submit], button[type=submit]")
    page.locator(".rx-upload").wait_for(state="visible", timeout=300_000)
    print(f"\nlogin to usable dashboard: {time.perf_counter() - start:.1f} s")
    assert page.url.startswith(f"{hub.url}/user/student{DASHBOARD}")
    assert "not a diagnostic device" in page.title()

    upload_in_browser(page, str(next(BUNDLED_EXAMPLES.glob("PNEUMONIA/*virus*.jpeg"))))
    page.locator(".rx-label").wait_for(timeout=120_000)
    expect(page.locator(".rx-error")).to_have_count(0)
    server = _student_server(hub.process, "student")
    light = tree_rss(server.pid)

    page.locator(".rx-method select").select_option(label="Grad-CAM++")  # loads TensorFlow in the kernel
    page.locator('.rxv-canvas-overlay[aria-label^="Grad-CAM++ heatmap"]').wait_for(timeout=180_000)
    heavy = tree_rss(server.pid)
    print(f"student's server + kernel RSS: {light / 2**20:.0f} MiB on the default path,"
          f" {heavy / 2**20:.0f} MiB with TensorFlow loaded")
    assert light <= _bytes(values["memory"]["guarantee"])
    assert heavy <= _bytes(values["memory"]["limit"])
    assert heavy > light + 200 * 2**20  # TensorFlow really was loaded only now
    context.close()

    culler = [p for p in psutil.Process(hub.process.pid).children(recursive=True)
              if "jupyterhub_idle_culler" in " ".join(p.cmdline())]
    assert culler and "--timeout=1200" in culler[0].cmdline()
