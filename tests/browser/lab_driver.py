"""Drive a real JupyterLab in headless Chromium and report what a student would see.

Two parts, both used by tests/browser/conftest.py and the test modules here:

* ``LabServer``: a throw-away JupyterLab server (``python -m jupyterlab`` of the
  running interpreter) on a free 127.0.0.1 port with a random token, serving a
  temporary directory, with its own settings, workspaces, runtime and data
  directories, and JupyterLab's news and update-check pop-ups switched off.
* ``check_notebook``: opens one notebook in a Playwright page, restarts the
  kernel and runs all cells through JupyterLab's own commands, then returns a
  ``NotebookReport`` listing every problem found: error outputs, cells that did
  not run, widgets that failed to render, softviz panels whose controls or
  figure are missing or blank, panels that show an error, and panels whose
  figure does not change when one of their controls is moved with the keyboard
  or mouse. It never asserts, so the same code can be pointed at a deliberately
  broken notebook to prove it catches the breakage.

Panels are found by the CSS classes ``softviz.panels.base.Panel`` adds:
``softviz-panel`` (the whole widget), ``softviz-controls`` (each row of
controls), ``softviz-figure`` (the ipympl canvas or the PNG image fallback)
and ``softviz-error`` (the red box that shows callback errors).

JupyterLab 4 front-end facts relied on here (checked against JupyterLab 4.6):
``--LabApp.expose_app_in_browser`` publishes the application as
``window.jupyterapp``; the commands ``notebook:clear-all-cell-outputs`` and
``notebook:restart-run-all``; the ``@jupyterlab/apputils-extension:notification``
settings ``fetchNews``/``checkForUpdates`` and
``@jupyterlab/apputils-extension:sessionDialogs`` ``skipKernelRestartDialog``;
ipywidgets 8 renders a widget that cannot be shown as ``.jupyter-widgets-error-widget``
and sliders with noUiSlider (``.noUi-handle``, keyboard-operable); ipympl's view
is ``.jupyter-matplotlib`` holding ``<canvas>`` elements.
"""
from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LabServer", "NotebookReport", "check_notebook", "find_chromium", "slug"]

# Settings written to the server's private user-settings directory.
# fetchNews "false" = never fetch news and never ask (the "Would you like to get
# notified about official Jupyter news?" toast comes from the default "none");
# checkForUpdates false = no "a newer JupyterLab is available" toast.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    # Restart without the "Restart Kernel?" confirmation (check_notebook still
    # accepts that dialog if some JupyterLab version shows it anyway).
    "@jupyterlab/apputils-extension/sessionDialogs.jupyterlab-settings":
        {"skipKernelRestartDialog": True},
}

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Restarting a kernel under live widget views: the views of the old kernel
# still talk to comms the new kernel never opened, and JupyterLab opens the
# widget control comm before the notebook imports ipywidgets. Harmless.
_BENIGN_KERNEL = re.compile(r"No such comm(?: target registered)?:")
# JupyterLab's debugger sidebar asks the restarting kernel for its state.
_BENIGN_CONSOLE = re.compile(r"Could not restore the debugger state")
_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_MAC_APPS = ("/Applications/Chromium.app/Contents/MacOS/Chromium",
             "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome")


def find_chromium():
    """Path of a Chromium/Chrome executable on this machine, or None.

    ``$SOFTVIZ_CHROMIUM`` wins; then the usual names on PATH (Debian's
    ``chromium`` package installs /usr/bin/chromium); then the macOS apps.
    Never downloads anything.
    """
    override = os.environ.get("SOFTVIZ_CHROMIUM")
    if override:
        return override if os.path.isfile(override) and os.access(override, os.X_OK) else None
    for name in _CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return next((p for p in _MAC_APPS if os.path.isfile(p)), None)


def slug(relpath):
    """A file-name-safe name for a notebook path: solutions/01_x.ipynb -> solutions__01_x."""
    stem = relpath[:-len(".ipynb")] if relpath.endswith(".ipynb") else relpath
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem.replace("/", "__"))


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------

