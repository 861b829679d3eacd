"""dev.py's JupyterLab commands: they start for any user (root included), serve on
127.0.0.1 with a token, and a stop signal sent to dev.py stops JupyterLab too.

The servers here are real but short-lived: `python3 dev.py lab --no-browser` on a
free port, in a private Jupyter home, stopped by signalling dev.py's PID. dev.py
is pointed (SOFTVIZ_VENV) at a stand-in environment whose stamp says "up to
date" and whose `bin/python` runs this interpreter, so no test ever reinstalls
or rebuilds anything.
"""
from __future__ import annotations

import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
POSIX = os.name == "posix"


def load_dev():
    spec = importlib.util.spec_from_file_location("softviz_dev", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dev = load_dev()


# --------------------------------------------------------------------------
# The command lines (no server)
# --------------------------------------------------------------------------

def test_lab_command_is_local_with_token_and_root_flag(monkeypatch):
    for root in (True, False):
        monkeypatch.setattr(dev, "is_root", lambda root=root: root)
        cmd = dev.lab_command("py", ["--no-browser"])
        assert cmd[:3] == ["py", "-m", "jupyterlab"]
        assert "--ServerApp.ip=127.0.0.1" in cmd
        assert not any(re.search(r"token=\s*$|token=''|token=\"\"", c) for c in cmd), cmd
        assert ("--allow-root" in cmd) is root
        assert cmd[-1] == "--no-browser"
    # a user who passes --allow-root gets it once
    monkeypatch.setattr(dev, "is_root", lambda: True)
    assert dev.lab_command("py", ["--allow-root"]).count("--allow-root") == 1


def test_slides_opens_the_lesson(monkeypatch):
    lessons = sorted(p.name for p in (ROOT / "notebooks").glob("0[0-9]_*.ipynb")
                     if not p.name.endswith("_further.ipynb"))
    assert lessons, "no lessons found"
    first = lessons[0]
    number = first[:2]
    assert dev.find_lesson(number) == first
    assert dev.find_lesson(str(int(number))) == first
    assert dev.find_lesson(first) == first
    cmd = dev.lab_command("py", [], open_path=first)
    assert f"--LabApp.default_url=/lab/tree/{first}" in cmd
    with pytest.raises(SystemExit):
        dev.find_lesson("99")


def test_slides_without_a_lesson_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        dev.main(["slides"])
    assert exc.value.code == 2
    assert "dev.py slides NN" in capsys.readouterr().err


# --------------------------------------------------------------------------
# The rebuild fingerprint and the test command (no install, no pytest run)
# --------------------------------------------------------------------------

_PYPROJECT = """[build-system]
requires = ["setuptools"]

[project]
name = "demo"
dependencies = ["numpy"]

[tool.setuptools.package-data]
demo = ["data/*.json"]

[tool.pytest.ini_options]
addopts = "-ra"

[tool.ruff]
line-length = 120
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """dev.py pointed at a tiny project: pyproject.toml, setup.py, native/a.c."""
    (tmp_path / "native").mkdir()
    (tmp_path / "native" / "a.c").write_text("int a;\n")
    (tmp_path / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    (tmp_path / "pyproject.toml").write_text(_PYPROJECT)
    monkeypatch.setattr(dev, "ROOT", str(tmp_path))
    for name in dev.BUILD_ENV:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_changing_the_compiler_or_its_flags_rebuilds(project, monkeypatch):
    base = dev.build_fingerprint("3.11.0")
    assert dev.build_fingerprint("3.11.0") == base
    seen = {base}
    for name, value in (("CC", "clang"), ("CFLAGS", "-O1"), ("LDFLAGS", "-s"),
                        ("SOFTVIZ_CFLAGS", "-march=native")):
        monkeypatch.setenv(name, value)
        fingerprint = dev.build_fingerprint("3.11.0")
        assert fingerprint not in seen, f"setting {name} does not trigger a rebuild"
        seen.add(fingerprint)
        monkeypatch.delenv(name)
    assert dev.build_fingerprint("3.11.0") == base
    (project / "native" / "a.c").write_text("int b;\n")
    assert dev.build_fingerprint("3.11.0") != base


def test_test_and_lint_settings_do_not_rebuild(project):
    base = dev.build_fingerprint("3.11.0")
    text = _PYPROJECT
    for old, new, rebuild in (('addopts = "-ra"', 'addopts = "-q"', False),
                              ("line-length = 120", "line-length = 100", False),
                              ('"data/*.json"', '"data/*.csv"', True),      # [tool.setuptools]
                              ('["numpy"]', '["numpy", "scipy"]', True)):   # [project]
        (project / "pyproject.toml").write_text(text.replace(old, new))
        assert (dev.build_fingerprint("3.11.0") != base) is rebuild, (old, new)
    kept = dev.install_relevant(_PYPROJECT)
    assert "[project]" in kept and "[tool.setuptools.package-data]" in kept
    assert "[tool.pytest" not in kept and "line-length" not in kept


@pytest.fixture
def fake_pytest(monkeypatch):
    """dev.py's test command with the processes replaced: records them, returns set codes."""
    calls, codes = [], {}

    class Proc:
        def __init__(self, cmd):
            self.cmd = cmd

        def poll(self):
            return codes.get("browser", 0)

    def code_for(cmd):
        return codes.get("browser" if "tests/browser" in cmd and "--ignore=tests/browser" not in cmd
                         else "rest", 0)

    monkeypatch.setattr(dev, "setup", lambda: "py")
    monkeypatch.setattr(dev, "start", lambda cmd, **kw: calls.append(cmd) or Proc(cmd))
    monkeypatch.setattr(dev, "wait", lambda proc, interrupt=None: code_for(proc.cmd))
    monkeypatch.setattr(dev, "run", lambda cmd, **kw: calls.append(cmd) or code_for(cmd))
    monkeypatch.delenv("SOFTVIZ_TEST_WORKERS", raising=False)
    return calls, codes


def test_test_command_runs_browser_part_beside_the_rest(fake_pytest):
    calls, codes = fake_pytest
    assert dev.main(["test", "-m", "not slow", "-k", "softmax"]) == 0
    browser, rest = calls
    assert browser[:3] == ["py", "-m", "pytest"] and "tests/browser" in browser and "notebooks" in browser
    assert "--ignore=tests/browser" in rest and "-n" in rest and "--dist" in rest
    for cmd in calls:   # the user's arguments reach both parts
        assert cmd[-4:] == ["-m", "not slow", "-k", "softmax"]
    # either part failing fails the command; "nothing selected" (5) in one part does not
    for browser_code, rest_code, expected in ((1, 0, 1), (0, 2, 2), (5, 0, 0), (0, 5, 0), (5, 5, 5),
                                              (5, 1, 1)):
        codes.update(browser=browser_code, rest=rest_code)
        assert dev.main(["test"]) == expected, (browser_code, rest_code)


def test_test_command_with_a_path_is_one_plain_pytest(fake_pytest):
    calls, _ = fake_pytest
    assert dev.main(["test", "-x", "tests/test_dev_py.py::test_slides_opens_the_lesson"]) == 0
    assert calls == [["py", "-m", "pytest", "-x", "tests/test_dev_py.py::test_slides_opens_the_lesson"]]


# --------------------------------------------------------------------------
# Real, short-lived servers
# --------------------------------------------------------------------------

def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _children(pid):
    """PIDs of the direct children of `pid` (Linux /proc)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) is not running
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def standin_venv(tmp_path):
    """A SOFTVIZ_VENV that dev.py's setup() accepts as up to date: no install, ever."""
    if not dev.compiled_module_present():
        pytest.fail("softviz/_softviz_cffi* is missing: build softviz first (python3 dev.py test)")
    try:
        import jupyterlab  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"JupyterLab is not installed in {sys.executable}: {exc}")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    py = venv / "bin" / "python"
    py.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    py.chmod(0o755)
    version = dev.interpreter_version(str(py))
    assert version, "the stand-in interpreter does not run"
    (venv / dev.STAMP_NAME).write_text(dev.build_fingerprint(version) + "\n")
    return venv


