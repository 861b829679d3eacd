"""The lazily re-exported packages (softviz, softviz.panels, .exercises, .derive):
every public name resolves to the object its module defines, and every
derivation, check and panel a lesson module defines is reachable from its package.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import softviz
from softviz import derive, exercises, panels
from softviz.panels.base import Panel


@pytest.mark.parametrize("package", [softviz, panels, exercises, derive],
                         ids=lambda m: m.__name__)
def test_every_public_name_resolves(package):
    for name in package.__all__:
        assert getattr(package, name) is not None, f"{package.__name__}.{name}"
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        package.not_a_name  # noqa: B018
    assert set(package.__all__) <= set(dir(package))


def _submodules(package):
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{package.__name__}.{info.name}")


def test_every_derivation_function_is_reexported():
    for module in _submodules(derive):
        functions = [n for n in module.__all__ if inspect.isfunction(getattr(module, n))]
        assert functions, f"{module.__name__} exports no derivation"
        for name in functions:
            assert getattr(derive, name) is getattr(module, name), f"{module.__name__}.{name}"


def test_every_shipped_panel_is_reexported():
    for name, cls in panels.registry().items():
        assert issubclass(cls, Panel)
        assert getattr(panels, name) is cls, name


def test_topic_modules_load_on_first_use():
    code = ("import sys, softviz; before = {m for m in ('softviz.gumbel', 'softviz.derive', "
            "'sympy', 'scipy.stats') if m in sys.modules}; "
            "assert softviz.gumbel.gumbel_max([0.0, 1.0], rng=0) in (0, 1); print(sorted(before))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
