"""Result -> a one-page PNG report: its warnings first (the method's failed trust checks, the domain
check's), then the image, the overlay with lung outline and colour bar, the probabilities under
the classes' display names, where the heat lies, the file's name, model version, date, disclaimer.

Built in memory; nothing is written to disk unless the caller saves the returned bytes.
"""

from __future__ import annotations

import io
import textwrap
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Sequence

from .api import Result
from .card import ModelCard
from .explain import get_method
from .lungs import OUTSIDE, ZONES
from .overlay import DEFAULT_COLORMAP

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

    from .quiz import Quiz

DISCLAIMER = (
    "rxviz is a teaching and research tool, not a medical device. "
    "It must not be used to diagnose, treat or triage a patient."
)

HEATMAP_NOTE = (
    "The heatmap shows which regions most raised the model's score for the explained class. "
    "It is not an outline of disease, and a convincing heatmap does not make the prediction right."
)


def zone_line(zones: dict[str, float]) -> str:
    """The heatmap's share per lung zone on one line, patient's right lung first."""
    if not zones:
        return ""
    side = lambda name: ", ".join(f"{z.split()[1]} {100 * zones[z]:.0f} %" for z in ZONES if z.startswith(name))  # noqa: E731
    return f"Right lung: {side('right')}  |  left lung: {side('left')}  |  outside the lungs {100 * zones[OUTSIDE]:.0f} %"


def method_warning(card: ModelCard, method: str) -> str:
    """A warning when ``method`` failed a trust check on the test images (model card), else ""."""
    if not card.failed_checks(method):
        return ""
    name = get_method(method).label
    return f"Warning: {name} {card.trust_verdict(method)} on the test images (model card): read its map with care."


# pragma: no mutate start
FOOTER_STYLES = {"disclaimer": dict(fontsize=11, weight="bold", color="#8b0000"),
                 "warning": dict(fontsize=10.5, weight="bold", color="#8a6d00"),
                 "heat": dict(fontsize=10), "note": dict(fontsize=9.5), "model": dict(fontsize=9, color="#444444")}
TEXT_STYLES = {"title": dict(fontsize=13), "side": dict(fontsize=9), "value": dict(fontsize=11),
               "verdict": dict(fontsize=12), "heading": dict(fontsize=14, weight="bold"),
               "tile": dict(fontsize=9.5), "tile_text": dict(fontsize=7)}
CORE_COLOUR = (0, 229, 255)
"""The heat's core, as the dashboard draws it."""
BAR_COLOURS = {"top": "#1f4e79", "other": "#8fb3d9", "warned": "#b5b5b5"}
"""The most likely class, the others, and every bar of a warned image (greyed, as the dashboard does)"""
WRAP = {"wide": 150, "narrow": 140}
"""Characters per line of the footer's paragraphs (its warnings and heat line are a little larger)"""
# pragma: no mutate end


GridTile = tuple[str, "np.ndarray", Sequence[str]]
"""One map of a comparison grid: its title, the picture (RGB uint8) and the lines under it."""


def warning_paragraphs(result: Result, card: ModelCard) -> list[str]:
    """The report's warnings, wrapped, as its first text under the heading: the method's failed
    trust checks, then the domain check's reasons the answer may mean nothing."""
    warnings = [method_warning(card, result.method), *(f"Warning: {w.sentence}" for w in result.warnings)]
    return [textwrap.fill(w, WRAP["wide"]) for w in warnings if w]


def footer_paragraphs(result: Result, card: ModelCard, outline: bool, when: datetime,
                      source: str = "", core: bool = False) -> list[tuple[str, str]]:
    """The report's text under the pictures, as (wrapped text, kind of paragraph): disclaimer,
    where the heat lies (and its core, with ``core``), how to read a heatmap, the file
    (``source``, if named), the model and its data."""
    where = f"{result.heat_summary} {zone_line(result.lung_zones)}" + (
        " (white line: lung fields)" if outline and result.frontal else "") + (
        f" {result.core_summary} (dashed cyan line: the heat's core)" if core else "")
    file = f"File: {_shorten(source, 100)}\n" if source else ""
    model = (f"{file}Model {card.name} {card.version} ({card.input_size} px)  |  report {when:%Y-%m-%d %H:%M} UTC\n"
             + textwrap.fill(f"Training data: {card.extra.get('dataset', 'see the model card')}", WRAP["wide"]))
    return [(DISCLAIMER, "disclaimer"), (textwrap.fill(where, WRAP["narrow"]), "heat"),
            (textwrap.fill(HEATMAP_NOTE, WRAP["wide"]), "note"), (model, "model")]


def verdict_title(result: Result, display: dict[str, str]) -> str:
    """The title over the probabilities: the most likely class, none for a picture that is no
    chest radiograph, and a pointer to the warning above for any other warned image."""
    if result.classless:
        return "No class: this is not a chest radiograph"
    return f"Most likely: {display[result.label]}" + (" (see the warning above)" if result.unusual else "")


