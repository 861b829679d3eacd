"""The nbgrader coursework (assignments/): it covers every lesson exercise, and a real
nbgrader run releases, autogrades, gives feedback and exports grades for every core lesson.

The end-to-end test is slow (it autogrades three submissions of every lesson in real
kernels, about two minutes on one core) and prints the grade table it produced.
"""
from __future__ import annotations

import csv
import html
import inspect
import json
import re
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

import softviz
import softviz.exercises

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "assignments"))
import extract  # noqa: E402
import generate  # noqa: E402
from hidden_cases import EXPLANATIONS, HIDDEN, MISTAKES  # noqa: E402

STEMS = extract.core_lessons()


def _used_in(check_name: str) -> set[str]:
    doc = inspect.getdoc(getattr(softviz.exercises, check_name)) or ""
    return set(re.findall(r"notebooks/(\w+)\.ipynb", doc))


def test_the_core_lessons_are_found():
    assert STEMS[:8] == ["00_start_here", "01_overflow", "02_temperature", "03_gumbel", "04_soft_nms",
                         "05_kde_regimes", "06_two_pass", "07_training"]
    assert not any(s.endswith("_further") for s in STEMS)


def test_every_lesson_exercise_is_graded_and_nothing_else():
    """Drift: an exercise added to a lesson without hidden tests, or one removed from a lesson
    whose grading entry stayed, fails here; and the checks' own "Used in" lines (written with
    the library) agree with the exercises found in the notebooks."""
    found = {stem: [ex.check for ex in extract.read_lesson(stem).exercises] for stem in STEMS}
    checks = [c for cs in found.values() for c in cs]
    assert len(checks) == len(set(checks)), "one check graded in two lessons"
    assert not set(checks) - set(HIDDEN), f"exercises with no hidden cases: {sorted(set(checks) - set(HIDDEN))}"
    assert not set(HIDDEN) - set(checks), f"grading entries of no exercise: {sorted(set(HIDDEN) - set(checks))}"
    assert set(MISTAKES) <= set(checks)
    for stem, cs in found.items():
        documented = {n for n in softviz.exercises.__all__ if n.startswith("check_") and stem in _used_in(n)}
        assert documented == set(cs), (stem, documented, cs)
    for stem, (after, points, _question, _model) in EXPLANATIONS.items():
        assert after in found[stem] and points > 0


def test_every_exercise_has_a_reference_and_points():
    for stem in STEMS:
        for ex in extract.read_lesson(stem).exercises:
            spec = HIDDEN[ex.check]
            visible, hidden = spec["points"]
            assert visible >= 1 and hidden >= 0 and ex.reference.strip()
            assert spec.get("kind", "values") == "answer" or (hidden > 0 and len(spec["cases"]) >= 2), ex.check
            assert not ex.reference.lstrip().startswith("return None")


def test_a_lesson_that_breaks_the_conventions_is_reported(tmp_path, monkeypatch):
    lesson = nbformat.v4.new_notebook()
    lesson.cells = [nbformat.v4.new_markdown_cell("# 99 Test"), nbformat.v4.new_code_cell(
        "def f(x):\n    return None  # your code here\n\n\ncheck_entropy(f)")]
    solutions = nbformat.v4.new_notebook()
    solutions.cells = [nbformat.v4.new_code_cell("def f(x):\n    return 1\n\n\ncheck_entropy(f)")]
    (tmp_path / "solutions").mkdir()
    nbformat.write(lesson, tmp_path / "99_test.ipynb")
    nbformat.write(solutions, tmp_path / "solutions" / "99_test_solutions.ipynb")
    monkeypatch.setattr(extract, "NOTEBOOKS", tmp_path)
    assert extract.core_lessons() == ["99_test"]
    # the solution's check call has no stored passing verdict: not a reference
    with pytest.raises(ValueError, match="never passes check_entropy"):
        extract.read_lesson("99_test")
    with pytest.raises(ValueError, match="no 98_none.ipynb"):
        extract.read_lesson("98_none")
    with pytest.raises(TypeError, match="stem must be a str"):
        extract.read_lesson(99)


def test_literal_round_trips():
    values = [np.array([1.5, -np.inf, np.nan], dtype=np.float32), (2.0, np.array([True, False])), 0.1,
              np.int64(3), "softmax float32", (np.nan,)]
    for value in values:
        back = eval(generate.literal(value), {"np": np})
        assert generate.literal(back) == generate.literal(value)
    assert eval(generate.literal(values[0]), {"np": np}).dtype == np.float32
    with pytest.raises(TypeError, match="no literal"):
        generate.literal(object())


