"""Paths and environment rules shared by the browser tests' conftest and modules.

A plain module (not conftest.py) so the test modules can import it by name:
pytest loads every conftest.py as a module called ``conftest``, so importing
from one is ambiguous.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["ROOT", "NOTEBOOK_DIR", "DEFAULT_SCREENSHOTS", "notebooks", "browser_required",
           "unavailable", "run_timeout"]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
DEFAULT_SCREENSHOTS = ROOT / "tests" / "_screenshots"   # git-ignored


def notebooks():
    """The notebooks the browser suite runs, relative POSIX paths: every one directly in
    notebooks/ (lessons, going-further notebooks, glossary).  notebooks/solutions/ hold no
    widgets and no figures (tests/test_notebooks_stored.py checks that), so nbval runs them
    in a plain kernel: JupyterLab would add a page load and nothing to check."""
    return sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb"))


def browser_required():
    return os.environ.get("SOFTVIZ_REQUIRE_BROWSER", "") not in ("", "0")


def unavailable(reason):
    """Skip with ``reason``, or fail when SOFTVIZ_REQUIRE_BROWSER=1 (CI)."""
    if browser_required():
        pytest.fail(f"SOFTVIZ_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


def run_timeout():
    """Seconds one notebook may take to run all its cells ($SOFTVIZ_BROWSER_TIMEOUT, default 300)."""
    return float(os.environ.get("SOFTVIZ_BROWSER_TIMEOUT", "300"))