class LabServer:
    """A private JupyterLab server; ``start()`` blocks until it answers, ``stop()`` ends it.

    ``root`` is the directory it serves (tests pass a temporary copy of
    notebooks/); ``home`` receives the settings, workspaces, runtime, data,
    config and IPython directories and the server log, so nothing of the
    user's own Jupyter set-up (or of another test run) leaks in or out.
    """

    def __init__(self, root, home, python=None):
        self.root = Path(root)
        self.home = Path(home)
        self.python = python or sys.executable
        self.token = secrets.token_hex(24)
        self.port = None
        self.proc = None
        self.log_path = self.home / "jupyterlab.log"

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}/"

    def url(self, path=""):
        """Address of ``path`` on the server, logged in by the token."""
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{sep}token={self.token}"

    def api(self, method, path, body=None, timeout=10):
        """Call the server's REST API; returns the decoded JSON (or None)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw.strip() else None

    def _write_settings(self, settings_dir):
        for rel, value in LAB_SETTINGS.items():
            path = settings_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value, indent=2), encoding="utf-8")

    def _env(self):
        env = dict(os.environ)
        dirs = {name: self.home / name for name in
                ("config", "data", "runtime", "settings", "workspaces", "ipython")}
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        env.update({
            "JUPYTER_CONFIG_DIR": str(dirs["config"]),
            "JUPYTER_DATA_DIR": str(dirs["data"]),
            "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
            "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
            "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
            "IPYTHONDIR": str(dirs["ipython"]),
            # the kernel's debugger otherwise warns about frozen modules on stderr
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        })
        # The notebooks choose their backend (%matplotlib widget); a backend
        # forced from outside would test something else.
        env.pop("MPLBACKEND", None)
        return env, dirs

    def command(self, dirs):
        cmd = [self.python, "-m", "jupyterlab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
               "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={self.root}",
               f"--LabApp.user_settings_dir={dirs['settings']}",
               f"--LabApp.workspaces_dir={dirs['workspaces']}",
               # window.jupyterapp: lets the test run JupyterLab's own commands
               "--LabApp.expose_app_in_browser=True",
               # no network from the server side either: no news feed, no
               # update check, no PyPI-backed extension manager
               "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        return cmd

    def start(self, timeout=90):
        self.home.mkdir(parents=True, exist_ok=True)
        env, dirs = self._env()
        self._write_settings(dirs["settings"])
        last = None
        for _attempt in range(3):  # a free port can be taken between probe and bind
            self.port = _free_port()
            log = open(self.log_path, "ab")
            try:
                self.proc = subprocess.Popen(self.command(dirs), cwd=self.root, env=env,
                                             stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            finally:
                log.close()
            try:
                self._wait_ready(timeout)
                return self
            except RuntimeError as exc:
                last = exc
                self.stop()
        raise last

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.proc.returncode} before it "
                                   f"was ready; its log ({self.log_path}) ends with:\n{self.log_tail()}")
            try:
                self.api("GET", "api/status", timeout=2)
                # the lab page itself must be served too (its assets come from the venv)
                with urllib.request.urlopen(self.url("lab"), timeout=10) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"JupyterLab did not answer on {self.base_url} within {timeout} s; "
                           f"its log ends with:\n{self.log_tail()}")

    def log_tail(self, lines=30):
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def shutdown_kernels(self):
        """Shut every running kernel down (one notebook's kernel must not slow the next)."""
        try:
            for session in self.api("GET", "api/sessions") or []:
                self.api("DELETE", f"api/sessions/{session['id']}", timeout=30)
        except (urllib.error.URLError, OSError, ValueError):
            pass

    def stop(self, timeout=20):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:  # the polite way: the server shuts its kernels down too
            self.api("POST", "api/shutdown", timeout=5)
            self.proc.wait(timeout)
        except (urllib.error.URLError, OSError, ValueError, subprocess.TimeoutExpired):
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------
# JavaScript run in the page (JupyterLab's own application object)
# ---------------------------------------------------------------------------

# Installed once per page: finds the notebook panel by path and records kernel
# statuses and kernel messages that no cell shows (errors raised by widget
# callbacks land in JupyterLab's log console, not in a cell).
_JS_INSTALL = """
(path) => {
  const app = window.jupyterapp;
  const find = () => {
    for (const w of app.shell.widgets('main')) {
      if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
    }
    return null;
  };
  const w = find();
  if (!w || !w.context.isReady || !w.sessionContext.session || !w.sessionContext.session.kernel) {
    return false;
  }
  if (!window.__softviz) {
    const s = window.__softviz = {panel: w, statuses: [], kernelMessages: []};
    w.sessionContext.statusChanged.connect((_, status) => s.statuses.push(status));
    w.sessionContext.iopubMessage.connect((_, msg) => {
      const type = msg.header.msg_type;
      const parent = (msg.parent_header || {}).msg_type || '';
      if (parent === 'execute_request') return;   // shown in its cell already
      if (type === 'error') {
        s.kernelMessages.push({kind: 'error', parent,
                               text: `${msg.content.ename}: ${msg.content.evalue}`});
      } else if (type === 'stream' && msg.content.name === 'stderr') {
        s.kernelMessages.push({kind: 'stderr', parent, text: msg.content.text});
      }
    });
  }
  return true;
}
"""

_JS_KERNEL_IDLE = "() => window.__softviz.panel.sessionContext.session.kernel.status === 'idle'"

_JS_PROGRESS = """
() => {
  const s = window.__softviz, w = s.panel;
  const session = w.sessionContext.session;
  // JupyterLab does not execute empty code cells: they never get a count
  const cells = w.content.widgets.filter(c => c.model.type === 'code' &&
                                              c.model.sharedModel.getSource().trim());
  const running = cells.filter(c => c.model.executionState === 'running' ||
      (c.node.querySelector('.jp-InputPrompt') || {}).textContent?.includes('*')).length;
  return {
    kernel: session && session.kernel ? session.kernel.status : 'none',
    statuses: s.statuses.slice(),
    codeCells: cells.length,
    firstCount: cells.length ? cells[0].model.executionCount : null,
    running,
    dialog: Array.from(document.querySelectorAll('.jp-Dialog')).map(d => d.innerText).join(' | '),
  };
}
"""

_JS_CELLS = """
() => {
  const w = window.__softviz.panel;
  return w.content.widgets.map((c, i) => ({
    index: i,
    type: c.model.type,
    source: c.model.sharedModel.getSource(),
    count: c.model.type === 'code' ? c.model.executionCount : null,
    outputs: c.model.type === 'code' ? c.model.outputs.toJSON().map(o => ({
      type: o.output_type, name: o.name || '', ename: o.ename || '', evalue: o.evalue || '',
      traceback: (o.traceback || []).join('\\n'),
      text: Array.isArray(o.text) ? o.text.join('') : (o.text || ''),
      mimes: Object.keys(o.data || {}),
    })) : [],
  }));
}
"""

# Every code cell's outputs as nbformat JSON (cell index -> list), without the
# PNG/JPEG data (large, and nbval never compares it): stored_outputs.py checks
# the nbval-check-output cells against the stored notebook.
_JS_OUTPUTS = """
() => {
  const w = window.__softviz.panel;
  const out = {};
  w.content.widgets.forEach((c, i) => {
    if (c.model.type !== 'code') return;
    out[i] = c.model.outputs.toJSON().map(o => {
      const copy = Object.assign({}, o);
      if (o.data) {
        copy.data = Object.assign({}, o.data);
        delete copy.data['image/png'];
        delete copy.data['image/jpeg'];
      }
      return copy;
    });
  });
  return out;
}
"""

# For each cell: how many outputs should be widgets, how many rendered as
# widgets, and the text of any ipywidgets error view.
_JS_WIDGETS = """
() => {
  const w = window.__softviz.panel;
  const MIME = 'application/vnd.jupyter.widget-view+json';
  return w.content.widgets.map((c, i) => {
    if (c.model.type !== 'code') return {index: i, expected: 0, rendered: 0, errors: []};
    const expected = c.model.outputs.toJSON().filter(o => o.data && o.data[MIME]).length;
    const outs = Array.from(c.node.querySelectorAll('.jp-OutputArea-output'));
    const rendered = outs.filter(o => o.querySelector('.jupyter-widgets')).length;
    const errors = Array.from(c.node.querySelectorAll('.jupyter-widgets-error-widget'))
        .map(e => (e.textContent || e.title || 'error widget').trim().slice(0, 400));
    return {index: i, expected, rendered, errors};
  });
}
"""

# Where each softviz panel sits (cell index) and what its parts look like now.
_JS_PANELS = """
() => {
  const w = window.__softviz.panel;
  const cellNodes = w.content.widgets.map(c => c.node);
  const visible = e => { if (!e) return false; const r = e.getBoundingClientRect();
      const st = getComputedStyle(e); return r.width > 0 && r.height > 0 && st.display !== 'none' &&
      st.visibility !== 'hidden'; };
  return Array.from(w.content.node.querySelectorAll('.softviz-panel')).map((p, k) => {
    const cell = cellNodes.findIndex(n => n.contains(p));
    const rows = Array.from(p.querySelectorAll('.softviz-controls'));
    const inputs = rows.flatMap(r => Array.from(r.querySelectorAll(
        'input, select, textarea, button, .noUi-handle, [contenteditable="true"]')));
    const fig = p.querySelector('.softviz-figure');
    const err = p.querySelector('.softviz-error');
    const errText = err && visible(err) ? (err.innerText || '').trim() : '';
    return {
      k, cell,
      controlRows: rows.length, controlsVisible: rows.some(visible),
      inputs: inputs.length, inputsVisible: inputs.filter(visible).length,
      figure: !!fig, figureVisible: visible(fig),
      figureKind: !fig ? '' : fig.classList.contains('jupyter-matplotlib') ? 'ipympl' :
                  fig.tagName === 'IMG' ? 'image' : fig.tagName.toLowerCase(),
      figureError: fig && fig.querySelector('.jupyter-widgets-error-widget') ?
          (fig.textContent || 'error widget').trim().slice(0, 400) : '',
      canvases: fig ? fig.querySelectorAll('canvas').length : 0,
      error: errText.split('\\n')[0].slice(0, 300),
    };
  });
}
"""


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------

@dataclass
class NotebookReport:
    """What check_notebook found in one notebook."""
    notebook: str
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    screenshots: list = field(default_factory=list)
    panels: int = 0
    moved: list = field(default_factory=list)     # "panel 1 (cell 4): moved 'temperature T' ..."
    outputs: dict = field(default_factory=dict)   # cell index -> outputs (nbformat JSON, no images)
    seconds: float = 0.0

    def format(self):
        lines = [f"{self.notebook}: {len(self.problems)} problem(s) in the browser "
                 f"({self.panels} panel(s), {self.seconds:.1f} s)"]
        lines += [f"  PROBLEM {p}" for p in self.problems]
        lines += [f"  note    {n}" for n in self.notes]
        lines += [f"  ok      {m}" for m in self.moved]
        lines += [f"  screenshot {s}" for s in self.screenshots]
        return "\n".join(lines)


class _Cells:
    """Names cells the way a reader finds them: 'cell 4/9 [In 2] `panel = ...`'."""

    def __init__(self, cells):
        self.cells = cells

    def name(self, index):
        if index is None or index < 0 or index >= len(self.cells):
            return "cell ?"
        c = self.cells[index]
        prompt = f" [In {c['count']}]" if c.get("count") else ""
        first = next((ln.strip() for ln in c["source"].splitlines()
                      if ln.strip() and not ln.strip().startswith("#")), "")
        first = first if len(first) <= 60 else first[:57] + "..."
        return f"cell {index + 1}/{len(self.cells)}{prompt} `{first}`"


# ---------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------

def _image(png):
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGB")


def _differs(a, b):
    from PIL import ImageChops

    return a.size != b.size or ImageChops.difference(a, b).getbbox() is not None


def _is_blank(img):
    # A rendered matplotlib figure has text, lines and anti-aliasing: hundreds of
    # colours. An empty canvas (or a white PNG) has one or two.
    colours = img.getcolors(maxcolors=16)
    return colours is not None and len(colours) <= 2


# ---------------------------------------------------------------------------
# check_notebook
# ---------------------------------------------------------------------------

def _wait(predicate, timeout, interval=0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def _open(page, server, relpath, timeout):
    # A workspace of its own per notebook: JupyterLab would otherwise reopen
    # (and start kernels for) every notebook a previous page had open.
    workspace = "t" + secrets.token_hex(6)
    url = server.url(f"lab/workspaces/{workspace}/tree/{urllib.parse.quote(relpath)}")
    page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
    page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.shell)",
                           timeout=timeout * 1000)
    page.wait_for_function(_JS_INSTALL, arg=relpath, timeout=timeout * 1000, polling=250)
    page.wait_for_function(_JS_KERNEL_IDLE, timeout=timeout * 1000, polling=250)


