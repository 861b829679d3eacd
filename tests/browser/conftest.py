"""Fixtures of the browser tests: one JupyterLab server and one headless Chromium per session.

The tests skip, with the reason, when Playwright, JupyterLab or a Chromium
executable is missing; with ``SOFTVIZ_REQUIRE_BROWSER=1`` (as .ci/run sets it)
that skip is a failure instead. Environment variables:

``SOFTVIZ_REQUIRE_BROWSER=1``  fail instead of skipping when the browser cannot run
``SOFTVIZ_CHROMIUM=/path``     the Chromium/Chrome executable (default: ``chromium`` etc. on PATH)
``SOFTVIZ_SCREENSHOTS=dir``    where screenshots go (default: tests/_screenshots/, git-ignored)
``SOFTVIZ_BROWSER_TIMEOUT=s``  seconds allowed to run one notebook's cells (default 300)

Nothing here downloads a browser: Playwright only drives the executable found.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_env import DEFAULT_SCREENSHOTS, NOTEBOOK_DIR, unavailable
from lab_driver import LabServer, find_chromium

_REPORTS = []          # one summary line per notebook checked
_SCREENSHOTS = []      # the screenshot folder, once made
_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(session, config, items):
    # Playwright's sync API keeps an asyncio loop running in the main thread until
    # the session-scoped browser stops. Tests that run their own loop (asyncio.run)
    # or check for a running one (panel throttling) must therefore come first.
    def in_browser_dir(item):
        return _HERE in Path(str(item.fspath)).resolve().parents

    # Among the browser tests the long ones first (the broken-notebook check, the deck,
    # then the notebooks): under pytest-xdist that balances the workers.
    def weight(item):
        return 1 if "relpath" in getattr(getattr(item, "callspec", None), "params", {}) else 0

    browser_items = sorted((i for i in items if in_browser_dir(i)), key=weight)
    items[:] = [i for i in items if not in_browser_dir(i)] + browser_items


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven by Playwright (sync API)."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable(f"the Python package playwright is not installed ({exc}); "
                    f"pip install -e '.[test]'")
    executable = find_chromium()
    if executable is None:
        where = (f"SOFTVIZ_CHROMIUM={os.environ['SOFTVIZ_CHROMIUM']} is not an executable file"
                 if os.environ.get("SOFTVIZ_CHROMIUM") else
                 "no Chromium or Chrome executable was found on PATH")
        unavailable(f"{where}; install one (Debian/Ubuntu: sudo apt-get install chromium) "
                    f"or set SOFTVIZ_CHROMIUM")
    args = ["--disable-dev-shm-usage"]   # containers often have a tiny /dev/shm
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")      # Chromium refuses to run its sandbox as root
    pw = sync_playwright().start()
    try:
        try:
            chromium = pw.chromium.launch(executable_path=executable, headless=True, args=args)
        except PlaywrightError as exc:
            unavailable(f"Chromium at {executable} did not start: {str(exc).splitlines()[0]}")
        yield chromium
        chromium.close()
    finally:
        pw.stop()


@pytest.fixture(scope="session")
def lab_server(browser, tmp_path_factory):
    """JupyterLab serving a temporary COPY of notebooks/ (the stored notebooks stay untouched)."""
    try:
        import jupyterlab  # noqa: F401
    except ImportError as exc:
        unavailable(f"JupyterLab is not installed in {sys.executable} ({exc})")
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "notebooks"
    shutil.copytree(NOTEBOOK_DIR, root,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    server = LabServer(root, base / "home")
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser_context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  device_scale_factor=1, reduced_motion="reduce")
    context.set_default_timeout(30_000)
    yield context
    context.close()


@pytest.fixture
def lab_page(browser_context, lab_server):
    """A fresh page; afterwards its kernels are shut down so the next notebook starts clean."""
    page = browser_context.new_page()
    yield page
    page.close()
    lab_server.shutdown_kernels()


@pytest.fixture(scope="session")
def screenshot_dir():
    """$SOFTVIZ_SCREENSHOTS, else tests/_screenshots/ (git-ignored; emptied of old PNGs first).

    Not pytest's tmp_path: pytest keeps only its last three temporary
    directories, so the pictures would vanish after a few other test runs.
    """
    override = os.environ.get("SOFTVIZ_SCREENSHOTS")
    path = Path(override).expanduser().resolve() if override else DEFAULT_SCREENSHOTS
    path.mkdir(parents=True, exist_ok=True)
    # (not under pytest-xdist: the workers share the folder)
    if not override and not os.environ.get("PYTEST_XDIST_WORKER"):
        for old in path.rglob("*.png"):
            old.unlink()
    _SCREENSHOTS.append(path)
    return path


@pytest.fixture
def browser_reports(request):
    """Tests append their NotebookReport here; the terminal summary lists them.

    The summary line travels in the test report's user_properties, so it also
    reaches the summary when pytest-xdist ran the test in a worker process.
    """
    class _Sink:
        def append(self, report, extra=""):
            state = "ok" if not report.problems else f"{len(report.problems)} problem(s)"
            line = (f"{report.notebook:45s} {report.seconds:6.1f} s  "
                    f"{report.panels} panel(s)  {state}" + (f"  {extra}" if extra else ""))
            request.node.user_properties.append(("softviz_browser", line))

    return _Sink()


def pytest_runtest_logreport(report):
    if report.when == "call":
        _REPORTS.extend(value for key, value in report.user_properties if key == "softviz_browser")


def pytest_terminal_summary(terminalreporter):
    if not _SCREENSHOTS and not _REPORTS:
        return
    tr = terminalreporter
    tr.section("softviz browser tests")
    for line in sorted(_REPORTS):
        tr.write_line(line)
    # under pytest-xdist the screenshot_dir fixture ran in the workers: same rule here
    override = os.environ.get("SOFTVIZ_SCREENSHOTS")
    folder = _SCREENSHOTS[0] if _SCREENSHOTS else (
        Path(override).expanduser().resolve() if override else DEFAULT_SCREENSHOTS)
    tr.write_line(f"screenshots: {folder}")
