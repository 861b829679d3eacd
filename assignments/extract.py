"""Read the exercises of a lesson, and their reference solutions and typical mistakes.

Conventions it relies on (the lessons and their solutions follow them; a new lesson
that does is picked up by itself):

* an exercise cell of ``notebooks/NN_name.ipynb`` defines one function with a stub
  line ``return None  # your code here...`` (or assigns ``NAME = None`` for a value
  answer) and calls a self-check on it, ``check_something(my_function)``;
* ``notebooks/solutions/NN_name_solutions.ipynb`` calls the same check on the
  reference solution, stored executed with the check's ``✓`` verdict, and may call
  it on a typical mistake (``✗``), each defined with ``def`` in that cell or before.

Standard library and nbformat only: it runs in the lecturer's environment, never in a
student's kernel (assignments/ is not part of the softviz package).
"""
from __future__ import annotations

import ast
import dataclasses
import re
import textwrap
from pathlib import Path

import nbformat

__all__ = ["Exercise", "Lesson", "read_lesson", "core_lessons", "ROOT"]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
PASS, FAIL = "\N{CHECK MARK}", "\N{BALLOT X}"
STUB = re.compile(r"^(?P<indent>\s*)return None\s*#\s*your code here", re.IGNORECASE)


@dataclasses.dataclass
class Exercise:
    """One graded exercise: where it is in the lesson and what answers it."""

    check: str            # the self-check's name, e.g. "check_entropy": the exercise's id
    name: str             # what the student defines: "my_entropy" (a function) or "answer" (a value)
    is_value: bool        # a value answer (NAME = None) rather than a function
    cell_index: int       # the exercise cell in the lesson notebook
    prompt: str           # the markdown cell before it (the task as the lesson states it)
    source: str           # the lesson's exercise cell
    stub_line: int        # 0-based line of the stub in ``source``
    indent: str           # the stub's indentation
    reference: str        # the code that replaces the stub in the reference solution
    mistake: str | None   # the code that replaces the stub in the typical mistake, if the solutions show one


@dataclasses.dataclass
class Lesson:
    stem: str                      # "02_temperature"
    title: str                     # the lesson's first heading
    imports: list[str]             # the import statements its exercises rely on
    exercises: list[Exercise]


def core_lessons() -> list[str]:
    """The stems of notebooks/NN_*.ipynb that have a solutions notebook (never *_further)."""
    return sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")
                  if not p.stem.endswith("_further")
                  and (NOTEBOOKS / "solutions" / f"{p.stem}_solutions.ipynb").is_file())


def _code(source: str) -> str:
    # IPython magics (%matplotlib widget) are not Python
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(_code(source))
    except SyntaxError:
        return None


def _check_calls(tree: ast.Module) -> list[tuple[str, str]]:
    """(check name, argument name) of the top-level ``check_x(name)`` calls of a cell."""
    out = []
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id.startswith("check_")
                and len(call.args) == 1 and isinstance(call.args[0], ast.Name)):
            out.append((call.func.id, call.args[0].id))
    return out


def _output_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def _segment(source: str, node: ast.AST) -> str:
    lines = _code(source).splitlines()
    return "\n".join(lines[node.lineno - 1:node.end_lineno])


def _body_code(source: str, fn: ast.FunctionDef, skip: int) -> str:
    """The statements of ``fn``'s body after the first ``skip``, dedented."""
    lines = _code(source).splitlines()
    body = fn.body[skip:]
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and skip == 0 \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # a docstring
    text = "\n".join(lines[body[0].lineno - 1:fn.end_lineno]) if body else "pass"
    return textwrap.dedent(text).rstrip()


def _helpers(source: str, tree: ast.Module, upto: int) -> list[str]:
    """Top-level statements of a solution cell before line ``upto`` that the solution needs
    (a table such as PASSES), without the checks' imports, defs and check calls."""
    out = []
    for node in tree.body:
        if node.lineno >= upto:
            break
        if isinstance(node, (ast.FunctionDef, ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr):
            continue  # a call (a check, a print)
        out.append(_segment(source, node))
    return out


def _find_def(cells: list, upto: int, name: str) -> tuple[int, ast.Module, ast.FunctionDef] | None:
    for i in range(upto, -1, -1):
        if cells[i].cell_type != "code":
            continue
        tree = _parse(cells[i].source)
        if tree is None:
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                return i, tree, node
    return None


def _find_value(cells: list, upto: int, name: str) -> str | None:
    for i in range(upto, -1, -1):
        tree = _parse(cells[i].source) if cells[i].cell_type == "code" else None
        for node in (tree.body if tree else []):
            if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]:
                return _segment(cells[i].source, node)
    return None


def _imports(cells: list) -> list[str]:
    out: list[str] = []
    for cell in cells:
        tree = _parse(cell.source) if cell.cell_type == "code" else None
        for node in (tree.body if tree else []):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                text = " ".join(_segment(cell.source, node).split())
                text = text.replace("( ", "(").replace(" )", ")")
                if text not in out:
                    out.append(text)
    return out


