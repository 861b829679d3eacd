"""The lazily re-exported packages (softviz, softviz.panels, .exercises, .derive, .figures):
every public name resolves to the object its module defines, every derivation,
check, panel and figure a lesson module defines is reachable from its package, and
the ``if TYPE_CHECKING:`` imports that show the lazy names to type checkers and
editors list exactly the lazy table.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import softviz
from softviz import derive, exercises, figures, panels, soft_nms
from softviz.panels.base import Panel


@pytest.mark.parametrize("package", [softviz, panels, exercises, derive, figures],
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


def test_every_figure_is_reexported():
    for module in _submodules(figures):
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj):
                assert getattr(figures, name) is obj, f"{module.__name__}.{name}"


# --------------------------------------------------------------------------
# The TYPE_CHECKING blocks agree with the lazy tables
# --------------------------------------------------------------------------

def _type_checking_imports(module):
    """{name: (relative module, name in it)} imported under ``if TYPE_CHECKING:`` in ``module``'s source."""
    tree = ast.parse(inspect.getsource(module))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.level == 1, ast.unparse(stmt)
                for alias in stmt.names:
                    # ``X as X`` is the explicit re-export form type checkers honour
                    assert alias.asname == alias.name, ast.unparse(stmt)
                    found[alias.name] = (stmt.module, alias.name) if stmt.module else (alias.name, None)
    return found


def _check_against_runtime(package, imported):
    for name, (module, attr) in imported.items():
        target = importlib.import_module(f"{package.__name__}.{module}")
        assert getattr(package, name) is (target if attr is None else getattr(target, attr)), name


@pytest.mark.parametrize("package", [panels, exercises, derive, figures], ids=lambda m: m.__name__)
def test_type_checking_imports_match_the_lazy_table(package):
    imported = _type_checking_imports(package)
    assert {name: module for name, (module, _) in imported.items()} == package._LAZY
    _check_against_runtime(package, imported)


def test_type_checking_imports_match_the_lazy_modules_of_softviz():
    imported = _type_checking_imports(softviz)
    assert all(attr is None for _, attr in imported.values())
    assert sorted(imported) == sorted(softviz._LAZY_MODULES + softviz._LAZY_UNLISTED)
    _check_against_runtime(softviz, imported)


def test_type_checking_imports_match_the_lazy_scenes_of_soft_nms():
    imported = _type_checking_imports(soft_nms)
    assert {name: module for name, (module, _) in imported.items()} == dict.fromkeys(soft_nms.SCENES,
                                                                                     "soft_nms_scenes")
    for name in soft_nms.SCENES:
        assert getattr(soft_nms, name) is getattr(importlib.import_module("softviz.soft_nms_scenes"), name)


def test_the_agreement_check_catches_a_missing_name(monkeypatch):
    # the comparison above must be able to fail: a lazy name without its TYPE_CHECKING import
    monkeypatch.setitem(panels._LAZY, "NewPanel", "new")
    imported = _type_checking_imports(panels)
    assert {name: module for name, (module, _) in imported.items()} != panels._LAZY
