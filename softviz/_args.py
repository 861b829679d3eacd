"""Argument checks shared by the topic modules: one wording for one kind of mistake."""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["positive_real"]


def positive_real(name: str, value) -> float:
    """``value`` as a float if it is a finite real number > 0; else TypeError/ValueError naming ``name``.

    Used for temperatures and bandwidths (softviz.core, temperature, gumbel, kde).
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    # bool is an int to Python, but True as a temperature is a bug, not a 1
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return value
