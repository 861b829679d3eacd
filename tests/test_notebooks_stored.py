"""Notebook hygiene: every notebook is stored executed, in order, portable and clean.

The notebooks must read well on GitHub and nbviewer without a kernel, so they are
committed executed (``python dev.py notebooks`` re-executes them all in place).
This file checks the stored JSON only -- nothing is executed here; the browser
suite executes every notebook in the main test run and compares the
nbval-check-output cells with the stored outputs (nbval does, when the browser
suite does not run; see tests/conftest.py). It also checks the nbval sanitize file.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
SANITIZE = ROOT / "notebooks" / "nbval_sanitize.cfg"

# Absolute paths of a particular machine (home, tmp, CI work dirs, Windows
# profiles). The look-behind keeps URLs such as https://host/tmp/x out.
_MACHINE_PATH = re.compile(
    r"(?<![\w./:-])/(?:work|tmp|root|home|Users|private/var|var/folders|builds|github/workspace)/"
    r"|\b[A-Za-z]:\\+(?:Users|Windows|tmp)\b",
    re.IGNORECASE,
)
# Outputs stored as base64: any "/" sequence in them is noise, not a path.
_BINARY_MIME = {"image/png", "image/jpeg", "image/gif", "application/pdf"}


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value if isinstance(value, str) else ""


def _output_texts(output: dict):
    """(where, text) for every textual part of one output."""
    kind = output.get("output_type")
    if kind == "stream":
        yield f"{output.get('name', 'stream')} stream", _text(output.get("text"))
    elif kind == "error":
        yield "error traceback", "\n".join(output.get("traceback", []))
    for mime, value in (output.get("data") or {}).items():
        if mime not in _BINARY_MIME:
            yield mime, _text(value) if not isinstance(value, dict) else json.dumps(value)


def stored_notebook_problems(nb: dict) -> list[str]:
    """Everything wrong with a stored notebook, as readable lines (empty: all good)."""
    problems = []
    spec = nb.get("metadata", {}).get("kernelspec", {})
    if spec.get("name") != "python3":
        problems.append(f"kernelspec is {spec.get('name')!r}, expected 'python3'")
    expected = 1
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        where = f"cell {index}"
        count = cell.get("execution_count")
        if not _text(cell.get("source")).strip():
            problems.append(f"{where} is an empty code cell (delete it: nbconvert never executes it)")
            continue
        if count is None:
            problems.append(f"{where} was never executed")
        elif count != expected:
            problems.append(f"{where} has execution_count {count}, expected {expected} "
                            f"(cells run out of order, skipped or after a restart)")
        expected = (count if isinstance(count, int) else expected) + 1
        if "execution" in cell.get("metadata", {}):
            problems.append(f"{where} stores execution timestamps (re-executing would change "
                            f"the file every time)")
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(f"{where} has an error output: {output.get('ename')}: "
                                f"{output.get('evalue')}")
            for part, text in _output_texts(output):
                if part == "stderr stream" and "Traceback" in text:
                    problems.append(f"{where} prints a traceback on stderr")
                match = _MACHINE_PATH.search(text)
                if match:
                    problems.append(f"{where} output ({part}) holds a machine-specific path "
                                    f"{text[match.start():match.start() + 40].splitlines()[0]!r}")
    return problems


# --------------------------------------------------------------------------
# The real notebooks
# --------------------------------------------------------------------------

LESSONS = ("00_start_here", "01_overflow", "02_temperature", "03_gumbel", "04_soft_nms",
           "05_kde_regimes", "06_two_pass", "07_training", "08_attention")


def test_there_are_notebooks():
    names = {p.relative_to(ROOT).as_posix() for p in NOTEBOOKS}
    for lesson in LESSONS:
        assert f"notebooks/{lesson}.ipynb" in names
        assert f"notebooks/solutions/{lesson}_solutions.ipynb" in names


_LOCAL_LINK = re.compile(r"\]\(([^)#\s]+\.ipynb)(?:#[^)]*)?\)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix())
def test_links_between_notebooks_resolve(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    targets = {m for cell in nb["cells"] if cell["cell_type"] == "markdown"
               for m in _LOCAL_LINK.findall(_text(cell["source"]))}
    missing = sorted(t for t in targets if not (path.parent / t).is_file())
    assert not missing, f"{path.name} links to notebooks that do not exist: {missing}"


def assert_stored_cleanly(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb.get("nbformat") == 4, f"{path.name}: not an nbformat 4 notebook"
    problems = stored_notebook_problems(nb)
    assert not problems, (f"{path.name} is not stored cleanly (re-execute it with "
                          f"`python dev.py notebooks`):\n  " + "\n  ".join(problems))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix())
def test_notebook_is_stored_executed_and_clean(path):
    assert_stored_cleanly(path)


# --------------------------------------------------------------------------
# The checker itself, on small notebooks that are wrong on purpose
# --------------------------------------------------------------------------

def _code(source, count, outputs=()):
    return {"cell_type": "code", "execution_count": count, "id": f"c{count}", "metadata": {},
            "outputs": list(outputs), "source": source}


def _notebook(*cells, kernel="python3"):
    return {"cells": list(cells), "metadata": {"kernelspec": {"name": kernel, "language": "python",
                                                              "display_name": "Python 3"}},
            "nbformat": 4, "nbformat_minor": 5}


def _stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


GOOD = _notebook(
    {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# title"},
    _code("x = 1", 1),
    _code("print(x)", 2, [_stream("1\n"), _stream("see https://example.org/tmp/x\n")]),
    _code("x", 3, [{"output_type": "execute_result", "execution_count": 3, "metadata": {},
                    "data": {"text/plain": "1", "image/png": "iVBORw0/tmp/AAA/root/"}}]),
)


def test_checker_accepts_a_good_notebook(tmp_path):
    assert stored_notebook_problems(GOOD) == []
    path = tmp_path / "good.ipynb"
    path.write_text(json.dumps(GOOD), encoding="utf-8")
    assert_stored_cleanly(path)


@pytest.mark.parametrize("nb, words", [
    (_notebook(_code("a", 1), _code("b", None)), "never executed"),
    (_notebook(_code("a", 1), _code("b", 3)), "execution_count 3, expected 2"),
    (_notebook(_code("a", 2), _code("b", 1)), "execution_count 2, expected 1"),
    (_notebook(_code("a", 1), _code("b", 1)), "execution_count 1, expected 2"),  # restart
    (_notebook(_code("a", 1), _code("", None)), "empty code cell"),
    (_notebook(_code("1/0", 1, [{"output_type": "error", "ename": "ZeroDivisionError",
                                 "evalue": "division by zero", "traceback": []}])),
     "error output: ZeroDivisionError"),
    (_notebook(_code("a", 1, [_stream("Traceback (most recent call last):\n", "stderr")])),
     "traceback on stderr"),
    (_notebook(_code("a", 1), kernel="julia-1.10"), "kernelspec is 'julia-1.10'"),
    (_notebook(_code("a", 1, [_stream("saved to /tmp/tmpab12/fig.png\n")])), "'/tmp/tmpab12"),
    (_notebook(_code("a", 1, [{"output_type": "display_data", "metadata": {},
                               "data": {"text/html": "<a href='/work/main/x'>x</a>"}}])),
     "(text/html) holds a machine-specific path"),
    (_notebook(_code("a", 1, [_stream("/root/.cache/x.py:3: UserWarning", "stderr")])), "'/root/"),
    (_notebook(_code("a", 1, [_stream("C:\\Users\\ann\\x.py", "stderr")])), "machine-specific"),
    (_notebook({**_code("a", 1), "metadata": {"execution": {"iopub.status.busy": "2025"}}}),
     "timestamps"),
])
def test_checker_catches_bad_notebooks(tmp_path, nb, words):
    # written to disk and read back, as the real test does
    path = tmp_path / "bad.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    problems = stored_notebook_problems(json.loads(path.read_text(encoding="utf-8")))
    assert any(words in p for p in problems), problems
    with pytest.raises(AssertionError, match="bad.ipynb is not stored cleanly"):
        assert_stored_cleanly(path)


# --------------------------------------------------------------------------
# nbval: the sanitize file and its wiring
# --------------------------------------------------------------------------

def _sanitize_patterns():
    nbval_plugin = pytest.importorskip("nbval.plugin")
    return nbval_plugin.get_sanitize_patterns(SANITIZE.read_text(encoding="utf-8"))


def _sanitize(text):
    for regex, replace in _sanitize_patterns():
        text = re.sub(regex, replace, text)
    return text


_SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))
_RICH_MIME = {"application/vnd.jupyter.widget-view+json"} | _BINARY_MIME


@pytest.mark.parametrize("path", _SOLUTIONS, ids=lambda p: p.name)
def test_solutions_show_no_widget_or_figure(path):
    """The solutions run under nbval in a plain kernel, not in the browser suite: that is a
    full check only while they display nothing a browser must render."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    rich = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
            for o in c.get("outputs", []) if _RICH_MIME & set(o.get("data", {}))]
    widget_backend = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
                      and "%matplotlib widget" in "".join(c["source"])]
    assert not rich and not widget_backend, (
        f"{path.name}: cells {rich + widget_backend} show a widget or a figure; run it in the browser "
        "suite (tests/browser/browser_env.notebooks) instead of nbval alone")


