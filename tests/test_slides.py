"""Every core lesson is also a slide deck (presented with jupyterlab-slideshow).

The metadata follows the lessons' conventions: notebook-level "rise" settings,
a ``slideshow.slide_type`` on every cell, one idea per slide with a deck that
fits a 50-minute class, every cell that shows a softviz panel on a slide that
is shown, and exactly one hidden "## Lecturer's notes" cell.

One deviation the deck tool forces: jupyterlab-slideshow (0.3.4) does not show
a cell whose slide_type is "-" at all. A continuation cell therefore carries no
slideshow metadata; nbconvert, RISE and jupyterlab-slideshow all read a missing
slide_type as "continue the current slide".
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(p for p in (ROOT / "notebooks").glob("0[0-9]_*.ipynb")
                 if not p.name.endswith("_further.ipynb"))
SLIDE_TYPES = {"slide", "subslide", "fragment", "-", "skip", "notes"}   # nbformat's set
RISE = {"scroll": True, "transition": "none", "enable_chalkboard": False}
MIN_SLIDES = 5
MAX_SLIDES = 30          # new ideas ("slide") in 50 minutes: well over a minute each
MAX_SHOWN = 60           # slides and subslides together
WIDGET = "application/vnd.jupyter.widget-view+json"
_PANEL_REPR = re.compile(r"^[A-Z]\w*Panel\(")


def _source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _slide_type(cell):
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type")


def _shows_panel(cell):
    """A code cell whose output is a softviz panel (its widget view, repr ``XxxPanel(...)``)."""
    if cell["cell_type"] != "code":
        return False
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        text = data.get("text/plain", "")
        text = "".join(text) if isinstance(text, list) else text
        if WIDGET in data and _PANEL_REPR.match(text.strip()):
            return True
    return False


def test_lessons_are_found():
    names = [p.name for p in LESSONS]
    assert "00_start_here.ipynb" in names and len(names) >= 7, names


@pytest.fixture(params=LESSONS, ids=lambda p: p.stem)
def lesson(request):
    return request.param.name, json.loads(request.param.read_text(encoding="utf-8"))


def test_notebook_level_slide_settings(lesson):
    name, nb = lesson
    assert nb["metadata"].get("rise") == RISE, f"{name}: metadata.rise must be {RISE}"


def test_every_cell_has_a_valid_slide_type(lesson):
    name, nb = lesson
    bad = [(i, _slide_type(c)) for i, c in enumerate(nb["cells"])
           if _slide_type(c) not in SLIDE_TYPES | {None}]
    assert not bad, f"{name}: cells with an invalid slideshow.slide_type (index, type): {bad}"
    assert _slide_type(nb["cells"][0]) == "slide", f"{name}: the first cell must open a slide"
    typed = sum(_slide_type(c) is not None for c in nb["cells"])
    assert typed >= MIN_SLIDES + 2, f"{name}: only {typed} cells carry slide metadata"


def test_no_cell_is_lost_from_the_deck(lesson):
    """A "-" cell is not shown by jupyterlab-slideshow: continuation cells carry no slide_type."""
    name, nb = lesson
    dashed = [i for i, c in enumerate(nb["cells"]) if _slide_type(c) == "-"]
    assert not dashed, (f"{name}: cells {dashed} have slide_type '-', which the deck does not show; "
                        f"remove their 'slideshow' metadata (a missing slide_type continues the slide)")


def test_deck_size_fits_a_class(lesson):
    name, nb = lesson
    types = [_slide_type(c) for c in nb["cells"]]
    slides = types.count("slide")
    shown = slides + types.count("subslide")
    assert MIN_SLIDES <= slides <= MAX_SLIDES, f"{name}: {slides} slides"
    assert shown <= MAX_SHOWN, f"{name}: {shown} slides and subslides"


def test_every_panel_is_on_a_shown_slide(lesson):
    name, nb = lesson
    panel_cells = [i for i, c in enumerate(nb["cells"]) if _shows_panel(c)]
    assert panel_cells, f"{name}: no cell shows a softviz panel (stored outputs)"
    for i in panel_cells:
        t = _slide_type(nb["cells"][i])
        assert t not in ("skip", "notes", "-"), (
            f"{name}: cell {i} shows a panel but its slide_type is {t!r} (hidden from the deck)")


def test_exactly_one_hidden_lecturers_notes_cell(lesson):
    name, nb = lesson
    notes = [(i, c) for i, c in enumerate(nb["cells"])
             if c["cell_type"] == "markdown" and _source(c).lstrip().startswith("## Lecturer's notes")]
    assert len(notes) == 1, f"{name}: {len(notes)} '## Lecturer's notes' cells, expected 1"
    i, cell = notes[0]
    assert _slide_type(cell) == "notes", f"{name}: the lecturer's notes (cell {i}) must be slide_type 'notes'"
    body = _source(cell).lower()
    assert "min" in body, f"{name}: the lecturer's notes should give timings"
