"""Packaging consistency: pyproject.toml, environment.yml, setup.py, MANIFEST.in.

These files are edited by hand and drift apart easily. The checks are pure
file parsing (no build, no network), so they are fast and run everywhere.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from pathlib import Path

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent

# Entries that only make sense in a conda environment (the interpreter, the
# toolchain, the installer). They may appear in environment.yml only.
CONDA_ONLY = {"python", "pip", "c-compiler", "cxx-compiler", "compilers"}

_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*?)\s*(;.*)?$")


def normalize(name: str) -> str:
    """PEP 503 normalisation: lowercase, runs of -_. become a single '-'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def split_requirement(req: str) -> tuple[str, str]:
    """'NumPy >= 1.24 ; python_version < "3.11"' -> ('numpy', '>=1.24').

    Works for PEP 508 strings and conda match specs of the form name<op>version.
    The environment marker is dropped (conda has none).
    """
    m = _REQ.match(req)
    if not m:
        raise ValueError(f"cannot parse requirement {req!r}")
    name, _extras, spec, _marker = m.groups()
    return normalize(name), re.sub(r"\s+", "", spec)


def parse_environment_yml(text: str) -> dict:
    """environment.yml as data, read by PyYAML (the test extra has it).

    Returns {"name": str, "channels": [str], "dependencies": [str | {"pip": [str]}]}.
    """
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"an environment file is a mapping, not {type(data).__name__}")
    return data


# --------------------------------------------------------------------------
# Loading the project's files
# --------------------------------------------------------------------------

def load_pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def pyproject_requirements(pyproject: dict) -> dict[str, str]:
    """name -> version spec over runtime deps and every extra."""
    project = pyproject["project"]
    reqs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        reqs.extend(extra)
    out: dict[str, str] = {}
    for req in reqs:
        name, spec = split_requirement(req)
        if name in out and out[name] != spec:
            raise AssertionError(f"{name} listed twice in pyproject.toml with {out[name]!r} and {spec!r}")
        out[name] = spec
    return out


def environment_requirements(env: dict) -> tuple[dict[str, str], list[str]]:
    """(conda name -> spec, pip entries) from a parsed environment.yml."""
    conda: dict[str, str] = {}
    pip: list[str] = []
    for dep in env.get("dependencies", []):
        if isinstance(dep, dict):
            assert list(dep) == ["pip"], f"unexpected nested entry {dep!r} in environment.yml"
            pip.extend(dep["pip"])
            continue
        # conda match specs may carry a channel prefix ("conda-forge::numpy").
        dep = dep.split("::")[-1]
        name, spec = split_requirement(dep.replace(" ", ""))
        assert name not in conda, f"{name} listed twice in environment.yml"
        conda[name] = spec
    return conda, pip


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return load_pyproject()