def _run_all(page, report, timeout):
    """Clear outputs, restart the kernel and run all cells; wait until it is all done."""
    page.evaluate("() => { window.__softviz.statuses.length = 0; }")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    # Not awaited: the command's promise waits for the restart, not for the run.
    page.evaluate("() => { void window.jupyterapp.commands.execute('notebook:restart-run-all'); }")
    deadline = time.monotonic() + timeout
    done_once = False
    dead = 0
    while time.monotonic() < deadline:
        time.sleep(0.5)
        st = page.evaluate(_JS_PROGRESS)
        if st["dialog"]:
            if "Restart" in st["dialog"] and page.locator(".jp-Dialog .jp-mod-accept").count():
                page.locator(".jp-Dialog .jp-mod-accept").first.click()
                continue
            report.problems.append(f"a dialog appeared while running the cells: {st['dialog'][:300]!r}")
            return False
        # 'unknown' is normal while the restart reconnects; 'dead' is not, but
        # give JupyterLab's auto-restart a moment before calling it.
        dead = dead + 1 if st["kernel"] == "dead" else 0
        if dead >= 6:
            report.problems.append(f"the kernel died (did it crash?); statuses seen: "
                                   f"{st['statuses'][-12:]}")
            return False
        restarted = any(s in ("restarting", "starting", "autorestarting") for s in st["statuses"])
        done = (restarted and st["kernel"] == "idle" and st["running"] == 0
                and (st["codeCells"] == 0 or st["firstCount"] == 1))
        if done and done_once:   # idle twice in a row: not just a gap between two cells
            return True
        done_once = done
    st = page.evaluate(_JS_PROGRESS)
    report.problems.append(f"running all cells did not finish within {timeout} s (kernel "
                           f"{st['kernel']}, {st['running']} cell(s) still queued or running)")
    return False


