"""ruff and mypy, configured in pyproject.toml ([tool.ruff], [tool.mypy]), find nothing.

ruff checks every Python file of the repository (notebooks excluded); mypy the package (its type hints).
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    pytest.importorskip("ruff", reason="ruff comes with the test extra (pip install -e '.[test]')")
    run = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_is_clean(tmp_path):
    """mypy, configured in pyproject.toml ([tool.mypy]: the package, its strictness), finds nothing."""
    pytest.importorskip("mypy", reason="mypy comes with the test extra (pip install -e '.[test]')")
    # The incremental cache (.mypy_cache, git-ignored) makes a re-run take seconds; a checkout
    # that cannot be written to (a read-only clone, another user's files) gets a throw-away one.
    cache = ROOT / ".mypy_cache"
    if not os.access(ROOT, os.W_OK) or (cache.exists() and not os.access(cache, os.W_OK)):
        cache = tmp_path / "mypy_cache"
    run = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(cache)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
