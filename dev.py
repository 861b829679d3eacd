#!/usr/bin/env python3
"""softviz developer commands.

    python3 dev.py lab  [jupyter lab args...]   set up, then open JupyterLab on notebooks/
    python3 dev.py slides NN [jupyter args...]  set up, then open lesson NN (e.g. 02) in JupyterLab,
                                                 ready to present as a slide deck
    python3 dev.py test [pytest args...]        set up, then run the whole test suite
    python3 dev.py notebooks [paths...]         set up, then re-execute notebooks/**/*.ipynb (or just
                                                 the given notebooks) in place
    python3 dev.py bench [bench args...]        set up, then run python -m softviz.bench
    python3 dev.py assignments [--course DIR] [NN ...]
                                                 set up, then build the nbgrader course from the lessons
                                                 (assignments/course/ by default): source notebooks with
                                                 solutions and hidden tests, and the student release

"Set up" means: make a virtual environment in .venv (or $SOFTVIZ_VENV) with
`python -m venv`, and `pip install -e ".[lab,test,grading]"` into it, which compiles
the C core (native/) through cffi (grading: nbgrader, which `assignments` and the
test suite's coursework test run). The install is repeated only when pyproject.toml,
setup.py, anything under native/ or the Python version changed, or when the
compiled module softviz/_softviz_cffi* is missing, or the compiler settings
(CC, CFLAGS, LDFLAGS, SOFTVIZ_CFLAGS) differ from the last install. pip is
called as usual, so PIP_* environment variables and pip config files apply;
SOFTVIZ_CFLAGS adds C flags at build time.

`lab` and `slides` serve on 127.0.0.1 only, with Jupyter's random token. As
root (containers, lab machines) they pass --allow-root, which JupyterLab
otherwise demands, and say so. SIGTERM, SIGHUP or SIGINT sent to dev.py stop
the child it runs (JupyterLab, pytest, pip), so no server is left listening.

Why a Python script and not a Makefile: it needs nothing but Python 3.10+ and a
C compiler, and behaves the same on Linux, macOS and Windows (no make, no shell).
Standard library only; keep this file parseable by any Python 3 so that an old
interpreter gets a clear message instead of a SyntaxError.
"""

import hashlib
import os
import signal
import subprocess
import sys
import time

MIN_PYTHON = (3, 10)
ROOT = os.path.dirname(os.path.abspath(__file__))
EXTRAS = "lab,test,grading"  # one venv serves every command (the suite runs nbgrader end to end)
STAMP_NAME = "softviz-dev-stamp.txt"
# Environment variables that change what the C build produces (setuptools reads
# CC, CFLAGS, LDFLAGS; native/build_ffi.py reads SOFTVIZ_CFLAGS).
BUILD_ENV = ("CC", "CFLAGS", "LDFLAGS", "SOFTVIZ_CFLAGS")
# Build/run artifacts under native/ that must not trigger a reinstall.
_SKIP_DIRS = {"build", "__pycache__", ".pytest_cache", ".hypothesis"}
_SKIP_SUFFIXES = (".o", ".obj", ".so", ".pyd", ".dll", ".dylib", ".a", ".lib", ".exe", ".pyc")

USAGE = "\n\n".join(__doc__.split("\n\n")[:2]).strip() + "\n\nSee the top of dev.py for details."


def say(msg):
    print("[dev.py] " + msg, flush=True)


def die(msg, code=1):
    print("[dev.py] error: " + msg, file=sys.stderr, flush=True)
    sys.exit(code)


def check_python():
    if sys.version_info < MIN_PYTHON:
        die("softviz needs Python %d.%d or newer; this is Python %s (%s).\n"
            "Run dev.py with a newer interpreter, for example `python3.12 dev.py test`."
            % (MIN_PYTHON + (sys.version.split()[0], sys.executable)))


def venv_dir():
    override = os.environ.get("SOFTVIZ_VENV")
    if override:
        return os.path.abspath(os.path.expanduser(override))
    return os.path.join(ROOT, ".venv")


def venv_python(venv):
    """Path of the interpreter inside `venv` (POSIX, Windows, or a conda-style prefix)."""
    candidates = [
        os.path.join(venv, "Scripts", "python.exe"),   # Windows venv
        os.path.join(venv, "bin", "python"),           # POSIX venv
        os.path.join(venv, "python.exe"),              # Windows conda prefix
    ]
    if os.name != "nt":
        candidates = candidates[1:2]
    for c in candidates:
        if os.path.isfile(c):
            return c
    return candidates[0]


