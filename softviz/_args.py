"""Kept for the modules that import ``positive_real`` from here (softviz.core).

The checks themselves live in :mod:`softviz._validate`, the one validation module.
"""
from __future__ import annotations

from ._validate import positive_real

__all__ = ["positive_real"]
