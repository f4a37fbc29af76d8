"""Serving the dashboard: pages that shut their kernels down, a class served in turn, and pages
that run only the server's own scripts.

Voila's page asks the server to shut its kernel down when the tab is closed or reloaded, sending
the ``_xsrf`` cookie back as Jupyter's cross-site check requires. But Voila streams the page
before anything has set that cookie, so the request is refused (``403 ... '_xsrf' argument missing
from POST``, voila-dashboards/voila#1458) and every visit leaves a kernel of several hundred MiB
until culling frees it. Setting the cookie when the page is requested, as Jupyter's own pages do,
makes the shutdown work; the cross-site check itself is unchanged.

When a class opens the page at once, every visit starts a kernel and runs the notebook, and the
browsers then load the page's scripts. Shared by all on a few cores, everyone waits about as long
as the last one. [`render_in_turn`][rxviz.serving.render_in_turn] lets at most one page per core (``$RXVIZ_RENDERS``) start
its kernel and run the notebook at a time, the others waiting in arrival order, so the first pages
are ready in seconds; the last waits no longer than before, since the work is the same.

Each dashboard page carries a Content-Security-Policy ([`page_policy`][rxviz.serving.page_policy]): scripts only from the
server itself, or inline ones marked with a nonce made afresh for that page, which Voila's own
inline scripts get as the page streams out; images from the server and data URIs; no plugins, no
framing by other sites. A script that anything else put in the page does not run. (No report-uri:
Jupyter server's report endpoint refuses the browser's reports for want of an _xsrf token.)

[`voila_command`][rxviz.serving.voila_command] is how ``rxviz dashboard`` (and so ``scripts/dashboard.sh``) starts Voila on its
own: on localhost, or on another address only with a token.

Used as a Jupyter server extension on Binder and JupyterHub (``binder/jupyter_server_config.py``)
and by Voila on its own through ``binder/voila.py``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from .bundle import bundled

_PATCHED = "_rxviz_sets_xsrf_cookie"
_GATED = "_rxviz_renders_in_turn"
_GUARDED = "_rxviz_content_security_policy"
RENDERS_ENV = "RXVIZ_RENDERS"
"""Environment variable: how many pages may run their notebook at once (default: one per core)."""


def set_xsrf_cookie_on_voila_pages() -> None:
    """Make Voila's page handlers set the ``_xsrf`` cookie before the page streams out."""
    from voila.handler import BaseVoilaHandler

    if getattr(BaseVoilaHandler, _PATCHED, False):
        return
    prepare = BaseVoilaHandler.prepare

    async def prepare_with_cookie(self, *args, **kwargs):
        result = await prepare(self, *args, **kwargs)
        self.xsrf_token  # noqa: B018 (reading it sets the cookie, as Jupyter's own pages do)
        return result

    BaseVoilaHandler.prepare = prepare_with_cookie
    setattr(BaseVoilaHandler, _PATCHED, True)


def renders_at_once() -> int:
    """``$RXVIZ_RENDERS``, else the cores this process may use; 0 means no limit."""
    value = os.environ.get(RENDERS_ENV, "").strip()
    if not value:
        return len(os.sched_getaffinity(0))
    if not value.isdigit():
        raise ValueError(f"{RENDERS_ENV}={value!r}: give a whole number of pages (0: no limit)")
    return int(value)


def render_in_turn(limit: int | None = None) -> int:
    """Let at most ``limit`` (default [`renders_at_once`][rxviz.serving.renders_at_once]) Voila pages start a kernel and run
    the notebook at a time; later requests wait, first come first served. Returns the limit (0:
    none)."""
    from voila.handler import VoilaHandler

    limit = renders_at_once() if limit is None else limit
    if getattr(VoilaHandler, _GATED, False) or limit <= 0:
        return limit
    render = VoilaHandler.get_generator
    gate = asyncio.Semaphore(limit)  # waiters are woken in arrival order

    async def render_when_free(self, *args, **kwargs):
        async with gate:
            async for html in render(self, *args, **kwargs):
                yield html

    VoilaHandler.get_generator = render_when_free
    setattr(VoilaHandler, _GATED, True)
    return limit


def page_policy(nonce: str) -> str:
    """The dashboard page's Content-Security-Policy, its inline scripts marked by ``nonce``.

    >>> "script-src 'self' 'nonce-abc' blob:" in page_policy("abc")
    True
    """
    return "; ".join([
        "default-src 'self'",
        # blob: for the viewer: anywidget imports a widget's module (shipped in the package) from a
        # blob URL it makes of the module's text; only a script already running can make one
        f"script-src 'self' 'nonce-{nonce}' blob:",
        "style-src 'self' 'unsafe-inline'",  # ipywidgets and Lumino set styles on their elements
        "img-src 'self' data: blob:",  # the radiograph, overlay and report are data URIs
        "font-src 'self' data:",
        "connect-src 'self'",  # the kernel's websocket: same host and port
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ])


