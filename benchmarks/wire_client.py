"""A student's session on the dashboard, spoken on the wire instead of drawn by a browser.

The load benchmark's Chromium pages run on the server's own cores, where each costs several CPU
seconds to load Voilà's scripts and draw the widgets: work a real class does on the students'
own machines. This client does what such a page does on the network, and little else: it fetches
the page (so Voilà starts a kernel and runs the notebook, exactly as for a browser), connects to
that kernel's websocket, asks for the widgets' state as ipywidgets' front end does
(``jupyter.widget.control``, ``request_states``), sends a radiograph to the upload widget as the
browser's FileUpload does (an ``update`` of its ``value``, the bytes as a binary buffer), and
waits until a widget's new state carries the verdict (``class="rx-label"``). It speaks the websocket
protocol browsers speak (``v1.kernel.websocket.jupyter.org``: binary frames, jupyter_server's
``serialize_msg_to_ws_v1``); the legacy one loses every message after the first that carries
buffers, such as the viewer's pixels.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import re
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1, serialize_msg_to_ws_v1
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

PROTOCOL = "v1.kernel.websocket.jupyter.org"
KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]+)"')


class WireSession:
    """One kernel of a Voilà page, driven through its websocket."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.session_id = uuid.uuid4().hex
        self.kernel_id = ""
        self.cookies = ""
        self.ws = None

    async def open_page(self, timeout_s: float) -> None:
        """GET the page: returns once Voilà has run the notebook and sent it (its kernel is live)."""
        client = AsyncHTTPClient(force_instance=True)  # the shared one queues beyond 10 requests at a time
        try:
            response = await client.fetch(HTTPRequest(self.base_url + "/", connect_timeout=timeout_s,
                                                      request_timeout=timeout_s))
        finally:
            client.close()
        match = KERNEL_ID.search(response.body.decode())
        if not match:
            raise RuntimeError("the page names no kernel")
        self.kernel_id = match.group(1)
        self.cookies = "; ".join(c.split(";", 1)[0] for c in response.headers.get_list("Set-Cookie"))

    async def connect(self, timeout_s: float) -> None:
        url = self.base_url.replace("http", "ws", 1) + f"/api/kernels/{self.kernel_id}/channels?session_id={self.session_id}"
        # the protocol browsers speak: the legacy one loses every message after the first with
        # buffers (the viewer's pixels) in jupyter_server 2
        self.ws = await websocket_connect(HTTPRequest(url, headers={"Cookie": self.cookies},
                                                          connect_timeout=timeout_s, request_timeout=timeout_s),
                                          max_message_size=256 * 2**20, subprotocols=[PROTOCOL])

    def _send(self, msg_type: str, content: dict[str, Any], buffers: list[bytes] | None = None,
              metadata: dict[str, Any] | None = None) -> None:
        header = {"msg_id": uuid.uuid4().hex, "username": "", "session": self.session_id, "msg_type": msg_type,
                  "version": "5.3", "date": ""}
        parts = [json.dumps(part).encode() for part in (header, {}, metadata or {}, content)]
        self.ws.write_message(serialize_msg_to_ws_v1([*parts, *(buffers or [])], "shell"), binary=True)

    async def _receive(self) -> dict[str, Any]:
        frame = await self.ws.read_message()
        if frame is None:
            raise RuntimeError("the kernel's websocket closed")
        _, parts = deserialize_msg_from_ws_v1(frame)
        header, parent, metadata, content = (json.loads(part) for part in parts[:4])
        return {"header": header, "parent_header": parent, "metadata": metadata, "content": content,
                "buffers": parts[4:]}

    async def widget_states(self) -> dict[str, dict[str, Any]]:
        """Every widget's state by model id, asked for as ipywidgets' front end does."""
        control = uuid.uuid4().hex
        self._send("comm_open", {"comm_id": control, "target_name": "jupyter.widget.control", "data": {}},
                   metadata={"version": "1.0.0"})  # ipywidgets' control protocol
        self._send("comm_msg", {"comm_id": control, "data": {"method": "request_states"}})
        reply = await self.next_comm_msg(lambda data: data.get("method") == "update_states")
        return {model_id: s["state"] for model_id, s in reply["states"].items()}

    def upload(self, model_id: str, image: Path) -> None:
        """Set a FileUpload's value to ``image``, as the browser does once a file is chosen."""
        data = image.read_bytes()
        value = [{"name": image.name, "type": mimetypes.guess_type(image.name)[0] or "", "size": len(data),
                  "last_modified": int(time.time() * 1000), "content": None}]
        self._send("comm_msg", {"comm_id": model_id, "data": {"method": "update", "state": {"value": value},
                                                             "buffer_paths": [["value", 0, "content"]]}}, [data])

    async def next_comm_msg(self, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The data of the next comm message from the kernel for which ``wanted(data)`` holds."""
        while True:
            msg = await self._receive()
            if msg["header"]["msg_type"] == "comm_msg" and wanted(msg["content"]["data"]):
                return msg["content"]["data"]

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()


async def session(base_url: str, image: Path, timeout_s: float) -> float:
    """Seconds from asking for the page to the verdict, for one wire-level session; a
    TimeoutError names the step that waited past ``timeout_s`` in all."""
    start = time.perf_counter()
    wire = WireSession(base_url)
    step = "opening the page"
    try:
        async with asyncio.timeout(timeout_s):
            await wire.open_page(timeout_s)
            step = "connecting to the kernel"
            await wire.connect(timeout_s)
            step = "asking for the widgets"
            states = await wire.widget_states()
            step = "waiting for the result"
            wire.upload(next(i for i, state in states.items() if state.get("_model_name") == "FileUploadModel"), image)
            await wire.next_comm_msg(lambda data: any(isinstance(value, str) and 'class="rx-label"' in value
                                                      for value in data.get("state", {}).values()))
        return time.perf_counter() - start
    except TimeoutError:
        raise TimeoutError(f"{step}: no answer within {timeout_s:.0f} s") from None
    finally:
        wire.close()
