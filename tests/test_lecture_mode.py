"""lecture_mode(): the projector layout of every panel, on by hand or by a slide deck.

Checks what the projector needs (sizes, contrast, screen fit, larger controls),
that a deck switches it on and off through a panel's probe exactly as the
browser does, and that lecture_mode(False) gives back everything as it was.
"""
from __future__ import annotations

import itertools

import matplotlib as mpl
import numpy as np
import pytest

import softviz
from softviz import panels
from softviz.panels import SoftmaxBarsPanel, style
from softviz.panels.base import offscreen


@pytest.fixture(autouse=True)
def _lecture_mode_off():
    softviz.lecture_mode(False)
    yield
    softviz.lecture_mode(False)


def _contrast(a, b):
    la, lb = sorted((style.luminance(a), style.luminance(b)))
    return (lb + 0.05) / (la + 0.05)


def _colours(fig):
    """Every colour (hex) the figure's lines, patches and collections use."""
    from matplotlib.collections import Collection
    from matplotlib.colors import to_hex
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    out = set()
    for a in fig.findobj():
        if isinstance(a, Line2D):
            out.add(to_hex(a.get_color()))
        elif isinstance(a, Patch):
            out.add(to_hex(a.get_facecolor()))
        elif isinstance(a, Collection):
            out.update(to_hex(c) for c in np.atleast_2d(a.get_facecolor()) if len(c))
    return out


def test_lecture_palette_reads_on_a_projector_and_in_grayscale():
    pal = style.LECTURE_PALETTE
    assert len(pal) == len(style.PALETTE) and len(set(pal)) == len(pal)
    for c in pal:   # WCAG's 3:1 for graphics, with room for a washed-out projector
        assert _contrast(c, "white") >= 3.5, c
    lum = [style.luminance(c) for c in pal]
    assert lum == sorted(lum)                       # same roles as PALETTE: darkest first
    for a, b in itertools.pairwise(pal):            # neighbours stay apart in grayscale
        assert _contrast(a, b) >= 1.2, (a, b)
    assert min(_contrast(c, "white") for c in style.PALETTE) < 2   # the default would wash out


def test_lecture_mode_checks_its_arguments():
    with pytest.raises(ValueError, match="aspect"):
        softviz.lecture_mode(True, aspect="21:9")
    with pytest.raises(TypeError, match="aspect"):
        softviz.lecture_mode(True, aspect=16 / 9)
    assert style.lecture_aspect() is None


@pytest.mark.parametrize("aspect", sorted(style.SLIDE_SIZES))
def test_projector_layout_on_a_live_panel_and_back(aspect):
    before_rc = dict(mpl.rcParams)
    p = SoftmaxBarsPanel()
    title0, line0 = p._title.get_fontsize(), p.figure.axes[0].spines["left"].get_linewidth()
    colours0, dpi0, png0 = _colours(p.figure), p.figure.dpi, p.to_png()
    assert colours0 & set(c.lower() for c in style.PALETTE)

    softviz.lecture_mode(True, aspect=aspect)
    assert style.lecture_aspect() == aspect
    # larger text, thicker lines
    assert p._title.get_fontsize() == pytest.approx(title0 * style.LECTURE_SCALE)
    assert p.figure.axes[0].spines["left"].get_linewidth() == pytest.approx(line0 * style.LECTURE_SCALE)
    # high-contrast colours only
    now = _colours(p.figure)
    assert not now & set(c.lower() for c in style.PALETTE), now
    assert now & set(c.lower() for c in style.LECTURE_PALETTE), now
    # a figure that fits the screen beside the controls, same inches (same layout)
    w, h = p.figure.get_size_inches() * p.figure.dpi
    sw, sh = style.SLIDE_SIZES[aspect]
    assert 0.75 * sw <= w <= sw - 150 and h <= 0.7 * sh, (w, h)
    assert p.figure.get_size_inches().tolist() == list(style.FIGSIZE)
    # larger controls: the class the stylesheet hooks on, and the stylesheet itself
    assert "softviz-lecture" in p.widget._dom_classes
    css = [c for c in p.widget.children if "softviz-lecture" in str(getattr(c, "value", ""))]
    assert css and "font-size" in css[0].value
    assert p.to_png() != png0
    # a panel made now is born in the projector layout
    q = SoftmaxBarsPanel()
    assert q.figure.dpi == p.figure.dpi and _colours(q.figure) == now
    assert "softviz-lecture" in q.widget._dom_classes

    softviz.lecture_mode(False)
    assert dict(mpl.rcParams) == before_rc
    for panel in (p, q):
        assert panel._title.get_fontsize() == pytest.approx(title0)
        assert panel.figure.dpi == dpi0
        assert _colours(panel.figure) == colours0
        assert "softviz-lecture" not in panel.widget._dom_classes
    assert p.to_png() == png0