def report_figure(result: Result, card: ModelCard, alpha: float = 0.4, colormap: str = DEFAULT_COLORMAP,
                  outline: bool = True, when: datetime | None = None, source: str = "", core: bool = False,
                  grid: Sequence[GridTile] = (), grid_title: str = "") -> "Figure":
    """The report for ``result`` as a matplotlib figure, as the view shows it (``alpha``,
    ``colormap``, ``outline``, the heat's ``core`` outlined, the comparison ``grid`` shown under
    ``grid_title``); ``source`` names the file it came from (empty: anonymous). Its warnings
    come first, under the heading, before the answer they qualify. Lines marked ``no mutate``
    only set sizes: scripts/mutation.sh leaves them, and the styles above, alone."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.figure import Figure

    when = when or datetime.now(timezone.utc)
    display = card.display_names
    names = [display[n] for n in result.probabilities]
    values = list(result.probabilities.values())

    warnings = warning_paragraphs(result, card)
    paragraphs = footer_paragraphs(result, card, outline, when, source, core)
    # each row as tall as it needs, in inches: warnings, pictures, colour bar, the grid if any, the footer
    warning_height = sum(_points(text, "warning") for text in warnings) / 72 + 0.1  # pragma: no mutate
    footer_height = sum(_points(text, kind) for text, kind in paragraphs) / 72 + 0.3  # pragma: no mutate
    rows = [warning_height, 3.5, 0.18, *([3.6] if grid else []), footer_height]  # pragma: no mutate
    # constrained layout spaces each row by what it holds (tight_layout gave every row the grid's gap)
    figure = Figure(figsize=(13, sum(rows) + 0.9), dpi=110, layout="constrained")  # pragma: no mutate
    layout = figure.add_gridspec(len(rows), 3, height_ratios=rows, width_ratios=[1, 1, 0.75])  # pragma: no mutate
    shown = result.overlay(alpha=alpha, colormap=colormap, outline=outline)
    for column, (picture, title) in enumerate([
        (result.image, "Radiograph"),
        (shown, f"{get_method(result.method).label} for {display[result.target]}"),
    ]):
        axis = figure.add_subplot(layout[1, column])
        axis.imshow(picture, cmap="gray", vmin=0, vmax=1) if picture.ndim == 2 else axis.imshow(picture)
        axis.set_title(title, **TEXT_STYLES["title"])
        axis.axis("off")
        if result.frontal:  # a lateral view has no patient's right and left side by side
            axis.text(0, -0.01, "patient's right", transform=axis.transAxes, ha="left", va="top", **TEXT_STYLES["side"])
            axis.text(1, -0.01, "patient's left", transform=axis.transAxes, ha="right", va="top", **TEXT_STYLES["side"])
    if core:  # dashed, as the dashboard draws it and the footer says
        axis.contour(result.heat_core.astype(float), levels=[0.5], colors=[tuple(c / 255 for c in CORE_COLOUR)],
                     linestyles="dashed", linewidths=1.6)  # pragma: no mutate
    bar_axis = figure.add_subplot(layout[2, 1])
    bar = figure.colorbar(ScalarMappable(cmap=colormap), cax=bar_axis, orientation="horizontal", ticks=[0, 1])
    bar.ax.set_xticklabels(["low", "high influence"], **TEXT_STYLES["side"])
    bar_axis.set_box_aspect(0.05)  # pragma: no mutate

    bars = figure.add_subplot(layout[1, 2])
    bars.set_title(verdict_title(result, display), **TEXT_STYLES["verdict"])
    if result.classless:
        bars.axis("off")
    else:
        colours = [BAR_COLOURS["warned" if result.unusual else "top" if n == display[result.label] else "other"]
                   for n in names]
        bars.barh(names[::-1], values[::-1], color=colours[::-1])
        for y, value in enumerate(values[::-1]):
            inside = value > 0.78  # no room right of the bar: write on it, in white
            bars.text(value - 0.02 if inside else value + 0.02, y, f"{100 * value:.1f} %", va="center",
                      ha="right" if inside else "left", color="white" if inside else "black", **TEXT_STYLES["value"])
        bars.set_xlim(0, 1)
        bars.set_xlabel("probability")
        bars.spines[["top", "right"]].set_visible(False)

    if grid:
        warned = " (outside what the model knows: see the warning above)" if result.unusual else ""
        _draw_grid(figure, layout[3, :], grid, grid_title + warned)
    # the warnings in the top row, made last so that the pictures stay the figure's first axes
    _draw_paragraphs(figure.add_subplot(layout[0, :]), [(text, "warning") for text in warnings])
    _draw_paragraphs(figure.add_subplot(layout[-1, :]), paragraphs)
    figure.suptitle("rxviz chest X-ray report", **TEXT_STYLES["heading"])
    return figure


def _draw_paragraphs(axis, paragraphs: Sequence[tuple[str, str]]) -> None:
    """Paragraphs one under the other from the top of ``axis``, each as tall as its lines."""
    axis.axis("off")
    down = 0.0
    for text, kind in paragraphs:
        axis.annotate(text, (0, 1), xycoords="axes fraction", xytext=(0, -down), textcoords="offset points",
                      va="top", **FOOTER_STYLES[kind])
        down += _points(text, kind)


def _draw_grid(figure: "Figure", place, grid: Sequence[GridTile], title: str) -> None:
    """The comparison grid in one row under the pictures, under its ``title``, each map titled,
    its lines under it."""
    rows = place.subgridspec(2, 1, height_ratios=[0.25, 3.35])  # pragma: no mutate
    heading = figure.add_subplot(rows[0])
    heading.axis("off")
    heading.text(0, 0.5, title, transform=heading.transAxes, va="center", **TEXT_STYLES["verdict"])
    cells = rows[1].subgridspec(1, len(grid), wspace=0.15)  # pragma: no mutate
    for i, (name, picture, lines) in enumerate(grid):
        axis = figure.add_subplot(cells[0, i])
        axis.imshow(picture)
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_title(textwrap.fill(name, 26), **TEXT_STYLES["tile"])
        axis.set_xlabel("\n".join(textwrap.fill(line, 34) for line in lines if line), **TEXT_STYLES["tile_text"])


def report_png(result: Result, card: ModelCard, alpha: float = 0.4, colormap: str = DEFAULT_COLORMAP,
               outline: bool = True, when: datetime | None = None, source: str = "", core: bool = False,
               grid: Sequence[GridTile] = (), grid_title: str = "") -> bytes:
    """[`report_figure`][rxviz.report.report_figure] as PNG bytes, built in memory."""
    buffer = io.BytesIO()
    figure = report_figure(result, card, alpha, colormap, outline, when, source, core, grid, grid_title)
    figure.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.25)  # every line on the page  # pragma: no mutate
    return buffer.getvalue()


def _points(text: str, kind: str) -> float:
    """The height of a footer paragraph in points, with the gap under it."""
    return (text.count("\n") + 1) * FOOTER_STYLES[kind]["fontsize"] * 1.3 + 4  # pragma: no mutate


def _shorten(name: str, most: int) -> str:
    """``name`` cut in the middle to at most ``most`` characters, so a title never runs over."""
    return name if len(name) <= most else f"{name[:most // 2 - 1]}…{name[-(most - most // 2):]}"


def lesson_summary_png(quiz: "Quiz", names: dict[str, str], thumbnails: Sequence[bytes] = (), student: str = "") -> bytes:
    """A lesson's summary as a one-page PNG a teacher can collect: the student's name and score
    beside the model's, the confusion table and the missed cases (``thumbnails``: each answered
    case's view, in the order asked), with the disclaimer."""
    buffer = io.BytesIO()
    lesson_summary_figure(quiz, names, thumbnails, student).savefig(buffer, format="png")
    return buffer.getvalue()