# -- the end-to-end run ----------------------------------------------------------------------

STUDENTS = ("reference", "untouched", "mistake")


def _visible_text(nb) -> str:
    """Everything a student can read in a notebook: sources, outputs and metadata."""
    parts = [json.dumps(nb.metadata, ensure_ascii=False)]
    for cell in nb.cells:
        parts += [cell.source, json.dumps(cell.metadata, ensure_ascii=False),
                  json.dumps(cell.get("outputs", []), ensure_ascii=False)]
    return "\n".join(parts)


def _secrets(stem: str, source) -> list[str]:
    """Lines of the course's private text: reference solutions, hidden tests, model answers
    (those the lesson itself shows, or too short to mean anything, left out)."""
    lesson_text = (ROOT / "notebooks" / f"{stem}.ipynb").read_text(encoding="utf-8")
    lines = []
    for ex in extract.read_lesson(stem).exercises:
        lines += ex.reference.splitlines()
    for cell in source.cells:
        text = cell.source
        for a, b in (("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"), ("### BEGIN SOLUTION", "### END SOLUTION")):
            if a in text:
                lines += text.split(a, 1)[1].split(b, 1)[0].splitlines()
    out = []
    for line in lines:
        line = line.strip()
        if len(line) >= 12 and not line.startswith(("import ", "from ")) and json.dumps(line)[1:-1] not in lesson_text:
            out.append(line)
    return out