def _cell_problems(cells, report):
    names = _Cells(cells)
    for c in cells:
        if c["type"] != "code":
            continue
        where = names.name(c["index"])
        for o in c["outputs"]:
            if o["type"] == "error":
                tb = _ANSI.sub("", o["traceback"]).strip().splitlines()
                # the traceback's last lines say where it was raised
                report.problems.append(f"{where} has an error output: {o['ename']}: {o['evalue']}"
                                       + "".join(f"\n      {ln}" for ln in tb[-4:-1] if ln.strip()))
            elif o["type"] == "stream" and o["name"] == "stderr":
                text = o["text"].strip()
                target = report.problems if "Traceback" in text else report.notes
                target.append(f"{where} writes to stderr: {text[:300]!r}")
    skipped = [c["index"] for c in cells
               if c["type"] == "code" and c["count"] is None and c["source"].strip()]
    if skipped:
        report.problems.append(f"{len(skipped)} code cell(s) were not executed (the run stopped "
                               f"before them), the first: {names.name(skipped[0])}")
    return names


def _figure_locator(panel, kind):
    fig = panel.locator(".softviz-figure").first
    # the ipympl canvas proper; the overlay canvas on top of it is transparent
    return fig.locator("canvas").first if kind == "ipympl" else fig


def _shot(locator, page):
    page.mouse.move(0, 0)   # no hover effects (ipympl's toolbar fades in under the mouse)
    return _image(locator.screenshot(animations="disabled", timeout=30_000))


