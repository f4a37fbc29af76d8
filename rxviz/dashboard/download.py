"""The report download: rebuilt once the view has stopped changing, named after the file unless
the anonymous switch is on (by default for a DICOM), and never written to disk."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import ipywidgets as widgets

from . import page

REPORT_DELAY_S = 0.8
"""Seconds the view must stay unchanged before its report is rebuilt."""


def download_name(source: str, when: datetime) -> str:
    """The report's file name: the upload's stem (letters, digits, - and _ only), or "xray"
    when it has no name to show (``source`` empty: anonymous)."""
    stem = re.sub(r"[^A-Za-z0-9_-]", "-", Path(source).stem)[:60]
    return f"rxviz-report-{stem or 'xray'}-{when:%Y%m%d-%H%M%S}.png"


class ReportDownload:
    """The anonymous switch and the link; ``build`` makes the current view's PNG, ``source`` is
    the name it may show ("" for none)."""

    def __init__(self, build: Callable[[], bytes | None], source: Callable[[], str]):
        self._build, self._source = build, source
        self.anonymous = widgets.Checkbox(value=False, description="Anonymous", indent=False,
                                          tooltip="Keep the file name out of the page, the report and its name")
        self.link = widgets.HTML()
        self.anonymous.add_class("rx-anonymous")
        self.link.add_class("rx-report")
        self._timer: asyncio.TimerHandle | None = None
        self.widget = widgets.VBox([self.anonymous, self.link])

    def make(self) -> bytes | None:
        """The PNG report of the current view, offered as a one-click download link."""
        self._timer = None
        data = self._build()
        if data is None:
            self.link.value = ""
            return None
        name = download_name(self._source(), datetime.now(timezone.utc))
        self.link.value = page.report_link(data, name)
        return data

    def stale(self) -> None:
        """The view changed: rebuild the report once it has stopped changing for a moment (a
        report takes most of a second, an opacity drag sends many changes). Without an event loop
        (scripts, tests) it is built when [`make`][rxviz.dashboard.download.ReportDownload.make] is called."""
        self.link.value = page.PREPARING
        self.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._timer = loop.call_later(REPORT_DELAY_S, self.make)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def clear(self) -> None:
        self.cancel()
        self.link.value = ""
