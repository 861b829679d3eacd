"""nbval's output check, applied to the cells a browser run just executed.

The browser suite runs every notebook top to bottom in JupyterLab, so nbval
need not execute the same notebooks a second time in the same test run
(tests/conftest.py deselects nbval's items for the notebooks the browser suite
covers). What nbval checked beyond "no error" is kept here: every cell tagged
``nbval-check-output`` must print what the stored notebook shows, compared the
way ``pytest --nbval-lax --nbval-sanitize-with notebooks/nbval_sanitize.cfg``
compares it (same sanitize patterns, streams coalesced, images, widget model
ids and metadata ignored). nbval's own helpers are used where it has them.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import nbformat
from nbval.plugin import coalesce_streams, get_sanitize_patterns, transform_streams_for_comparison

__all__ = ["CHECK_TAG", "checked_cells", "compare_checked_cells", "load_sanitizer"]

CHECK_TAG = "nbval-check-output"
# nbval's skip list under --nbval-lax without --nbdime (nbval.plugin.IPyNbFile)
_SKIP = {"metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
         "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg"}


def load_sanitizer(cfg: Path):
    """A function applying the regex/replace pairs of an nbval sanitize file, in order."""
    patterns = [(re.compile(regex), replace)
                for regex, replace in get_sanitize_patterns(Path(cfg).read_text(encoding="utf-8"))]

    def sanitize(text):
        if not isinstance(text, str):
            return text
        for regex, replace in patterns:
            text = regex.sub(replace, text)
        return text

    return sanitize


def checked_cells(notebook_path: Path) -> dict[int, list]:
    """Cell index -> stored outputs, for every code cell tagged nbval-check-output."""
    nb = nbformat.read(str(notebook_path), as_version=4)
    return {i: list(c.get("outputs", [])) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and CHECK_TAG in c.get("metadata", {}).get("tags", [])}


def _flatten(outputs, sanitize):
    """nbval's layout: key (stream name or MIME type) -> list of sanitized values."""
    flat = defaultdict(list)
    nodes = [nbformat.from_dict(o) for o in outputs]
    for out in transform_streams_for_comparison(coalesce_streams(nodes)):
        for key, value in out.items():
            if key in _SKIP:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in _SKIP:
                        flat[mime].append(sanitize("".join(data) if isinstance(data, list) else data))
            else:
                flat[key].append(sanitize("".join(value) if isinstance(value, list) else value))
    return flat


def compare_checked_cells(notebook_path: Path, fresh: dict[int, list], sanitize) -> list[str]:
    """Problems (empty: none) between the stored and the fresh outputs of the checked cells.

    ``fresh`` maps a cell index to that cell's outputs as nbformat dicts, as a
    browser run (JupyterLab's ``outputs.toJSON()``) or any kernel produced them.
    """
    problems = []
    for index, stored in checked_cells(notebook_path).items():
        where = f"cell {index + 1} (tagged {CHECK_TAG})"
        if index not in fresh:
            problems.append(f"{where}: no fresh outputs were collected")
            continue
        want, got = _flatten(stored, sanitize), _flatten(fresh[index], sanitize)
        if set(want) != set(got):
            problems.append(f"{where}: output kinds differ: stored {sorted(want)}, fresh {sorted(got)}")
            continue
        for key in want:
            if want[key] != got[key]:
                problems.append(f"{where}: {key} differs from the stored notebook\n"
                                f"      stored: {want[key]!r}\n      fresh:  {got[key]!r}")
    return problems
