"""Shared pytest setup: the C-core requirement and hypothesis settings."""
import os

import pytest
from hypothesis import settings

# Shared machines are noisy: no per-example deadline; CI runs more examples.
settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, max_examples=300, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def _native_required():
    return os.environ.get("SOFTVIZ_REQUIRE_NATIVE", "") not in ("", "0")


def pytest_sessionstart(session):
    # .ci/run sets SOFTVIZ_REQUIRE_NATIVE=1: a missing C core must fail the run,
    # not quietly test the numpy fallback
    if _native_required():
        import softviz
        from softviz import _native

        if not softviz.native_available():
            pytest.exit(
                f"SOFTVIZ_REQUIRE_NATIVE=1 but the softviz C core did not load: {_native.LOAD_ERROR}",
                returncode=1,
            )


@pytest.fixture
def native_required():
    return _native_required()
