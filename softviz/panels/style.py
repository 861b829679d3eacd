"""One look for every panel: palette, sizes, and the projector switch.

Palette: Paul Tol's *medium-contrast* qualitative scheme (Tol, "Colour
Schemes", SRON technical note, https://personal.sron.nl/~pault/). Tol designed
it for colour-blind readers AND for grayscale: its six colours come as three
dark/light pairs whose lightness steps evenly, so bars, lines and markers stay
distinguishable on a black-and-white printout or a washed-out projector.
``PALETTE`` lists them from darkest to lightest; the first colour is the
"main" one every panel uses for its primary data.

Sizes: a figure of ``FIGSIZE`` inches at ``DPI`` is 800 px wide, which fits
JupyterLab's default notebook width (~ 8.5 in at 100 dpi) without scrolling
and leaves room for the widget controls' margins.

``lecture_mode()`` is the projector layout. It multiplies font sizes and
line widths by ``LECTURE_SCALE`` in matplotlib's global ``rcParams`` (so the
student's own plots grow too) and switches every panel, those that exist and
those made afterwards, to: the same sizes, ``LECTURE_PALETTE`` (every colour
at least 3.5:1 against white, so nothing washes out on a projector, with
lightness still stepping from colour to colour, so the pairing survives
grayscale), a figure whose pixel size fits a 1024x768 (``aspect="4:3"``) or
1280x720 (``aspect="16:9"``) screen beside its controls, and larger controls
(the CSS class ``softviz-lecture``, styled by ``LECTURE_CSS``). The figure keeps
its size in inches, and so its tested layout: only its dots per inch change.
``lecture_mode(False)`` puts all of it back, the saved ``rcParams`` exactly.
Panels switch it on by themselves while JupyterLab presents the notebook as a
slide deck (see ``softviz.panels.base``), and off again when the deck stops.

This module imports matplotlib only inside functions, so ``import softviz``
stays fast and works on machines without a display.

Used in: every notebook (through softviz.panels); notebooks/00_start_here.ipynb
shows ``softviz.lecture_mode()``.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import ColorType

__all__ = [
    "PALETTE",
    "PALETTE_NAMES",
    "INK",
    "FIGSIZE",
    "DPI",
    "LECTURE_SCALE",
    "LECTURE_PALETTE",
    "LECTURE_CSS",
    "SLIDE_SIZES",
    "lecture_mode",
    "lecture_scale",
    "lecture_aspect",
    "lecture_dpi",
    "palette",
    "luminance",
    "rc",
    "text_problems",
]

#: Paul Tol's medium-contrast scheme, darkest first (see module docstring).
PALETTE = ("#004488", "#994455", "#997700", "#6699CC", "#EE99AA", "#EECC66")
PALETTE_NAMES = ("dark blue", "dark red", "dark yellow", "light blue", "light red", "light yellow")
#: Text, reference lines and bar edges: near-black reads on every colour above.
INK = "#222222"

FIGSIZE = (8.0, 3.6)
DPI = 100
LECTURE_SCALE = 1.5

#: Projector colours, one per ``PALETTE`` entry and in the same roles (same hue
#: family, darkest first): each at least 3.5:1 against white, luminances
#: ~ 0.025, 0.05, 0.085, 0.13, 0.185, 0.25, so neighbours stay apart in grayscale.
LECTURE_PALETTE = ("#002965", "#800D26", "#694E00", "#1D67B0", "#DD2F6E", "#B67E00")
#: Screen sizes in pixels that lecture_mode(aspect=...) lays a panel out for.
SLIDE_SIZES = {"4:3": (1024, 768), "16:9": (1280, 720)}
# Figure dpi per screen: FIGSIZE at 100 dpi is 800x360 px, at 128 dpi 1024x461 px,
# each leaving room for the notebook's margins and the controls above it.
# tests/test_lecture_mode.py checks every panel's text layout at both (rounding
# at other dpi values can push text boxes that just touch into each other).
_LECTURE_DPI = {"4:3": 100.0, "16:9": 128.0}
#: Larger controls in lecture mode (class added to the panel's widget).
LECTURE_CSS = """
.softviz-lecture .widget-label, .softviz-lecture .widget-readout,
.softviz-lecture input, .softviz-lecture select, .softviz-lecture button,
.softviz-lecture .widget-html-content { font-size: 150% !important; }
.softviz-lecture .widget-inline-hbox, .softviz-lecture .widget-text,
.softviz-lecture .widget-dropdown { min-height: 2.4em; }
.softviz-lecture input, .softviz-lecture select { height: 2em !important; }
.softviz-lecture .widget-hslider .noUi-handle { transform: scale(1.6); }
.softviz-lecture .widget-hslider .noUi-target { height: 10px; }
.softviz-lecture .widget-label { min-width: max-content; }
"""

# Panel sizes at scale 1, in points. Absolute numbers (not "large") so a panel
# looks the same whatever the user's rcParams say.
_FONT = {"font.size": 10.0, "axes.titlesize": 12.0, "axes.labelsize": 10.5,
         "xtick.labelsize": 9.5, "ytick.labelsize": 9.5, "legend.fontsize": 9.5,
         "figure.titlesize": 12.5}
_LINE = {"lines.linewidth": 1.8, "axes.linewidth": 0.9, "patch.linewidth": 0.9,
         "xtick.major.width": 0.9, "ytick.major.width": 0.9, "lines.markersize": 6.0}

# Global rcParams that lecture_mode() scales; their values before it ran.
_LECTURE_KEYS = tuple(_FONT) + tuple(_LINE) + ("grid.linewidth",)
_saved_rc: dict[str, Any] | None = None
_scale = 1.0
_aspect: str | None = None       # None, or the SLIDE_SIZES key lecture mode lays out for
_auto = False        # True when a deck switched lecture mode on (and may switch it off)


def lecture_scale() -> float:
    """The current size factor: 1.0 normally, ``LECTURE_SCALE`` in lecture mode."""
    return _scale


def lecture_aspect() -> str | None:
    """``None`` outside lecture mode, else the screen shape it lays out for ("4:3" or "16:9")."""
    return _aspect


def lecture_dpi(aspect: str | None = None) -> float:
    """Dots per inch of a panel figure: ``DPI``, or in lecture mode what fits the screen.

    A figure of ``FIGSIZE`` inches at this dpi fits the screen of
    ``SLIDE_SIZES[aspect]`` beside the notebook's margins and the controls.
    """
    aspect = _aspect if aspect is None else aspect
    return DPI if aspect is None else _LECTURE_DPI[aspect]


def palette() -> tuple[str, ...]:
    """The colours panels draw with now: ``PALETTE``, or ``LECTURE_PALETTE`` in lecture mode."""
    return LECTURE_PALETTE if _aspect is not None else PALETTE


# Keys are rcParams names; recent matplotlib types them as literals (rc_context checks them),
# older releases as str: Any keys suit both.
def rc() -> dict[Any, Any]:
    """The rcParams every panel draws with (sizes include the lecture scale).

    The base Panel wraps figure creation in ``matplotlib.rc_context(rc())``.
    """
    from cycler import cycler

    params: dict[str, Any] = {k: v * _scale for k, v in {**_FONT, **_LINE}.items()}
    params.update({
        "axes.prop_cycle": cycler(color=list(palette())),
        "axes.titleweight": "bold",
        "axes.edgecolor": INK,
        "axes.labelcolor": INK,
        "text.color": INK,
        "xtick.color": INK,
        "ytick.color": INK,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": False,
        # White, not transparent: the PNG fallback must read on dark themes too.
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "figure.dpi": lecture_dpi(),
    })
    return params


def _check_aspect(aspect: object) -> str:
    if not isinstance(aspect, str):
        raise TypeError(f"aspect must be a string, one of {tuple(SLIDE_SIZES)}, got {aspect!r}")
    if aspect not in SLIDE_SIZES:
        raise ValueError(f"aspect must be one of {tuple(SLIDE_SIZES)}, got {aspect!r}")
    return aspect


def lecture_mode(on: bool = True, *, aspect: str = "4:3") -> None:
    """The projector layout for every panel; ``lecture_mode(False)`` undoes it.

    ``on=True``: fonts and lines ``LECTURE_SCALE`` times larger (in
    matplotlib's ``rcParams`` too, so plots made afterwards grow; relative
    sizes such as ``"large"`` follow ``font.size``), the high-contrast
    ``LECTURE_PALETTE``, larger controls, and figures sized for a screen of
    ``aspect`` ("4:3": 1024x768, "16:9": 1280x720). Panels that exist are
    restyled in place and redrawn; panels made afterwards are born that way.
    Calling it again with the same arguments changes nothing; a different
    ``aspect`` resizes the figures only. ``False`` restores the saved
    ``rcParams`` entries exactly (a change you made to one of those entries
    while lecture mode was on is undone with them) and every panel's look.

    Panels turn it on by themselves while JupyterLab presents the notebook as a
    slide deck; a deck turns it off again only if it was the one that turned it on.

    Used in: notebooks/00_start_here.ipynb (and, through the slide decks, every lesson)
    """
    _check_aspect(aspect)
    _switch(bool(on), aspect)


def _switch(on: bool, aspect: str, auto: bool = False) -> None:
    import matplotlib as mpl

    global _saved_rc, _scale, _aspect, _auto
    new_aspect = aspect if on else None
    if new_aspect == _aspect:
        if on and not auto:
            _auto = False   # the user asked for it too: a deck that stops leaves it on
        return
    old_scale, old_palette = _scale, palette()
    # matplotlib types rcParams by literal key names; these keys are computed strings
    rc_params: Any = mpl.rcParams
    if on and _saved_rc is None:
        _saved_rc = {k: rc_params[k] for k in _LECTURE_KEYS}
        for k, v in _saved_rc.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                rc_params[k] = v * LECTURE_SCALE
        _scale = LECTURE_SCALE
    elif not on:
        rc_params.update(_saved_rc)
        _saved_rc = None
        _scale = 1.0
    _aspect = new_aspect
    _auto = auto and on
    # No panel can exist before base is imported; importing it here would
    # pull in ipywidgets for nothing (and base imports this module).
    base = sys.modules.get(__package__ + ".base")
    if base is not None:
        base._restyle_live_panels(_scale / old_scale, dict(zip(old_palette, palette())))


def _deck_changed(presenting: bool, aspect: str = "4:3") -> None:
    """A panel's front end saw a slide deck start (``True``) or stop: switch lecture mode.

    A deck that stops switches lecture mode off only if a deck switched it on:
    ``lecture_mode()`` called by hand stays on.
    """
    aspect = aspect if aspect in SLIDE_SIZES else "4:3"
    if presenting and (_aspect is None or _auto):
        _switch(True, aspect, auto=True)
    elif not presenting and _auto:
        _switch(False, aspect)


def _recolour(fig: Figure, mapping: dict[str, str]) -> None:
    """Replace colours of ``fig``'s artists by ``mapping`` (hex -> hex), alpha kept.

    Panels pick colours from ``PALETTE`` by index when they draw; this swaps
    them for the lecture palette (and back) without the panels knowing.
    """
    import numpy as np
    from matplotlib.collections import Collection
    from matplotlib.colors import to_hex, to_rgba
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.text import Text

    table = {to_hex(k).lower(): to_rgba(v) for k, v in mapping.items() if k != v}
    if not table:
        return

    def swap(colour: Any) -> tuple[float, float, float, float] | None:
        if colour is None or isinstance(colour, str) and colour in ("none", "auto"):
            return None
        try:
            rgba = to_rgba(colour)
        except ValueError:
            return None
        new = table.get(to_hex(rgba[:3]).lower())
        return None if new is None else (*new[:3], rgba[3])

    def swap_array(colours: Any) -> list[Any] | None:
        arr = np.asarray(colours, dtype=float)
        if arr.ndim != 2 or not len(arr):
            return None
        out = [swap(tuple(c)) for c in arr]
        if all(c is None for c in out):
            return None
        return [c if c is not None else tuple(orig) for c, orig in zip(out, arr)]

    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap

    for artist in fig.findobj():
        if isinstance(artist, ScalarMappable) and isinstance(artist.get_cmap(), ListedColormap):
            # a table or image coloured through a colormap made of palette colours
            cmap = artist.get_cmap()
            colours = [swap(c) for c in np.atleast_2d(cmap(np.arange(cmap.N)))]
            if any(c is not None for c in colours):
                recoloured = ListedColormap([c if c is not None else tuple(o) for c, o in
                                             zip(colours, cmap(np.arange(cmap.N)))], name=cmap.name)
                # get_bad() and friends give RGBA arrays: as tuples they are the same colours
                artist.set_cmap(recoloured.with_extremes(bad=tuple(cmap.get_bad()), under=tuple(cmap.get_under()),
                                                         over=tuple(cmap.get_over())))
        if isinstance(artist, Line2D):
            for get, set_ in (("get_color", "set_color"),
                              ("get_markerfacecolor", "set_markerfacecolor"),
                              ("get_markeredgecolor", "set_markeredgecolor")):
                new = swap(getattr(artist, get)())
                if new is not None:
                    getattr(artist, set_)(new)
        elif isinstance(artist, Patch):
            for get, set_ in (("get_facecolor", "set_facecolor"), ("get_edgecolor", "set_edgecolor")):
                new = swap(getattr(artist, get)())
                if new is not None:
                    getattr(artist, set_)(new)
        elif isinstance(artist, Collection):
            for get, set_ in (("get_facecolor", "set_facecolor"), ("get_edgecolor", "set_edgecolor")):
                new_colours = swap_array(getattr(artist, get)())
                if new_colours is not None:
                    getattr(artist, set_)(new_colours)
        elif isinstance(artist, Text):
            new = swap(artist.get_color())
            if new is not None:
                artist.set_color(new)


def _pin_ticks(fig: Figure) -> None:
    """Fix tick sizes and colours on every axes of ``fig`` from the panel style.

    Ticks are created lazily at draw time, outside the panel's rc_context:
    without this they would take the global rcParams instead.
    """
    for ax in fig.axes:
        for key in ("x", "y"):
            ax.tick_params(axis=key, labelsize=_FONT[f"{key}tick.labelsize"] * _scale,
                           width=_LINE[f"{key}tick.major.width"] * _scale,
                           color=INK, labelcolor=INK)


def _rescale_figure(fig: Figure, ratio: float) -> None:
    """Multiply every text size and line width in ``fig`` by ``ratio``, in place."""
    from matplotlib.lines import Line2D
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        text.set_fontsize(float(text.get_fontsize()) * ratio)
    for line in fig.findobj(Line2D):
        line.set_linewidth(line.get_linewidth() * ratio)
    for ax in fig.axes:
        for spine in ax.spines.values():
            spine.set_linewidth(spine.get_linewidth() * ratio)
    _pin_ticks(fig)


def luminance(color: ColorType) -> float:
    """Relative luminance of a colour in [0, 1] (sRGB, ITU-R BT.709 weights).

    This is how light the colour prints in grayscale; the palette's values
    are ~ 0.06, 0.12, 0.20, 0.30, 0.44, 0.62.
    """
    from matplotlib.colors import to_rgb

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in to_rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_problems(fig: Figure) -> list[str]:
    """Texts of ``fig`` that overlap each other or leave the figure, as strings.

    Draws the figure (Agg) first. An empty list means the layout is clean;
    tests run it on every registered panel at the default size.
    """
    from matplotlib.text import Text

    fig.canvas.draw()
    # Agg-based canvases (Agg, ipympl) have get_renderer; FigureCanvasBase does not declare it
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    fig_box = fig.bbox
    boxes = []
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip():
            continue
        box = t.get_window_extent(renderer)
        if box.width <= 0 or box.height <= 0:
            continue
        boxes.append((t.get_text(), box))
    problems = []
    for i, (text, box) in enumerate(boxes):
        if (box.x0 < fig_box.x0 - 1 or box.y0 < fig_box.y0 - 1
                or box.x1 > fig_box.x1 + 1 or box.y1 > fig_box.y1 + 1):
            problems.append(f"{text!r} leaves the figure")
        for other, obox in boxes[i + 1:]:
            # One pixel of slack: neighbouring tick labels may touch.
            if (min(box.x1, obox.x1) - max(box.x0, obox.x0) > 1
                    and min(box.y1, obox.y1) - max(box.y0, obox.y0) > 1):
                problems.append(f"{text!r} overlaps {other!r}")
    return problems