def _solution_code(cells: list, index: int, tree: ast.Module, name: str, lesson_fn: ast.FunctionDef | None,
                   renames: dict[str, str]) -> str | None:
    """The code that replaces the lesson's stub, from the solution function ``name``."""
    found = _find_def(cells, index, name)
    if found is None:
        return None
    cell_i, cell_tree, fn = found
    source = _code(cells[cell_i].source)
    # the statements the lesson's function already has before its stub (z = np.asarray(z))
    # stay the lesson's; the solution's own copies of them are left out
    skip = 0
    if lesson_fn is not None:
        before = [ast.dump(s) for s in lesson_fn.body if not _is_stub(s)]
        before = before[:next((i for i, s in enumerate(lesson_fn.body) if _is_stub(s)), len(before))]
        while skip < len(fn.body) and skip < len(before) and ast.dump(fn.body[skip]) == before[skip]:
            skip += 1
    parts = _helpers(source, cell_tree, fn.lineno) + [_body_code(source, fn, skip)]
    code = "\n".join(parts)
    for old, new in renames.items():
        code = re.sub(rf"\b{re.escape(old)}\b", new, code)
    return code


def _is_stub(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Return) and isinstance(stmt.value, ast.Constant) and stmt.value.value is None


def _lesson_exercises(cells: list) -> list[tuple[int, str, str, ast.Module]]:
    """(cell index, check, answer name, tree) of the lesson's exercise cells."""
    out = []
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        tree = _parse(cell.source)
        if tree is None:
            continue
        for check, arg in _check_calls(tree):
            out.append((i, check, arg, tree))
    return out


def read_lesson(stem: str) -> Lesson:
    """The exercises of ``notebooks/<stem>.ipynb`` with their solutions; ValueError when a
    convention above is broken (the message says which, so the lesson can be fixed)."""
    if not isinstance(stem, str):
        raise TypeError(f"stem must be a str, got {type(stem).__name__}")
    path = NOTEBOOKS / f"{stem}.ipynb"
    solutions_path = NOTEBOOKS / "solutions" / f"{stem}_solutions.ipynb"
    if not path.is_file() or not solutions_path.is_file():
        raise ValueError(f"stem {stem!r}: no {path.name} with a solutions/{solutions_path.name} next to it")
    cells = nbformat.read(path, as_version=4).cells
    sol_cells = nbformat.read(solutions_path, as_version=4).cells
    title = next((line.lstrip("# ").strip() for c in cells if c.cell_type == "markdown"
                  for line in c.source.splitlines() if line.startswith("# ")), stem)

    # the solution's name of each check's reference, and its typical mistake
    references: dict[str, tuple[int, str]] = {}
    mistakes: dict[str, tuple[int, str]] = {}
    for i, cell in enumerate(sol_cells):
        tree = _parse(cell.source) if cell.cell_type == "code" else None
        for check, arg in (_check_calls(tree) if tree else []):
            verdict = _output_text(cell).lstrip()
            if verdict.startswith(PASS):
                references.setdefault(check, (i, arg))
            elif verdict.startswith(FAIL) and _find_def(sol_cells, i, arg) is not None:
                mistakes.setdefault(check, (i, arg))

    found = _lesson_exercises(cells)
    renames = {references[c][1]: arg for _, c, arg, _ in found if c in references and references[c][1] != arg}
    exercises = []
    for index, check, arg, tree in found:
        source = cells[index].source
        lines = source.splitlines()
        fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == arg), None)
        if fn is not None:
            stubs = [k for k in range(fn.lineno - 1, fn.end_lineno) if STUB.match(lines[k])]
            is_value = False
        else:
            stubs = [k for k, line in enumerate(lines) if re.match(rf"^{re.escape(arg)}\s*=\s*None\b", line)]
            is_value = True
        if len(stubs) != 1:
            raise ValueError(f"{stem}: the exercise cell {index} of {check} has {len(stubs)} stub lines "
                             f"(expected one `return None  # your code here` in {arg} or `{arg} = None`)")
        if check not in references:
            raise ValueError(f"{stem}: solutions/{solutions_path.name} never passes {check} "
                             f"(a code cell calling it with a stored \N{CHECK MARK} verdict)")
        ref_index, ref_name = references[check]
        if is_value:
            reference = _find_value(sol_cells, ref_index, ref_name)
            mistake = None
        else:
            reference = _solution_code(sol_cells, ref_index, tree, ref_name, fn, renames)
            mistake = None
            if check in mistakes:
                mis_index, mis_name = mistakes[check]
                mistake = _solution_code(sol_cells, mis_index, tree, mis_name, fn, {**renames, mis_name: arg})
        if reference is None:
            raise ValueError(f"{stem}: the reference {ref_name} of {check} is not defined in the solutions")
        prompt = next((cells[k].source for k in range(index - 1, -1, -1) if cells[k].cell_type == "markdown"), "")
        exercises.append(Exercise(check=check, name=arg, is_value=is_value, cell_index=index, prompt=prompt,
                                  source=source, stub_line=stubs[0],
                                  indent=re.match(r"\s*", lines[stubs[0]]).group(0),
                                  reference=reference, mistake=mistake))
    return Lesson(stem=stem, title=title, imports=_imports(cells) + [i for i in _imports(sol_cells)
                                                                      if i not in _imports(cells)],
                  exercises=exercises)
