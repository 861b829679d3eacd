"""The C harness native/tests/test_softmax.c: built and run plain, under sanitizers,
with clang, and cross-compiled for aarch64 and run under qemu-user.

The harness itself runs every test once per instruction set the build and CPU have
(portable, AVX2, AVX-512).  .ci/run installs clang, the aarch64 cross compiler and
qemu-user and sets SOFTVIZ_REQUIRE_CROSS=1, so there a missing tool fails the run;
elsewhere those two checks are skipped with the reason.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NATIVE = ROOT / "native"
FLAGS = ["-std=c99", "-O2", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math",
         "-ffp-contract=fast", "-Wall", "-Wextra", "-Werror"]
SOURCES = ["softmax.c", "workers.c", "dispatch.c", "kernels_portable.c", "kernels_avx2.c", "kernels_avx512.c"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g"]


def _compiler(native_required):
    cc = os.environ.get("CC") or (sysconfig.get_config_var("CC") or "cc").split()[0]
    path = shutil.which(cc) or shutil.which("cc") or shutil.which("gcc")
    if path is None:
        if native_required:
            pytest.fail("no C compiler found, but SOFTVIZ_REQUIRE_NATIVE=1")
        pytest.skip("no C compiler on this machine")
    return path


def _build(tmp_path, cc, extra, native_dir=NATIVE, name="test_softmax"):
    exe = tmp_path / name
    cmd = [cc, *FLAGS, *extra, f"-I{native_dir}", *(str(native_dir / src) for src in SOURCES),
           str(native_dir / "tests" / "test_softmax.c"), "-lm", "-o", str(exe)]
    build = subprocess.run(cmd, capture_output=True, text=True)
    return exe, build, " ".join(cmd)


def _run(exe, env=None, runner=()):
    return subprocess.run([*runner, str(exe)], capture_output=True, text=True, env=env, timeout=900)


def _cross_required():
    return os.environ.get("SOFTVIZ_REQUIRE_CROSS", "") not in ("", "0")


def _tool(name):
    path = shutil.which(name)
    if path is None:
        if _cross_required():
            pytest.fail(f"{name} not found, but SOFTVIZ_REQUIRE_CROSS=1 (.ci/run installs it)")
        pytest.skip(f"{name} is not installed (.ci/run installs it)")
    return path


def _assert_all_passed(run):
    assert run.returncode == 0, run.stdout + run.stderr
    assert " 0 failed" in run.stdout.splitlines()[-1]


def test_c_harness(tmp_path, native_required):
    exe, build, cmd = _build(tmp_path, _compiler(native_required), [])
    assert build.returncode == 0, f"build failed:\n{cmd}\n{build.stderr}"
    run = _run(exe)
    _assert_all_passed(run)
    # every instruction set this CPU has was exercised
    import softviz

    for isa in softviz.kernel_info()["supported"]:
        assert f"{isa}: done" in run.stdout


def test_c_harness_clang(tmp_path):
    clang = _tool("clang")
    exe, build, cmd = _build(tmp_path, clang, [], name="test_softmax_clang")
    assert build.returncode == 0, f"clang build failed:\n{cmd}\n{build.stderr}"
    _assert_all_passed(_run(exe))


def test_c_harness_aarch64_under_qemu(tmp_path):
    """The portable kernels on ARM: cross-compiled, run under qemu-user."""
    cc = _tool("aarch64-linux-gnu-gcc")
    qemu = _tool("qemu-aarch64")
    exe, build, cmd = _build(tmp_path, cc, ["-static"], name="test_softmax_aarch64")
    assert build.returncode == 0, f"aarch64 build failed:\n{cmd}\n{build.stderr}"
    run = _run(exe, runner=(qemu,))
    _assert_all_passed(run)
    assert "portable: done" in run.stdout and "avx2: not supported" in run.stdout


def test_c_harness_sanitized(tmp_path, native_required):
    cc = _compiler(native_required)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    exe, build, cmd = _build(tmp_path, cc, SANITIZE)
    if build.returncode != 0:
        # a compiler without sanitizer runtimes cannot run this check; CI requires it
        if not native_required:
            pytest.skip(f"this compiler cannot build with -fsanitize=address,undefined:\n{build.stderr}")
        pytest.fail(f"sanitized build failed:\n{cmd}\n{build.stderr}")
    run = _run(exe, env)
    _assert_all_passed(run)
    assert "runtime error" not in run.stderr and "AddressSanitizer" not in run.stderr, run.stderr


_BREAKAGES = {
    # the row plan's softmax scale off by 1 %
    "plan scale": ("plan_impl.h", "st->scale = 1.0 / (double)(T)st->sum;", "st->scale = 1.01 / (double)(T)st->sum;"),
    # the batched kernel's second row of a pair stored with the first row's sum
    "batched pair": ("rows_impl.h", "RW(store)(op, x0 + n, y1, l1, n, m1, S1);", "RW(store)(op, x0 + n, y1, l1, n, m1, S0);"),
    # the batched kernel keeps a dominated row off the exact log1p path
    "batched dominated": ("rows_impl.h", "if (S > SV_DOMINATED)", "if (S > 0.0)"),
}


@pytest.mark.parametrize("breakage", sorted(_BREAKAGES))
def test_harness_catches_a_broken_kernel(tmp_path, native_required, breakage):
    """The harness can fail: build it against a core with one deliberate bug."""
    cc = _compiler(native_required)
    broken = tmp_path / "native"
    shutil.copytree(NATIVE, broken)
    name, old, new = _BREAKAGES[breakage]
    impl = broken / name
    text = impl.read_text()
    assert text.count(old) == 1, (name, old)
    impl.write_text(text.replace(old, new))
    exe, build, cmd = _build(tmp_path, cc, [], native_dir=broken)
    assert build.returncode == 0, f"build failed:\n{cmd}\n{build.stderr}"
    run = _run(exe)
    assert run.returncode != 0 and "FAIL" in run.stdout


_CLANG_EXTENSION_CHECK = """
import importlib.util, sys
path = sys.argv[1]
spec = importlib.util.spec_from_file_location("softviz._softviz_cffi", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
sys.modules["softviz._softviz_cffi"] = module   # softviz._native now loads this build
import numpy as np, softviz
info = softviz.kernel_info()
assert softviz.native_available(), info
p = softviz.softmax(np.array([1.0, 2.0, 3.0]))
np.testing.assert_allclose(p, [0.09003057, 0.24472847, 0.66524096], rtol=1e-7)
print(info["compiler"])
"""


def test_python_extension_builds_with_clang(tmp_path):
    """The cffi extension itself (not only the C harness) compiles with clang and computes.

    native/build_ffi.py compiles a copy of native/ in a temporary directory with
    CC=clang (setuptools takes the compiler from CC); a fresh interpreter then loads that
    build in place of the installed one and checks one softmax and the compiler
    the C core says it was built with.
    """
    clang = _tool("clang")
    # `python native/build_ffi.py` from a copy of the project root: the in-place
    # build, into tmp_path/softviz/ (the build script takes its sources relative
    # to the working directory)
    shutil.copytree(NATIVE, tmp_path / "native",
                    ignore=shutil.ignore_patterns("build", "__pycache__", "*.o", "*.so"))
    build = subprocess.run([sys.executable, "native/build_ffi.py"], cwd=tmp_path,
                           env=dict(os.environ, CC=clang), capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, f"clang build of the extension failed:\n{build.stdout}\n{build.stderr}"
    built = sorted((tmp_path / "softviz").glob("_softviz_cffi*.so"))
    assert len(built) == 1, sorted(p.name for p in tmp_path.rglob("*"))
    # not from tmp_path: its softviz/ (the new build only) would hide the real package
    run = subprocess.run([sys.executable, "-c", _CLANG_EXTENSION_CHECK, str(built[0])],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().startswith("clang"), f"kernel_info()['compiler'] is {run.stdout.strip()!r}"
