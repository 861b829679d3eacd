"""Shared pytest setup: the C-core requirement, hypothesis settings, markers, panel clean-up.

Markers (registered in pyproject.toml) are given here by path, so a test file
needs no decoration and a renamed file keeps its marker:

* ``browser``: tests/browser/ (JupyterLab in headless Chromium);
* ``slow``: the browser suite, nbval's notebook cells, and the tests in
  ``SLOW`` below (each more than a few seconds on a 2-core machine).
  ``python3 dev.py test -m "not slow"`` is the quick inner loop; the plain
  ``python3 dev.py test`` runs everything.

When the browser suite runs a notebook in the same session (and a browser is
there to run it), nbval's items for that notebook are deselected: the browser
test executes the notebook top to bottom and compares the nbval-check-output
cells with the stored outputs exactly as nbval does
(tests/browser/stored_outputs.py), so executing it a second time would check
nothing new. ``pytest notebooks/NAME.ipynb`` alone still runs nbval.
"""
import os
import sys
import weakref
from pathlib import Path

import pytest
from hypothesis import settings

# Shared machines are noisy: no per-example deadline; CI runs more examples.
settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, max_examples=300, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

_TESTS = Path(__file__).resolve().parent
_BROWSER = _TESTS / "browser"
_NOTEBOOKS = _TESTS.parent / "notebooks"

# Tests that take seconds each (measured on 2 cores): by file, or by file::name
# prefix. File names only where the whole file is slow. Keep this list short:
# it is the difference between the inner loop and the full run.
SLOW = (
    "test_native_c.py",                            # C harness 5 builds (gcc, clang, asan, qemu), clang extension
    "test_api_walk.py::test_walk_others",          # imports and calls every public function
    "test_panels.py::test_every_panel_is_titled_labelled_and_text_does_not_overlap",
    "test_panels.py::test_html_export",           # executes a notebook in a kernel
    "test_lecture_mode.py",                        # redraws every panel in the projector layout
    "test_dev_py.py::test_dev_lab_serves",         # starts JupyterLab
    "test_training.py",                            # trains the lesson 07 network
    "test_suite_markers.py::test_nbval_cells_of",  # runs a notebook under pytest-xdist
    "test_assignments.py::test_release_autograde",  # nbgrader: release, autograde (27 kernels), feedback
)


def _native_required():
    return os.environ.get("SOFTVIZ_REQUIRE_NATIVE", "") not in ("", "0")


def pytest_sessionstart(session):
    # .ci/run sets SOFTVIZ_REQUIRE_NATIVE=1: a missing C core must fail the run,
    # not quietly test the numpy fallback
    if _native_required():
        import softviz
        from softviz import _native

        if not softviz.native_available():
            pytest.exit(
                f"SOFTVIZ_REQUIRE_NATIVE=1 but the softviz C core did not load: {_native.LOAD_ERROR}",
                returncode=1,
            )


@pytest.fixture
def native_required():
    return _native_required()


def _is_slow(item, path):
    if _BROWSER in path.parents or path.suffix == ".ipynb":
        return True
    if path.parent != _TESTS:
        return False
    nodeid = path.name + "::" + item.name
    return any(nodeid.startswith(s) if "::" in s else path.name == s for s in SLOW)


def _browser_can_run():
    """What tests/browser/conftest.py needs to run rather than skip (checked cheaply)."""
    import importlib.util

    if importlib.util.find_spec("playwright") is None or importlib.util.find_spec("jupyterlab") is None:
        return False
    sys.path.insert(0, str(_BROWSER))
    try:
        from lab_driver import find_chromium
    finally:
        sys.path.remove(str(_BROWSER))
    return find_chromium() is not None


@pytest.hookimpl(tryfirst=True)   # before -m/-k select by these markers
def pytest_collection_modifyitems(session, config, items):
    for item in items:
        path = Path(str(item.fspath)).resolve()
        if _BROWSER in path.parents:
            item.add_marker(pytest.mark.browser)
        if _is_slow(item, path):
            item.add_marker(pytest.mark.slow)
        if path.suffix == ".ipynb":
            # nbval runs a notebook's cells in order in one kernel: under pytest-xdist
            # (--dist loadgroup) they must all go to the same worker
            item.add_marker(pytest.mark.xdist_group(path.name))
    # slow tests first (a stable sort: files and cells keep their order), so pytest-xdist
    # hands them out early and the run does not end with one worker busy and one idle
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _browser_required():
    return os.environ.get("SOFTVIZ_REQUIRE_BROWSER", "") not in ("", "0")


# after -m/-k deselected: only browser tests that will really run count
@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_drop_covered_nbval(session, config, items):
    browser_notebooks = {(_NOTEBOOKS / item.callspec.params["relpath"]).resolve() for item in items
                         if _BROWSER in Path(str(item.fspath)).resolve().parents
                         and "relpath" in getattr(getattr(item, "callspec", None), "params", {})}
    # nbval items of notebooks the browser suite executes in this session: drop them
    # (see the module docstring). Only when the browser can really run: without one
    # the browser tests skip, and nbval stays the check that executes the notebooks.
    if not browser_notebooks or not (_browser_required() or _browser_can_run()):
        return
    covered = [i for i in items if Path(str(i.fspath)).suffix == ".ipynb"
               and Path(str(i.fspath)).resolve() in browser_notebooks]
    if covered:
        config.hook.pytest_deselected(items=covered)
        drop = set(map(id, covered))
        items[:] = [i for i in items if id(i) not in drop]
        config._softviz_nbval_covered = len({str(i.fspath) for i in covered})


def pytest_terminal_summary(terminalreporter, config):
    n = getattr(config, "_softviz_nbval_covered", 0)
    if n:
        terminalreporter.write_line(
            f"softviz: nbval did not execute {n} notebook(s) a second time: the browser suite runs "
            f"them and compares their nbval-check-output cells with the stored outputs")


@pytest.fixture(autouse=True)
def _close_panels_made_by_the_test():
    """Close the softviz panels a test made and left open.

    An open panel stays alive (its widgets are registered with ipywidgets), and
    lecture_mode() restyles every live panel: without this, each lecture-mode
    test redraws every panel every earlier test made (seconds per test, growing
    with the suite). Panels a module- or session-scoped fixture made are older
    than this fixture and are left alone.
    """
    base = sys.modules.get("softviz.panels.base")
    before = weakref.WeakSet(base._LIVE) if base is not None else weakref.WeakSet()
    yield
    base = sys.modules.get("softviz.panels.base")
    if base is None:
        return
    for panel in list(base._LIVE):
        if panel not in before:
            panel.close()
