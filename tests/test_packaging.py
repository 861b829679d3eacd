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


# --------------------------------------------------------------------------
# A tiny YAML reader, enough for environment.yml: top-level scalars and block
# lists, one nested '- pip:' list. PyYAML is not a softviz dependency.
# --------------------------------------------------------------------------

def _strip_comment(line: str) -> str:
    out, quote = [], None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            break
        out.append(ch)
    return "".join(out).rstrip()


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def parse_environment_yml(text: str) -> dict:
    """Parse the subset of YAML used by conda environment files.

    Returns {"name": str, "channels": [str], "dependencies": [str | {"pip": [str]}]}.
    Raises ValueError on anything it does not understand, so that an edit the
    reader cannot follow fails loudly instead of being skipped.
    """
    data: dict = {}
    key = None          # current top-level key holding a list
    nested = None       # list of the current '- pip:' entry
    nested_indent = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw)
        if not line.strip():
            continue
        if "\t" in line[: len(line) - len(line.lstrip())]:
            raise ValueError(f"line {lineno}: tabs are not allowed in YAML indentation")
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if indent == 0:
            nested = None
            m = re.fullmatch(r"([A-Za-z_][\w-]*)\s*:\s*(.*)", body)
            if not m:
                raise ValueError(f"line {lineno}: expected 'key: value', got {raw!r}")
            key, value = m.group(1), m.group(2)
            if value:
                if value.startswith("["):
                    if not value.endswith("]"):
                        raise ValueError(f"line {lineno}: unterminated flow list")
                    data[key] = [_scalar(v) for v in value[1:-1].split(",") if v.strip()]
                else:
                    data[key] = _scalar(value)
                key = None
            else:
                data[key] = []
            continue
        if not body.startswith("- ") and body != "-":
            raise ValueError(f"line {lineno}: expected a list item, got {raw!r}")
        item = body[1:].strip()
        if nested is not None and indent > nested_indent:
            nested.append(_scalar(item))
            continue
        if key is None or not isinstance(data.get(key), list):
            raise ValueError(f"line {lineno}: list item outside a list: {raw!r}")
        m = re.fullmatch(r"([A-Za-z_][\w-]*)\s*:(?!:)\s*(.*)", item)
        if m and "::" not in item:
            sub_key, sub_value = m.group(1), m.group(2)
            if sub_value:
                raise ValueError(f"line {lineno}: inline mappings are not supported: {raw!r}")
            nested = []
            nested_indent = indent
            data[key].append({sub_key: nested})
        else:
            nested = None
            data[key].append(_scalar(item))
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
# The tiny parsers themselves (so a broken parser cannot hide a drift)
# --------------------------------------------------------------------------

def test_split_requirement():
    assert split_requirement("numpy>=1.24") == ("numpy", ">=1.24")
    assert split_requirement("Pytest_Xdist >= 3") == ("pytest-xdist", ">=3")
    assert split_requirement("tomli>=2; python_version < '3.11'") == ("tomli", ">=2")
    assert split_requirement("jupyterlab") == ("jupyterlab", "")
    assert split_requirement("pkg[extra]>=1,<2") == ("pkg", ">=1,<2")


def test_yaml_reader_on_a_sample():
    sample = (
        "name: demo  # a comment\n"
        "channels:\n"
        "  - conda-forge\n"
        "dependencies:\n"
        "  - python>=3.10\n"
        "  - numpy>=1.24   # trailing comment\n"
        "  - pip\n"
        "  - pip:\n"
        "      - -e .\n"
        "      - 'extra-thing'\n"
    )
    env = parse_environment_yml(sample)
    assert env == {
        "name": "demo",
        "channels": ["conda-forge"],
        "dependencies": ["python>=3.10", "numpy>=1.24", "pip", {"pip": ["-e .", "extra-thing"]}],
    }
    with pytest.raises(ValueError):
        parse_environment_yml("dependencies:\n  numpy: 1\n")


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


def test_setup_py_is_three_line_cffi_form():
    text = (ROOT / "setup.py").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) == 3, f"setup.py must be exactly three lines, has {len(lines)}"
    assert lines[0] == "from setuptools import setup"
    assert lines[1].strip() == "" or lines[1].lstrip().startswith("#")
    assert lines[2] == 'setup(cffi_modules=["native/build_ffi.py:ffibuilder"])'
    # And it is really that call, nothing smuggled in.
    tree = ast.parse(text)
    assert len(tree.body) == 2
    call = tree.body[1].value
    assert isinstance(call, ast.Call) and call.func.id == "setup" and not call.args
    assert [k.arg for k in call.keywords] == ["cffi_modules"]


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
