"""Every notebook in notebooks/ (lessons, going further, glossary), run in JupyterLab in headless
Chromium (the solutions, which show no widget or figure, run under nbval).

For each notebook: open it, restart the kernel and run all cells through
JupyterLab's commands, wait for the kernel to be idle, then require that no
cell has an error output, that every widget rendered, that every softviz panel
shows its controls and a drawn figure, and that moving one control of each
panel with the keyboard or mouse changes the figure's pixels, and that every
cell tagged nbval-check-output printed what the stored notebook shows (the
check nbval made before; tests/browser/stored_outputs.py). The checking
code is tests/browser/lab_driver.py; test_browser_catches_breakage.py proves
it fails on broken panels.

The list of notebooks is read when the tests are collected, so a new lesson is
tested as soon as its file exists.
"""
from __future__ import annotations

import re

import pytest
from browser_env import NOTEBOOK_DIR, notebooks, run_timeout
from lab_driver import check_notebook
from stored_outputs import checked_cells, compare_checked_cells, load_sanitizer

NOTEBOOKS = notebooks()
# notebooks/0N_name.ipynb; every core lesson has a panel (an optional
# 0N_name_further.ipynb need not)
_LESSON = re.compile(r"^\d\d_[^/]+(?<!_further)\.ipynb$")


def test_notebooks_are_found():
    assert "00_start_here.ipynb" in NOTEBOOKS and "07_training.ipynb" in NOTEBOOKS
    assert not any("/" in n for n in NOTEBOOKS)   # solutions/ run under nbval


@pytest.mark.parametrize("relpath", NOTEBOOKS)
def test_notebook_runs_and_panels_respond_in_jupyterlab(relpath, lab_server, lab_page,
                                                         screenshot_dir, browser_reports):
    report = check_notebook(lab_page, lab_server, relpath, screenshot_dir,
                            run_timeout=run_timeout())
    # nbval's check, on this run's outputs: nbval does not execute this notebook a
    # second time when this test is collected (tests/conftest.py)
    checked = checked_cells(NOTEBOOK_DIR / relpath)
    differ = compare_checked_cells(NOTEBOOK_DIR / relpath, report.outputs,
                                   load_sanitizer(NOTEBOOK_DIR / "nbval_sanitize.cfg")) if checked else []
    browser_reports.append(report, f"{len(checked)} nbval-check-output cell(s) "
                                   f"{'differ' if differ else 'match'}" if checked else "")
    print(report.format())
    assert not report.problems, report.format()
    if _LESSON.match(relpath):
        assert report.panels >= 1, (f"{relpath} is a lesson but shows no softviz panel in the "
                                    f"browser (no element with class softviz-panel)\n"
                                    + report.format())
    assert len(report.moved) == report.panels, report.format()
    assert not differ, f"{relpath}: outputs differ from the stored notebook\n" + "\n".join(differ)


def test_news_and_update_checks_are_off(lab_server):
    """JupyterLab's news/update pop-ups must never cover the page under test."""
    settings = lab_server.api("GET", "lab/api/settings/@jupyterlab/apputils-extension:notification")
    assert settings["settings"]["fetchNews"] == "false", settings["raw"]
    assert settings["settings"]["checkForUpdates"] is False, settings["raw"]
    # and the server side does not offer a news feed or an update check at all
    news = lab_server.api("GET", "lab/api/news")
    assert not news.get("news"), news
    update = lab_server.api("GET", "lab/api/update")
    assert not update.get("notification"), update