def _settled_shot(locator, page, timeout=10.0):
    """A picture of the figure once two shots in a row agree.

    ipympl may still be drawing (first image, a resize to the device pixel
    ratio): comparing against a half-finished "before" would credit the
    control with a change it did not make.
    """
    last = _shot(locator, page)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.4)
        current = _shot(locator, page)
        if not _differs(last, current):
            return current
        last = current
    return last


def _control_label(control):
    return control.evaluate("""e => {
        const box = e.closest('.widget-inline-hbox, .widget-toggle-buttons, .widget-checkbox') || e;
        const lab = box.querySelector('.widget-label');
        return ((lab && lab.innerText) || e.getAttribute('aria-label') || e.innerText ||
                e.getAttribute('title') || e.tagName.toLowerCase()).trim().slice(0, 60);
    }""")


def _move_slider(page, handle):
    """Move a noUiSlider handle with the keyboard (mouse drag as a fallback); True if it moved."""
    before = handle.get_attribute("aria-valuenow")
    handle.focus()
    for key in ("ArrowRight", "ArrowLeft"):   # ArrowLeft when the handle sits at the top end
        for _ in range(3):
            page.keyboard.press(key)
        if handle.get_attribute("aria-valuenow") != before:
            return f"pressed {key} x3"
    box = handle.bounding_box()
    track = handle.evaluate_handle("e => e.closest('.noUi-target')").as_element().bounding_box()
    if not box or not track:
        return None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    target = track["x"] + track["width"] * (0.25 if x > track["x"] + track["width"] / 2 else 0.75)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(target, y, steps=8)
    page.mouse.up()
    return "dragged with the mouse" if handle.get_attribute("aria-valuenow") != before else None


