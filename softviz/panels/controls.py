"""Widgets and value checks shared by the panels.

* ``FloatVector``: a row of ``FloatText`` boxes that acts as ONE control whose
  ``value`` is a tuple (e.g. the three logits of the start page's panel);
* ``check_value``: turns a value that a widget would silently clamp or reject
  into a ``ValueError`` that names the parameter;
* ``log_slider``: a log-scale slider that keeps values set from code exactly;
* ``on_release``: binds expensive controls to ``continuous_update=False``;
* ``sweep``: the values ``python -m softviz.bench --panels`` moves a control through.

Used in: every notebook (through softviz.panels.base.Panel).
"""
from __future__ import annotations

import collections
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets
from ipywidgets.widgets.widget_bool import _Bool
from ipywidgets.widgets.widget_float import _Float
from ipywidgets.widgets.widget_int import _Int

from .. import _validate

__all__ = ["FloatVector", "log_slider", "check_value", "on_release", "sweep", "WIDE"]

#: Pass as ``style=WIDE`` so long descriptions are not cut off.
WIDE = {"description_width": "initial"}


class FloatVector(widgets.HBox):
    """A row of ``FloatText`` boxes whose ``value`` is a tuple of floats.

    Editing one box updates ``value`` (and fires its observers); assigning
    ``value`` fills the boxes. Observe ``"value"`` as with any widget.
    """

    # Python-side only: the front end edits the boxes, not this tuple.
    value = traitlets.Tuple()

    def __init__(self, value: Iterable[float], *, labels: Sequence[str] | None = None, description: str = "",
                 step: float = 0.5, **kwargs: Any) -> None:
        values = tuple(float(v) for v in value)
        labels = labels or [f"{description}{i}" for i in range(len(values))]
        boxes = [widgets.FloatText(value=v, description=lab, step=step, style=WIDE,
                                   layout=widgets.Layout(width="9.5em"))
                 for v, lab in zip(values, labels)]
        super().__init__(children=boxes, **kwargs)
        self._pushing = False
        self.value = values
        for box in boxes:
            box.observe(self._box_changed, names="value")

    @traitlets.validate("value")
    def _valid_value(self, proposal: dict[str, Any]) -> tuple[float, ...]:
        value = tuple(float(v) for v in proposal["value"])
        if self.children and len(value) != len(self.children):
            raise traitlets.TraitError(f"needs {len(self.children)} numbers, got {len(value)}")
        return value

    @traitlets.observe("value")
    def _push_to_boxes(self, change: dict[str, Any]) -> None:
        # Filling box 0 would otherwise fire _box_changed with a half-updated
        # tuple and overwrite the value being set.
        self._pushing = True
        try:
            for box, v in zip(self.children, change["new"]):
                box.value = v
        finally:
            self._pushing = False

    def _box_changed(self, change: dict[str, Any]) -> None:
        if not self._pushing:
            self.value = tuple(box.value for box in self.children)


class _ExactLogSlider(widgets.FloatLogSlider):
    # The browser stores log(value) and, on every value the kernel sends, answers
    # with base**log(value): 0.3 set from code returns as 0.29999999999999993.
    # That echo can arrive late: after set(4.0) then set(1.0) in one cell, the
    # echo 4.000000000000001 lands after the 1.0 and would move the panel back to 4.
    # A value within rounding of a recent kernel value (but not equal to it) is
    # such an echo: keep the current value. A real drag lands on a value that is
    # not within 1e-12 of anything recent.
    _ECHO_MEMORY = 16

    @traitlets.validate("value")
    def _validate_value(self, proposal: dict[str, Any]) -> float:
        value = super()._validate_value(proposal)
        recent = self.__dict__.setdefault("_recent_values", collections.deque(maxlen=self._ECHO_MEMORY))
        # Compare with the last accepted value, not self.value: a front-end
        # update is validated after it has already been stored.
        if recent and any(value != v and math.isclose(value, v, rel_tol=1e-12) for v in recent):
            return recent[-1]
        recent.append(value)
        return value


