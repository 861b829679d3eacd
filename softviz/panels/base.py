"""``Panel``: the one small base class of every softviz panel.

A panel is a few named ipywidgets controls above one matplotlib figure. The
figure and its artists are made once; moving a control (or calling
``panel.set``) recomputes what changed and updates the artists in place.

A topic panel fills in four hooks::

    class TemperaturePanel(Panel):
        def _controls(self):                    # name -> widget, with defaults
            return {"temperature": log_slider(1.0, 0.01, 100.0, "T")}

        def _draw(self, fig):                   # make the artists, once
            ax = fig.add_subplot(title="softmax(z / T)", xlabel="class", ylabel="p")
            self._bars = ax.bar(range(3), [0.0, 0.0, 0.0])

        def _update(self, changed):             # names of the controls that moved
            self._p = softviz.softmax(np.array([1.0, 2.0, 3.0]) / self.params["temperature"])
            for bar, p in zip(self._bars, self._p):
                bar.set_height(p)

        def _state(self):                       # the numbers the figure shows
            return {**self.params, "probabilities": self._p.copy()}

The base does the rest: keyword construction with checked values, the widget
layout, ``set``/``state``, redrawing (ipympl canvas, or a PNG in an
``ipywidgets.Image`` under the inline backend), the static PNG for
GitHub/nbviewer/HTML export, throttling, and showing callback errors inside
the panel instead of in the log console.

Used in: every notebook; notebooks/00_start_here.ipynb shows the first one.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import io
import itertools
import traceback
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import ipywidgets as widgets
import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import style
from .controls import check_value

__all__ = ["Panel", "offscreen"]

# Every concrete subclass, "module.QualName" -> class (softviz.panels.registry()
# keeps the ones shipped in softviz.panels).
_REGISTRY: dict[str, type[Panel]] = {}


def registered() -> dict[str, type[Panel]]:
    """Every Panel subclass defined so far, keyed by ``module.qualname`` (softviz.panels.registry
    imports the panel modules first)."""
    return dict(_REGISTRY)


# Live panels, so lecture_mode() can restyle them; weak so panels can be freed.
_LIVE: weakref.WeakSet[Panel] = weakref.WeakSet()
_IPYMPL_BACKENDS = {"widget", "ipympl", "module://ipympl.backend_nbagg"}
_forced_view: str | None = None
_figure_numbers = itertools.count(1)

_ERROR_HTML = (
    '<div style="border:2px solid #B00020;background:#FDECEA;color:#7F0015;'
    'padding:6px 10px;border-radius:4px;margin:4px 0">'
    "<b>{kind}</b>: {message}"
    '<details><summary style="cursor:pointer">traceback</summary>'
    '<pre style="white-space:pre-wrap;font-size:85%">{tb}</pre></details></div>'
)


@contextlib.contextmanager
def offscreen() -> Iterator[None]:
    """Make panels created inside this block draw nowhere (plain Agg canvas, no view).

    ``set()`` then costs only the computation and the artist updates; call
    ``panel.figure.canvas.draw()`` to render. Used by ``python -m softviz.bench
    --panels``.
    """
    global _forced_view
    old, _forced_view = _forced_view, "none"
    try:
        yield
    finally:
        _forced_view = old


def _view_kind() -> str:
    if _forced_view is not None:
        return _forced_view
    rc = mpl.rcParams
    # _get_backend_or_none does not trigger matplotlib's backend auto-selection
    # (which would import pyplot); None means "not chosen yet", i.e. not ipympl.
    backend = rc._get_backend_or_none() if hasattr(rc, "_get_backend_or_none") else rc["backend"]
    return "ipympl" if str(backend).lower() in _IPYMPL_BACKENDS else "image"


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _restyle_live_panels(ratio: float, colours: dict[str, str]) -> None:
    """Called by ``style.lecture_mode``: restyle and redraw every live panel.

    ``ratio`` multiplies text sizes and line widths; ``colours`` maps each old
    palette colour to the new one.
    """
    for panel in list(_LIVE):
        panel._restyle(ratio, colours)


# Runs in the browser inside each panel (an application/javascript output in an
# ipywidgets Output, which JupyterLab executes for output made in the live
# session). It watches for a slide deck: jupyterlab-slideshow sets
# <body data-jp-deck-mode="presenting">; RISE draws the notebook inside
# .reveal. It tells the kernel by typing "deck 4:3", "deck 16:9" (from the
# window's shape) or "off" into the panel's hidden probe text box, the same
# path as a user typing, so only core ipywidgets are needed.
_DECK_JS = """
(function watch(root, tries) {
  // JupyterLab runs this before the output is attached to the page: wait for the panel.
  const panel = root && root.closest('.softviz-panel');
  if (!panel) {
    if (tries > 0) setTimeout(() => watch(root, tries - 1), 200);
    return;
  }
  if (panel.dataset.softvizDeckWatch) return;
  panel.dataset.softvizDeckWatch = '1';
  const report = () => {
    if (!panel.isConnected) { observer.disconnect(); return; }
    const probe = panel.querySelector('.softviz-deck-probe input');
    if (!probe) return;
    const deck = document.body.dataset.jpDeckMode === 'presenting' || !!panel.closest('.reveal');
    const wide = window.innerWidth / Math.max(window.innerHeight, 1) > 1.55;
    const value = deck ? (wide ? 'deck 16:9' : 'deck 4:3') : 'off';
    if (probe.value !== value) {
      probe.value = value;
      probe.dispatchEvent(new Event('input', {bubbles: true}));
    }
  };
  const observer = new MutationObserver(report);
  observer.observe(document.body, {attributes: true, attributeFilter: ['data-jp-deck-mode']});
  window.addEventListener('resize', report);
  setTimeout(report, 0);
})(element, 150);
"""


class Panel:
    """Base class: named controls, one figure updated in place, ``set``/``state``.

    Public API (every panel has it):

    ``Panel(**initial)``
        Every panel builds with no arguments; keywords set initial control
        values. An unknown name raises ``TypeError``, a bad value ``ValueError``.
    ``panel.controls``
        dict name -> ipywidgets widget; moving one updates the figure.
    ``panel.params``
        dict name -> current control value.
    ``panel.figure``
        the one ``matplotlib.figure.Figure``, never re-created.
    ``panel.set(**params)``
        sets the control values (the same path as the user moving them) and
        updates once.
    ``panel.state()``
        dict of the numbers the figure shows right now.
    ``panel.widget``
        the ipywidgets layout; ``display(panel)`` shows it, and static viewers
        get a PNG of the current figure from ``_repr_mimebundle_``.
    ``panel.last_error`` / ``panel.error_area``
        the exception the last update raised (None after a good update), and
        the red box in the panel that shows it.
    ``panel.to_png()``
        the current figure as PNG bytes (Agg).
    ``panel.close()``
        closes the widgets (frees their comms).

    Subclass hooks: ``_controls()`` (required), ``_draw(fig)`` (required),
    ``_update(changed)`` (required), ``_state()``, ``_layout()``,
    ``_coerce(name, value)``. Class attributes: ``main_control`` (what the
    benchmark moves; default the first control) and ``throttle`` (seconds;
    when > 0, control changes arriving faster than that inside a running event
    loop are merged into one update, the first one applied at once).
    """

    main_control: str | None = None
    throttle: float = 0.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            _REGISTRY[f"{cls.__module__}.{cls.__qualname__}"] = cls

    def __init__(self, **initial: Any) -> None:
        self.controls = dict(self._controls())
        try:
            checked = self._checked(initial)
        except (TypeError, ValueError):
            # Close the widgets just made: in a kernel each holds an open comm.
            for control in self.controls.values():
                control.close()
            raise
        for name, value in checked.items():
            # Observers are not attached yet: no update per keyword.
            self.controls[name].value = value
        self.last_error: BaseException | None = None
        self.error_area = widgets.HTML(layout=widgets.Layout(display="none"))
        self._batch: set[str] | None = None
        self._pending: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._view_kind = _view_kind()
        self.figure = self._new_figure()
        self._view = self._new_view()
        for name, control in self.controls.items():
            control.observe(self._observer(name), names="value")
        rows = self._layout()
        extras = self._deck_watch() if self._view is not None else []
        self.widget = widgets.VBox(
            [*rows, self.error_area] + ([self._view] if self._view is not None else []) + extras,
            layout=widgets.Layout(width="100%"))
        if style.lecture_aspect() is not None:
            self.widget.add_class("softviz-lecture")
        # CSS hooks: tests/browser finds each panel's parts in JupyterLab's DOM by them.
        self.widget.add_class("softviz-panel")
        self.error_area.add_class("softviz-error")
        for row in rows:
            if hasattr(row, "add_class"):
                row.add_class("softviz-controls")
        if self._view is not None:
            self._view.add_class("softviz-figure")
        _LIVE.add(self)
        self._apply(set(self.controls))

    # -- hooks ---------------------------------------------------------------

    def _controls(self) -> dict[str, Any]:
        """Return ``{name: widget}`` with default values. Called once."""
        raise NotImplementedError

    def _draw(self, fig: Figure) -> None:
        """Make the axes and artists on ``fig`` (titled, axes labelled). Called once."""
        raise NotImplementedError

    def _update(self, changed: frozenset[str]) -> None:
        """Recompute what depends on the control names in ``changed``; update artists.

        Called with every name once at construction. Do not redraw: the base does.
        """
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        """The numbers the figure shows; the base adds nothing, so include the params."""
        return dict(self.params)

    def _layout(self) -> list[Any]:
        """Rows of widgets above the figure; default: the controls in one wrapping row."""
        return [widgets.HBox(list(self.controls.values()),
                             layout=widgets.Layout(flex_flow="row wrap", align_items="center"))]

    def _coerce(self, name: str, value: Any) -> Any:
        """Check or convert a value before it reaches the widget; raise ValueError if bad."""
        return value

    # -- public API ------------------------------------------------------------

    @property
    def params(self) -> dict[str, Any]:
        """dict name -> current control value."""
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **params: Any) -> None:
        """Set control values as a user would, then update once.

        Returns None, so that ``panel.set(...)`` as a cell's last line does not
        display the panel a second time.
        """
        values = self._checked(params)
        nested = self._batch is not None
        if not nested:
            self._batch = set()
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            if not nested:
                changed, self._batch = self._batch, None
        if not nested and changed:
            self._apply(changed)

    def state(self) -> dict[str, Any]:
        """dict of the numbers the figure currently shows (plain Python/numpy values)."""
        return self._state()

    def to_png(self) -> bytes:
        """The current figure as PNG bytes, rendered with Agg."""
        if self._view_kind == "image" and self._view.value:
            return bytes(self._view.value)
        return self._render_png()

    def close(self) -> None:
        """Close every widget of the panel (frees their comms in a kernel)."""
        _LIVE.discard(self)
        if self._timer is not None:
            self._timer.cancel()
        for w in [self.widget, self.error_area, *self.controls.values(), self._view,
                  *getattr(self, "_deck_widgets", [])]:
            if w is not None:
                w.close()

    def _repr_mimebundle_(self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None,
                          **kwargs: Any) -> dict[str, Any]:
        # The widget view for a live kernel, plus a PNG that GitHub, nbviewer and
        # nbconvert's HTML show when the widget cannot be rendered.
        png = base64.b64encode(self.to_png()).decode("ascii")
        data = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        data["image/png"] = png
        data["text/plain"] = repr(self)
        if self._view_kind == "ipympl":
            # Used by ipympl's front end when the notebook's widget state is embedded.
            canvas: Any = self.figure.canvas  # ipympl's Canvas (untyped); matplotlib types it as the base class
            canvas._data_url = "data:image/png;base64," + png
        return data

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={value!r}" for name, value in self.params.items())
        return f"{type(self).__name__}({args})"

    # -- machinery -------------------------------------------------------------

    def _checked(self, params: dict[str, Any]) -> dict[str, Any]:
        unknown = [name for name in params if name not in self.controls]
        if unknown:
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument "
                            f"{unknown[0]!r}; it takes {', '.join(self.controls)}")
        return {name: check_value(name, self.controls[name], self._coerce(name, value))
                for name, value in params.items()}

    def _new_figure(self) -> Figure:
        with mpl.rc_context(style.rc()):
            fig = Figure(figsize=style.FIGSIZE, dpi=style.lecture_dpi(), layout="constrained")
            if self._view_kind == "ipympl":
                from ipympl.backend_nbagg import Canvas, FigureManager

                canvas = Canvas(fig)
                # Our own manager, not pyplot's: the figure is never registered
                # with pyplot, so it is not displayed a second time by
                # plt.show()/the inline backend, and is freed with the panel.
                FigureManager(canvas, next(_figure_numbers))
                canvas.header_visible = False
                canvas.footer_visible = False
            else:
                FigureCanvasAgg(fig)
            self._draw(fig)
            style._pin_ticks(fig)
            if style.palette() != style.PALETTE:
                style._recolour(fig, dict(zip(style.PALETTE, style.palette())))
        return fig

    def _deck_watch(self) -> list[Any]:
        """Hidden widgets that switch lecture mode on while a slide deck is presented.

        A probe text box the browser script writes into, the script itself
        (``_DECK_JS``) and the lecture-mode stylesheet for the controls.
        """
        from IPython.display import Javascript

        probe = widgets.Text(value="off", layout=widgets.Layout(display="none"))
        probe.add_class("softviz-deck-probe")
        probe.observe(self._deck_probe_changed, names="value")
        script = widgets.Output(layout=widgets.Layout(height="0px", overflow="hidden"))
        script.append_display_data(Javascript(_DECK_JS))
        css = widgets.HTML(f"<style>{style.LECTURE_CSS}</style>", layout=widgets.Layout(display="none"))
        self._deck_widgets = [probe, script, css]
        return list(self._deck_widgets)

    def _deck_probe_changed(self, change: dict[str, Any]) -> None:
        value = str(change["new"])
        try:
            if value.startswith("deck"):
                style._deck_changed(True, value.split(" ", 1)[-1])
            elif value == "off":
                style._deck_changed(False)
        except Exception as exc:  # a callback has nobody to raise to
            self._show_error(exc)

    def _new_view(self) -> Any:
        if self._view_kind == "ipympl":
            return self.figure.canvas
        if self._view_kind == "image":
            return widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
        return None

    def _observer(self, name: str) -> Callable[[dict[str, Any]], None]:
        def on_change(change: dict[str, Any]) -> None:
            if self._batch is not None:
                self._batch.add(name)
                return
            loop = _running_loop() if self.throttle > 0 else None
            if loop is None:
                self._apply({name})
                return
            self._pending.add(name)
            if self._timer is None:
                self._flush(loop)
        return on_change

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        # Leading edge at once, then at most one update per `throttle` seconds.
        changed, self._pending = self._pending, set()
        if changed:
            self._apply(changed)
            self._timer = loop.call_later(self.throttle, self._flush, loop)
        else:
            self._timer = None

    def _apply(self, changed: Iterable[str]) -> None:
        # An _update that moves another control queues it here rather than
        # re-entering _update half-way through.
        if self._batch is not None:
            self._batch.update(changed)
            return
        todo = set(changed)
        try:
            while todo:
                self._batch = set()
                try:
                    self._update(frozenset(todo))
                finally:
                    todo, self._batch = self._batch, None
            if style.palette() != style.PALETTE:
                # _update may have set colours from PALETTE (say, per cell of a table)
                style._recolour(self.figure, dict(zip(style.PALETTE, style.palette())))
            self._redraw()
        except Exception as exc:  # shown in the panel: a callback has nobody to raise to
            self._show_error(exc)
        else:
            if self.last_error is not None:
                self.last_error = None
                self.error_area.value = ""
                self.error_area.layout.display = "none"

    def _redraw(self) -> None:
        if self._view_kind == "ipympl":
            self.figure.canvas.draw_idle()
        elif self._view_kind == "image":
            self._view.value = self._render_png()
        # "none" (offscreen): the caller renders when it wants to

    def _render_png(self) -> bytes:
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=self.figure.dpi)
        return buf.getvalue()

    def _show_error(self, exc: BaseException) -> None:
        self.last_error = exc
        tb = "".join(traceback.format_exception(exc))
        self.error_area.value = _ERROR_HTML.format(
            kind=html.escape(type(exc).__name__), message=html.escape(str(exc)),
            tb=html.escape(tb))
        self.error_area.layout.display = None

    def _restyle(self, ratio: float, colours: dict[str, str] | None = None) -> None:
        if ratio != 1:
            style._rescale_figure(self.figure, ratio)
        if colours:
            style._recolour(self.figure, colours)
        dpi = style.lecture_dpi()
        if self.figure.dpi != dpi:
            # Same inches, so the same layout; only the pixel size changes.
            self.figure.set_dpi(dpi)
        if style.lecture_aspect() is None:
            self.widget.remove_class("softviz-lecture")
        else:
            self.widget.add_class("softviz-lecture")
        try:
            self._redraw()
        except Exception as exc:
            self._show_error(exc)