def _move_select(select):
    n = select.locator("option").count()
    if n < 2:
        return None
    current = select.evaluate("e => e.selectedIndex")
    select.select_option(index=(current + 1) % n)
    return "picked the next option"


def _move_number(page, box):
    value = box.input_value()
    try:
        new = float(value) + 1.0
    except ValueError:
        return None
    box.click()
    box.press("ControlOrMeta+a")
    page.keyboard.type(f"{new:g}")
    page.keyboard.press("Enter")
    return f"typed {new:g}"


def _candidates(panel):
    """Controls to try, sliders first: (kind, locator), at most one of each kind."""
    rows = panel.locator(".softviz-controls")
    found = []
    for kind, selector in (("slider", ".noUi-handle"),
                           ("dropdown", "select"),
                           ("number", "input[type=number]"),
                           ("checkbox", "input[type=checkbox]"),
                           ("button", "button:not(.mod-active):not([disabled])")):
        loc = rows.locator(selector)
        if loc.count():
            found.append((kind, loc.first))
    return found


def _interact(page, panel, info, names, report, stem, shots, change_timeout):
    where = f"panel {info['k'] + 1} in {names.name(info['cell'])}"
    fig = _figure_locator(panel, info["figureKind"])
    before = _settled_shot(fig, page)
    panel.screenshot(path=str(shots / f"{stem}_panel{info['k'] + 1}_before.png"))
    tried = []
    for kind, control in _candidates(panel)[:3]:
        label = _control_label(control)
        if kind == "slider":
            how = _move_slider(page, control)
        elif kind == "dropdown":
            how = _move_select(control)
        elif kind == "number":
            how = _move_number(page, control)
        else:
            control.click()
            how = "clicked"
        if not how:
            tried.append(f"{kind} {label!r} (could not be moved)")
            continue
        err_box = panel.locator(".softviz-error")

        def settled(err_box=err_box):
            if err_box.is_visible() and err_box.inner_text().strip():
                return "error"
            return "changed" if _differs(before, _shot(fig, page)) else None

        outcome = _wait(settled, change_timeout, interval=0.3)
        if outcome == "error":
            text = err_box.inner_text().strip().splitlines()[0][:300]
            report.problems.append(f"{where}: after moving {kind} {label!r} ({how}) the panel "
                                   f"shows an error: {text}")
            panel.screenshot(path=str(shots / f"{stem}_panel{info['k'] + 1}_error.png"))
            return
        if outcome == "changed":
            # let the figure settle, then keep a picture for humans
            time.sleep(0.3)
            panel.screenshot(path=str(shots / f"{stem}_panel{info['k'] + 1}_after.png"))
            report.moved.append(f"{where}: {kind} {label!r} ({how}) changed the figure")
            return
        tried.append(f"{kind} {label!r} ({how})")
    if not tried:
        report.problems.append(f"{where} has no control that a user can operate")
    else:
        report.problems.append(f"{where}: the figure did not change within {change_timeout} s "
                               f"after moving " + "; ".join(tried))


