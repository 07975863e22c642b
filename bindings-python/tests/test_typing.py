"""The stubs match the built module (mypy.stubtest) and the examples pass mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _need(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        import os

        if os.environ.get("CI") == "true":
            pytest.fail(f"{module} is missing; CI must not skip")
        pytest.skip(f"{module} is missing (pip install {module})")


def test_stubs_match_the_module() -> None:
    _need("mypy")
    r = subprocess.run([sys.executable, "-m", "mypy.stubtest", "mailwright", "--ignore-missing-stub",
         "--allowlist", str(ROOT / "bindings-python" / "stubtest-allowlist.txt")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_examples_and_package_pass_mypy_strict() -> None:
    _need("mypy")
    examples = sorted(str(p) for p in (ROOT / "examples" / "python").glob("*.py"))
    assert examples, "examples/python is empty"
    package = str(ROOT / "bindings-python" / "python" / "mailwright")
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", *examples, package], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