def guard_voila_pages() -> None:
    """Send each Voila page with [`page_policy`][rxviz.serving.page_policy] under a fresh nonce, which every ``<script``
    the page streams out gets; and keep the page's address out of other sites' logs."""
    from voila.handler import VoilaHandler

    if getattr(VoilaHandler, _GUARDED, False):
        return
    render = VoilaHandler.get_generator

    async def render_guarded(self, *args, **kwargs):
        nonce = secrets.token_urlsafe(18)
        self.set_header("Content-Security-Policy", page_policy(nonce))
        self.set_header("Referrer-Policy", "same-origin")
        async for html in render(self, *args, **kwargs):
            yield html.replace("<script", f'<script nonce="{nonce}"') if isinstance(html, str) else html

    VoilaHandler.get_generator = render_guarded
    setattr(VoilaHandler, _GUARDED, True)


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
OWN_OPTIONS = ("--ip", "--Voila.ip", "--token", "--Voila.token", "--Voila.auto_token", "--IdentityProvider.")
"""Voila options that ``rxviz dashboard`` sets itself: the address and who may come in."""


@dataclass(frozen=True)
class VoilaCommand:
    argv: list[str]
    env: dict[str, str]
    lines: list[str]  # what to tell the person who started it


def voila_command(port: int = 8866, host: str = "127.0.0.1", token: str | None = None,
                  model_dir: Path | None = None, examples: Path | None = None,
                  voila_options: list[str] | None = None) -> VoilaCommand:
    """Voila serving the bundled dashboard notebook with Binder's settings (binder/voila.py).

    On localhost nobody else can connect. Any other ``host`` lets other machines in with the
    ``token`` only (made here when not given), and the lines to print say so, with the address
    to share. ``voila_options`` go to Voila, except those that would change who gets in.

    >>> voila_command(host="0.0.0.0", token="a-token-of-sixteen+").argv[-1]
    '--Voila.token=a-token-of-sixteen+'
    """
    options = list(voila_options or [])
    for option in options:
        if option.startswith(OWN_OPTIONS):
            raise ValueError(f"{option}: set --host (RXVIZ_HOST) and --token (RXVIZ_TOKEN) instead, so that"
                             " the server asks for a token")
    binder = bundled("binder")
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    template = str(binder / "share" / "jupyter")  # rxviz's page template
    env["JUPYTER_PATH"] = os.pathsep.join([template, *filter(None, [env.get("JUPYTER_PATH")])])
    if model_dir is not None:
        env["RXVIZ_MODEL_DIR"] = str(Path(model_dir).resolve())
    if examples is not None:
        env["RXVIZ_EXAMPLES"] = str(Path(examples).resolve())
    argv = [sys.executable, "-m", "voila", str(bundled("notebooks") / "dashboard.ipynb"), "--no-browser",
            f"--port={port}", f"--Voila.config_file_paths={binder}", *options, f"--Voila.ip={host}"]
    if host in LOCAL_HOSTS:
        lines = [f"open http://127.0.0.1:{port}/ in your browser (Ctrl+C stops the server)"]
        return VoilaCommand(argv, env, lines)
    token = token or secrets.token_urlsafe(24)
    if len(token) < 16:
        raise ValueError("the token must be at least 16 characters")
    shown = host if host != "0.0.0.0" else _own_address()
    lines = [f"listening on {host}:{port} for other machines; every visitor needs the token.",
             f"share this address (it holds the token): http://{shown}:{port}/?token={token}",
             "the traffic is not encrypted: on a network you do not trust, deploy the hub over HTTPS",
             "instead (README: Deploying for a class, securely). Ctrl+C stops it."]
    return VoilaCommand([*argv, f"--Voila.token={token}"], env, lines)


def _own_address() -> str:
    """This machine's name as its network knows it, for the address to share."""
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return socket.gethostname()


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "rxviz.serving"}]


def _load_jupyter_server_extension(server_app) -> None:
    set_xsrf_cookie_on_voila_pages()
    guard_voila_pages()
    limit = render_in_turn()
    server_app.log.info(f"rxviz: Voila pages shut their kernels down when closed; {limit or 'any number of'}"
                        " pages run their notebook at a time; pages run only the server's own scripts")