def check_notebook(page, server, relpath, shots, *, run_timeout=300, render_timeout=60,
                   change_timeout=20):
    """Open ``relpath`` (relative to the server's root), run it as a student would, report.

    ``page`` is a fresh Playwright page; screenshots go to the directory
    ``shots``. Returns a ``NotebookReport``; never raises for problems in the
    notebook (Playwright errors of the harness itself do propagate).
    """
    report = NotebookReport(relpath)
    shots = Path(shots)
    shots.mkdir(parents=True, exist_ok=True)
    stem = slug(relpath)
    start = time.monotonic()
    console = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(f"uncaught: {e}"))
    try:
        _open(page, server, relpath, timeout=120)
        if _run_all(page, report, run_timeout):
            _check_rendered(page, report, relpath, stem, shots, render_timeout, change_timeout)
        else:
            _cell_problems(page.evaluate(_JS_CELLS), report)
        msgs = page.evaluate("() => window.__softviz.kernelMessages.slice()")
        unique = {}
        for m in msgs:   # one slider move can fire the same failing callback several times
            unique.setdefault((m["kind"], m["parent"], m["text"]), m)
        for m in unique.values():
            if _BENIGN_KERNEL.search(m["text"]):
                continue
            # A widget callback that raises prints its traceback to the log
            # console: the student sees nothing happen. Plain stderr (a warning)
            # is worth a note only.
            failed = m["kind"] == "error" or "Traceback" in m["text"]
            (report.problems if failed else report.notes).append(
                f"kernel {m['kind']} outside any cell (reply to {m['parent'] or '?'}; JupyterLab "
                f"shows it in the log console only): {m['text'].strip()[-400:]}")
        toasts = page.locator(".Toastify__toast").all_inner_texts()
        for t in toasts:
            target = report.problems if re.search(r"news|update", t, re.I) else report.notes
            target.append(f"notification shown: {t.strip()[:200]!r}")
    finally:
        report.seconds = time.monotonic() - start
        console = [c for c in console if not _BENIGN_CONSOLE.search(c)]
        if console:
            # ipywidgets' error view only says "Click to show javascript error";
            # the reason is in the browser console.
            first = " ".join(console[0].splitlines()[0].split())[:240]
            report.problems = [p + (f"\n      browser console: {first}" if "render" in p else "")
                               for p in report.problems]
        report.notes += [f"browser console error: {c[:300]}" for c in console[:5]]
        try:
            report.screenshots.insert(0, _full_screenshot(page, shots / f"{stem}.png"))
        except Exception as exc:  # a screenshot is for humans; never hide the real result
            report.notes.append(f"no full-page screenshot: {exc}")
    return report