def log_slider(value: float, lo: float, hi: float, description: str, *, base: float = 10.0,
               width: str = "26em") -> widgets.FloatLogSlider:
    """A ``FloatLogSlider`` from ``lo`` to ``hi`` (actual values, not exponents).

    ``step=None``: with a step, the browser snaps a value set from code
    (``panel.set(temperature=0.3)``) to the step grid and sends back 0.302.
    Values that come back from the browser changed by rounding only are ignored.
    """
    # log10 is exact at powers of ten, where math.log(x, 10) is not.
    exponent: Callable[[float], float] = math.log10 if base == 10 else (lambda x: math.log(x, base))
    return _ExactLogSlider(
        value=value, base=base, min=exponent(lo), max=exponent(hi), step=None,
        description=description, readout_format=".3g", style=WIDE,
        layout=widgets.Layout(width=width))


def on_release(*controls: widgets.Widget) -> widgets.Widget | None:
    """Make ``controls`` report only when the user lets go (``continuous_update=False``).

    For controls whose update is too slow to follow a dragged slider
    (> ~ 30 ms); returns the first control so it can wrap a constructor.
    """
    for c in controls:
        c.continuous_update = False
    return controls[0] if controls else None


def _finite_float(name: str, value: object) -> float:
    # the one validation module words it (10**400 is an OverflowError in float()); a panel
    # answers every bad control value with ValueError, whatever its type
    try:
        return _validate.real_scalar(name, value)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def _same(value: object, option: object) -> bool:
    try:
        return bool(value == option) and type(value) is not bool or value is option
    except Exception:
        return False


def check_value(name: str, widget: widgets.Widget, value: Any) -> Any:
    """Return ``value`` as ``widget`` will hold it, or raise ``ValueError``.

    Widgets clamp out-of-range numbers silently and raise ``TraitError`` for
    bad options; a panel's caller should instead hear which parameter was
    wrong and what is allowed.
    """
    if isinstance(widget, FloatVector):
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(f"{name} must be a sequence of numbers, got {value!r}") from None
        if len(values) != len(widget.children):
            raise ValueError(f"{name} needs {len(widget.children)} numbers, got {len(values)}")
        return tuple(_finite_float(f"{name}[{i}]", v) for i, v in enumerate(values))
    if hasattr(widget, "_options_values"):
        options = tuple(widget._options_values)
        # compare by identity-or-equality on hashable scalars only: `array in options` would ask
        # numpy for the truth value of an array
        if isinstance(value, np.ndarray) or not any(_same(value, o) for o in options):
            raise ValueError(f"{name} must be one of {options}, got {_validate.short(value)}")
        return value
    if isinstance(widget, _Bool):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {value!r}")
        return bool(value)
    if isinstance(widget, (_Float, _Int)):
        x = _finite_float(name, value)
        if isinstance(widget, _Int):
            if x != int(x):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            x = int(x)
        lo, hi = getattr(widget, "min", None), getattr(widget, "max", None)
        if isinstance(widget, widgets.FloatLogSlider):
            # A log slider's min/max are exponents of its base.
            lo, hi = widget.base ** lo, widget.base ** hi
        if lo is not None and hi is not None and not (lo <= x <= hi):
            raise ValueError(f"{name}={value!r} is outside [{lo:g}, {hi:g}]")
        return x
    return value


def sweep(widget: widgets.Widget, n: int) -> list[Any]:
    """``n`` values that move ``widget`` across its range, each different from the last.

    Used by ``python -m softviz.bench --panels`` to time a panel's ``set()``.
    """
    n = max(2, int(n))
    if isinstance(widget, FloatVector):
        rest = tuple(widget.value[1:])
        return [(float(v),) + rest for v in np.linspace(-3.0, 3.0, n)]
    if hasattr(widget, "_options_values"):
        options = list(widget._options_values)
        return [options[i % len(options)] for i in range(1, n + 1)]
    if isinstance(widget, widgets.FloatLogSlider):
        return [float(v) for v in np.logspace(widget.min, widget.max, n, base=widget.base)]
    if isinstance(widget, _Bool):
        return [bool(i % 2 == 0) != widget.value for i in range(n)]
    if isinstance(widget, (_Float, _Int)):
        lo = getattr(widget, "min", widget.value - 5)
        hi = getattr(widget, "max", widget.value + 5)
        values = np.linspace(lo, hi, n)
        return [int(round(v)) for v in values] if isinstance(widget, _Int) else list(map(float, values))
    raise TypeError(f"sweep() does not know how to move a {type(widget).__name__}")
