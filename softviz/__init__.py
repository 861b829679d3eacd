"""softviz: an interactive, notebook-based way to learn how softmax really works.

The public face of the package.  ``softmax``, ``log_softmax`` and ``logsumexp`` run
on a C core with four algorithms (``ALGORITHMS``); the topic modules hold the rest:
``reference`` (numpy/mpmath references), ``numerics`` (per-dtype limits, ulps),
``kernels`` (a look inside the C core), ``panels`` (the interactive panels and
``lecture_mode``), ``exercises`` (self-checks for the "Your turn" cells), ``bench``
(``python -m softviz.bench``).
"""
from . import exercises, kernels, numerics, panels, reference
from .core import ALGORITHMS, log_softmax, logsumexp, native_available, softmax
from .panels import lecture_mode

try:
    from importlib.metadata import PackageNotFoundError, version as _version

    __version__ = _version("softviz")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "ALGORITHMS",
    "softmax",
    "log_softmax",
    "logsumexp",
    "native_available",
    "reference",
    "numerics",
    "kernels",
    "panels",
    "exercises",
    "lecture_mode",
    "__version__",
]
