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

``lecture_mode()`` multiplies font sizes and line widths by
``LECTURE_SCALE`` in matplotlib's global ``rcParams`` (so the student's own
plots grow too), makes every panel created afterwards use the larger sizes,
and rescales the text and lines of panels that already exist, in place.
``lecture_mode(False)`` puts the saved ``rcParams`` entries back exactly.

This module imports matplotlib only inside functions, so ``import softviz``
stays fast and works on machines without a display.

Used in: every notebook (through softviz.panels); notebooks/00_start_here.ipynb
shows ``softviz.lecture_mode()``.
"""
from __future__ import annotations

import sys

__all__ = [
    "PALETTE",
    "PALETTE_NAMES",
    "INK",
    "FIGSIZE",
    "DPI",
    "LECTURE_SCALE",
    "lecture_mode",
    "lecture_scale",
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

# Panel sizes at scale 1, in points. Absolute numbers (not "large") so a panel
# looks the same whatever the user's rcParams say.
_FONT = {"font.size": 10.0, "axes.titlesize": 12.0, "axes.labelsize": 10.5,
         "xtick.labelsize": 9.5, "ytick.labelsize": 9.5, "legend.fontsize": 9.5,
         "figure.titlesize": 12.5}
_LINE = {"lines.linewidth": 1.8, "axes.linewidth": 0.9, "patch.linewidth": 0.9,
         "xtick.major.width": 0.9, "ytick.major.width": 0.9, "lines.markersize": 6.0}

# Global rcParams that lecture_mode() scales; their values before it ran.
_LECTURE_KEYS = tuple(_FONT) + tuple(_LINE) + ("grid.linewidth",)
_saved_rc = None
_scale = 1.0


def lecture_scale():
    """The current size factor: 1.0 normally, ``LECTURE_SCALE`` in lecture mode."""
    return _scale


def rc():
    """The rcParams every panel draws with (sizes include the lecture scale).

    The base Panel wraps figure creation in ``matplotlib.rc_context(rc())``.
    """
    from cycler import cycler

    params = {k: v * _scale for k, v in {**_FONT, **_LINE}.items()}
    params.update({
        "axes.prop_cycle": cycler(color=list(PALETTE)),
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
        "figure.dpi": DPI,
    })
    return params


def lecture_mode(on=True):
    """Bigger fonts and thicker lines for a projector; ``lecture_mode(False)`` undoes it.

    Multiplies the font sizes and line widths in matplotlib's ``rcParams`` by
    ``LECTURE_SCALE`` (relative sizes such as ``"large"`` follow ``font.size``),
    so plots made afterwards grow too; panels made afterwards use the larger
    sizes, and panels that already exist are rescaled in place and redrawn.
    Calling it twice with the same argument changes nothing. ``False``
    restores the saved ``rcParams`` entries exactly (a change you made to one
    of those entries while lecture mode was on is undone with them).

    Used in: notebooks/00_start_here.ipynb
    """
    import matplotlib as mpl

    global _saved_rc, _scale
    on = bool(on)
    if on == (_saved_rc is not None):
        return
    old_scale = _scale
    if on:
        _saved_rc = {k: mpl.rcParams[k] for k in _LECTURE_KEYS}
        for k, v in _saved_rc.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                mpl.rcParams[k] = v * LECTURE_SCALE
        _scale = LECTURE_SCALE
    else:
        mpl.rcParams.update(_saved_rc)
        _saved_rc = None
        _scale = 1.0
    # No panel can exist before base is imported; importing it here would
    # pull in ipywidgets for nothing (and base imports this module).
    base = sys.modules.get(__package__ + ".base")
    if base is not None:
        base._restyle_live_panels(_scale / old_scale)


def _pin_ticks(fig):
    """Fix tick sizes and colours on every axes of ``fig`` from the panel style.

    Ticks are created lazily at draw time, outside the panel's rc_context:
    without this they would take the global rcParams instead.
    """
    for ax in fig.axes:
        for key in ("x", "y"):
            ax.tick_params(axis=key, labelsize=_FONT[f"{key}tick.labelsize"] * _scale,
                           width=_LINE[f"{key}tick.major.width"] * _scale,
                           color=INK, labelcolor=INK)


def _rescale_figure(fig, ratio):
    """Multiply every text size and line width in ``fig`` by ``ratio``, in place."""
    from matplotlib.lines import Line2D
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        text.set_fontsize(text.get_fontsize() * ratio)
    for line in fig.findobj(Line2D):
        line.set_linewidth(line.get_linewidth() * ratio)
    for ax in fig.axes:
        for spine in ax.spines.values():
            spine.set_linewidth(spine.get_linewidth() * ratio)
    _pin_ticks(fig)


def luminance(color):
    """Relative luminance of a colour in [0, 1] (sRGB, ITU-R BT.709 weights).

    This is how light the colour prints in grayscale; the palette's values
    are ~ 0.06, 0.12, 0.20, 0.30, 0.44, 0.62.
    """
    from matplotlib.colors import to_rgb

    def linear(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in to_rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_problems(fig):
    """Texts of ``fig`` that overlap each other or leave the figure, as strings.

    Draws the figure (Agg) first. An empty list means the layout is clean;
    tests run it on every registered panel at the default size.
    """
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
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
