"""The suite's own plumbing: the slow list in tests/conftest.py names real tests, and a
notebook's nbval cells stay together under pytest-xdist.

A renamed test file or function would silently leave the slow list, and the
quick inner loop (``python3 dev.py test -m "not slow"``) would grow; this fails
instead.
"""
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
# by path: every conftest.py is a module called "conftest" (tests/browser/ has one too)
_spec = importlib.util.spec_from_file_location("softviz_tests_conftest", TESTS / "conftest.py")
conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(conftest)


@pytest.mark.parametrize("entry", conftest.SLOW)
def test_every_slow_entry_names_an_existing_test(entry):
    filename, _, prefix = entry.partition("::")
    path = TESTS / filename
    assert path.is_file(), f"tests/conftest.py SLOW names {filename}, which does not exist"
    if prefix:
        names = re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.M)
        assert any(n.startswith(prefix) for n in names), f"no test in {filename} starts with {prefix}"


def test_slow_and_browser_markers_follow_the_path(pytestconfig):
    class Item:
        def __init__(self, name):
            self.name = name

    assert conftest._is_slow(Item("test_x"), TESTS / "browser" / "test_browser_notebooks.py")
    assert conftest._is_slow(Item("Cell 3"), TESTS.parent / "notebooks" / "01_overflow.ipynb")
    assert conftest._is_slow(Item("test_c_harness"), TESTS / "test_native_c.py")
    assert not conftest._is_slow(Item("test_split_requirement"), TESTS / "test_packaging.py")
    assert {"slow", "browser"} <= {line.split(":")[0] for line in pytestconfig.getini("markers")}


def test_nbval_cells_of_a_notebook_stay_on_one_worker():
    """dev.py runs the notebooks under pytest-xdist (--dist loadgroup); nbval runs a notebook's
    cells in one kernel, so a cell sent to another worker fails on names an earlier cell
    defined. tests/conftest.py groups the cells; pytest 9.2 broke the grouping of
    pytest-xdist 3.8 (hence the pin in pyproject.toml), and this catches any such break."""
    root = TESTS.parent
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup", "-p", "no:randomly",
         "tests/test_suite_markers.py::test_every_slow_entry_names_an_existing_test",
         "notebooks/solutions/00_start_here_solutions.ipynb"],
        cwd=root, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