# Seconds a child gets to stop after dev.py passed a stop signal on, before it is killed.
STOP_GRACE = 15.0
# Seconds dev.py waits after a Ctrl-C for the child to stop by itself before passing it on.
INTERRUPT_GRACE = 3.0


class _Stop(Exception):
    """Raised in the main thread when dev.py receives SIGTERM or SIGHUP."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _raise_stop(signum, frame):
    raise _Stop(signum)


def _stop_child(proc, sig):
    """Send `sig` to the child, give it STOP_GRACE seconds, then kill it."""
    try:
        proc.send_signal(sig)
    except OSError:
        return   # already gone
    try:
        proc.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        say("the child did not stop within %g s; killing it (pid %d)" % (STOP_GRACE, proc.pid))
        proc.kill()
        proc.wait()


def run(cmd, interrupt=None, **kwargs):
    """Run a command and return its exit code; never leave the child running.

    Ctrl-C at a terminal reaches the child directly (same process group); we
    keep waiting so the child decides how to stop (pytest prints its summary)
    instead of being killed by subprocess.call's cleanup. A SIGINT sent to
    dev.py alone (``kill -INT``) is passed on when the child is still running
    INTERRUPT_GRACE seconds later. `interrupt` names a signal to send at once
    instead (``lab`` uses SIGTERM: JupyterLab then shuts down without asking).
    SIGTERM and SIGHUP sent to dev.py are passed on to the child, which gets
    STOP_GRACE seconds before it is killed; dev.py then exits with 128 + the
    signal number.
    """
    return wait(start(cmd, **kwargs), interrupt)


def start(cmd, **kwargs):
    try:
        return subprocess.Popen(cmd, **kwargs)
    except OSError as exc:
        die("could not run %s: %s" % (cmd[0], exc))


def wait(proc, interrupt=None):
    """Wait for a started child, with run()'s signal handling; returns its exit code."""
    stop_signals = [getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    previous = {}
    for sig in stop_signals:
        try:
            previous[sig] = signal.signal(sig, _raise_stop)
        except (OSError, ValueError):   # not the main thread, or not settable here
            pass
    try:
        interrupted_at = None
        while True:
            try:
                if interrupted_at is None:
                    code = proc.wait()
                else:
                    try:
                        code = proc.wait(max(0.0, interrupted_at + INTERRUPT_GRACE - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        interrupted_at = None
                        say("passing the interrupt on to the child (pid %d)" % proc.pid)
                        proc.send_signal(signal.SIGINT)
                        continue
                return 128 - code if code < 0 else code   # killed by a signal: shell convention
            except KeyboardInterrupt:
                if interrupt is not None:
                    _stop_child(proc, interrupt)
                    return 128 + signal.SIGINT
                if interrupted_at is None:
                    interrupted_at = time.monotonic()
            except _Stop as stop:
                say("received signal %d; stopping the child (pid %d)" % (stop.signum, proc.pid))
                _stop_child(proc, signal.SIGTERM)
                sys.exit(128 + stop.signum)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if proc.poll() is None:   # an unexpected error in here: do not leave the child behind
            proc.kill()
            proc.wait()


def create_venv(venv):
    import importlib.util
    import shutil

    def absent(module):
        try:
            return importlib.util.find_spec(module) is None
        except (ImportError, ValueError):
            return True

    missing = [m for m in ("venv", "ensurepip") if absent(m)]
    if missing:
        die("this Python (%s) lacks the %s module(s) needed to make a virtual environment.\n"
            "On Debian/Ubuntu: `sudo apt-get install python3-venv` (or python3.X-venv to match\n"
            "your version); elsewhere reinstall Python with venv and ensurepip."
            % (sys.executable, " and ".join(missing)))
    say("creating virtual environment %s" % venv)
    existed = os.path.exists(venv)
    code = run([sys.executable, "-m", "venv", venv])
    py = venv_python(venv)
    if code != 0 or not os.path.isfile(py):
        if not existed:
            shutil.rmtree(venv, ignore_errors=True)   # do not leave a half-made venv behind
        die("`%s -m venv %s` failed (exit %s). On Debian/Ubuntu install python3-venv;\n"
            "then try again." % (sys.executable, venv, code))
    say("upgrading pip in the virtual environment")
    if run([py, "-m", "pip", "install", "--upgrade", "pip"]) != 0:
        say("warning: could not upgrade pip; going on with the bundled one")


def interpreter_version(py):
    try:
        out = subprocess.run([py, "-c", "import sys; print(sys.version)"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True)
    except OSError:
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip()


def _native_files():
    native = os.path.join(ROOT, "native")
    for dirpath, dirnames, filenames in os.walk(native):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if not name.endswith(_SKIP_SUFFIXES):
                yield os.path.join(dirpath, name)


def install_relevant(pyproject_text):
    """pyproject.toml without the [tool.*] tables pip never reads (pytest, ruff, mypy...).

    Editing test or lint settings must not recompile the C core; [tool.setuptools]
    does change the install and stays. A plain text filter (no TOML parser in the
    standard library of Python 3.10): a table runs from its header line to the next.
    """
    keep, out = True, []
    for line in pyproject_text.splitlines(True):
        if line.startswith("["):   # a table header ([name] or [[name]]), unindented as written here
            name = line.lstrip("[").split("]")[0].strip().strip('"')
            keep = not name.startswith("tool.") or name.startswith("tool.setuptools")
        if keep:
            out.append(line)
    return "".join(out)


def build_fingerprint(py_version):
    """Hash of everything that decides what `pip install -e` produces."""
    h = hashlib.sha256()
    h.update(("python " + py_version + "\nextras " + EXTRAS + "\n").encode())
    files = [os.path.join(ROOT, "pyproject.toml"), os.path.join(ROOT, "setup.py")]
    files += list(_native_files())
    for path in files:
        rel = os.path.relpath(path, ROOT).replace(os.sep, "/")
        h.update(("\0file " + rel + "\0").encode())
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            h.update(b"<missing>")
            continue
        if rel == "pyproject.toml":
            data = install_relevant(data.decode("utf-8", "replace")).encode("utf-8")
        h.update(data)
    # The compiler and its flags decide the build too: CC=clang must rebuild a gcc
    # build. An unset variable adds nothing, so an existing stamp stays valid.
    h.update(("\0SOFTVIZ_CFLAGS=" + os.environ.get("SOFTVIZ_CFLAGS", "")).encode())
    for name in BUILD_ENV:
        if name != "SOFTVIZ_CFLAGS" and os.environ.get(name):
            h.update(("\0%s=%s" % (name, os.environ[name])).encode())
    return h.hexdigest()


def compiled_module_present():
    pkg = os.path.join(ROOT, "softviz")
    try:
        names = os.listdir(pkg)
    except OSError:
        return False
    return any(n.startswith("_softviz_cffi") and n.endswith((".so", ".pyd")) for n in names)


def setup():
    """Make sure the venv exists and holds an up-to-date editable install. Returns its python."""
    check_python()
    venv = venv_dir()
    py = venv_python(venv)
    if not os.path.isfile(py):
        if os.path.exists(venv) and os.listdir(venv):
            die("%s exists but holds no Python interpreter; delete it and try again." % venv)
        create_venv(venv)
        py = venv_python(venv)
    version = interpreter_version(py)
    if version is None:
        die("the interpreter %s does not run (was its base Python removed or upgraded?).\n"
            "Delete %s and try again." % (py, venv))

    stamp = os.path.join(venv, STAMP_NAME)
    fingerprint = build_fingerprint(version)
    try:
        with open(stamp) as f:
            installed = f.read().strip()
    except OSError:
        installed = ""
    if installed == fingerprint and compiled_module_present():
        say("environment up to date (%s)" % venv)
        return py

    reason = ("compiled module softviz/_softviz_cffi* is missing" if installed == fingerprint
              else "first install" if not installed else "build inputs changed")
    say("installing softviz editable with extras [%s] (%s); this compiles native/" % (EXTRAS, reason))
    if os.path.exists(stamp):
        os.remove(stamp)
    if run([py, "-m", "pip", "--version"], stdout=subprocess.DEVNULL) != 0:
        die("%s has no working pip; delete %s and try again." % (py, venv))
    code = run([py, "-m", "pip", "install", "-e", ".[%s]" % EXTRAS], cwd=ROOT)
    if code != 0:
        die("`pip install -e .[%s]` failed (exit %d). A C compiler (gcc, clang or MSVC)\n"
            "and network access to the package index are needed." % (EXTRAS, code), code)
    if not compiled_module_present():
        say("warning: pip succeeded but no softviz/_softviz_cffi* was produced")
    with open(stamp, "w") as f:
        f.write(fingerprint + "\n")
    return py


# `dev.py test` without a path runs the suite as two pytest processes side by side:
# the browser suite with the notebooks (mostly waiting on JupyterLab's kernels and on
# Chromium) and everything else, spread over the cores by pytest-xdist. They must
# stay apart: Playwright keeps an asyncio loop in its thread for the whole session,
# and nbval must run a notebook's cells in order in one kernel.
BROWSER_PART = ["tests/browser", "notebooks"]
REST_PART = ["tests", "--ignore=tests/browser"]
NO_TESTS = 5   # pytest's exit code when nothing was collected (e.g. -m browser for the rest)


def _shown(args):
    import shlex

    return " ".join(shlex.quote(a) for a in args)


def _names_a_path(arg):
    return not arg.startswith("-") and os.path.exists(os.path.join(ROOT, arg.split("::")[0]))


def _workers(variable):
    """pytest-xdist workers for one part ($variable, default: the cores, at most 4)."""
    value = os.environ.get(variable, "")
    if value:
        return value
    return str(max(1, min(os.cpu_count() or 1, 4)))


def cmd_test(args):
    py = setup()
    serial = os.environ.get("SOFTVIZ_TEST_WORKERS") == "0"
    if serial or any(_names_a_path(a) for a in args) or "--help" in args or "-h" in args:
        # a path given: exactly the pytest the user asked for, in one process
        say("running: python -m pytest " + _shown(args))
        return run([py, "-m", "pytest"] + args, cwd=ROOT)
    return _test_in_two_parts(py, args)


def _test_in_two_parts(py, args):
    import tempfile

    # --dist loadgroup: a notebook's nbval cells stay in one worker (tests/conftest.py
    # groups them); each browser worker runs its own JupyterLab and Chromium
    rest = ["-n", _workers("SOFTVIZ_TEST_WORKERS"), "--dist", "loadgroup"] + REST_PART + args
    browser = ["-n", _workers("SOFTVIZ_BROWSER_WORKERS"), "--dist", "loadgroup"] + BROWSER_PART + args
    log = tempfile.TemporaryFile(mode="w+b")
    say("running, side by side: python -m pytest " + _shown(browser) + "  (output shown when it ends)")
    say("                       python -m pytest " + _shown(rest))
    background = start([py, "-m", "pytest"] + browser, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL)
    try:
        rest_code = run([py, "-m", "pytest"] + rest, cwd=ROOT)
        if background.poll() is None:
            say("waiting for the browser suite and the notebooks")
        browser_code = wait(background)
    finally:
        if background.poll() is None:   # dev.py was stopped: stop this child too
            _stop_child(background, signal.SIGTERM)
        log.seek(0)
        say("output of python -m pytest " + _shown(browser) + ":")
        sys.stdout.flush()
        out = getattr(sys.stdout, "buffer", None)
        data = log.read()
        if out is not None:
            out.write(data)
            out.flush()
        else:
            sys.stdout.write(data.decode("utf-8", "replace"))
        log.close()
    codes = {"browser suite and notebooks": browser_code, "the rest": rest_code}
    say("results: " + ", ".join("%s exit %d" % kv for kv in codes.items())
        + " (exit 5: no test selected in that part)")
    ran = [c for c in codes.values() if c != NO_TESTS]
    if not ran:
        return NO_TESTS
    return next((c for c in ran if c != 0), 0)


def is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


def lab_command(py, args, open_path=None):
    """The JupyterLab command line that `lab` and `slides` run (no side effects).

    Localhost only, and the default random token is kept (never an empty
    one). `-m jupyterlab`, not `-m jupyter lab`: the `jupyter` dispatcher looks
    the subcommand up on PATH and can pick another environment's jupyter-lab.
    `open_path` (relative to notebooks/) is the page the browser opens.
    """
    notebooks = os.path.join(ROOT, "notebooks")
    cmd = [py, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1",
           "--ServerApp.root_dir=" + notebooks]
    if open_path is not None:
        cmd.append("--LabApp.default_url=/lab/tree/" + open_path.replace(os.sep, "/"))
    if is_root() and "--allow-root" not in args:
        cmd.append("--allow-root")
    return cmd + list(args)


def _start_lab(args, open_path=None):
    py = setup()
    cmd = lab_command(py, args, open_path)
    if "--allow-root" in cmd and "--allow-root" not in args:
        say("running as root: passing --allow-root to JupyterLab (it refuses to start as root without it)")
    say("starting JupyterLab on 127.0.0.1 in %s (Ctrl-C to stop)" % os.path.join(ROOT, "notebooks"))
    # SIGTERM on Ctrl-C: JupyterLab stops and shuts its kernels down, without the y/n prompt.
    return run(cmd, cwd=ROOT, interrupt=signal.SIGTERM)


def cmd_lab(args):
    return _start_lab(args)


def find_lesson(key):
    """notebooks/NN_*.ipynb for NN = "2", "02" or "02_temperature" (never a *_further notebook)."""
    nbdir = os.path.join(ROOT, "notebooks")
    key = key[:-len(".ipynb")] if key.endswith(".ipynb") else key
    prefix = key.zfill(2) + "_" if key.isdigit() else key
    try:
        names = sorted(n for n in os.listdir(nbdir) if n.endswith(".ipynb"))
    except OSError:
        names = []
    lessons = [n for n in names if n[:2].isdigit() and not n.endswith("_further.ipynb")]
    hits = [n for n in lessons if n.startswith(prefix)]
    if len(hits) != 1:
        die("no lesson %r; the lessons are: %s" % (key, ", ".join(n[:-6] for n in lessons) or "none")
            if not hits else "%r matches several lessons: %s" % (key, ", ".join(hits)), 2)
    return hits[0]


def cmd_slides(args):
    if not args or args[0].startswith("-"):
        die("usage: python3 dev.py slides NN [jupyter lab args...], e.g. python3 dev.py slides 02", 2)
    lesson = find_lesson(args[0])
    say("opening %s: run all cells (Run > Run All Cells), then press the deck button in the "
        "notebook toolbar to present; softviz panels switch to lecture mode by themselves" % lesson)
    return _start_lab(args[1:], open_path=lesson)


def cmd_notebooks(args):
    paths = [os.path.abspath(a) for a in args]
    for path in paths:
        if not (path.endswith(".ipynb") and os.path.isfile(path)):
            die("not a notebook: %s" % path)
    py = setup()
    nbdir = os.path.join(ROOT, "notebooks")
    # The lessons first, then notebooks/solutions/ (and any other subfolder);
    # JupyterLab's autosave copies in .ipynb_checkpoints are not notebooks.
    for dirpath, dirnames, filenames in ([] if paths else os.walk(nbdir)):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        paths += [os.path.join(dirpath, n) for n in sorted(filenames) if n.endswith(".ipynb")]
    if not paths:
        die("no notebooks found in %s" % nbdir)
    for path in paths:
        rel = os.path.relpath(path, ROOT).replace(os.sep, "/")
        say("executing " + rel)
        # record_timing=False: no per-cell timestamps in the stored file, so
        # re-executing an unchanged (seeded) notebook leaves git with no diff.
        code = run([py, "-m", "nbconvert", "--to", "notebook", "--execute", "--inplace",
                    "--ExecutePreprocessor.timeout=600", "--ExecutePreprocessor.record_timing=False",
                    # no stored widget state: static viewers (GitHub, nbviewer, HTML export)
                    # then show each panel's PNG fallback instead of a JavaScript-only stub
                    "--ExecutePreprocessor.store_widget_state=False",
                    path], cwd=os.path.dirname(path))
        if code != 0:
            die("executing %s failed (exit %d)" % (rel, code), code)
    say("re-executed %d notebooks" % len(paths))
    return 0


def cmd_assignments(args):
    """assignments/generate.py in the venv: the lessons become nbgrader source notebooks, then
    `nbgrader generate_assignment` writes the student versions (README: Grading with nbgrader)."""
    py = setup()
    say("running: python assignments/generate.py " + _shown(args))
    return run([py, os.path.join(ROOT, "assignments", "generate.py")] + list(args), cwd=ROOT)


def cmd_bench(args):
    py = setup()
    say("running: " + " ".join(["python -m softviz.bench"] + args))
    return run([py, "-m", "softviz.bench"] + args, cwd=ROOT)


COMMANDS = {"test": cmd_test, "lab": cmd_lab, "slides": cmd_slides,
            "notebooks": cmd_notebooks, "bench": cmd_bench, "assignments": cmd_assignments}


def main(argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    name, args = argv[0], argv[1:]
    if name not in COMMANDS:
        print(USAGE, file=sys.stderr)
        die("unknown command %r (expected one of: %s)" % (name, ", ".join(COMMANDS)), 2)
    return COMMANDS[name](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
