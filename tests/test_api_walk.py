"""Walk the whole public API with a table of bad values, one parameter at a time.

Every callable named in a module's ``__all__`` (softviz, core, reference,
numerics, overflow, two_pass, the topic modules, derive, exercises, and softviz.training
when it exists), the public methods of the non-record classes there, and every
panel of ``softviz.panels.registry()`` (bad keywords at construction and in
``set()``) are called with sensible arguments (the signature's defaults and the
small ``GOOD`` table) except for ONE parameter, which gets each value of ``BAD``.

A call passes when it
* raises TypeError or ValueError whose message names the parameter and is not
  a raw Python/numpy message, or
* returns a result without NaN (NaN results are allowed only where the
  function documents them, ``NAN_OK``, or when the bad value itself is NaN/inf),
* within ``TIMEOUT`` seconds (sizes that would take longer must be refused).

A new function is covered automatically: if the walk cannot call it with good
arguments (a required parameter missing from ``GOOD``), that is a failure too.

The modules whose owners hardened them are walked strictly
(``test_walk_owned``); the others get one test per module
(``test_walk_others``) so their failures are listed, not hidden.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import inspect
import io
import math
import re
import resource
import signal
import warnings

import numpy as np
import pytest

TIMEOUT = 5.0           # seconds per call
# Seconds a panel may take to construct with its defaults (it may train or simulate once).
DEFAULT_PANEL_TIMEOUT = 90.0
MEMORY_LIMIT = 6 << 30  # bytes of heap: an unchecked huge size fails fast instead of swapping

# --------------------------------------------------------------------------
# The bad values (one parameter at a time)
# --------------------------------------------------------------------------

BAD = [
    ("None", None), ("str", "x"), ("bytes", b"\x00\x02"), ("empty_list", []),
    ("ragged", [[1], [1, 2]]), ("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf),
    ("10**400", 10 ** 400), ("1e308", 1e308), ("-1e308", -1e308), ("1e-200", 1e-200),
    ("1e200", 1e200), ("-1", -1), ("0", 0), ("-0.5", -0.5), ("True", True), ("1j", 1j),
    ("object", object()), ("2**63", 2 ** 63), ("10**12", 10 ** 12), ("dict", {}),
    ("nan_array", np.array([np.nan, 1.0])), ("inf_array", np.array([np.inf, 0.0])),
    ("huge_array", np.array([1e308, -1e308])), ("empty_2d", np.zeros((2, 0))),
    ("3d", np.ones((2, 2, 2))), ("complex_array", np.array([1j, 2.0])), ("str_list", ["a", "b"]),
]

# Values whose NaN in a result is the input's own NaN/inf passed through (scipy semantics).
_NONFINITE_IDS = {"nan", "inf", "-inf", "nan_array", "inf_array", "huge_array", "1e308", "-1e308",
                  "10**400", "1e200", "1e-200"}

# Raw messages of Python or numpy internals: a user should never see them.
RAW = re.compile("|".join([
    r"float\(\) argument must be", r"could not convert", r"object of type", r"unsupported operand",
    r"not supported between instances", r"'NoneType'", r"invalid literal", r"math domain error",
    r"index \d+ is out of bounds", r"setting an array element", r"object is not iterable",
    r"object cannot be interpreted", r"only length-1 arrays", r"truth value of an array",
    r"can't multiply sequence", r"ufunc '", r"operands could not be broadcast", r"division by zero",
    r"int too large", r"has no len\(\)", r"object is not subscriptable", r"Python int too large",
    r"cannot reshape", r"zero-size array",
]))

# --------------------------------------------------------------------------
# Good arguments
# --------------------------------------------------------------------------

_Z = np.array([1.0, 2.0, 3.0])
_BOXES = np.array([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20.0, 30.0, 30.0]])
_SCORES = np.array([0.9, 0.8, 0.7])
_DATA = np.array([[0.0, 0.0], [1.0, 0.5], [-0.5, 1.0], [0.3, -0.2]])


def _merge(a, b):
    (ma, sa), (mb, sb) = a, b
    m = max(ma, mb)
    if m == -math.inf:
        return m, 0.0
    return m, sa * math.exp(ma - m) + sb * math.exp(mb - m)


# By parameter name, for every function that has no entry in OVERRIDES.
GOOD = {
    "x": _Z, "z": _Z, "logits": _Z, "q": _Z, "p": np.array([0.2, 0.3, 0.5]),
    "T": 1.0, "tau": 1.0, "temperature": 1.0, "temperatures": np.array([0.5, 1.0, 2.0]),
    "target": 0.8, "target_entropy": 0.8, "i": 1, "n": 5, "k": 2, "s": 1.0,
    "weights": np.array([0.2, 0.3, 0.5]), "biases": np.array([0.0, 0.1, -0.1]),
    "teacher_logits": _Z, "student_logits": np.array([0.5, 1.0, 0.0]), "n_samples": 20,
    "shape": (2, 3), "y": np.array([0.2, 0.3, 0.5]), "y1": 0.3, "order": [2, 0],
    "samples": np.array([0, 1, 2, 2, 1, 2]), "probs": np.array([0.2, 0.3, 0.5]),
    "boxes": _BOXES, "boxes1": _BOXES, "boxes2": _BOXES, "scores": _SCORES, "gt_boxes": _BOXES[:2],
    "iou": np.array([0.0, 0.4, 0.9]), "iou_threshold": 0.5,
    "det_boxes": [_BOXES], "det_scores": [_SCORES],
    "settings": {"hard": {"method": "hard"}}, "n_scenes": 2,
    "data": _DATA, "h": 0.7, "alpha": 0.2, "d": 2, "dominant_weight": 0.3,
    "second_moment_ratio": 0.7, "alphas": [0.2], "mus": [0.5, 1.5], "n_test": 5, "test": _DATA[:2],
    "dtype": "float32", "got": np.array([1.0, 2.0]), "ref": np.array([1.0, 2.000001]),
    "base": np.array([1.0, 0.0, -1.0]), "scales": np.array([1.0, 10.0, 100.0]), "gap": np.array([1.0, 20.0]),
    "fn": _merge, "algorithm": "two_pass", "out": np.zeros(3, np.float32),
    "hs": [0.5, 1.0], "n_draws": 200,
    "check_name": "check_example", "verdict": lambda: _check_result(),
}


def _check_result():
    from softviz.exercises import CheckResult

    return CheckResult(True, "ok")

# "qualified name": {parameter: good value}, where the name's generic value does not fit.
OVERRIDES = {
    "softviz.temperature.top_p_filter": {"p": 0.9},
    "softviz.temperature.zipf_logits": {"n": 10},
    "softviz.gumbel.ternary_xy": {"p": np.array([0.2, 0.3, 0.5])},
    "softviz.gumbel.binary_concrete_cdf": {"logits": np.array([1.0, 0.0])},
    "softviz.gumbel.compare_top_k": {"n_draws": 200, "rng": 0},
    "softviz.soft_nms.random_boxes": {"n": 5},
    "softviz.soft_nms.evaluate_methods": {"n_scenes": 2},
    "softviz.soft_nms.precision_recall": {"gt_boxes": [_BOXES[:2]]},
    "softviz.soft_nms.average_precision": {"gt_boxes": [_BOXES[:2]]},
    "softviz.kde.log_density": {"x": np.array([0.1, 0.2])},
    "softviz.kde.kernel_weights": {"x": np.array([0.1, 0.2])},
    "softviz.kde.nearest_neighbour_u": {"n": 10, "d": 2},
    "softviz.kde.kl_bounds": {"n": 10, "d": 2},
    "softviz.kde.sample_gaussian": {"n": 5, "d": 2},
    "softviz.kde.simulate": {"alpha": 0.2, "d": 5, "n_test": 5, "rng": 0},
    "softviz.kde.cached_simulation": {"alpha": 0.2, "d": 5, "n_test": 5},
    "softviz.kde.phase_points": {"alphas": [0.2], "mus": [0.5, 1.5], "d": 5, "n_test": 5, "rng": 0},
    "softviz.kde.KDESimulation.weights": {"i": 0},
    "softviz.numerics.round_bfloat16": {"x": _Z},
    "softviz.two_pass.memory_traffic": {"n": 16},
    "softviz.two_pass.copy_probe": {"x": np.ones(3, np.float32), "out": np.zeros(3, np.float32)},
    "softviz.two_pass.read_probe": {"x": np.ones(3, np.float32)},
    "softviz.two_pass.c_accumulators": {"algorithm": "online"},
    "softviz.derive.gumbel.gumbel_cdf": {"x": 0.5},
    # softviz.training (lesson 07): a tiny problem, a few steps
    "softviz.training.modular_addition": {"p": 5},
    "softviz.training.train": {"p": 5, "steps": 2},
    "softviz.training.train_run": {"p": 5, "steps": 2, "hidden": 8, "record_every": 1},
    "softviz.training.collapse_step": {"history": {"collapsed_fraction": [0.0, 0.7], "step": [0, 10]}},
    "softviz.training.cached_run": {"config": {"p": 5}},
    "softviz.exercises.training.check_collapse_prediction": {"answer": "softmax float32"},
}
# softviz.attention (lesson 08): queries (2, 3), keys and values (4, 3) / (4, 2)
_QKV = {"q": np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]]), "k": np.arange(12.0).reshape(4, 3) / 10,
        "v": np.arange(8.0).reshape(4, 2)}
for _name in ("attention", "naive_attention", "tiled_attention", "tiled_trace", "error_bound"):
    OVERRIDES[f"softviz.attention.{_name}"] = dict(_QKV)
OVERRIDES["softviz.attention.attention_scores"] = {"q": _QKV["q"], "k": _QKV["k"]}
OVERRIDES["softviz.attention.running_sum_in"] = {"values": np.array([1.0, 0.5, 0.25])}
OVERRIDES["softviz.attention.largest_tile"] = {"cache_bytes": 1 << 20}
OVERRIDES["softviz.attention.tile_working_set"] = {"block_q": 8, "block_k": 8}
OVERRIDES["softviz.attention.random_qkv"] = {"n": 4, "d": 8}
OVERRIDES["softviz.attention.scale_sweep"] = {"dims": [4, 16], "n_keys": 8, "n_queries": 4}
OVERRIDES["softviz.attention.precision_study"] = {"n_keys": 256, "d": 16}
OVERRIDES["softviz.attention.attention_traffic"] = {"n": 64}
for _name in ("cross_entropy", "cross_entropy_grad", "per_sample_losses", "per_sample_grad"):
    OVERRIDES[f"softviz.training.{_name}"] = {"logits": np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]]),
                                              "labels": np.array([2, 0])}

# Documented NaN results (a lesson about NaN, an undefined p-value...).
NAN_OK = {
    "softviz.reference.naive_softmax", "softviz.overflow.softmax_steps",
    "softviz.overflow.log_softmax_in",  # a logit past the format's range is inf there: NaN
    "softviz.numerics.rel_error", "softviz.numerics.ulp_error",
    "softviz.gumbel.chisquare_gof", "softviz.gumbel.compare_top_k",  # p-value NaN: < 2 classes
    "softviz.soft_nms.average_precision", "softviz.soft_nms.precision_recall",
    "softviz.soft_nms.evaluate_methods",
    "softviz.attention.tiled_trace",   # the partial output before the first key block is NaN (nothing yet)
}

# Result records (NamedTuple / dataclass): built by the library, never validated.
def _is_record(obj) -> bool:
    return inspect.isclass(obj) and (dataclasses.is_dataclass(obj)
                                     or (issubclass(obj, tuple) and hasattr(obj, "_fields")))


# Modules hardened by the issue-15 work: walked strictly.
OWNED = ["softviz.temperature", "softviz.temperature_further", "softviz.gumbel", "softviz.soft_nms",
         "softviz.soft_nms_scenes", "softviz.kde", "softviz.numerics", "softviz.overflow", "softviz.reference",
         "softviz.exercises.checking", "softviz.exercises.two_pass", "softviz.auto",
         "softviz.attention", "softviz.exercises.attention"]
# Everything else public: walked, failures listed per module.
OTHERS = ["softviz", "softviz.core", "softviz.two_pass", "softviz.derive", "softviz.exercises",
          "softviz.training", "softviz.panels"]


# --------------------------------------------------------------------------
# Running one call
# --------------------------------------------------------------------------

class _Timeout(BaseException):
    """BaseException: a check that catches Exception must not swallow the time limit."""


def _alarm(signum, frame):
    raise _Timeout


@contextlib.contextmanager
def _limits():
    old_handler = signal.signal(signal.SIGALRM, _alarm)
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    cap = MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _has_nan(value, depth=0) -> bool:
    if depth > 4:
        return False
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "fc" and bool(np.isnan(value).any())
    if isinstance(value, np.floating):
        return bool(np.isnan(value))
    if isinstance(value, dict):
        return any(_has_nan(v, depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_nan(v, depth + 1) for v in value[:50])
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(_has_nan(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value))
    return False


def _call(fn, kwargs, timeout=None):
    """(kind, detail): ("ok", result) / ("raise", exc) / ("timeout", None)."""
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT if timeout is None else timeout)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "ok", fn(**kwargs)
    except _Timeout:
        return "timeout", None
    except Exception as exc:  # judged by the caller
        return "raise", exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _judge(qual, param, bad_id, kind, detail, label=None):
    """None if the outcome is acceptable, else a one-line description of the failure."""
    where = f"{qual}({label or param}={bad_id})"
    if kind == "timeout":
        return f"{where}: took more than {TIMEOUT:g} s"
    if kind == "raise":
        exc = detail
        msg = str(exc)
        if not isinstance(exc, (TypeError, ValueError)):
            return f"{where}: raised {type(exc).__name__}: {msg[:120]}"
        if RAW.search(msg):
            return f"{where}: raw message {type(exc).__name__}: {msg[:120]}"
        if param not in msg:
            return f"{where}: message does not name {param!r}: {type(exc).__name__}: {msg[:120]}"
        return None
    if _has_nan(detail) and qual not in NAN_OK and bad_id not in _NONFINITE_IDS:
        return f"{where}: returned NaN"
    return None


# --------------------------------------------------------------------------
# Discovering the targets
# --------------------------------------------------------------------------

def _import(name):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


def _targets(module_name):
    """(qualified name, callable, is_class) for every public callable of the module."""
    mod = _import(module_name)
    if mod is None:
        return []
    out = []
    for name in getattr(mod, "__all__", []):
        obj = getattr(mod, name)
        if inspect.ismodule(obj) or not callable(obj) or _is_record(obj):
            continue
        home = getattr(obj, "__module__", module_name)
        # a re-export is walked where it is defined, except for the package faces
        qual = f"{home}.{name}" if module_name in ("softviz", "softviz.exercises", "softviz.derive",
                                                      "softviz.panels") else f"{module_name}.{name}"
        out.append((qual, obj, inspect.isclass(obj)))
    return out


def _good_kwargs(qual, fn):
    """Keyword arguments for a call that must succeed, or raise KeyError naming the gap."""
    sig = inspect.signature(fn)
    over = OVERRIDES.get(qual, {})
    kwargs = {}
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name == "self":
            continue
        if p.name in over:
            kwargs[p.name] = over[p.name]
        elif p.default is not p.empty:
            kwargs[p.name] = GOOD.get(p.name, p.default) if p.name in ("n_draws", "n_scenes", "n_test") \
                else p.default
        elif p.name in GOOD:
            kwargs[p.name] = GOOD[p.name]
        else:
            raise KeyError(f"{qual}: no good value for required parameter {p.name!r}; add it to GOOD")
    return kwargs


def _walk_callable(qual, fn, failures, counter):
    try:
        good = _good_kwargs(qual, fn)
    except (KeyError, ValueError, TypeError) as exc:
        failures.append(str(exc))
        return None
    kind, detail = _call(fn, good)
    counter[0] += 1
    if kind != "ok":
        failures.append(f"{qual}: the good call failed ({kind}: {detail!r:.120})")
        return None
    baseline = detail
    for param in good:
        for bad_id, bad in BAD:
            kwargs = dict(good)
            kwargs[param] = bad
            kind, detail = _call(fn, kwargs)
            counter[0] += 1
            problem = _judge(qual, param, bad_id, kind, detail)
            if problem:
                failures.append(problem)
    return baseline


def _walk_class(qual, cls, failures, counter):
    instance = _walk_callable(qual, cls, failures, counter)
    if instance is None:
        return
    for name, method in inspect.getmembers(instance, inspect.ismethod):
        if name.startswith("_"):
            continue
        _walk_callable(f"{qual}.{name}", method, failures, counter)


def _walk_panels(failures, counter):
    from softviz.panels import registry
    from softviz.panels.base import offscreen

    with offscreen():
        for cls_name, cls in registry().items():
            qual = f"softviz.panels.{cls_name}"
            # a default panel may do its lesson's real work once (TrainingPanel trains the default
            # run, ~5-15 s on a shared 2-core machine): bounded, but not by the per-call limit
            kind, panel = _call(cls, {}, timeout=DEFAULT_PANEL_TIMEOUT)
            counter[0] += 1
            if kind != "ok":
                failures.append(f"{qual}(): default construction failed ({panel!r:.120})")
                continue
            saved = panel.params
            for param in saved:
                for bad_id, bad in BAD:
                    kind, detail = _call(cls, {param: bad})
                    counter[0] += 1
                    problem = _judge(qual, param, bad_id, kind, detail)
                    if problem:
                        failures.append(problem)
                    if kind == "ok":
                        detail.close()
                    kind, detail = _call(panel.set, {param: bad})
                    counter[0] += 1
                    problem = _judge(f"{qual}.set", param, bad_id, kind, detail)
                    if problem:
                        failures.append(problem)
                    with contextlib.suppress(Exception):
                        panel.set(**saved)
            # A panel must accept any set of its own saved params in one call.
            for param in saved:
                for option in _options(panel.controls[param]):
                    with contextlib.suppress(Exception):
                        panel.set(**{param: option})
                    kind, detail = _call(panel.set, saved)
                    counter[0] += 1
                    if kind != "ok":
                        failures.append(f"{qual}: set(**saved params) fails after set({param}={option!r}): "
                                        f"{detail!r:.120}")
                    break
            panel.close()


def _options(widget):
    options = getattr(widget, "_options_values", None)
    return [o for o in options if o != widget.value] if options else []


def walk(module_name):
    """(number of calls, list of failure lines) for one module (or the panels)."""
    failures, counter = [], [0]
    with _limits():
        if module_name == "softviz.panels":
            _walk_panels(failures, counter)
        else:
            for qual, obj, is_class in _targets(module_name):
                if qual.startswith("softviz.panels."):
                    continue  # panels are walked by _walk_panels
                if is_class:
                    _walk_class(qual, obj, failures, counter)
                else:
                    _walk_callable(qual, obj, failures, counter)
    return counter[0], failures


def _report(module_name, calls, failures):
    head = f"{module_name}: {len(failures)} failing call(s) out of {calls}"
    return "\n".join([head, *failures[:200]])


@pytest.mark.parametrize("module_name", OWNED)
def test_walk_owned(module_name):
    calls, failures = walk(module_name)
    assert calls > 0, f"{module_name} has no public callable"
    assert not failures, _report(module_name, calls, failures)


@pytest.mark.parametrize("module_name", OTHERS)
def test_walk_others(module_name):
    # a module that does not exist yet (softviz.training) has nothing to walk: 0 calls
    calls, failures = walk(module_name)
    assert not failures, _report(module_name, calls, failures)


def test_every_public_module_is_walked():
    """A new public module of softviz must be added to OWNED or OTHERS."""
    import softviz

    # the stable alias modules re-export the walked modules' very objects (tests/test_soft_nms.py,
    # tests/test_two_pass.py check that), so walking them again would only repeat the calls
    aliases = {"softviz.nms", "softviz.kernels"}
    walked = set(OWNED) | set(OTHERS) | aliases
    for name in softviz.__all__:
        obj = getattr(softviz, name)
        if inspect.ismodule(obj):
            assert obj.__name__ in walked, f"{obj.__name__} is public but not walked"


def test_the_walk_catches_a_bad_function():
    """The walk itself fails on a function that lets numpy's own errors escape."""
    def fragile(z, T):
        return np.exp(np.asarray(z, dtype=float) / T)[int(T)]

    failures, counter = [], [0]
    with _limits():
        _walk_callable("fragile", fragile, failures, counter)
    assert any("IndexError" in f or "ZeroDivisionError" in f or "raw message" in f for f in failures)
    assert any("does not name" in f or "returned NaN" in f for f in failures)