def _plain(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_release_autograde_feedback_and_export(tmp_path, record_property):
    from nbgrader.api import Gradebook

    timings = {}
    start = time.perf_counter()
    course = tmp_path / "course"
    generate.write_course(course, STEMS)
    released = generate.release(course, STEMS)
    timings["generate + release"] = time.perf_counter() - start

    # 1. no solution, hidden test or model answer survives in a student version
    for stem, path in zip(STEMS, released):
        student = nbformat.read(path, as_version=4)
        source = nbformat.read(course / "source" / stem / f"{stem}.ipynb", as_version=4)
        text = _visible_text(student)
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"):
            assert marker not in text, (stem, marker)
        leaked = [s for s in _secrets(stem, source) if s in text]
        assert not leaked, f"{stem}: the student version holds {leaked[:3]}"
        assert not any(c.get("outputs") for c in student.cells if c.cell_type == "code"), stem
        stubs = sum(c.source.count("raise NotImplementedError()") for c in student.cells if c.cell_type == "code")
        assert stubs == len(extract.read_lesson(stem).exercises), stem

    # 2. three submissions per lesson, autograded by nbgrader in real kernels
    mistaken = {}
    for stem, path in zip(STEMS, released):
        student = nbformat.read(path, as_version=4)
        for who in STUDENTS:
            nb, wrong = generate.submission(stem, student, who)
            mistaken[stem] = wrong or mistaken.get(stem)
            target = course / "submitted" / who / stem / f"{stem}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, target)
    start = time.perf_counter()
    for stem in STEMS:
        proc = generate.nbgrader(course, "autograde", stem, "--force")
        assert proc.returncode == 0 and "[AutogradeApp | ERROR]" not in proc.stdout, proc.stdout[-4000:]
    timings["autograde"] = time.perf_counter() - start

    table = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "softviz") as gb:
        for stem in STEMS:
            pts = generate.points(stem)
            manual = {g for g in pts if g.endswith("_explanation")}
            full = sum(pts.values())
            subs = {who: gb.find_submission(stem, who) for who in STUDENTS}
            grades = {who: {g.name: g for g in subs[who].notebooks[0].grades} for who in STUDENTS}
            assert set(grades["reference"]) == set(pts)
            for g, p in pts.items():
                assert grades["reference"][g].max_score == p

            ref = grades["reference"]
            assert all(ref[g].auto_score == pts[g] for g in pts if g not in manual), stem
            assert subs["reference"].needs_manual_grade == bool(manual)
            for g in manual:  # the lecturer grades the explanation (formgrader does the same)
                ref[g].manual_score = pts[g]
            gb.db.commit()
            assert subs["reference"].score == full, stem

            untouched = grades["untouched"]
            assert all(untouched[g].score == 0 for g in pts), stem
            assert not subs["untouched"].needs_manual_grade  # an unchanged explanation scores 0 by itself

            wrong = mistaken[stem]
            mis = grades["mistake"]
            failed = sorted(g for g in pts if g not in manual and mis[g].auto_score < pts[g])
            assert f"{wrong}_visible" in failed, (stem, failed)
            for g in manual:
                mis[g].manual_score = pts[g]
            gb.db.commit()
            score = subs["mistake"].score
            assert 0 < score < full, (stem, score)
            table[stem] = {"points": full, "reference": subs["reference"].score,
                           "untouched": subs["untouched"].score, "mistake": score, "mistake in": wrong,
                           "failed": failed}

    # 3. feedback: one HTML page per submission; the mistake's names it with the check's hint
    start = time.perf_counter()
    for stem in STEMS:
        proc = generate.nbgrader(course, "generate_feedback", stem, "--force")
        assert proc.returncode == 0, proc.stdout[-4000:]
        for who in STUDENTS:
            assert (course / "feedback" / who / stem / f"{stem}.html").is_file(), (stem, who)
        page = _plain((course / "feedback" / "mistake" / stem / f"{stem}.html").read_text(encoding="utf-8"))
        wrong = mistaken[stem]
        ns = generate.define(stem, mistake=wrong)
        ex = next(e for e in extract.read_lesson(stem).exercises if e.check == wrong)
        result = getattr(softviz.exercises, wrong)(ns[ex.name])
        assert result.passed is False
        hint = next(line for line in result.message.splitlines() if "Hint:" in line).strip()
        assert hint[:70] in page, (stem, hint)
    timings["feedback"] = time.perf_counter() - start

    # 4. the grades as CSV, one row per student and assignment, as the gradebook has them
    proc = generate.nbgrader(course, "export", "--to", str(tmp_path / "grades.csv"))
    assert proc.returncode == 0, proc.stdout[-4000:]
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    exported = {(r["assignment"], r["student_id"]): float(r["score"]) for r in rows}
    assert exported == {(stem, who): table[stem][who] for stem in STEMS for who in STUDENTS}

    report = ["lesson            points  reference  untouched  mistake  (mistake in; cells that lost points)"]
    for stem, row in table.items():
        report.append(f"{stem:<17} {row['points']:>6} {row['reference']:>10} {row['untouched']:>10} "
                      f"{row['mistake']:>8}  ({row['mistake in']}; {', '.join(row['failed'])})")
    report.append("seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    print("\n" + "\n".join(report))
    record_property("grade_table", "\n".join(report))


def test_no_reference_reaches_a_forbidden_function():
    """The hidden tests fail a solution that calls a ``forbid`` function: the course's own
    reference solutions must not (every name resolves, or the hidden cell would error)."""
    from softviz.exercises.grading import delegated_calls

    for stem in STEMS:
        ns = generate.define(stem)
        env = {"np": np, "math": __import__("math"), "softviz": softviz}
        for ex in extract.read_lesson(stem).exercises:
            spec = HIDDEN[ex.check]
            if spec.get("kind", "values") != "values":
                continue
            for name, args_src in spec["cases"]:
                with np.errstate(all="ignore"):
                    _, hits = delegated_calls(ns[ex.name], eval(args_src, dict(env)), spec.get("forbid", ()))
                assert hits == [], (ex.check, name, hits)


def test_dev_py_assignments_runs_the_generator_in_the_venv(monkeypatch):
    sys.path.insert(0, str(ROOT))
    import dev

    calls = []
    monkeypatch.setattr(dev, "setup", lambda: "venv-python")
    monkeypatch.setattr(dev, "run", lambda cmd, **kw: calls.append((cmd, kw)) or 0)
    assert dev.main(["assignments", "--course", "/tmp/x", "02"]) == 0
    (cmd, kw), = calls
    assert cmd == ["venv-python", str(ROOT / "assignments" / "generate.py"), "--course", "/tmp/x", "02"]
    assert kw["cwd"] == dev.ROOT
    # a fresh clone's `dev.py test` installs what the end-to-end test needs
    assert "grading" in dev.EXTRAS.split(",") and "assignments" in dev.__doc__


def test_the_generator_refuses_an_unknown_lesson(capsys):
    with pytest.raises(SystemExit):
        generate.main(["99", "--no-release"])
    assert "unknown lesson" in capsys.readouterr().err