def test_switching_aspect_resizes_only():
    p = SoftmaxBarsPanel()
    softviz.lecture_mode(True, aspect="4:3")
    size, colours = p._title.get_fontsize(), _colours(p.figure)
    dpi43 = p.figure.dpi
    softviz.lecture_mode(True, aspect="16:9")
    assert p.figure.dpi > dpi43
    assert p._title.get_fontsize() == size and _colours(p.figure) == colours


def _probe(panel):
    probe = [w for w in panel.widget.children if "softviz-deck-probe" in getattr(w, "_dom_classes", ())]
    assert len(probe) == 1
    return probe[0]


def test_a_slide_deck_switches_lecture_mode_on_and_off():
    p = SoftmaxBarsPanel()
    probe = _probe(p)
    probe.value = "deck 16:9"         # what the browser script types when a deck starts
    assert style.lecture_aspect() == "16:9" and style.lecture_scale() == style.LECTURE_SCALE
    assert "softviz-lecture" in p.widget._dom_classes
    probe.value = "deck 4:3"          # window reshaped
    assert style.lecture_aspect() == "4:3"
    probe.value = "off"               # deck stopped
    assert style.lecture_aspect() is None and style.lecture_scale() == 1.0
    assert p.last_error is None


def test_a_deck_leaves_lecture_mode_on_when_the_lecturer_asked_for_it():
    softviz.lecture_mode(True)
    p = SoftmaxBarsPanel()
    probe = _probe(p)
    probe.value = "deck 4:3"
    probe.value = "off"
    assert style.lecture_aspect() == "4:3"      # still on: it was not the deck's doing
    softviz.lecture_mode(False)
    probe.value = "deck 4:3"
    softviz.lecture_mode(True)                  # the lecturer claims it during a deck
    probe.value = "off"
    assert style.lecture_aspect() == "4:3"


def test_the_browser_script_is_there_and_watches_the_deck():
    p = SoftmaxBarsPanel()
    scripts = [w for w in p.widget.children if hasattr(w, "outputs") and w.outputs]
    assert len(scripts) == 1
    js = scripts[0].outputs[0]["data"]["application/javascript"]
    assert "data-jp-deck-mode" in js and "softviz-deck-probe" in js and "presenting" in js


def test_offscreen_panels_carry_no_browser_parts():
    with offscreen():
        p = SoftmaxBarsPanel()
    assert not any("softviz-deck-probe" in getattr(w, "_dom_classes", ()) for w in p.widget.children)


@pytest.mark.parametrize("name", sorted(panels.registry()))
def test_every_panel_is_clean_in_the_16_9_layout(name):
    softviz.lecture_mode(True, aspect="16:9")
    with offscreen():
        p = panels.registry()[name]()
    assert p.last_error is None
    assert p.figure.dpi == style.lecture_dpi("16:9")
    assert style.text_problems(p.figure) == []
    assert not _colours(p.figure) & set(c.lower() for c in style.PALETTE)
