"""softviz: an interactive, notebook-based way to learn how softmax really works.

The public face of the package.  ``softmax``, ``log_softmax`` and ``logsumexp`` run
on a C core with four algorithms (``ALGORITHMS``; by default ``algorithm="auto"`` picks one
per call from the shape and the caches, see ``auto``); the topic modules hold the rest:
``reference`` (numpy/mpmath references), ``numerics`` (per-dtype limits, ulps),
one module per lesson, named as the lesson (``overflow``, ``temperature``,
``gumbel``, ``soft_nms``, ``kde``, ``two_pass`` -- a look inside the C core --,
``training``, ``attention``; ``kernels`` and ``nms`` are the older names of ``two_pass`` and
``soft_nms``), ``derive`` (the sympy derivations), ``panels`` (the interactive
panels and ``lecture_mode``), ``figures`` (the lessons' static figures),
``exercises`` (self-checks for the "Your turn" cells), ``bench``
(``python -m softviz.bench``).

The topic modules and ``derive`` are imported on first use (``softviz.gumbel``
pulls in scipy.stats, ``softviz.derive`` sympy), so ``import softviz`` stays fast.
"""
from typing import TYPE_CHECKING

from . import auto, exercises, kernels, numerics, panels, reference, two_pass
from ._lazy import lazy_exports
from .auto import auto_algorithm
from .core import ALGORITHMS, kernel_info, log_softmax, logsumexp, native_available, softmax
from .panels import lecture_mode

_LAZY_MODULES = ("overflow", "temperature", "temperature_further", "gumbel", "soft_nms", "soft_nms_scenes", "nms",
                 "kde", "training", "attention", "derive")
# Reachable the same way but not listed in __all__: matplotlib drawing for the notebooks, outside the
# argument-checked API that tests/test_api_walk.py walks (as when these figures lived in the panel modules).
_LAZY_UNLISTED = ("figures",)

# The same modules for type checkers and editors, which cannot see through __getattr__
# (tests/test_lazy_exports.py fails when this block and _LAZY_MODULES + _LAZY_UNLISTED disagree).
if TYPE_CHECKING:
    from . import attention as attention
    from . import derive as derive
    from . import figures as figures
    from . import gumbel as gumbel
    from . import kde as kde
    from . import nms as nms
    from . import overflow as overflow
    from . import soft_nms as soft_nms
    from . import soft_nms_scenes as soft_nms_scenes
    from . import temperature as temperature
    from . import temperature_further as temperature_further
    from . import training as training

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
    "auto_algorithm",
    "auto",
    "reference",
    "numerics",
    "kernels",
    "two_pass",
    "panels",
    "exercises",
    *_LAZY_MODULES,
    "lecture_mode",
    "__version__",
]

__getattr__, __dir__ = lazy_exports(__name__, {}, globals(), __all__, modules=_LAZY_MODULES + _LAZY_UNLISTED)
