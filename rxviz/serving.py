"""Serving the dashboard: let a Voila page shut its kernel down when it is closed.

Voila's page asks the server to shut its kernel down when the tab is closed or reloaded, sending
the ``_xsrf`` cookie back as Jupyter's cross-site check requires. But Voila streams the page
before anything has set that cookie, so the request is refused (``403 ... '_xsrf' argument missing
from POST``, voila-dashboards/voila#1458) and every visit leaves a kernel of several hundred MiB
until culling frees it. Setting the cookie when the page is requested, as Jupyter's own pages do,
makes the shutdown work; the cross-site check itself is unchanged.

Used as a Jupyter server extension on Binder and JupyterHub (``binder/jupyter_server_config.py``)
and by Voila on its own through ``binder/voila.py``.
"""

from __future__ import annotations

_PATCHED = "_rxviz_sets_xsrf_cookie"


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


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "rxviz.serving"}]


def _load_jupyter_server_extension(server_app) -> None:
    set_xsrf_cookie_on_voila_pages()
    server_app.log.info("rxviz: Voila pages shut their kernels down when closed")
