"""The lesson quiz: pick a lesson, answer each case (a class, and where if you can), see the
model's answer, the label and the teacher's note, and at the end a summary to download.

The cases' answers stay in the kernel until the student has answered: the page gets "Case 3 of
12" and the radiograph, never a file name, a label or the model's verdict before the reveal.
"""

from __future__ import annotations

import base64
import html
import random
import secrets
from typing import Callable

import ipywidgets as widgets

from ..lesson import BUNDLED_LESSON, Lesson, LessonError, open_lesson
from ..lungs import ZONES
from ..quiz import Answer, Quiz
from ..report import lesson_summary_png
from . import page

PICK = "Pick a lesson…"
BUNDLED = "First cases (12 radiographs, bundled)"
NO_ZONE = "not sure"


def download_stem(title: str, student: str = "") -> str:
    """A lesson's file name stem: its title, then the student's name (each kept to letters and
    digits), so that a class's files do not overwrite one another in the teacher's folder.

    >>> download_stem("First cases", "Ana María")
    'First-cases-Ana-María'
    """
    return "-".join("".join(c if c.isalnum() else "-" for c in part).strip("-") for part in (title, student) if part.strip())


class QuizPanel:
    """The lesson menu, the question and the reveal, and the summary.

    ``show_case(image, title)`` puts a case's radiograph on screen with its answer hidden (False
    when it cannot be read); ``reveal()`` shows the model's answer; ``result()`` is the current
    case's analysis (or None); ``thumbnail()`` is a small PNG of the view, kept for the summary.
    """

    def __init__(self, display_names: dict[str, str], show_case: Callable[[bytes, str], bool],
                 reveal: Callable[[], None], result: Callable[[], object], thumbnail: Callable[[], bytes],
                 seed: int | None = None):
        self.names = display_names
        self._show_case, self._reveal, self._result, self._thumbnail = show_case, reveal, result, thumbnail
        self.seed = secrets.randbits(32) if seed is None else seed
        self.quiz: Quiz | None = None
        self.thumbnails: list[bytes] = []  # the view of each answered case, in the order asked
        self.hiding = False
        self.guess: str | None = None
        self.menu = widgets.Dropdown(options=[PICK, BUNDLED], value=PICK, description="or a lesson:",
                                     layout=widgets.Layout(width="24em"))
        self.zip = widgets.FileUpload(accept=".zip", multiple=False, description="Open lesson (zip)",
                                      tooltip="A lesson folder zipped: lesson.csv and its radiographs")
        self.shuffle = widgets.Checkbox(value=True, description="Shuffle the cases", indent=False)
        self.student = widgets.Text(description="Your name:", placeholder="for the teacher's files",
                                    continuous_update=False,  # a summary is made once the name is typed, not per key
                                    layout=widgets.Layout(width="20em"))
        """The student's name: in the answers' CSV, on the summary PNG and in both files' names."""
        self.heading = widgets.HTML()
        self.buttons = [widgets.ToggleButton(description=name, tooltip=f"My answer: {name}") for name in display_names.values()]
        for button, name in zip(self.buttons, display_names):
            button.add_class(f"rx-quiz-{name.lower()}")
            button.observe(lambda change, n=name: self._picked(n, change), "value")
        self.zone = widgets.Dropdown(options=[NO_ZONE, *ZONES], value=NO_ZONE, description="Where:",
                                     tooltip="The lung zone where you see it (or click it on the radiograph)")
        self.check = widgets.Button(description="Check my answer", button_style="primary", disabled=True)
        self.next = widgets.Button(description="Next case", button_style="primary")
        self.reveal_text = widgets.HTML()
        self.summary = widgets.HTML()
        self.again = widgets.Button(description="Start again")
        for name, w in [("lesson", self.menu), ("lesson-zip", self.zip), ("shuffle", self.shuffle), ("student", self.student),
                        ("quiz-heading", self.heading), ("quiz-zone", self.zone), ("quiz-check", self.check),
                        ("quiz-next", self.next), ("quiz-reveal", self.reveal_text), ("quiz-summary", self.summary),
                        ("quiz-again", self.again)]:
            w.add_class(f"rx-{name}")
        self.question = widgets.VBox([
            widgets.HTML('<div class="rx-question"><b>What does this radiograph show?</b></div>'),
            widgets.HBox(self.buttons, layout=widgets.Layout(flex_flow="row wrap", grid_gap="0.4em")),
            self.zone, self.check])
        self.after = widgets.VBox([self.reveal_text, self.next])
        # the panel goes beside the pictures; the summary, wider, under them
        self.panel = widgets.VBox([self.heading, self.student, self.question, self.after, self.again],
                                  layout=widgets.Layout(display="none"))
        self.student.observe(lambda _: self.show_summary() if self.summary.value else None, "value")
        self.menu.observe(lambda change: self._chosen(change["new"]), "value")
        self.zip.observe(self._on_zip, "value")
        self.check.on_click(lambda _: self.answer())
        self.next.on_click(lambda _: self.advance())
        self.again.on_click(lambda _: self.start(self.quiz.lesson) if self.quiz else None)
        self.opened: Callable[[str], None] = lambda message: None  # the app shows problems
        self.scroll_to: Callable[[str], None] = lambda selector: None  # the app's page scrolls

    # ---- actions ------------------------------------------------------------------------
    def start(self, lesson: Lesson) -> None:
        """Begin ``lesson`` at its first case (shuffled with this session's seed when asked)."""
        self.seed = random.Random(self.seed).randrange(2**32)  # a new order for each start
        self.quiz = Quiz(lesson, shuffle=self.shuffle.value, seed=self.seed)
        self.thumbnails = []
        self.panel.layout.display = "flex"
        self.summary.value = ""
        self.again.layout.display = "none"
        self._ask()

    def stop(self) -> None:
        """Leave the quiz (an upload or an example was picked)."""
        self.quiz, self.hiding = None, False
        self.panel.layout.display = "none"
        self.summary.value = ""
        if self.menu.value != PICK:
            self.menu.value = PICK

    def choose_zone(self, zone: str | None) -> None:
        """The student clicked the radiograph: the zone under the click (None: outside the lungs)."""
        if self.hiding:
            self.zone.value = zone if zone in ZONES else NO_ZONE

    def answer(self) -> Answer | None:
        """Check the student's answer to the current case: reveal and score it."""
        result = self._result()
        if self.quiz is None or self.guess is None or not self.hiding or result is None:
            return None
        zones = {z: s for z, s in (result.lung_zones or {}).items() if z in ZONES}
        heat_zone = max(zones, key=zones.get) if zones else None
        zone = None if self.zone.value == NO_ZONE else self.zone.value
        answer = self.quiz.answer(self.guess, zone, result.label, result.probabilities[result.label], heat_zone)
        self.hiding = False
        self.question.layout.display = "none"
        self._reveal()
        self.thumbnails.append(self._thumbnail())
        self.reveal_text.value = self._reveal_html(answer, result)
        self.after.layout.display = "flex"
        self.next.description = "See the summary" if self.quiz.done else "Next case"
        self._heading()
        return answer

    def advance(self) -> None:
        """The next case, or the summary after the last."""
        if self.quiz is None:
            return
        if self.quiz.done:
            self.show_summary()
            self.scroll_to(".rx-summary")  # it comes under the pictures, below the fold
        else:
            self._ask()

    def show_summary(self) -> None:
        quiz = self.quiz
        assert quiz is not None
        classes = tuple(self.names)
        right, asked = quiz.score
        model, _ = quiz.model_score
        table = "".join(
            f'<tr><th>{html.escape(self.names[label])}</th>'
            + "".join(f"<td>{n}</td>" for n in row) + "</tr>" for label, row in zip(classes, quiz.confusion(classes)))
        header = "".join(f"<th>{html.escape(self.names[c])}</th>" for c in classes)
        missed = "".join(
            f'<figure class="rx-missed">{page.picture(self.thumbnails[i], f"Case {i + 1}")}<figcaption>Case {i + 1}:'
            f" you said {html.escape(self.names[a.guess])}; label {html.escape(self.names[a.case.label])}</figcaption></figure>"
            for i, a in enumerate(quiz.answers) if not a.right and a.guess)
        student = self.student.value.strip()
        csv_data = base64.b64encode(quiz.csv(student).encode()).decode()
        png = base64.b64encode(lesson_summary_png(quiz, self.names, self.thumbnails, student)).decode()
        name = download_stem(quiz.lesson.title, student)
        self.summary.value = (
            f'<div class="rx-summary"><b>Lesson finished: {html.escape(quiz.lesson.title)}</b>'
            + (f" ({html.escape(student)})" if student else "")
            + f'<p class="rx-summary-score">You: <b>{right} of {asked}</b> ({100 * right / asked:.0f} %).'
            f" The model on the same cases: <b>{model} of {asked}</b> ({100 * model / asked:.0f} %).</p>"
            f'<table class="rx-confusion"><tr><th>label \\ your answer</th>{header}</tr>{table}</table>'
            + (f'<p><b>Missed</b></p><div class="rx-missed-list">{missed}</div>' if missed else "<p>No case missed.</p>")
            + f'<p><a class="rx-save rx-quiz-csv" download="rxviz-lesson-{name}.csv" '
              f'href="data:text/csv;base64,{csv_data}">Download the answers (CSV)</a> '
              f'<a class="rx-save rx-quiz-png" download="rxviz-lesson-{name}.png" '
              f'href="data:image/png;base64,{png}">Download the summary (PNG)</a></p></div>')
        self.question.layout.display = self.after.layout.display = "none"
        self.again.layout.display = "flex"

    # ---- helpers ------------------------------------------------------------------------
    def _ask(self) -> None:
        quiz = self.quiz
        assert quiz is not None
        self.guess = None
        for button in self.buttons:
            button.value = False
        self.zone.value = NO_ZONE
        self.check.disabled = True
        self.question.layout.display = "flex"
        self.after.layout.display = "none"
        self.reveal_text.value = ""
        self.hiding = True
        self._heading()
        case = quiz.current
        try:
            shown = self._show_case(quiz.lesson.image(case), f"Case {quiz.position + 1}")
        except LessonError as problem:  # a damaged entry of the zip
            self.opened(page.lesson_problems(quiz.lesson.title, problem.problems))
            shown = False
        if not shown:
            self.hiding = False  # the image could not be read: the app says why; the student moves on
            self.question.layout.display = "none"
            quiz.skip()
            self.thumbnails.append(b"")
            self.after.layout.display = "flex"
            self.next.description = "See the summary" if quiz.done else "Next case"

    def _heading(self) -> None:
        quiz = self.quiz
        if quiz is None:
            return
        right, asked = quiz.score
        number = min(quiz.position + (1 if self.hiding else 0), len(quiz.order))
        self.heading.value = (f'<div class="rx-quiz-title"><b>{html.escape(quiz.lesson.title)}</b> · case {number} of'
                              f' {len(quiz.order)} · <span class="rx-quiz-score">score {right} of {asked}</span></div>')

    def _picked(self, name: str, change) -> None:
        if change["new"]:
            self.guess = name
            for button, other in zip(self.buttons, self.names):
                if other != name and button.value:
                    button.value = False
            self.check.disabled = False
        elif self.guess == name:
            self.guess, self.check.disabled = None, True

    def _reveal_html(self, answer: Answer, result) -> str:
        names = self.names
        parts = [f"You said <b>{html.escape(names[answer.guess])}</b>"
                 + (" ✓" if answer.right else " ✗") + ".",
                 f"The dataset's label is <b class=\"rx-truth\">{html.escape(names[answer.case.label])}</b>.",
                 f"The model says <b>{html.escape(names[answer.model])}</b> ({100 * answer.model_probability:.0f} %)"
                 f" ({'right' if answer.model_right else 'wrong'})."]
        if answer.heat_zone:
            where = f"Most of its heat lies in the {answer.heat_zone} zone"
            if answer.zone is not None:
                where += f"; you chose the {answer.zone} zone ({'the same' if answer.zone_matches_heat else 'not the same'})"
            parts.append(where + ".")
        if answer.case.zone:
            parts.append(f"The teacher's zone: {html.escape(answer.case.zone)}.")
        if answer.case.note:
            parts.append(f'<br><span class="rx-quiz-note">{html.escape(answer.case.note)}</span>')
        if result.warnings:
            parts.append(f'<br><b>But beware:</b> {html.escape(result.warnings[0].sentence)}')
        return f'<div class="rx-note rx-quiz-answer">{" ".join(parts)}</div>'

    def _chosen(self, value: str) -> None:
        if value == BUNDLED:
            self.start(open_lesson(BUNDLED_LESSON))

    def _on_zip(self, change) -> None:
        files = change["new"]
        if not files:
            return
        data, name = bytes(files[0]["content"]), files[0]["name"]
        self.zip.value = ()  # the bytes are not kept in the widget
        try:
            lesson = open_lesson(data, name)
        except LessonError as problem:
            self.opened(page.lesson_problems(name, problem.problems))
            return
        self.opened("")
        self.start(lesson)

