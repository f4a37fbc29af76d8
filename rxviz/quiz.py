"""A quiz over a lesson: the cases one at a time, the student's class and lung zone against the
dataset's label and the model's answer, a running score, and the summary a teacher collects.

Pure state, no widgets: the dashboard's quiz (rxviz.dashboard.quiz) shows it; tests drive it
directly.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass

from .lesson import Case, Lesson


@dataclass(frozen=True)
class Answer:
    """One answered case: what the student said, what the model said, what the label is."""

    case: Case
    guess: str
    zone: str | None  # the student's lung zone, if they chose one
    model: str
    model_probability: float
    heat_zone: str | None  # the zone holding most of the model's heat (None: no lung zones)

    @property
    def right(self) -> bool:
        return self.guess == self.case.label

    @property
    def model_right(self) -> bool:
        return self.model == self.case.label

    @property
    def zone_matches_heat(self) -> bool | None:
        """Whether the student's zone is where most of the heat lies; None when either is missing."""
        return None if self.zone is None or self.heat_zone is None else self.zone == self.heat_zone


class Quiz:
    """A lesson's cases in the teacher's order or shuffled (seeded: the same seed, the same order)."""

    def __init__(self, lesson: Lesson, shuffle: bool = False, seed: int | None = None):
        self.lesson = lesson
        self.order = list(range(len(lesson.cases)))
        if shuffle:
            random.Random(seed).shuffle(self.order)
        self.answers: list[Answer] = []
        self.skipped: list[int] = []  # positions whose image could not be read

    @property
    def position(self) -> int:
        """How many cases are answered (the current case's index)."""
        return len(self.answers)

    @property
    def done(self) -> bool:
        return self.position >= len(self.order)

    @property
    def current(self) -> Case:
        return self.lesson.cases[self.order[self.position]]

    def answer(self, guess: str, zone: str | None, model: str, probability: float, heat_zone: str | None) -> Answer:
        """Record the student's answer to the current case and move on to the next."""
        if self.done:
            raise ValueError("the quiz is over: every case is answered")
        answer = Answer(self.current, guess, zone, model, probability, heat_zone)
        self.answers.append(answer)
        return answer

    def skip(self) -> None:
        """Pass over the current case (its image could not be read); it is not scored."""
        self.skipped.append(self.position)
        self.answers.append(Answer(self.current, "", None, "", 0.0, None))

    @property
    def scored(self) -> list[Answer]:
        """The answers that count: every case but the skipped ones."""
        return [a for i, a in enumerate(self.answers) if i not in self.skipped]

    @property
    def score(self) -> tuple[int, int]:
        """(right, answered) for the student."""
        return sum(a.right for a in self.scored), len(self.scored)

    @property
    def model_score(self) -> tuple[int, int]:
        """(right, answered) for the model, on the same cases."""
        return sum(a.model_right for a in self.scored), len(self.scored)

    def confusion(self, classes: tuple[str, ...]) -> list[list[int]]:
        """``counts[label][guess]``: rows are the dataset's labels, columns the student's answers."""
        counts = [[0] * len(classes) for _ in classes]
        for a in self.scored:
            counts[classes.index(a.case.label)][classes.index(a.guess)] += 1
        return counts

    def csv(self, student: str = "") -> str:
        """The answers as CSV, a line per case in the order asked, for the teacher to collect."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["student", "lesson", "case", "file", "label", "answer", "right", "zone", "heat_zone",
                         "zone_matches_heat", "model", "model_probability", "model_right"])
        for number, a in enumerate(self.answers, 1):
            if number - 1 in self.skipped:
                writer.writerow([student, self.lesson.title, number, a.case.file, a.case.label, "unreadable", "",
                                 "", "", "", "", "", ""])
                continue
            match = "" if a.zone_matches_heat is None else str(a.zone_matches_heat).lower()
            writer.writerow([student, self.lesson.title, number, a.case.file, a.case.label, a.guess,
                             str(a.right).lower(), a.zone or "", a.heat_zone or "", match, a.model,
                             f"{a.model_probability:.3f}", str(a.model_right).lower()])
        return out.getvalue()
