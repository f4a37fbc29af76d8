"""Lessons and the quiz: the lesson file's every refusal, zips read in memory, the bundled
lesson, the quiz's score and summary, and the dashboard holding the answer back until it is given."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from built_files import all_widgets, choose, upload

from rxviz import cli
from rxviz.data import CLASS_NAMES
from rxviz.examples import BUNDLED_EXAMPLES
from rxviz.lesson import BUNDLED_LESSON, LessonError, check_lesson, open_lesson
from rxviz.quiz import Quiz

NORMAL = next(BUNDLED_EXAMPLES.glob("NORMAL/*.jpeg"))
VIRAL = next(BUNDLED_EXAMPLES.glob("PNEUMONIA/*virus*.jpeg"))


def _lesson(folder: Path, listing: str, files: dict[str, Path] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lesson.csv").write_text(listing)
    for name, source in (files or {"a.jpeg": NORMAL, "b.jpeg": VIRAL}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(source.read_bytes())
    return folder


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_the_bundled_lesson_has_every_example_labelled_by_the_dataset():
    lesson = open_lesson(BUNDLED_LESSON)
    assert lesson.title == "First cases" and len(lesson.cases) == 12
    for case in lesson.cases:
        truth = "NORMAL" if case.file.startswith("NORMAL/") else "BACTERIAL" if "bacteria" in case.file else "VIRAL"
        assert case.label == truth and case.zone is None  # no invented finding's place
        assert "Kermany et al. (2018)" in case.note and case.note.startswith("The dataset labels this radiograph")
    labels = [c.label for c in lesson.cases]
    assert labels[:3] != ["NORMAL", "BACTERIAL", "VIRAL"] and sorted(labels) == sorted(list(CLASS_NAMES) * 4)
    assert check_lesson(BUNDLED_LESSON) == []


def test_labels_and_zones_are_read_as_teachers_write_them(tmp_path):
    folder = _lesson(tmp_path / "chest", "file,label,zone,note\na.jpeg, Normal ,,Clear.\nb.jpeg,viral pneumonia,Left Lower,\n")
    lesson = open_lesson(folder)
    assert [(c.number, c.file, c.label, c.zone, c.note) for c in lesson.cases] == [
        (2, "a.jpeg", "NORMAL", None, "Clear."), (3, "b.jpeg", "VIRAL", "left lower", "")]
    assert lesson.title == "chest" and lesson.image(lesson.cases[0]) == NORMAL.read_bytes()


@pytest.mark.parametrize("listing, problems", [
    ("file,label\nmissing.jpeg,normal\n", [(2, '"missing.jpeg" is not in the lesson')]),
    ("file,label\na.jpeg,pneumonia\n", [(2, 'unknown label "pneumonia"; use one of normal, bacterial, viral')]),
    ("file,label,zone\na.jpeg,normal,upper left\n",
     [(2, 'unknown zone "upper left"; use one of right upper, right middle, right lower, left upper, left middle,'
          " left lower (the patient's sides)")]),
    ("file,label\na.jpeg,normal\nb.jpeg,viral\na.jpeg,viral\n", [(4, '"a.jpeg" is listed already, on line 2')]),
    ("file,label\nnotes.txt,normal\n", [(2, '"notes.txt" is not a radiograph file (.png, .jpg, .jpeg, .dcm, .dicom,'
                                            ' .tif, .tiff, .bmp)')]),
    ("image,answer\na.jpeg,normal\n", [(1, "the first line must name the columns: file,label,zone,note (zone and note"
                                           " optional)")]),
    ("file,label,teacher\na.jpeg,normal,x\n", [(1, 'unknown column "teacher"; the columns are file, label, zone, note')]),
    ("file,label\n\n", [(0, "lesson.csv lists no cases")]),
    ("file,label\n,normal\n", [(2, "no file named")]),
])
def test_each_problem_gets_its_own_message_with_its_line(tmp_path, listing, problems):
    folder = _lesson(tmp_path / "lesson", listing)
    assert check_lesson(folder) == problems
    with pytest.raises(LessonError) as raised:
        open_lesson(folder)
    assert raised.value.problems == problems
    assert str(raised.value).splitlines()[0].startswith(f"line {problems[0][0]}: " if problems[0][0] else "lesson.csv")


def test_every_problem_is_listed_at_once_and_a_damaged_image_is_named(tmp_path):
    folder = _lesson(tmp_path / "lesson", "file,label,zone\nmissing.png,x,\na.jpeg,normal,middle\nc.png,normal,\n",
                     {"a.jpeg": NORMAL})
    (folder / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert [line for line, _ in check_lesson(folder)] == [2, 2, 3]  # the listing first: images not yet read
    (folder / "lesson.csv").write_text("file,label\na.jpeg,normal\nc.png,normal\n")
    (problem,) = check_lesson(folder)
    assert problem[0] == 3 and problem[1].startswith('"c.png" cannot be read: ')
    assert check_lesson(folder, decode=False) == []


def test_a_zip_opens_in_memory_even_as_one_folder_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    listing = b"file,label\nx/a.jpeg,normal\nb.jpeg,viral\n"
    flat = _zip({"lesson.csv": listing, "x/a.jpeg": NORMAL.read_bytes(), "b.jpeg": VIRAL.read_bytes()})
    nested = _zip({f"Week 3/{k}": v for k, v in {"lesson.csv": listing, "x/a.jpeg": NORMAL.read_bytes(),
                                                 "b.jpeg": VIRAL.read_bytes()}.items()} | {"__MACOSX/._b.jpeg": b"x"})
    for data in (flat, nested):
        lesson = open_lesson(data, "week-3_chest.zip")
        assert lesson.title == "week 3 chest" and [c.file for c in lesson.cases] == ["x/a.jpeg", "b.jpeg"]
        assert lesson.image(lesson.cases[1]) == VIRAL.read_bytes()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("entries, says", [
    ({"lesson.csv": b"file,label\n../../etc/passwd.png,normal\n", "../../etc/passwd.png": b"x"},
     'the zip holds "../../etc/passwd.png", a path outside the lesson; nothing was opened'),
    ({"/abs/a.png": b"x"}, 'the zip holds "/abs/a.png", a path outside the lesson; nothing was opened'),
    ({"a.jpeg": b"x"}, "the zip holds no lesson.csv (at its top or in one folder)"),
])
def test_a_zip_with_a_path_outside_itself_or_no_listing_is_refused(entries, says):
    with pytest.raises(LessonError, match="^" + says.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.") + "$"):
        open_lesson(_zip(entries))


def test_an_oversized_or_broken_zip_is_refused(monkeypatch):
    monkeypatch.setenv("RXVIZ_MAX_LESSON_MB", "1")
    with pytest.raises(LessonError, match=r"^the zip is 2\.0 MB; the limit is 1 MB$"):
        open_lesson(b"x" * 2 * 2**20)
    monkeypatch.delenv("RXVIZ_MAX_LESSON_MB")
    import rxviz.lesson as lesson_module

    monkeypatch.setattr(lesson_module, "MAX_UNPACKED", 1000)
    with pytest.raises(LessonError, match=r"^the zip unpacks to 0 MB in 2 files; the limit is 0 MB and 2000 files$"):
        open_lesson(_zip({"lesson.csv": b"file,label\n", "big.png": b"0" * 5000}))
    with pytest.raises(LessonError, match="^this is not a zip file rxviz can read"):
        open_lesson(b"PK\x03\x04 not a zip at all")


def test_rxviz_lesson_check_reports_and_exits(tmp_path, capsys):
    assert cli.main(["lesson", "check", str(BUNDLED_LESSON)]) == 0
    assert "12 cases (4 bacterial, 4 viral, 4 normal), 12 with a note, 0 with a zone: fine" in capsys.readouterr().out
    folder = _lesson(tmp_path / "bad", "file,label\nmissing.png,normal\na.jpeg,cat\n")
    assert cli.main(["lesson", "check", str(folder)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f'{folder}/lesson.csv:2: "missing.png" is not in the lesson',
                   f'{folder}/lesson.csv:3: unknown label "cat"; use one of normal, bacterial, viral',
                   "2 problems; the lesson cannot be opened until they are mended"]
    zipped = tmp_path / "bad.zip"
    zipped.write_bytes(_zip({"../x.png": b"x"}))
    assert cli.main(["lesson", "check", str(zipped)]) == 1
    assert "a path outside the lesson" in capsys.readouterr().out


def test_the_quiz_scores_the_student_and_the_model_on_the_same_cases():
    lesson = open_lesson(BUNDLED_LESSON)
    quiz = Quiz(lesson)
    assert quiz.order == list(range(12))
    same = Quiz(lesson, shuffle=True, seed=3)
    assert same.order == Quiz(lesson, shuffle=True, seed=3).order != quiz.order
    assert sorted(same.order) == quiz.order
    first = quiz.answer(lesson.cases[0].label, "right lower", "NORMAL", 0.7, "right lower")
    assert first.right and first.zone_matches_heat is True and first.model_right == (lesson.cases[0].label == "NORMAL")
    second = quiz.answer("NORMAL" if lesson.cases[1].label != "NORMAL" else "VIRAL", None, lesson.cases[1].label, 0.9,
                         "left upper")
    assert not second.right and second.model_right and second.zone_matches_heat is None
    quiz.skip()
    assert quiz.score == (1, 2) and quiz.model_score == (int(first.model_right) + 1, 2) and quiz.position == 3
    counts = quiz.confusion(CLASS_NAMES)
    assert sum(map(sum, counts)) == 2 and counts[CLASS_NAMES.index(lesson.cases[0].label)][
        CLASS_NAMES.index(lesson.cases[0].label)] == 1
    rows = list(csv.DictReader(io.StringIO(quiz.csv(student="Ada"))))
    assert [r["case"] for r in rows] == ["1", "2", "3"] and rows[0]["student"] == "Ada"
    assert rows[0]["right"] == "true" and rows[0]["zone_matches_heat"] == "true" and rows[1]["zone"] == ""
    assert rows[2]["answer"] == "unreadable" and rows[0]["model_probability"] == "0.700"
    while not quiz.done:
        quiz.answer("NORMAL", None, "NORMAL", 0.5, None)
    with pytest.raises(ValueError, match="the quiz is over"):
        quiz.answer("NORMAL", None, "NORMAL", 0.5, None)


# ---- the quiz in the dashboard, without a browser ----------------------------------------
def test_before_the_reveal_no_widget_holds_the_label_the_verdict_or_a_file_name(classifier):
    from rxviz.dashboard import Dashboard
    from rxviz.dashboard.quiz import BUNDLED

    app = Dashboard(classifier, seed=11)
    app.quiz.menu.value = BUNDLED
    quiz = app.quiz.quiz
    names = classifier.card.display_names
    for _ in range(3):
        case = quiz.current
        text = " ".join(str(w.get_state().get("value", "")) + str(w.get_state().get("description", ""))
                        for w in all_widgets(app.widget) if not _is_a_choice(app, w))
        assert case.file not in text and "Most likely" not in text and "dataset label" not in text
        assert names[case.label] not in text.replace(names[case.label] + " (", "")  # only as a choice
        assert app.viewer.heat is None and not app.viewer.show_overlay and app.download.link.value == ""
        assert app.probabilities.value == "" and "Case " in app.original_caption.value
        app.quiz.buttons[0].value = True
        app.viewer.picked = [5, 5]  # a corner: outside the lungs, so no zone
        assert app.quiz.zone.value == "not sure"
        app.quiz.check.click()
        assert app.viewer.heat and "dataset's label is" in app.quiz.reveal_text.value
        assert names[case.label] in app.quiz.reveal_text.value and "Kermany et al." in app.quiz.reveal_text.value
        app.quiz.next.click()



def _is_a_choice(app, widget) -> bool:
    """The answer buttons and menus name every class: they are the question, not the answer."""
    return widget in app.quiz.buttons or widget in app.teaching.buttons or widget is app.controls.target \
        or widget is app.quiz.zone


def test_a_lesson_zip_opens_in_the_dashboard_and_its_problems_are_shown(classifier):
    from rxviz.dashboard import Dashboard

    app = Dashboard(classifier, examples=[])
    bad = _zip({"lesson.csv": b"file,label\nmissing.png,normal\na.jpeg,cat\n", "a.jpeg": NORMAL.read_bytes()})
    choose(app.quiz.zip, bad, "bad.zip")
    assert "could not be opened" in app.status.value and "line 2: &quot;missing.png&quot; is not in the lesson" in \
        app.status.value and "line 3: unknown label" in app.status.value
    assert app.quiz.quiz is None and app.quiz.zip.value == ()
    good = _zip({"lesson.csv": b"file,label,zone,note\na.jpeg,normal,,Look at both domes.\n", "a.jpeg": NORMAL.read_bytes()})
    choose(app.quiz.zip, good, "good.zip")
    assert app.quiz.quiz is not None and app.result is not None and app.quiz.hiding
    app.quiz.buttons[0].value = True
    app.quiz.check.click()
    app.quiz.next.click()  # the last case: the summary
    summary = app.quiz.summary.value
    assert "You: <b>1 of 1</b> (100 %)" in summary and "Download the answers (CSV)" in summary
    assert "Download the summary (PNG)" in summary and "No case missed." in summary
    upload(app, VIRAL.read_bytes(), "chest.jpeg")  # an upload leaves the quiz
    assert app.quiz.quiz is None and not app.quiz.hiding and app.probabilities.value


def test_a_damaged_case_in_a_zip_is_named_and_passed_over(classifier):
    from rxviz.dashboard import Dashboard

    good = NORMAL.read_bytes()
    data = bytearray(_zip({"lesson.csv": b"file,label\na.jpeg,normal\nb.jpeg,viral\n", "a.jpeg": good,
                           "b.jpeg": VIRAL.read_bytes()}))
    start = data.index(good[:64])
    data[start + 100:start + 110] = b"\x00" * 10  # a's bytes no longer match their checksum
    app = Dashboard(classifier, examples=[])
    app.quiz.shuffle.value = False  # the teacher's order: the damaged case first
    choose(app.quiz.zip, bytes(data), "damaged.zip")
    assert 'line 2: &quot;a.jpeg&quot; cannot be unpacked' in app.status.value
    assert app.quiz.quiz.skipped == [0] and app.quiz.next.description == "Next case"
    app.quiz.next.click()
    assert app.result is not None and app.quiz.hiding  # case 2 is asked
    app.quiz.buttons[2].value = True
    app.quiz.check.click()
    assert app.quiz.quiz.score[1] == 1  # the damaged case does not count


def test_the_example_menu_is_shuffled_per_page_and_teaching_hides_an_uploads_name(classifier):
    from rxviz.dashboard import Dashboard, find_examples

    examples = find_examples(BUNDLED_EXAMPLES)
    orders = {seed: [e.true_class for e in Dashboard(classifier, examples=examples, seed=seed).examples]
              for seed in range(6)}
    assert len({tuple(o) for o in orders.values()}) > 1  # each page its own order
    assert orders[2] == [e.true_class for e in Dashboard(classifier, examples=examples, seed=2).examples]
    app = Dashboard(classifier, examples=examples, seed=2)
    assert [e.label for e in app.examples] == [f"Example {i}" for i in range(1, 13)]
    app.teaching.switch.value = True
    upload(app, VIRAL.read_bytes(), "person1_virus_8.jpeg")
    assert "person1_virus_8" not in app.original_caption.value + app.viewer.original_alt + app.status.value
    app.teaching.buttons[0].click()
    app.make_report()
    assert "person1_virus_8" not in app.download.link.value  # nor in the report's name


def test_the_summary_names_the_student_in_its_files_and_keeps_its_table_on_the_page(classifier):
    """What a teacher collects: the name in the CSV's student column, on the PNG and in both file
    names; the confusion table's row labels (the dataset's labels) inside the PNG, not cut off."""
    import base64
    import csv as csv_module

    from rxviz.dashboard import Dashboard
    from rxviz.report import lesson_summary_figure

    app = Dashboard(classifier, examples=[])
    choose(app.quiz.zip, _zip({"lesson.csv": b"file,label\na.jpeg,normal\nb.jpeg,viral\n", "a.jpeg": NORMAL.read_bytes(),
                               "b.jpeg": VIRAL.read_bytes()}), "two.zip")
    for _ in range(2):
        app.quiz.buttons[0].value = True
        app.quiz.check.click()
        app.quiz.next.click()
    assert 'download="rxviz-lesson-two.csv"' in app.quiz.summary.value  # no name yet: the title alone
    app.quiz.student.value = "Ana María"  # typed after the end: the summary is made again
    summary = app.quiz.summary.value
    assert 'download="rxviz-lesson-two-Ana-María.csv"' in summary and 'download="rxviz-lesson-two-Ana-María.png"' in summary
    encoded = re.search(r'href="data:text/csv;base64,([^"]+)"', summary).group(1)
    rows = list(csv_module.DictReader(io.StringIO(base64.b64decode(encoded).decode())))
    assert [r["student"] for r in rows] == ["Ana María", "Ana María"]

    figure = lesson_summary_figure(app.quiz.quiz, classifier.card.display_names, app.quiz.thumbnails, "Ana María")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    page = figure.bbox
    from matplotlib.text import Text

    from matplotlib.table import Table

    cells = [cell.get_text() for table in figure.findobj(Table) for cell in table.get_celld().values()]
    texts = [t for t in [*figure.findobj(Text), *cells] if t.get_text().strip()]
    shown = {t.get_text() for t in texts}
    assert {"Normal", "Bacterial pneumonia", "Viral pneumonia"} <= shown  # the rows' labels
    assert any(t.startswith("Ana María: 1 of 2 right") for t in shown)
    for text in texts:
        box = text.get_window_extent(renderer)
        assert box.x0 >= page.x0 - 0.5 and box.x1 <= page.x1 + 0.5, (text.get_text(), box)


def test_a_lessons_dicom_case_does_not_stand_out_before_the_reveal(classifier):
    """A lesson of a JPEG and a DICOM: before the answer, neither the facts panel nor the
    anonymous switch tells the DICOM apart; after it, its facts are shown."""
    import numpy as np
    from built_files import make_dicom

    from rxviz.dashboard import Dashboard
    from rxviz.io import load_image

    dicom = make_dicom((load_image(VIRAL) * 4095).astype(np.uint16), PatientAge="004Y", ViewPosition="PA")
    app = Dashboard(classifier, examples=[])
    choose(app.quiz.zip, _zip({"lesson.csv": b"file,label\na.jpeg,normal\nb.dcm,viral\n", "a.jpeg": NORMAL.read_bytes(),
                               "b.dcm": dicom}), "two.zip")
    seen = []
    for _ in range(2):
        seen.append((app.facts.value, app.download.anonymous.value))
        app.quiz.buttons[0].value = True
        app.quiz.check.click()
        if "4 years" in app.facts.value:
            revealed = app.facts.value
        app.quiz.next.click()
    assert seen == [("", False), ("", False)]  # the same before each reveal, whichever case came first
    assert "4 years" in revealed
