"""Build the nbgrader course from the lessons: source notebooks, then the student release.

    python assignments/generate.py [--course DIR] [--no-release] [LESSON ...]

(``python3 dev.py assignments`` runs it in the project's environment.) For every
core lesson (notebooks/NN_name.ipynb with notebooks/solutions/NN_name_solutions.ipynb,
found by assignments/extract.py) it writes ``DIR/source/NN_name/NN_name.ipynb``:

* a read-only setup cell with the lesson's imports;
* per exercise, the lesson's own task text and exercise cell, its stub replaced by the
  reference solution between ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (nbgrader
  puts ``raise NotImplementedError()`` there for the student, inside the function, so
  the cell still defines it and its self-check still prints a verdict);
* a visible test cell (the lesson's self-check must pass) and a hidden test cell
  (``### BEGIN HIDDEN TESTS``) whose cases and expected results come from
  assignments/hidden_cases.py and the reference solution, computed here;
* a manually graded explanation where assignments/hidden_cases.py asks for one.

Then ``nbgrader generate_assignment`` writes the student version to ``DIR/release/``.
The assignments are rebuilt from the lessons every time, so they cannot drift apart:
tests/test_assignments.py fails when a lesson has an exercise this cannot grade.

This is the course's private tooling: it reads the solutions and is not part of the
softviz package, so nothing here is importable from a student's kernel.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import io
import itertools
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract import ROOT, Exercise, Lesson, core_lessons, read_lesson
from hidden_cases import EXPLANATIONS, HIDDEN, MISTAKES

__all__ = ["build_source", "write_course", "release", "fill", "submission", "points", "define",
           "mistake_of", "literal", "DEFAULT_COURSE"]

DEFAULT_COURSE = ROOT / "assignments" / "course"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
SEED = 2026  # the hidden samplers' seed: one verdict on every run

CONFIG = '''\
# nbgrader configuration of the softviz course, written by assignments/generate.py.
c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.course_id = "softviz"
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = "sqlite:///" + {db!r}
# the stub nbgrader writes in place of a solution region (inside the function: the cell
# still defines it, and the lesson's self-check reports "not done yet")
c.ClearSolutions.code_stub = {{"python": {stub!r}}}
# the student's own functions may draw 100,000 samples: give every cell time
c.ExecutePreprocessor.timeout = 300
'''


# -- values in notebook source ---------------------------------------------------------------

def _float(v: float) -> str:
    if math.isnan(v):
        return "np.nan"
    if math.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    return repr(float(v))


def literal(value: Any) -> str:
    """Python source that evaluates (with ``np``) to ``value``: the expected results in hidden cells."""
    if isinstance(value, np.ndarray):
        def nested(a):
            if a.ndim == 0:
                item = a.item()
                return repr(bool(item)) if a.dtype.kind == "b" else (
                    _float(item) if a.dtype.kind == "f" else repr(int(item)))
            return "[" + ", ".join(nested(x) for x in a) + "]"
        return f"np.array({nested(value)}, dtype=np.{value.dtype.name})"
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    if isinstance(value, (float, np.floating)):
        return _float(float(value))
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (tuple, list)):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if value is None:
        return "None"
    raise TypeError(f"no literal for a {type(value).__name__}")


# -- cells -----------------------------------------------------------------------------------

def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
          points: int | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def answer_code(ex: Exercise, region: str, *, markers: bool) -> str:
    """The lesson's exercise cell with its stub replaced by ``region`` (inside solution markers)."""
    lines = ex.source.splitlines()
    body = [ex.indent + line if line else "" for line in region.splitlines()]
    if markers:
        body = [ex.indent + "### BEGIN SOLUTION", *body, ex.indent + "### END SOLUTION"]
    keep = [lines[ex.stub_line]] if ex.is_value else []  # `answer = None  # one of ...` stays
    return "\n".join(lines[:ex.stub_line] + keep + body + lines[ex.stub_line + 1:])


