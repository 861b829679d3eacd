"""softviz: an interactive, notebook-based way to learn how softmax really works.

The public face of the package.  ``softmax``, ``log_softmax`` and ``logsumexp`` run
on a C core with four algorithms (``ALGORITHMS``); the topic modules hold the rest:
``reference`` (numpy/mpmath references), ``numerics`` (per-dtype limits, ulps),
``kernels`` (a look inside the C core), one module per lesson topic
(``temperature``, ``gumbel``, ``nms``, ``kde``), ``derive`` (the sympy
derivations), ``panels`` (the interactive panels and ``lecture_mode``),
``exercises`` (self-checks for the "Your turn" cells), ``bench``
(``python -m softviz.bench``).

The topic modules and ``derive`` are imported on first use (``softviz.gumbel``
pulls in scipy.stats, ``softviz.derive`` sympy), so ``import softviz`` stays fast.
"""
from . import exercises, kernels, numerics, panels, reference
from ._lazy import lazy_exports
from .core import ALGORITHMS, kernel_info, log_softmax, logsumexp, native_available, softmax
from .panels import lecture_mode

_LAZY_MODULES = ("temperature", "temperature_further", "gumbel", "nms", "nms_scenes", "kde", "training", "derive")

try:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _version

    __version__ = _version("softviz")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "ALGORITHMS",
    "softmax",
    "log_softmax",
    "logsumexp",
    "native_available",
    "kernel_info",
    "reference",
    "numerics",
    "kernels",
    "panels",
    "exercises",
    *_LAZY_MODULES,
    "lecture_mode",
    "__version__",
]

__getattr__, __dir__ = lazy_exports(__name__, {}, globals(), __all__, modules=_LAZY_MODULES)