def lesson_summary_figure(quiz: "Quiz", names: dict[str, str], thumbnails: Sequence[bytes] = (), student: str = ""):
    """The figure of [`lesson_summary_png`][rxviz.report.lesson_summary_png]."""
    import cv2
    import numpy as np
    from matplotlib.figure import Figure

    classes = tuple(names)
    right, asked = quiz.score
    model, _ = quiz.model_score
    missed = [(i, a) for i, a in enumerate(quiz.answers) if a.guess and not a.right]
    rows = 1 + (len(missed) + 5) // 6
    height = 3.4 + 2.1 * (rows - 1)  # inches: the scores and table, then a row of missed cases each  # pragma: no mutate
    figure = Figure(figsize=(11, height), dpi=100)  # pragma: no mutate
    figure.text(0.03, 0.96, f"rxviz lesson summary: {quiz.lesson.title}", va="top", **TEXT_STYLES["heading"])
    share = lambda n: f"{100 * n / asked:.0f} %" if asked else "-"  # noqa: E731
    figure.text(0.03, 0.9, f"{student or 'Student'}: {right} of {asked} right ({share(right)}).   The model on the same cases:"
                f" {model} of {asked} ({share(model)}).", va="top", **TEXT_STYLES["verdict"])
    table = figure.add_axes((0.03, 1 - 2.6 / height, 0.6, 1.2 / height))
    table.axis("off")
    counts = quiz.confusion(classes)
    # the labels are the table's first column, inside its axes: row labels drawn beside it fell off the page
    cells = table.table(cellText=[[names[c], *(str(n) for n in row)] for c, row in zip(classes, counts)],
                        colLabels=["label", *(f"answered {names[c]}" for c in classes)], loc="center", cellLoc="center")
    cells.scale(1, 1.3)
    for i, (index, answer) in enumerate(missed):
        axis = figure.add_axes((0.03 + (i % 6) * 0.16, (rows - 2 - i // 6) * 2.1 / height + 0.08,
                                0.14, 1.6 / height))
        picture = thumbnails[index] if index < len(thumbnails) else b""
        if picture:
            axis.imshow(cv2.cvtColor(cv2.imdecode(np.frombuffer(picture, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_title(f"Case {index + 1}", **TEXT_STYLES["side"])
        axis.set_xlabel(f"said {names[answer.guess]}\nlabel {names[answer.case.label]}", **TEXT_STYLES["tile_text"])
    figure.text(0.03, 0.01, DISCLAIMER, va="bottom", **FOOTER_STYLES["disclaimer"])
    return figure