def _without_checks(source: str) -> str:
    """``source`` minus its top-level self-check calls (expected values need no verdict)."""
    tree = ast.parse(source)
    tree.body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)
                                              and isinstance(n.value.func, ast.Name)
                                              and n.value.func.id.startswith("check_"))]
    return ast.unparse(tree)


def _plackett_luce(p: np.ndarray, k: int) -> tuple[list[tuple[int, ...]], list[float]]:
    classes = [i for i in range(p.size) if p[i] > 0]
    tuples, probs = [], []
    for t in itertools.permutations(classes, k):
        left, prob = 1.0, 1.0
        for i in t:
            prob *= p[i] / left
            left -= p[i]
        tuples.append(t)
        probs.append(prob)
    return tuples, probs


def _hidden_source(ex: Exercise, spec: dict, namespace: dict) -> str:
    """The hidden test cell: cases with their expected results, computed from the reference."""
    import softviz

    fn = namespace[ex.name]
    env = {"np": np, "math": math, "softviz": softviz}
    kind = spec.get("kind", "values")
    lines = ["import math", "", "import numpy as np", ""]
    if kind == "values":
        rows = []
        for name, args_src in spec["cases"]:
            args = eval(args_src, dict(env))  # the course's own table, never student input
            with np.errstate(all="ignore"):
                got = fn(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
            via = spec.get("options", {}).get("via")
            if via is not None:
                got = eval(via, env)(got)  # a dotted name such as "softviz.softmax"
            rows.append(f"    ({name!r}, {args_src}, {literal(got)}),")
        options = "".join(f", {k}={v!r}" for k, v in spec.get("options", {}).items())
        forbid = tuple(spec.get("forbid", ()))
        lines += ["from softviz.exercises.grading import expect_values", "",
                  f"expect_values({ex.name}, [", *rows,
                  f"], check={ex.check}, forbid={forbid!r}{options})"]
    elif kind == "sampler":
        lines += ["from softviz.exercises.grading import expect_sampler", ""]
        for i, (name, logits_src) in enumerate(spec["cases"]):
            p = softviz.softmax(eval(logits_src, dict(env)))
            lines.append(f"expect_sampler({ex.name}, {logits_src}, {literal(p)}, seed={SEED + i}, "
                         f"check={ex.check})  # {name}")
    elif kind == "top_k":
        lines += ["from softviz.exercises.grading import expect_top_k", ""]
        for i, (name, args_src) in enumerate(spec["cases"]):
            logits, k = eval(args_src, dict(env))
            tuples, probs = _plackett_luce(softviz.softmax(logits), k)
            lines.append(f"expect_top_k({ex.name}, {args_src[1:-1]}, {tuples!r}, {literal(np.array(probs))}, "
                         f"seed={SEED + i}, check={ex.check})  # {name}")
    else:
        raise ValueError(f"{ex.check}: unknown kind {kind!r}")
    return "\n".join(lines)


def points(stem: str) -> dict[str, int]:
    """grade_id -> points of the lesson's assignment (autograded and manual cells)."""
    out = {}
    for ex in read_lesson(stem).exercises:
        visible, hidden = HIDDEN[ex.check]["points"]
        out[f"{ex.check}_visible"] = visible
        if hidden:
            out[f"{ex.check}_hidden"] = hidden
    if stem in EXPLANATIONS:
        out[f"{stem}_explanation"] = EXPLANATIONS[stem][1]
    return out


def build_source(lesson: Lesson) -> nbformat.NotebookNode:
    """The nbgrader source notebook of one lesson (solutions and hidden tests included)."""
    missing = [ex.check for ex in lesson.exercises if ex.check not in HIDDEN]
    if missing:
        raise ValueError(f"{lesson.stem}: no hidden cases for {', '.join(missing)} in assignments/hidden_cases.py")
    total = sum(sum(HIDDEN[ex.check]["points"]) for ex in lesson.exercises) + (
        EXPLANATIONS[lesson.stem][1] if lesson.stem in EXPLANATIONS else 0)
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    intro = (f"# Coursework {lesson.stem[:2]}: {re.sub(r'^(Lesson )?[0-9]+[:· ]*', '', lesson.title)}\n\n"
             f"The exercises of the lesson `{lesson.stem}` (open it from the course's `notebooks/` folder), "
             f"graded: **{total} points**. Write your code in place of `raise NotImplementedError()`; keep the "
             f"function names. Each exercise's self-check prints what is still missing, the visible test "
             f"after it gives its points (here it only prints; when graded, a failing test scores 0), and "
             f"hidden tests try more cases when your work is graded. "
             f"Run the whole notebook (*Kernel > Restart Kernel and Run All Cells*) before you submit.")
    nb.cells.append(nbformat.v4.new_markdown_cell(intro, metadata=_meta("intro", locked=True)))
    setup = "\n".join(lesson.imports + ["from softviz.exercises.grading import assert_passes"])
    nb.cells.append(nbformat.v4.new_code_cell(setup, metadata=_meta("setup", locked=True)))

    # the reference solutions run here, in order, to compute the hidden cases' expected results
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(setup, namespace)
    for ex in lesson.exercises:
        spec = HIDDEN[ex.check]
        visible, hidden = spec["points"]
        nb.cells.append(nbformat.v4.new_markdown_cell(ex.prompt, metadata=_meta(f"{ex.check}_task", locked=True)))
        nb.cells.append(nbformat.v4.new_code_cell(answer_code(ex, ex.reference, markers=True),
                                                  metadata=_meta(f"{ex.check}_answer", solution=True)))
        with contextlib.redirect_stdout(io.StringIO()):
            exec(_without_checks(answer_code(ex, ex.reference, markers=False)), namespace)
        nb.cells.append(nbformat.v4.new_code_cell(
            f"# visible test ({visible} point{'s' if visible != 1 else ''}): the self-check above passes\n"
            f"assert_passes({ex.check}, {ex.name})",
            metadata=_meta(f"{ex.check}_visible", grade=True, locked=True, points=visible)))
        if hidden:
            nb.cells.append(nbformat.v4.new_code_cell(
                f"# hidden tests ({hidden} points): more cases than the self-check tries, run when your work "
                f"is graded\n### BEGIN HIDDEN TESTS\n{_hidden_source(ex, spec, namespace)}\n### END HIDDEN TESTS",
                metadata=_meta(f"{ex.check}_hidden", grade=True, locked=True, points=hidden)))
        if lesson.stem in EXPLANATIONS and EXPLANATIONS[lesson.stem][0] == ex.check:
            _, pts, question, model = EXPLANATIONS[lesson.stem]
            nb.cells.append(nbformat.v4.new_markdown_cell(
                f"**Explain ({pts} points, graded by hand).** {question}",
                metadata=_meta(f"{lesson.stem}_question", locked=True)))
            nb.cells.append(nbformat.v4.new_markdown_cell(
                f"### BEGIN SOLUTION\n{model}\n### END SOLUTION",
                metadata=_meta(f"{lesson.stem}_explanation", solution=True, grade=True, points=pts)))
    return nb


def write_course(course: Path, stems: list[str]) -> list[Path]:
    """Write ``course``'s nbgrader_config.py and source/<stem>/<stem>.ipynb; return the notebooks."""
    course = Path(course).resolve()
    (course / "source").mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(CONFIG.format(
        root=str(course), db=str(course / "gradebook.db"), stub="\n".join(STUB)), encoding="utf-8")
    written = []
    for stem in stems:
        nb = build_source(read_lesson(stem))
        path = course / "source" / stem / f"{stem}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        written.append(path)
    return written


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``python -m nbgrader ARGS`` in ``course`` (this interpreter's nbgrader); output captured."""
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=nbgrader_env())


def nbgrader_env() -> dict[str, str]:
    """The environment for nbgrader: its gradebook runs the ``alembic`` command from PATH,
    so this interpreter's scripts folder (a venv's bin/, not necessarily activated) goes first."""
    scripts = os.path.dirname(sys.executable)
    return {**os.environ, "PATH": scripts + os.pathsep + os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1"}


def release(course: Path, stems: list[str]) -> list[Path]:
    """``nbgrader generate_assignment`` for every lesson: the student versions in course/release/."""
    out = []
    for stem in stems:
        proc = nbgrader(course, "generate_assignment", stem, "--force", "--create")
        if proc.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {stem} failed:\n{proc.stdout[-3000:]}")
        out.append(Path(course) / "release" / stem / f"{stem}.ipynb")
    return out


# -- submissions (the end-to-end test, and a lecturer's dry run) ----------------------------

def fill(released: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of a released notebook with answer cells filled in: grade_id -> the code that
    replaces the stub (code cells) or the whole text (markdown cells)."""
    nb = nbformat.from_dict(released)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id not in answers:
            continue
        if cell.cell_type == "markdown":
            cell.source = answers[grade_id]
            continue
        lines = cell.source.splitlines()
        at = next(i for i in range(len(lines) - 1)
                  if lines[i].strip() == STUB[0] and lines[i + 1].strip() == STUB[1])
        indent = lines[at][:len(lines[at]) - len(lines[at].lstrip())]
        body = [indent + line if line else "" for line in answers[grade_id].splitlines()]
        cell.source = "\n".join(lines[:at] + body + lines[at + 2:])
    return nb


def mistake_of(ex: Exercise) -> str | None:
    """The typical mistake of an exercise: the solutions notebook's, else assignments/hidden_cases.py's."""
    return ex.mistake if ex.mistake is not None else MISTAKES.get(ex.check)


def submission(stem: str, released: nbformat.NotebookNode, which: str) -> tuple[nbformat.NotebookNode, str | None]:
    """``which`` = "reference" (every reference solution and model answer), "untouched" (the
    release as it is) or "mistake" (the reference, but the first exercise that has a typical
    mistake gets it). Returns the notebook and the check whose mistake it holds."""
    if which not in ("reference", "untouched", "mistake"):
        raise ValueError(f"which must be 'reference', 'untouched' or 'mistake', got {which!r}")
    if which == "untouched":
        return nbformat.from_dict(released), None
    lesson = read_lesson(stem)
    answers = {f"{ex.check}_answer": ex.reference for ex in lesson.exercises}
    if stem in EXPLANATIONS:
        answers[f"{stem}_explanation"] = EXPLANATIONS[stem][3]
    wrong = None
    if which == "mistake":
        ex = next((e for e in lesson.exercises if mistake_of(e) is not None), None)
        if ex is None:
            raise ValueError(f"{stem}: no exercise has a typical mistake (solutions notebook or MISTAKES)")
        answers[f"{ex.check}_answer"] = mistake_of(ex)
        wrong = ex.check
    return fill(released, answers), wrong


def define(stem: str, mistake: str | None = None) -> dict:
    """The namespace a graded run of ``stem`` ends with: the setup imports and every exercise's
    reference (the typical mistake for the check ``mistake``); self-checks are not run."""
    lesson = read_lesson(stem)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec("\n".join(lesson.imports), namespace)
        for ex in lesson.exercises:
            code = mistake_of(ex) if ex.check == mistake else ex.reference
            exec(_without_checks(answer_code(ex, code, markers=False)), namespace)
    return namespace


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson stems or numbers (default: every core lesson)")
    parser.add_argument("--course", default=str(DEFAULT_COURSE), help="the nbgrader course directory")
    parser.add_argument("--no-release", action="store_true", help="write the source notebooks only")
    args = parser.parse_args(argv)
    stems = core_lessons()
    if args.lessons:
        wanted = [s for s in stems if any(s == k or s.startswith(k.zfill(2) + "_") for k in args.lessons)]
        if len(wanted) != len(args.lessons):
            parser.error(f"unknown lesson in {args.lessons}; the lessons are {', '.join(stems)}")
        stems = wanted
    course = Path(args.course).resolve()
    for path in write_course(course, stems):
        print(f"source:  {path.relative_to(course)}  ({sum(points(path.stem).values())} points)", flush=True)
    if not args.no_release:
        for path in release(course, stems):
            print(f"release: {path.relative_to(course)}", flush=True)
    print(f"course directory: {course}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