def test_pytest_runs_nbval_lax_with_the_sanitize_file():
    with open(ROOT / "pyproject.toml", "rb") as f:
        addopts = tomllib.load(f)["tool"]["pytest"]["ini_options"]["addopts"].split()
    assert "--nbval-lax" in addopts
    i = addopts.index("--nbval-sanitize-with")
    assert (ROOT / addopts[i + 1]) == SANITIZE and SANITIZE.is_file()


@pytest.mark.parametrize("run1, run2", [
    ("<Figure at 0x7f3a2c1d5e80>", "<Figure at 0x7fb0d4e3a1c0>"),
    ("<softviz.panels.Panel object at 0x10a2b3c40>", "<softviz.panels.Panel object at 0x10a2b9f00>"),
    ("<cdata 'float *' 0x55d3c0a1b2c0>", "<cdata 'float *' 0x5612ff00aa10>"),
    ("CPU times: user 1.2 ms, sys: 0 ns, total: 1.2 ms\nWall time: 1.31 ms",
     "CPU times: user 15 ms, sys: 2.1 ms, total: 17.1 ms\nWall time: 20.4 ms"),
    ("12.3 µs ± 456 ns per loop (mean ± std. dev. of 7 runs, 100,000 loops each)",
     "9.87 µs ± 1.02 µs per loop (mean ± std. dev. of 7 runs, 100,000 loops each)"),
    ("set() took 3.25 ms; took 0.9 s in all", "set() took 12 ms; took 1.4 s in all"),
    ("two_pass: 21.4 GB/s", "two_pass: 9.87 GB/s"),
    ("for this machine's L2 of 2048 KiB and d = 64: b = 256, a working set of 1536 KiB",
     "for this machine's L2 of 1024 KiB and d = 64: b = 128, a working set of 384 KiB"),
])
def test_sanitize_makes_run_dependent_text_equal(run1, run2):
    assert run1 != run2
    assert _sanitize(run1) == _sanitize(run2)


@pytest.mark.parametrize("text", [
    "[0.09003057 0.24472847 0.66524096]",
    "exp overflows past 88.7228391 (float32)",
    "log_softmax([D, 0])[0] == 0.0 once D >= 16.6355",
    "bits of inf: 0x7f800000",
    "keep [0, 2, 3, 1], scores [0.9, 0.7, 0.4, 0.160976]",
    "C core loaded: True; 4 algorithms; 3 steps",
    "2 MiB cache, d = 64: 256 == 256",
])
def test_sanitize_keeps_the_numbers_lessons_check(text):
    assert _sanitize(text) == text
