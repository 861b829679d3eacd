"""Stable alias of :mod:`softviz.two_pass` (lesson 06), kept because ``softviz.kernels`` is a
documented public name: ``softviz.kernels.extexp``, ``softviz.kernels.memory_traffic`` and
the rest are the very objects of ``softviz.two_pass``.

New code should import ``softviz.two_pass``; this module re-exports its ``__all__``.

Used in: softviz.bench, and code written against the older name.
"""
from __future__ import annotations

from .two_pass import (
    TRACE_MAX_LENGTH,
    TRAFFIC,
    SoftmaxTrace,
    TraceStep,
    build_info,
    c_accumulators,
    copy_probe,
    extexp,
    memory_traffic,
    read_probe,
    simd_path,
    trace_softmax,
)

__all__ = [
    "extexp",
    "memory_traffic",
    "read_probe",
    "copy_probe",
    "simd_path",
    "build_info",
    "TRAFFIC",
    "TRACE_MAX_LENGTH",
    "TraceStep",
    "SoftmaxTrace",
    "trace_softmax",
    "c_accumulators",
]