def _start_dev_lab(venv, home, port):
    env = dict(os.environ)
    for name in ("config", "data", "runtime", "ipython"):
        (home / name).mkdir(parents=True, exist_ok=True)
    env.update({"SOFTVIZ_VENV": str(venv), "JUPYTER_CONFIG_DIR": str(home / "config"),
                "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
                "IPYTHONDIR": str(home / "ipython"), "PYTHONUNBUFFERED": "1"})
    log = open(home / "dev.log", "wb")
    try:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "dev.py"), "lab", "--no-browser",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
             "--LabApp.news_url=None",
             "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()
    return proc


def _wait_for_token(proc, home, port, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = (home / "dev.log").read_text(errors="replace")
        if proc.poll() is not None:
            pytest.fail(f"dev.py lab exited with {proc.returncode}:\n{text[-3000:]}")
        m = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=([0-9a-f]+)", text)
        if m and _listening(port):
            return m.group(1), text
        time.sleep(0.3)
    pytest.fail(f"dev.py lab did not serve on 127.0.0.1:{port} within {timeout} s:\n"
                f"{(home / 'dev.log').read_text(errors='replace')[-3000:]}")


def _status(port, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/status")
    if token:
        req.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.skipif(not POSIX or not Path("/proc/self/task").is_dir(),
                    reason="needs POSIX signals and Linux /proc to find the JupyterLab child")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_dev_lab_serves_locally_with_token_and_stops_with_dev_py(sig, standin_venv, tmp_path):
    port = _free_port()
    proc = _start_dev_lab(standin_venv, tmp_path / "home", port)
    try:
        token, log = _wait_for_token(proc, tmp_path / "home", port)
        assert "environment up to date" in log, log   # no reinstall happened
        if dev.is_root():
            assert log.count("passing --allow-root") == 1, log
        assert len(token) >= 32
        assert _status(port) == 403, "the server answers without a token"
        assert _status(port, token) == 200
        children = _children(proc.pid)
        assert len(children) == 1, f"dev.py should run exactly one child, has {children}"
        lab_pid = children[0]

        os.kill(proc.pid, getattr(signal, sig))
        code = proc.wait(timeout=60)
        assert code == 128 + getattr(signal, sig), code
        deadline = time.monotonic() + 10
        while _alive(lab_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(lab_pid), f"JupyterLab (pid {lab_pid}) still runs after {sig} to dev.py"
        assert not _listening(port), f"something still listens on 127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            for child in _children(proc.pid):
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.kill()
            proc.wait()
