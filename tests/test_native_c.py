"""The C harness native/tests/test_softmax.c, built and run plain and under sanitizers."""
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NATIVE = ROOT / "native"
FLAGS = ["-std=c99", "-O2", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math",
         "-ffp-contract=fast", "-Wall", "-Wextra", "-Werror"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g"]


def _compiler(native_required):
    cc = os.environ.get("CC") or (sysconfig.get_config_var("CC") or "cc").split()[0]
    path = shutil.which(cc) or shutil.which("cc") or shutil.which("gcc")
    if path is None:
        if native_required:
            pytest.fail("no C compiler found, but SOFTVIZ_REQUIRE_NATIVE=1")
        pytest.skip("no C compiler on this machine")
    return path


def _build(tmp_path, cc, extra, native_dir=NATIVE):
    exe = tmp_path / "test_softmax"
    cmd = [cc, *FLAGS, *extra, f"-I{native_dir}", str(native_dir / "softmax.c"),
           str(native_dir / "tests" / "test_softmax.c"), "-lm", "-o", str(exe)]
    build = subprocess.run(cmd, capture_output=True, text=True)
    return exe, build, " ".join(cmd)


def _run(exe, env=None):
    return subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=600)


def test_c_harness(tmp_path, native_required):
    exe, build, cmd = _build(tmp_path, _compiler(native_required), [])
    assert build.returncode == 0, f"build failed:\n{cmd}\n{build.stderr}"
    run = _run(exe)
    assert run.returncode == 0, run.stdout + run.stderr
    assert " 0 failed" in run.stdout.splitlines()[-1]


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
    assert run.returncode == 0, run.stdout + run.stderr
    assert "runtime error" not in run.stderr and "AddressSanitizer" not in run.stderr, run.stderr
    assert " 0 failed" in run.stdout.splitlines()[-1]


def test_harness_catches_a_broken_kernel(tmp_path, native_required):
    """The harness can fail: build it against a core whose two-pass scale is off by 1 %."""
    cc = _compiler(native_required)
    broken = tmp_path / "native"
    shutil.copytree(NATIVE, broken)
    impl = broken / "softmax_impl.h"
    text = impl.read_text()
    assert "const T f = (T)(1.0 / mantissa)" in text
    impl.write_text(text.replace("const T f = (T)(1.0 / mantissa)", "const T f = (T)(1.01 / mantissa)"))
    exe, build, cmd = _build(tmp_path, cc, [], native_dir=broken)
    assert build.returncode == 0, f"build failed:\n{cmd}\n{build.stderr}"
    run = _run(exe)
    assert run.returncode != 0 and "FAIL" in run.stdout