@pytest.fixture(scope="module")
def environment() -> dict:
    return parse_environment_yml((ROOT / "environment.yml").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------
# The requirement parser itself (so a broken parser cannot hide a drift)
# --------------------------------------------------------------------------

def test_split_requirement():
    assert split_requirement("numpy>=1.24") == ("numpy", ">=1.24")
    assert split_requirement("Pytest_Xdist >= 3") == ("pytest-xdist", ">=3")
    assert split_requirement("tomli>=2; python_version < '3.11'") == ("tomli", ">=2")
    assert split_requirement("jupyterlab") == ("jupyterlab", "")
    assert split_requirement("pkg[extra]>=1,<2") == ("pkg", ">=1,<2")


def test_drift_is_detected():
    """A dependency added to one file only must make the comparison fail."""
    py = {"project": {"dependencies": ["numpy>=1.24", "newdep>=1"], "optional-dependencies": {}}}
    env = parse_environment_yml("dependencies:\n  - numpy>=1.24\n  - python>=3.10\n")
    conda, _ = environment_requirements(env)
    conda = {k: v for k, v in conda.items() if k not in CONDA_ONLY}
    assert set(pyproject_requirements(py)) != set(conda)


# --------------------------------------------------------------------------
# The real checks
# --------------------------------------------------------------------------

def test_pyproject_metadata(pyproject):
    project = pyproject["project"]
    assert project["name"] == "softviz"
    assert "version" in project and "version" not in project.get("dynamic", [])
    assert project["requires-python"] == ">=3.10"
    assert set(project["optional-dependencies"]) >= {"lab", "test"}
    build = pyproject["build-system"]
    assert build["build-backend"] == "setuptools.build_meta"
    assert {split_requirement(r)[0] for r in build["requires"]} >= {"setuptools", "cffi"}
    assert pyproject["tool"]["setuptools"]["packages"]["find"]["include"] == ["softviz*"]


def test_environment_lists_same_packages_as_pyproject(pyproject, environment):
    wanted = pyproject_requirements(pyproject)
    conda, pip = environment_requirements(environment)
    extra_conda_only = {k for k in conda if k in CONDA_ONLY}
    have = {k: v for k, v in conda.items() if k not in CONDA_ONLY}
    # Packages published on PyPI only are listed in the pip section instead.
    for req in pip_only_requirements(pip):
        name, spec = split_requirement(req)
        assert name not in have, f"{name} is listed both for conda and for pip in environment.yml"
        have[name] = spec

    only_pyproject = sorted(set(wanted) - set(have))
    only_environment = sorted(set(have) - set(wanted))
    assert not only_pyproject and not only_environment, (
        f"pyproject.toml and environment.yml disagree: only in pyproject.toml {only_pyproject}, "
        f"only in environment.yml {only_environment}"
    )
    mismatched = {n: (wanted[n], have[n]) for n in wanted if wanted[n] != have[n]}
    assert not mismatched, f"version specs differ (pyproject, environment.yml): {mismatched}"
    assert {"python", "pip"} <= extra_conda_only


def test_environment_basics(environment):
    assert environment["name"] == "softviz"
    assert environment["channels"] == ["conda-forge"]
    conda, pip = environment_requirements(environment)
    assert conda.get("python") == ">=3.10"
    assert "c-compiler" in conda, "the C core needs a compiler inside the conda env"
    assert [p.replace(" ", "") for p in pip][-1:] == ["-e."], (
        "environment.yml must install softviz editable, last (after its PyPI-only dependencies)")
    assert [p.replace(" ", "") for p in pip].count("-e.") == 1


def pip_only_requirements(pip: list[str]) -> list[str]:
    """The pip section's requirements other than softviz itself (``-e .``)."""
    return [p for p in pip if p.replace(" ", "") != "-e."]


def test_pip_section_is_only_for_packages_that_need_it(environment):
    """Only PyPI-only packages go through pip; today that is the slide-deck extension."""
    _conda, pip = environment_requirements(environment)
    names = {split_requirement(p)[0] for p in pip_only_requirements(pip)}
    assert names <= {"jupyterlab-slideshow"}, names


def test_setup_py_only_declares_the_cffi_module():
    """setup.py exists for one thing pyproject.toml cannot say yet: cffi_modules.

    Checked on its syntax tree (comments and layout are free): it imports setup
    from setuptools and calls setup(cffi_modules=[...]) once, with nothing else;
    every entry names a build script that exists and defines that FFI builder.
    """
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    calls = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [(i.module, [a.name for a in i.names]) for i in imports
            if isinstance(i, ast.ImportFrom)] == [("setuptools", ["setup"])], ast.dump(tree)
    assert all(isinstance(i, ast.ImportFrom) for i in imports), "setup.py imports more than setup"
    assert len(calls) == 1 and isinstance(calls[0], ast.Expr), "setup.py does more than call setup()"
    call = calls[0].value
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "setup"
    assert not call.args and [k.arg for k in call.keywords] == ["cffi_modules"], ast.dump(call)
    modules = ast.literal_eval(call.keywords[0].value)
    assert isinstance(modules, list) and modules, modules
    for entry in modules:
        script, _, builder = entry.partition(":")
        path = ROOT / script
        assert path.is_file(), f"setup.py names {script}, which does not exist"
        assigned = {t.id for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                    if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
        assert builder in assigned, f"{script} defines no {builder!r} (setup.py names {entry})"


def test_manifest_grafts_native():
    directives = [
        line.split()
        for line in (ROOT / "MANIFEST.in").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert ["graft", "native"] in directives
    included = {word for d in directives if d[0] == "include" for word in d[1:]}
    assert {"README.md", "environment.yml"} <= included
    excluded = {word for d in directives if d[0] == "global-exclude" for word in d[1:]}
    assert {"*.so", "*.o"} <= excluded


# --------------------------------------------------------------------------
# binder/: the repo2docker configuration (Binder, TLJH, Zero to JupyterHub)
# --------------------------------------------------------------------------

def test_binder_environment_matches_the_root_one(environment, pyproject):
    binder = parse_environment_yml((ROOT / "binder" / "environment.yml").read_text(encoding="utf-8"))
    conda_b, pip_b = environment_requirements(binder)
    conda_r, pip_r = environment_requirements(environment)
    # repo2docker ignores version ranges for python: it must be an exact pin,
    # of a version the package supports
    pin = conda_b.pop("python")
    m = re.fullmatch(r"=(3\.\d+)", pin)
    assert m, f"binder/environment.yml must pin python exactly (python=3.X), has {pin!r}"
    classifiers = pyproject["project"]["classifiers"]
    assert f"Programming Language :: Python :: {m.group(1)}" in classifiers
    conda_r.pop("python")
    assert conda_b == conda_r, "binder/environment.yml and environment.yml list different packages"
    # the repository is not there yet when the environment is built: postBuild installs softviz
    assert pip_only_requirements(pip_r) == pip_b, (pip_b, pip_r)
    assert binder["name"] == environment["name"] and binder["channels"] == environment["channels"]


def test_binder_post_build_installs_softviz():
    post = ROOT / "binder" / "postBuild"
    text = post.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/bash\n") and os.access(post, os.X_OK)
    assert "set -euo pipefail" in text
    assert re.search(r"^python -m pip install (--no-deps )?-e \.$", text, re.M), text
