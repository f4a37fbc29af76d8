"""Lessons: a teacher's set of cases, in order, with the answer and what to look at.

A lesson is a folder of radiographs (JPEG, PNG, DICOM) with one plain file, ``lesson.csv``,
that lists a case per line::

    file,label,zone,note
    NORMAL/IM-0010-0001.jpeg,normal,,Both lungs equally dark; sharp heart borders.
    cases/child-4.dcm,bacterial,right lower,Look behind the heart.

``label`` is a class (NORMAL, BACTERIAL, VIRAL, or their display names, in any case); ``zone``
(optional) is the lung zone of the finding (``right upper`` ... ``left lower``, the patient's
sides); ``note`` (optional) is shown after the student has answered. The same folder zipped
opens too, read in memory: nothing of it is written to disk. [`check_lesson`][rxviz.lesson.check_lesson] lists every
problem with its line; ``rxviz lesson check FOLDER`` prints them.

>>> lesson = open_lesson(BUNDLED_LESSON)
>>> len(lesson.cases), lesson.cases[0].label in ("NORMAL", "BACTERIAL", "VIRAL")
(12, True)
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Union

from .data import CLASS_NAMES, DISPLAY_NAMES
from .examples import BUNDLED_EXAMPLES
from .lungs import ZONES

LESSON_FILE = "lesson.csv"
BUNDLED_LESSON = BUNDLED_EXAMPLES
"""The lesson bundled with rxviz: the twelve examples, labelled by the dataset."""
MAX_CASES = 500
"""Most cases a lesson may hold, and most bytes its zip may unpack to."""
MAX_UNPACKED = 512 * 2**20
MAX_ZIP = 256 * 2**20
"""Largest lesson zip accepted by default, in bytes (30 radiographs of 2048x2048 16-bit pixels are about 150
MB; the server's websocket takes 256 MiB); ``RXVIZ_MAX_LESSON_MB`` overrides it."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".dcm", ".dicom", ".tif", ".tiff", ".bmp")
COLUMNS = ("file", "label", "zone", "note")


class LessonError(ValueError):
    """A lesson that cannot be opened; ``problems`` are its (line, message) pairs, line 0 for the
    lesson as a whole. The message lists them all, one per line."""

    def __init__(self, problems: list[tuple[int, str]]):
        self.problems = problems
        super().__init__("\n".join(f"line {line}: {text}" if line else text for line, text in problems))


@dataclass(frozen=True)
class Case:
    """One case of a lesson: where its image is, the answer, and the teacher's zone and note."""

    number: int  # its line in lesson.csv
    file: str
    label: str  # a class name: NORMAL, BACTERIAL or VIRAL
    zone: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Lesson:
    """An opened lesson: its title, its cases in the teacher's order, and its images' bytes."""

    title: str
    cases: tuple[Case, ...]
    _zip: zipfile.ZipFile | None = field(default=None, repr=False)  # held in memory, read case by case
    _entries: dict[str, str] = field(default_factory=dict, repr=False)  # path in the lesson -> name in the zip
    _folder: Path | None = None

    def image(self, case: Case) -> bytes:
        """The bytes of ``case``'s radiograph (unpacked from the zip in memory, or read from the folder)."""
        if self._zip is not None:
            try:
                return self._zip.read(self._entries[case.file])
            except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as exc:  # damaged, encrypted
                raise LessonError([(case.number, f'"{case.file}" cannot be unpacked ({exc})')]) from None
        return (self._folder / case.file).read_bytes()


def open_lesson(source: Union[str, os.PathLike, bytes], name: str = "") -> Lesson:
    """Open a lesson folder, or a zip of one given as bytes (``name``: the zip's file name, for
    the title). Raises [`LessonError`][rxviz.lesson.LessonError] listing every problem."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        archive, entries = _unzip(bytes(source))
        title = Path(name).stem if name else "Uploaded lesson"
        if LESSON_FILE not in entries:
            raise LessonError([(0, f"the zip holds no {LESSON_FILE} (at its top or in one folder)")])
        try:
            listing = archive.read(entries[LESSON_FILE]).decode("utf-8-sig", errors="replace")
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as exc:
            raise LessonError([(0, f"the zip is damaged or encrypted ({exc})")]) from None
        cases = _read_cases(listing, set(entries))
        return Lesson(title.replace("-", " ").replace("_", " "), cases, _zip=archive, _entries=entries)
    folder = Path(source)
    listing_path = folder / LESSON_FILE
    if not listing_path.is_file():
        raise LessonError([(0, f"{folder} has no {LESSON_FILE}")])
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    cases = _read_cases(listing_path.read_text(encoding="utf-8-sig", errors="replace"), present)
    title = "First cases" if folder.resolve() == BUNDLED_LESSON.resolve() else folder.name
    return Lesson(title.replace("-", " ").replace("_", " "), cases, _folder=folder)


def check_lesson(source: Union[str, os.PathLike, bytes], decode: bool = True) -> list[tuple[int, str]]:
    """Every problem of a lesson, as (line, message); empty when it is fine. With ``decode`` each
    image is read as a radiograph too, so a damaged file is found before the class is."""
    try:
        lesson = open_lesson(source)
    except LessonError as problem:
        return problem.problems
    if not decode:
        return []
    from .io import InputError, load_image

    problems = []
    for case in lesson.cases:
        try:
            load_image(lesson.image(case))
        except InputError as exc:
            problems.append((case.number, f'"{case.file}" cannot be read: {exc}'))
    return problems


def _read_cases(text: str, present: set[str]) -> tuple[Case, ...]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["file", "label"]:
        raise LessonError([(1, f"the first line must name the columns: {','.join(COLUMNS)} (zone and note optional)")])
    header = [c.strip().lower() for c in rows[0]]
    unknown = [c for c in header if c not in COLUMNS]
    problems: list[tuple[int, str]] = [(1, f'unknown column "{c}"; the columns are {", ".join(COLUMNS)}') for c in unknown]
    cases, seen = [], {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        values = dict(zip(header, (cell.strip() for cell in row)))
        file, label, zone = values.get("file", ""), _label(values.get("label", "")), values.get("zone", "") or None
        if not file:
            problems.append((number, "no file named"))
            continue
        if file in seen:
            problems.append((number, f'"{file}" is listed already, on line {seen[file]}'))
        seen.setdefault(file, number)
        if not PurePosixPath(file).suffix.lower() in IMAGE_SUFFIXES:
            problems.append((number, f'"{file}" is not a radiograph file ({", ".join(IMAGE_SUFFIXES)})'))
        elif file not in present:
            problems.append((number, f'"{file}" is not in the lesson'))
        if label is None:
            problems.append((number, f'unknown label "{values.get("label", "")}"; use one of'
                                     f' {", ".join(n.lower() for n in CLASS_NAMES)}'))
        if zone is not None and zone.lower() not in ZONES:
            problems.append((number, f'unknown zone "{zone}"; use one of {", ".join(ZONES)} (the patient\'s sides)'))
        cases.append(Case(number, file, label or "", zone.lower() if zone else None, values.get("note", "")))
    if not cases and not problems:
        problems.append((0, f"{LESSON_FILE} lists no cases"))
    if len(cases) > MAX_CASES:
        problems.append((0, f"{len(cases)} cases; a lesson holds at most {MAX_CASES}"))
    if problems:
        raise LessonError(problems)
    return tuple(cases)


def _label(text: str) -> str | None:
    """A label as written by a teacher ("bacterial", "Viral pneumonia") -> its class name."""
    key = text.strip().lower()
    for name in CLASS_NAMES:
        if key in (name.lower(), DISPLAY_NAMES[name].lower()):
            return name
    return None


def _unzip(data: bytes) -> tuple[zipfile.ZipFile, dict[str, str]]:
    """A lesson's zip, opened in memory, and its files: path inside the lesson -> name in the zip.
    A zip of one folder counts as that folder. Refuses a zip too large, unreadable, or with a path
    outside itself; the files are unpacked one by one when their case comes."""
    most = int(float(os.environ["RXVIZ_MAX_LESSON_MB"]) * 2**20) if os.environ.get("RXVIZ_MAX_LESSON_MB") else MAX_ZIP
    if len(data) > most:
        raise LessonError([(0, f"the zip is {len(data) / 2**20:.1f} MB; the limit is {most / 2**20:g} MB")])
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = [e for e in archive.infolist() if not e.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise LessonError([(0, f"this is not a zip file rxviz can read ({exc})")]) from None
    for entry in entries:
        path = PurePosixPath(entry.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in entry.filename:
            raise LessonError([(0, f'the zip holds "{entry.filename}", a path outside the lesson; nothing was opened')])
    unpacked = sum(e.file_size for e in entries)
    if unpacked > MAX_UNPACKED or len(entries) > 4 * MAX_CASES:
        raise LessonError([(0, f"the zip unpacks to {unpacked / 2**20:.0f} MB in {len(entries)} files; the limit is"
                               f" {MAX_UNPACKED / 2**20:.0f} MB and {4 * MAX_CASES} files")])
    names = [e.filename for e in entries if not e.filename.startswith("__MACOSX/")]
    tops = {n.split("/", 1)[0] for n in names}
    prefix = f"{tops.pop()}/" if len(tops) == 1 and LESSON_FILE not in names and all("/" in n for n in names) else ""
    return archive, {n[len(prefix):]: n for n in names}