def _check_rendered(page, report, relpath, stem, shots, render_timeout, change_timeout):
    cells = page.evaluate(_JS_CELLS)
    # before any control moves: these are the outputs of the run itself
    report.outputs = {int(i): outs for i, outs in page.evaluate(_JS_OUTPUTS).items()}
    names = _cell_problems(cells, report)

    # Every widget output must turn into a widget view (not an error view).
    def widgets_settled():
        states = page.evaluate(_JS_WIDGETS)
        ok = all(s["rendered"] >= s["expected"] or s["errors"] for s in states)
        return states if ok else None

    states = _wait(widgets_settled, render_timeout) or page.evaluate(_JS_WIDGETS)
    for s in states:
        for e in s["errors"]:
            report.problems.append(f"{names.name(s['index'])}: a widget failed to render: "
                                   f"{' '.join(e.split())}")
        if s["rendered"] < s["expected"] and not s["errors"]:
            report.problems.append(f"{names.name(s['index'])}: {s['expected'] - s['rendered']} "
                                   f"widget output(s) did not render within {render_timeout} s")

    _check_plain_figures(page, names, report, render_timeout)

    panels = page.evaluate(_JS_PANELS)
    report.panels = len(panels)
    locs = page.locator(".jp-Notebook .softviz-panel")
    for info in panels:
        where = f"panel {info['k'] + 1} in {names.name(info['cell'])}"
        panel = locs.nth(info["k"])
        panel.scroll_into_view_if_needed()

        # the panel's state once it is on screen: JupyterLab lays out cells near the viewport,
        # and on a loaded machine that lags the scroll (a hidden panel still fails, after the wait)
        def on_screen(k=info["k"]):
            now = next((p for p in page.evaluate(_JS_PANELS) if p["k"] == k), None)
            shown = now and now["controlsVisible"] and now["inputsVisible"] and (
                now["figureVisible"] or not now["figure"])
            return now if shown else None

        info = _wait(on_screen, render_timeout) or next(
            (p for p in page.evaluate(_JS_PANELS) if p["k"] == info["k"]), info)
        bad = []
        if not info["controlRows"] or not info["inputs"]:
            bad.append("has no controls")
        elif not info["controlsVisible"] or not info["inputsVisible"]:
            bad.append("its controls are not visible")
        if info["error"]:
            bad.append(f"shows an error: {info['error']}")
        if not info["figure"]:
            bad.append("has no figure")
        elif info["figureError"]:
            bad.append(f"its figure did not render: {' '.join(info['figureError'].split())}")
        elif not info["figureVisible"]:
            bad.append("its figure is not visible")
        elif info["figureKind"] == "ipympl" and not info["canvases"]:
            bad.append("its ipympl figure has no canvas")
        if not bad:
            fig = _figure_locator(panel, info["figureKind"])
            drawn = _wait(lambda fig=fig: not _is_blank(_shot(fig, page)), render_timeout, interval=0.5)
            if not drawn:
                bad.append(f"its figure ({info['figureKind']}) stayed blank for {render_timeout} s")
        if bad:
            report.problems += [f"{where} {b}" for b in bad]
            try:
                panel.screenshot(path=str(shots / f"{stem}_panel{info['k'] + 1}_broken.png"))
            except Exception:
                pass
            continue
        _interact(page, panel, info, names, report, stem, shots, change_timeout)


def _check_plain_figures(page, names, report, render_timeout):
    """Every ipympl figure outside the panels (plain plt figures) must draw something too."""
    figs = page.locator(".jp-Notebook .jupyter-matplotlib:not(.softviz-figure)")
    deadline = time.monotonic() + render_timeout   # one budget for all of them
    for i in range(figs.count()):
        fig = figs.nth(i)
        cell = fig.evaluate("""e => window.__softviz.panel.content.widgets
                                   .findIndex(c => c.node.contains(e))""")
        canvas = fig.locator("canvas").first
        # on screen first, then a while to draw: JupyterLab lays out cells near the viewport
        # and a loaded machine lags (a missing canvas still fails, after the budget)
        fig.scroll_into_view_if_needed()
        shown = _wait(lambda canvas=canvas: canvas.count() and canvas.is_visible(),
                      max(deadline - time.monotonic(), 1.0))
        if not shown:
            report.problems.append(f"{names.name(cell)}: matplotlib figure has no visible canvas")
            continue
        left = max(deadline - time.monotonic(), 1.0)
        if not _wait(lambda canvas=canvas: not _is_blank(_shot(canvas, page)), left, interval=0.5):
            report.problems.append(f"{names.name(cell)}: a matplotlib figure stayed blank "
                                   f"(ipympl drew nothing)")


def _full_screenshot(page, path):
    """The whole notebook in one PNG: hide the side bars, make the window as tall as the notebook."""
    page.evaluate("() => { const s = window.jupyterapp && window.jupyterapp.shell;"
                  " if (s) { s.collapseLeft(); s.collapseRight(); } }")
    # JupyterLab 4 scrolls the notebook inside .jp-WindowedPanel-outer, not the page
    height = page.evaluate("""() => { const w = window.__softviz && window.__softviz.panel;
        const n = w ? w.content.node : document.querySelector('.jp-NotebookPanel-notebook');
        if (!n) return 0;
        const outer = n.querySelector('.jp-WindowedPanel-outer') || n;
        outer.scrollTop = 0;
        return outer.scrollHeight + (outer.getBoundingClientRect().top || 0); }""")
    size = page.viewport_size
    try:
        if height:
            page.set_viewport_size({"width": size["width"], "height": min(int(height) + 60, 20000)})
            page.wait_for_timeout(500)
        page.mouse.move(0, 0)
        page.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)
    return path
